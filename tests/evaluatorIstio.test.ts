/**
 * The evaluator against Istio 1.30.3's own rules, one case each: ComposePeerAuthentication in
 * pilot/pkg/security/authn/policy_applier.go (scopes, UNSET inherits, root-namespace selectors
 * ignored, oldest wins), sortConfigByCreationTime in pilot/pkg/model/config.go (ties by name), and
 * the authorization model in pilot/pkg/security/authz/model/model.go (an empty list is unset).
 * What it does not model is refused, never ignored.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildMeshSpec } from "../components/meshSpec";
import { securityPolicies } from "../components/security/accessMatrix";
import type { AuthorizationPolicySpec } from "../components/security/authorization";
import { decide, mtlsMode, type SecurityPolicies } from "../components/security/evaluator";
import type { RequestAuthenticationSpec } from "../components/security/jwt";
import type { PeerAuthenticationSpec } from "../components/security/peerAuthentication";
import { meshWideStrictMtls } from "../policies/meshMtls";
import { meshConfig } from "./support/configs";
import { kubernetesResource, runPolicies } from "./support/policyHarness";

/** The istiod chart's Helm release, as a stack that installs its control plane holds it. */
const ISTIOD_RELEASE = { type: "kubernetes:helm.sh/v3:Release", name: "istiod", props: { chart: "istiod" } };

const ROOT = "istio-system";
const workload = { namespace: "ns", labels: { app: "a" } };
const plaintext = { method: "GET", path: "/x" };
const caller = { sourcePrincipal: "cluster.local/ns/ns/sa/caller", sourceNamespace: "ns", ...plaintext };

function pa(
  namespace: string,
  name: string,
  spec: PeerAuthenticationSpec["spec"],
  creationTimestamp?: string,
): PeerAuthenticationSpec {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: { name, namespace, ...(creationTimestamp && { creationTimestamp }) },
    spec,
  };
}

const policies = (
  peerAuthentications: PeerAuthenticationSpec[],
  authorizationPolicies: AuthorizationPolicySpec[] = [],
  requestAuthentications: RequestAuthenticationSpec[] = [],
): SecurityPolicies => ({ rootNamespace: ROOT, peerAuthentications, requestAuthentications, authorizationPolicies });

const mode = (...pas: PeerAuthenticationSpec[]) => mtlsMode(policies(pas), workload);

