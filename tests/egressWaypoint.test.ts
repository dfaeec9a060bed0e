import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EGRESS_WAYPOINT_AUTHZ } from "../components/ambient/egressWaypoint";
import {
  DATAPLANE_MODE_AMBIENT,
  DATAPLANE_MODE_LABEL,
  USE_WAYPOINT_LABEL,
  WAYPOINT_CLASS,
} from "../components/ambient/labels";
import { HTTPBIN_HOST } from "../components/egress/externalServices";
import { crdShellLoad, GATEWAY_API_CRDS } from "../components/gatewayApi/crds";
import { deployMesh } from "../components/mesh";
import { buildMeshSpec, helmReleases, ownedObjects } from "../components/meshSpec";
import type { NamedObject } from "../components/meta";
import { decide } from "../components/security/evaluator";
import { principal } from "../components/security/identities";
import { projectConfig } from "../config/readers";
import { egressGatewayClosed } from "../policies/egress";
import { devAmbientGatewayApiRaw } from "./support/cells";
import { devStackConfig, meshConfig } from "./support/configs";
import { gatewayApiModels } from "./support/gatewayApiSchemas";
import { istioModels } from "./support/istioSchemas";
import { runWithMocks } from "./support/mockEngine";
import { kubernetesResource, runPolicies } from "./support/policyHarness";
import { T } from "./support/types";

/** Both ambient cells with the dev stack's settings, egressGateway left at its default (true). */
const cells = [
  ["ambient × istio", meshConfig({ ...projectConfig(devStackConfig()), dataplane: "ambient" })],
  ["ambient × gateway-api", meshConfig(devAmbientGatewayApiRaw())],
] as const;

type Obj = NamedObject & { spec?: Record<string, unknown> };
const objects = (cfg: (typeof cells)[number][1]) => ownedObjects(buildMeshSpec(cfg)) as readonly Obj[];
const find = (os: readonly Obj[], kind: string, namespace: string, name: string) =>
  os.find((o) => o.kind === kind && o.metadata.namespace === namespace && o.metadata.name === name);

for (const [cell, cfg] of cells) {
  describe(`the egress waypoint (${cell})`, () => {
    test("the config parses with egressGateway on, and no sidecar-cell egress object is rendered", () => {
      assert.equal(cfg.egress.gateway, true);
      const spec = buildMeshSpec(cfg);
      assert.equal(spec.egress.gateway, undefined);
      assert.ok(spec.egress.waypoint);
      assert.ok(!helmReleases(spec).some((r) => r.name === "istio-egressgateway"));
      const inEgress = objects(cfg).filter((o) => o.metadata.namespace === "istio-egress");
      assert.deepEqual(inEgress.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
        `AuthorizationPolicy/${EGRESS_WAYPOINT_AUTHZ}`,
        "DestinationRule/httpbin-external",
        "Gateway/waypoint",
        "ServiceEntry/httpbin-external",
      ]);
    });

    test("every object validates against Istio 1.30's and Gateway API v1.5's schemas", async () => {
      const istio = await istioModels();
      const gatewayApi = await gatewayApiModels();
      const egress = buildMeshSpec(cfg).egress;
      const wp = egress.waypoint;
      assert.ok(wp);
      assert.doesNotThrow(() => new gatewayApi.Gateway(wp.waypoint as never).validate());
      assert.doesNotThrow(() => new istio.AuthorizationPolicy(wp.authorization as never).validate());
      for (const se of egress.serviceEntries) assert.doesNotThrow(() => new istio.ServiceEntry(se as never).validate());
      for (const dr of egress.destinationRules) {
        assert.doesNotThrow(() => new istio.DestinationRule(dr as never).validate());
      }
    });

    test("httpbin.org's ServiceEntry sits in a namespace ztunnel captures and enrols in a waypoint that exists", () => {
      const os = objects(cfg);
      const entry = os.find(
        (o) => o.kind === "ServiceEntry" && ((o.spec?.hosts ?? []) as string[]).includes(HTTPBIN_HOST),
      );
      assert.ok(entry);
      const ns = os.find((o) => o.kind === "Namespace" && o.metadata.name === entry.metadata.namespace);
      const labels = ns?.metadata.labels ?? {};
      assert.equal(labels[DATAPLANE_MODE_LABEL], DATAPLANE_MODE_AMBIENT);
      const wpName = labels[USE_WAYPOINT_LABEL];
      assert.ok(wpName, "the namespace names a waypoint");
      const wp = find(os, "Gateway", entry.metadata.namespace ?? "", wpName);
      assert.equal(wp?.spec?.gatewayClassName, WAYPOINT_CLASS);
      assert.equal(wp?.metadata.labels?.["istio.io/waypoint-for"], "service");
      // Default visibility, as the ambient egress page has it: every node's ztunnel resolves the host.
      assert.equal(entry.spec?.exportTo, undefined);
      // The pool applies where the waypoint connects out: its rule is in the waypoint's namespace.
      const rule = os.find((o) => o.kind === "DestinationRule" && o.spec?.host === HTTPBIN_HOST);
      assert.equal(rule?.metadata.namespace, entry.metadata.namespace);
    });

    test("backend pods leave only through the waypoint's pods on HBONE: the NetworkPolicy names no external address", () => {
      const fence = buildMeshSpec(cfg).egress.waypoint?.networkPolicy;
      assert.equal(fence?.metadata.namespace, cfg.backend.namespace);
      const rules = fence?.spec?.egress ?? [];
      for (const rule of rules) for (const peer of rule.to ?? []) assert.equal(peer.ipBlock, undefined);
      const toEgress = rules.find((r) =>
        (r.to ?? []).some((p) => p.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] === "istio-egress"),
      );
      assert.deepEqual(toEgress?.to?.[0]?.podSelector?.matchLabels, {
        "gateway.networking.k8s.io/gateway-name": "waypoint",
      });
      assert.deepEqual(toEgress?.ports, [{ protocol: "TCP", port: 15008 }]);
    });

    test("the AuthorizationPolicy's targetRefs resolve to the egress waypoint and admit only backend identities", () => {
      const os = objects(cfg);
      const policy = find(os, "AuthorizationPolicy", "istio-egress", EGRESS_WAYPOINT_AUTHZ);
      const spec = policy?.spec as {
        targetRefs: { group: string; kind: string; name: string }[];
        action: string;
        rules: { from: { source: { namespaces: string[] } }[] }[];
      };
      assert.equal(spec.targetRefs.length, 1);
      for (const ref of spec.targetRefs) {
        assert.equal(ref.group, "gateway.networking.k8s.io");
        const target = find(os, ref.kind, "istio-egress", ref.name);
        assert.equal(target?.spec?.gatewayClassName, WAYPOINT_CLASS, `${ref.kind}/${ref.name}`);
      }
      assert.equal(spec.action, "ALLOW");
      assert.deepEqual(spec.rules, [{ from: [{ source: { namespaces: [cfg.backend.namespace] } }] }]);
    });
  });
}