describe("mTLS mode, as ComposePeerAuthentication composes it", () => {
  test("no policy: PERMISSIVE; a mesh-wide STRICT reaches every namespace", () => {
    assert.equal(mode(), "PERMISSIVE");
    assert.equal(mode(pa(ROOT, "default", { mtls: { mode: "STRICT" } })), "STRICT");
  });

  test("UNSET or no mode inherits from the mesh policy, then from the namespace policy", () => {
    const meshStrict = pa(ROOT, "default", { mtls: { mode: "STRICT" } });
    assert.equal(mode(meshStrict, pa("ns", "default", { mtls: { mode: "UNSET" } })), "STRICT");
    assert.equal(mode(meshStrict, pa("ns", "default", {})), "STRICT");
    const nsPermissive = pa("ns", "default", { mtls: { mode: "PERMISSIVE" } });
    assert.equal(
      mode(meshStrict, nsPermissive, pa("ns", "w", { selector: { matchLabels: { app: "a" } } })),
      "PERMISSIVE",
    );
  });

  test("workload beats namespace beats mesh", () => {
    const w = pa("ns", "w", { selector: { matchLabels: { app: "a" } }, mtls: { mode: "DISABLE" } });
    assert.equal(
      mode(pa(ROOT, "m", { mtls: { mode: "STRICT" } }), pa("ns", "n", { mtls: { mode: "PERMISSIVE" } }), w),
      "DISABLE",
    );
  });

  test("a root-namespace policy with a selector is ignored", () => {
    assert.equal(
      mode(pa(ROOT, "sel", { selector: { matchLabels: { app: "a" } }, mtls: { mode: "STRICT" } })),
      "PERMISSIVE",
    );
    const meshStrict = pa(ROOT, "default", { mtls: { mode: "STRICT" } });
    assert.equal(
      mode(meshStrict, pa(ROOT, "sel", { selector: { matchLabels: { app: "a" } }, mtls: { mode: "DISABLE" } })),
      "STRICT",
    );
  });

  test("two policies in one scope: the oldest wins, whatever the list order; equal times go by name", () => {
    const older = pa("ns", "zz-older", { mtls: { mode: "STRICT" } }, "2026-01-01T00:00:00Z");
    const newer = pa("ns", "aa-newer", { mtls: { mode: "PERMISSIVE" } }, "2026-06-01T00:00:00Z");
    assert.equal(mode(newer, older), "STRICT");
    assert.equal(mode(older, newer), "STRICT");
    const sameTime = "2026-01-01T00:00:00Z";
    assert.equal(
      mode(
        pa("ns", "b", { mtls: { mode: "STRICT" } }, sameTime),
        pa("ns", "a", { mtls: { mode: "PERMISSIVE" } }, sameTime),
      ),
      "PERMISSIVE",
    );
  });

  test("portLevelMtls is refused, not ignored", () => {
    const perPort = pa("ns", "w", {
      selector: { matchLabels: { app: "a" } },
      mtls: { mode: "STRICT" },
      portLevelMtls: { "8080": { mode: "DISABLE" } },
    });
    assert.throws(() => mode(perPort), /PeerAuthentication ns\/w sets portLevelMtls, which is not modelled/);
  });

  test("DISABLE: the caller's sidecar sends plaintext (auto mTLS), so no principal reaches authorization", () => {
    const allowCaller: AuthorizationPolicySpec = {
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: "allow", namespace: "ns" },
      spec: { rules: [{ from: [{ source: { principals: [caller.sourcePrincipal] } }] }] },
    };
    const disabled = policies([pa("ns", "default", { mtls: { mode: "DISABLE" } })], [allowCaller]);
    assert.equal(decide(disabled, workload, caller).status, 403);
  });
});

describe("authorization: empty lists are unset, attachments it cannot model are refused", () => {
  const allow = (spec: AuthorizationPolicySpec["spec"]): AuthorizationPolicySpec => ({
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name: "p", namespace: "ns" },
    spec,
  });
  const decideWith = (spec: AuthorizationPolicySpec["spec"]) =>
    decide(policies([pa(ROOT, "default", { mtls: { mode: "STRICT" } })], [allow(spec)]), workload, caller).status;

  test("principals: [] and from: [] match any caller, like no field at all", () => {
    assert.equal(decideWith({ rules: [{ from: [{ source: { principals: [] } }] }] }), 200);
    assert.equal(decideWith({ rules: [{ from: [] }] }), 200);
    assert.equal(
      decideWith({ rules: [{ from: [{ source: { principals: ["cluster.local/ns/ns/sa/other"] } }] }] }),
      403,
    );
    assert.equal(decideWith({ rules: [{ to: [{ operation: { methods: [] } }] }] }), 200);
    assert.equal(
      decideWith({ rules: [{ from: [{ source: { namespaces: [], principals: [caller.sourcePrincipal] } }] }] }),
      200,
    );
  });

  test("targetRef and targetRefs are refused on AuthorizationPolicy and RequestAuthentication", () => {
    const ref = { group: "", kind: "Service", name: "a" };
    assert.throws(
      () => decideWith({ targetRef: ref, rules: [{}] } as never),
      /AuthorizationPolicy ns\/p sets targetRef/,
    );
    assert.throws(() => decideWith({ targetRefs: [ref], rules: [{}] } as never), /sets targetRefs/);
    const ra: RequestAuthenticationSpec = {
      apiVersion: "security.istio.io/v1",
      kind: "RequestAuthentication",
      metadata: { name: "jwt", namespace: "ns" },
      spec: { targetRefs: [ref], jwtRules: [{ issuer: "x" }] } as never,
    };
    assert.throws(
      () => decide(policies([], [], [ra]), workload, caller),
      /RequestAuthentication ns\/jwt sets targetRefs/,
    );
  });
});