describe("the egress waypoint under the engine (Pulumi mocks)", () => {
  test("it waits for istiod, its namespace and every Gateway API CRD; httpbin.org's objects for their namespace", async () => {
    const result = await runWithMocks(() =>
      deployMesh(cells[0][1], {
        dashboards: async () => ({ contents: {}, missing: [] }),
        gatewayApiCrds: crdShellLoad,
      }),
    );
    if (result.error !== undefined) throw result.error;
    const resources = result.resources;
    const urnOf = (type: string, name: string) =>
      resources.find((r) => r.type === type && r.name === name)?.urn ?? `missing ${name}`;
    const wp = resources.find((r) => r.name === "egress-waypoint");
    assert.ok(wp, "the egress waypoint is registered under its own name");
    assert.ok(wp.dependencies.includes(urnOf(T.release, "istiod")));
    assert.ok(wp.dependencies.includes(urnOf(T.namespace, "istio-egress")));
    const crds = resources.filter((r) => r.type === "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition");
    assert.equal(crds.length, GATEWAY_API_CRDS.length);
    for (const crd of crds)
      assert.ok(wp.dependencies.includes(crd.urn), `egress waypoint does not wait for ${crd.name}`);
    const entry = resources.find((r) => r.type === T.serviceEntry && r.name === "httpbin-external");
    assert.ok(entry?.dependencies.includes(urnOf(T.namespace, "istio-egress")));
    assert.ok(resources.some((r) => r.type === T.networkPolicy && r.name === "egress-only-through-gateway"));
    // No egress gateway release in ambient: the waypoint is istiod's to deploy.
    assert.ok(!resources.some((r) => r.type === T.release && r.name === "istio-egressgateway"));
  });
});

describe("policy egress-gateway-closed on the egress waypoint", () => {
  const wp = buildMeshSpec(cells[0][1]).egress.waypoint;
  assert.ok(wp);
  const check = async (...os: object[]) =>
    (
      await runPolicies(
        [egressGatewayClosed],
        os.map((o) => kubernetesResource(o as never)),
      )
    ).messages(egressGatewayClosed.name);

  test("passes the program's waypoint and policy", async () => {
    assert.deepEqual(await check(wp.waypoint, wp.authorization), []);
  });

  test("refuses a waypoint with no policy, one attached elsewhere, and one that names no identity", async () => {
    assert.match(
      (await check(wp.waypoint))[0] ?? "",
      /the egress waypoint\): no ALLOW AuthorizationPolicy in istio-egress/,
    );
    const elsewhere = structuredClone(wp.authorization) as { spec: { targetRefs: { name: string }[] } };
    elsewhere.spec.targetRefs = [{ ...elsewhere.spec.targetRefs[0], name: "other" } as never];
    assert.equal((await check(wp.waypoint, elsewhere)).length, 1);
    const anyone = structuredClone(wp.authorization) as { spec: { rules: unknown[] } };
    anyone.spec.rules = [{ to: [{ operation: { methods: ["GET"] } }] }];
    assert.match((await check(wp.waypoint, anyone))[0] ?? "", /admits callers without naming them/);
  });

  test("a waypoint outside the egress namespace (the backend's) is not an egress gateway", async () => {
    assert.deepEqual(await check(buildMeshSpec(cells[0][1]).ambient?.waypoint ?? {}), []);
  });
});

describe("who the egress waypoint admits (evaluated with Istio's ambient semantics)", () => {
  const wp = buildMeshSpec(cells[0][1]).egress.waypoint;
  assert.ok(wp);
  const policies = {
    rootNamespace: "istio-system",
    // The waypoint's own identity (istiod names its ServiceAccount after the Gateway).
    waypoint: {
      name: wp.waypoint.metadata.name,
      principal: principal({ namespace: "istio-egress", serviceAccount: "waypoint" }),
    },
    peerAuthentications: [],
    requestAuthentications: [],
    authorizationPolicies: [wp.authorization],
  };
  const toHttpbin = { namespace: "istio-egress", labels: {}, service: "httpbin-external" };
  const call = (sourcePrincipal: string, sourceNamespace: string) =>
    decide(policies, toHttpbin, { sourcePrincipal, sourceNamespace, method: "GET", path: "/get" }).status;

  test("a backend identity: allowed; another namespace's identity: 403 at the waypoint", () => {
    assert.equal(call("cluster.local/ns/backend/sa/mesh-client", "backend"), 200);
    assert.equal(call("cluster.local/ns/backend/sa/user-service", "backend"), 200);
    assert.equal(call("cluster.local/ns/other/sa/default", "other"), 403);
  });
});