describe("mesh-wide STRICT", () => {
  test("the program's policies refuse plaintext in a namespace it never configured", () => {
    const newNamespace = { namespace: "new-team", labels: { app: "x" } };
    assert.equal(decide(securityPolicies(meshConfig()), newNamespace, plaintext).status, 0);
  });

  test("mtlsMode PERMISSIVE relaxes only the backend namespace", () => {
    const ps = securityPolicies(meshConfig({ mtlsMode: "PERMISSIVE" }));
    assert.equal(mtlsMode(ps, { namespace: "backend", labels: { app: "user-service" } }), "PERMISSIVE");
    assert.equal(mtlsMode(ps, { namespace: "new-team", labels: {} }), "STRICT");
  });

  test("the root PeerAuthentication: istio-system, no selector, STRICT", () => {
    const { meshPeerAuthentications } = buildMeshSpec(meshConfig({ mtlsMode: "PERMISSIVE" })).security;
    assert.deepEqual(
      meshPeerAuthentications.map((p) => [p.metadata.namespace, p.spec?.selector, p.spec?.mtls]),
      [[ROOT, undefined, { mode: "STRICT" }]],
    );
  });

  test("policy mesh-wide-strict-mtls: passes the program's, refuses none, a PERMISSIVE one, a root selector", async () => {
    const check = async (...objects: PeerAuthenticationSpec[]) =>
      (
        await runPolicies([meshWideStrictMtls], [ISTIOD_RELEASE, ...objects.map((o) => kubernetesResource(o))])
      ).messages(meshWideStrictMtls.name);
    const { meshPeerAuthentications, peerAuthentication } = buildMeshSpec(meshConfig()).security;
    assert.deepEqual(await check(...meshPeerAuthentications, peerAuthentication), []);
    assert.match((await check(peerAuthentication))[0] ?? "", /^no mesh-wide STRICT PeerAuthentication/);
    assert.match(
      (await check(pa(ROOT, "default", { mtls: { mode: "PERMISSIVE" } })))[0] ?? "",
      /istio-system\/default is not STRICT/,
    );
    const ignored = pa(ROOT, "sel", { selector: { matchLabels: { app: "a" } }, mtls: { mode: "STRICT" } });
    assert.deepEqual(await check(...meshPeerAuthentications, ignored), [
      "PeerAuthentication istio-system/sel has a selector in the root namespace istio-system: Istio ignores it; " +
        "put workload policies in the workload's namespace",
    ]);
  });

  test("policy mesh-wide-strict-mtls on the cluster's Istio: the stack's namespaces are STRICT, its root untouched", async () => {
    const cfg = meshConfig({ clusterMode: "existing", existingIstio: { revision: "prod-stable" } });
    const { meshPeerAuthentications, peerAuthentication } = buildMeshSpec(cfg).security;
    const check = async (...objects: PeerAuthenticationSpec[]) =>
      (
        await runPolicies(
          [meshWideStrictMtls],
          objects.map((o) => kubernetesResource(o)),
        )
      ).messages(meshWideStrictMtls.name);
    assert.deepEqual(await check(...meshPeerAuthentications, peerAuthentication), []);
    const root = pa(ROOT, "stack-strict", { mtls: { mode: "STRICT" } });
    assert.match(
      (await check(root, ...meshPeerAuthentications))[0] ?? "",
      /istio-system\/stack-strict is in the root namespace istio-system of a control plane this stack does not install/,
    );
    const permissive = pa("backend", "default", { mtls: { mode: "PERMISSIVE" } });
    assert.deepEqual(await check(permissive), [
      "no namespace-wide STRICT PeerAuthentication (no selector, mtls.mode STRICT) in any of the stack's " +
        "namespaces outside istio-system: on the cluster's control plane the stack sets one in its gateway " +
        "namespaces instead of a mesh-wide one (components/meshScope.ts)",
    ]);
    // A root one is refused, and does not stand in for the stack's own.
    const messages = await check(root, permissive);
    assert.equal(messages.length, 2);
    assert.match(messages[1] ?? "", /^no namespace-wide STRICT PeerAuthentication .* outside istio-system/);
  });
});
