/** Each policy of the pack, one passing and at least one violating case, run the way the analyzer runs them. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { unknown } from "@pulumi/pulumi/output";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { backendSpecs } from "../components/backends/workloads";
import { istioReleases } from "../components/controlPlane/helmValues";
import { deployMesh } from "../components/mesh";
import { buildMeshSpec } from "../components/meshSpec";
import { backendNamespace } from "../components/namespaces";
import { destinationRules } from "../components/traffic/destinationRules";
import { ingressRoutes, userServiceMeshRoutes } from "../components/traffic/routes";
import { policies } from "../policies/policies";
import { credentialsStaySecret } from "../policies/secrets";
import { authorizationRulesNameACaller, localRateLimitEnforced, peerAuthenticationStrict } from "../policies/security";
import {
  faultInjection,
  noDeprecatedDestinationRuleFields,
  routeSubsetsExist,
  virtualServiceWeights,
} from "../policies/traffic";
import { containerResourcesAndProbes, imagesPinned, sidecarInjection } from "../policies/workloads";
import { devConfig, meshConfig } from "./support/configs";
import { runWithMocks } from "./support/mockEngine";
import {
  fromRegistered,
  kubernetesResource,
  type PackConfigFile,
  type PolicyInput,
  policyView,
  runPolicies,
} from "./support/policyHarness";
import {
  fixedAuthorizationPolicy,
  fixedRateLimit,
  labAuthorizationPolicy,
  labRateLimit,
  rateLimitWithEnforcement,
  strictPeerAuthentication,
} from "./support/securityFixtures";

type AnyObject = Record<string, any>;
const clone = (value: unknown): AnyObject => structuredClone(value) as AnyObject;

/** The messages one policy reports for these objects. */
async function check(
  policy: ResourceValidationPolicy | StackValidationPolicy,
  objects: readonly (AnyObject | PolicyInput)[],
  config?: PackConfigFile,
) {
  const inputs = objects.map((o) =>
    "props" in o && "type" in o ? (o as PolicyInput) : kubernetesResource(o as never),
  );
  const run = await runPolicies([policy], inputs, config ? { config } : {});
  return run.messages(policy.name);
}

const dev = devConfig();

describe("the pack", () => {
  test("has unique policy names, each with a description and an explicit enforcement level", () => {
    const names = policies.map((p) => p.name);
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.length >= 11);
    for (const p of policies) {
      assert.match(p.name, /^[a-z0-9-]+$/);
      assert.ok(p.description.length > 20, p.name);
      assert.ok(p.enforcementLevel === "mandatory" || p.enforcementLevel === "advisory", p.name);
    }
  });
});

describe("the harness runs policies the way the analyzer does", () => {
  test("a value still unknown during preview turns that check into an advisory note, not a failure", async () => {
    const vs = { ...ingressRoutes(dev), spec: unknown };
    const run = await runPolicies([virtualServiceWeights], [kubernetesResource(vs as never)]);
    assert.deepEqual(run.mandatory, []);
    assert.match(
      run.advisory[0]?.message ?? "",
      /can't run policy 'virtualservice-weights-sum-to-100' from policy pack 'istio-mesh-guardrails@v0.1.0' during preview/,
    );
  });

  test("secrets reach policies as plain values, and a disabled policy does not run", async () => {
    const secretImage = { [specialSigKey]: specialSecretSig, value: "hashicorp/http-echo:latest" };
    const d = clone(backendSpecs(dev).deployments[0]);
    d.spec.template.spec.containers[0].image = secretImage;
    const input = kubernetesResource(d as never);
    assert.equal((await runPolicies([imagesPinned], [input])).diagnostics.length, 1);
    assert.equal(
      (await runPolicies([imagesPinned], [input], { config: { "images-pinned": "disabled" } })).diagnostics.length,
      0,
    );
  });

  test("a policy sees plain data: secrets unwrapped, undefined keys dropped, a `__proto__` key kept as a key", () => {
    const props = JSON.parse('{"__proto__": {"a": 1}, "b": [1, null], "c": {"d": {}}}');
    props.secret = { [specialSigKey]: specialSecretSig, value: { e: "x" } };
    props.gone = undefined;
    const view = policyView(props) as Record<string, unknown>;
    assert.deepEqual(Object.keys(view), ["__proto__", "b", "c", "secret"]);
    assert.equal(Object.getPrototypeOf(view), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(view, "__proto__")?.value, { a: 1 });
    assert.deepEqual(view.secret, { e: "x" });
    assert.deepEqual(view.b, [1, null]);
  });
});

describe("virtualservice-weights-sum-to-100", () => {
  test("passes the program's routes (90/10 and a single destination)", async () => {
    assert.deepEqual(await check(virtualServiceWeights, [ingressRoutes(dev), userServiceMeshRoutes(dev)]), []);
  });

  test("names the route and the weights when they don't add up, aren't integers or are missing", async () => {
    const vs = clone(ingressRoutes(dev));
    vs.spec.http[1].route[1].weight = 20;
    const fractional = clone(userServiceMeshRoutes(dev));
    fractional.spec.http[1].route[0].weight = 89.5;
    fractional.spec.http[1].route[1].weight = 10.5;
    const unweighted = clone(userServiceMeshRoutes(dev));
    for (const d of unweighted.spec.http[1].route) delete d.weight;
    assert.deepEqual(await check(virtualServiceWeights, [vs, fractional, unweighted]), [
      'VirtualService backend/app-routes route "user-service-canary": weights must be integers 0-100 that sum to 100 (have v1=90, v2=20, sum 110)',
      'VirtualService backend/user-service route "user-service-canary": weights must be integers 0-100 that sum to 100 (have v1=89.5, v2=10.5)',
      'VirtualService backend/user-service route "user-service-canary": weights must be integers 0-100 that sum to 100 (have v1=unset, v2=unset)',
    ]);
  });
});

describe("route-subsets-exist (a stack policy, across resources)", () => {
  test("passes when every subset is in the host's DestinationRule, short host names included", async () => {
    const shortHost = clone(userServiceMeshRoutes(dev));
    shortHost.spec.http[0].route[0].destination.host = "user-service";
    assert.deepEqual(
      await check(routeSubsetsExist, [
        ingressRoutes(dev),
        userServiceMeshRoutes(dev),
        shortHost,
        ...destinationRules(dev),
      ]),
      [],
    );
  });

  test("fails for a subset the DestinationRule lacks and for a host with no DestinationRule", async () => {
    const rules = destinationRules(dev).map(clone);
    const userService = rules.find((r) => r.metadata.name === "user-service");
    assert.ok(userService);
    userService.spec.subsets = userService.spec.subsets.filter((s: AnyObject) => s.name !== "v2");
    const elsewhere = clone(userServiceMeshRoutes(dev));
    elsewhere.metadata.name = "reviews";
    elsewhere.spec.http[0].route[0].destination = { host: "reviews", subset: "v3" };
    const messages = await check(routeSubsetsExist, [ingressRoutes(dev), elsewhere, ...rules]);
    const host = "user-service.backend.svc.cluster.local";
    assert.deepEqual(messages, [
      `VirtualService backend/app-routes route "user-service-beta" sends traffic to subset "v2" of ${host}, but the DestinationRule for ${host} defines v1`,
      `VirtualService backend/app-routes route "user-service-canary" sends traffic to subset "v2" of ${host}, but the DestinationRule for ${host} defines v1`,
      'VirtualService backend/reviews route "user-service-beta" sends traffic to subset "v3" of reviews, but no DestinationRule in this stack has host reviews.backend.svc.cluster.local',
      `VirtualService backend/reviews route "user-service-canary" sends traffic to subset "v2" of ${host}, but the DestinationRule for ${host} defines v1`,
    ]);
  });
});

describe("no-deprecated-destinationrule-fields", () => {
  test("passes the program's DestinationRules (consecutive5xxErrors)", async () => {
    assert.deepEqual(await check(noDeprecatedDestinationRuleFields, destinationRules(dev)), []);
  });

  test("flags the lab's consecutiveErrors, and deprecated fields inside subsets", async () => {
    const dr = clone(destinationRules(dev)[0]);
    dr.spec.trafficPolicy.outlierDetection = { consecutiveErrors: 3, interval: "30s" };
    dr.spec.subsets[0].trafficPolicy = {
      loadBalancer: { warmupDurationSecs: "10s", consistentHash: { minimumRingSize: 1024, httpHeaderName: "x-user" } },
    };
    assert.deepEqual(await check(noDeprecatedDestinationRuleFields, [dr]), [
      "DestinationRule backend/user-service: spec.trafficPolicy.outlierDetection.consecutiveErrors is deprecated; use consecutive5xxErrors (or consecutiveGatewayErrors)",
      "DestinationRule backend/user-service: spec.subsets[0].trafficPolicy.loadBalancer.warmupDurationSecs is deprecated; use loadBalancer.warmup.duration",
      "DestinationRule backend/user-service: spec.subsets[0].trafficPolicy.loadBalancer.consistentHash.minimumRingSize is deprecated; use consistentHash.ringHash.minimumRingSize",
    ]);
  });
});

describe("fault-injection", () => {
  const noFaults = meshConfig({ canaryWeights: { v1: 90, v2: 10 } });

  test("passes routes without faults", async () => {
    assert.deepEqual(await check(faultInjection, [ingressRoutes(noFaults), userServiceMeshRoutes(noFaults)]), []);
  });

  test("names each faulty route and the share of requests it hits; mandatory unless the stack allows faults", async () => {
    const faulty = ingressRoutes(
      meshConfig({ faults: { "order-service": { percent: 30, status: 500, delay: "2s" } } }),
    );
    const expected = [
      'VirtualService backend/app-routes route "order-service" injects a 2s delay into 30% of requests',
      'VirtualService backend/app-routes route "order-service" injects HTTP 500 aborts into 30% of requests',
    ];
    const strict = await runPolicies([faultInjection], [kubernetesResource(faulty)]);
    assert.deepEqual(
      strict.mandatory.map((d) => d.message),
      expected,
    );
    const devStack = await runPolicies([faultInjection], [kubernetesResource(faulty)], {
      config: { "fault-injection": "advisory" },
    });
    assert.deepEqual(
      devStack.advisory.map((d) => d.message),
      expected,
    );
    assert.equal(devStack.mandatory.length, 0);
  });
});

describe("images-pinned", () => {
  test("passes the backends and the Istio charts' values", async () => {
    const releases = istioReleases(dev).map((r) => ({
      type: "kubernetes:helm.sh/v3:Release",
      name: r.name,
      props: { ...r },
    }));
    assert.deepEqual(await check(imagesPinned, [...backendSpecs(dev).deployments, ...releases]), []);
  });

  test("flags :latest, untagged images and a Helm tag of latest", async () => {
    const [first, second] = backendSpecs(dev).deployments.map(clone) as [AnyObject, AnyObject];
    first.spec.template.spec.containers[0].image = "hashicorp/http-echo:latest";
    second.spec.template.spec.initContainers = [{ name: "init", image: "busybox" }];
    const istiod = { ...(istioReleases(dev)[1] as AnyObject) };
    istiod.values = { ...istiod.values, global: { ...istiod.values.global, tag: "latest" } };
    const messages = await check(imagesPinned, [
      first,
      second,
      { type: "kubernetes:helm.sh/v3:Release", name: "istiod", props: istiod },
    ]);
    assert.deepEqual(messages, [
      'Deployment backend/user-service-v1 container "user-service": image hashicorp/http-echo:latest is not pinned; use a tag other than latest, or a @sha256 digest',
      'Deployment backend/user-service-v2 container "init": image busybox is not pinned; use a tag other than latest, or a @sha256 digest',
      'Helm release istiod: values.global.tag is "latest"; pin a version',
    ]);
  });
});

describe("containers-have-resources-and-probes", () => {
  test("passes the backends", async () => {
    assert.deepEqual(await check(containerResourcesAndProbes, backendSpecs(dev).deployments), []);
  });

  test("lists what each container lacks; Jobs need no probes", async () => {
    const d = clone(backendSpecs(dev).deployments[0]);
    const container = d.spec.template.spec.containers[0];
    delete container.resources.limits;
    delete container.livenessProbe;
    const job = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "migrate", namespace: "backend" },
      spec: {
        template: {
          spec: { containers: [{ name: "migrate", image: "migrate:1.0", resources: { requests: { cpu: "1" } } }] },
        },
      },
    };
    assert.deepEqual(await check(containerResourcesAndProbes, [d, job]), [
      'Deployment backend/user-service-v1 container "user-service" has no limits.cpu, limits.memory, livenessProbe',
      'Job backend/migrate container "migrate" has no requests.memory, limits.cpu, limits.memory',
    ]);
  });
});

describe("sidecar-injection", () => {
  test("passes the backend namespace and its workloads", async () => {
    assert.deepEqual(await check(sidecarInjection, [backendNamespace(dev), ...backendSpecs(dev).deployments]), []);
  });

  test("flags a backend namespace without the label and a pod that opts out", async () => {
    const ns = clone(backendNamespace(dev));
    delete ns.metadata.labels["istio-injection"];
    const d = clone(backendSpecs(dev).deployments[0]);
    d.spec.template.metadata.annotations = { "sidecar.istio.io/inject": "false" };
    assert.deepEqual(await check(sidecarInjection, [ns, d]), [
      "Namespace backend must be in the mesh (label istio-injection=enabled, or istio.io/dataplane-mode=ambient); it has istio-injection=(unset)",
      "Deployment backend/user-service-v1 opts out of the sidecar (sidecar.istio.io/inject=false)",
    ]);
  });

  test("passes the ambient backend namespace, and flags a pod that opts out of ambient", async () => {
    const ambient = meshConfig({ dataplane: "ambient", egressGateway: false });
    assert.deepEqual(
      await check(sidecarInjection, [backendNamespace(ambient), ...backendSpecs(ambient).deployments]),
      [],
    );
    const d = clone(backendSpecs(ambient).deployments[0]);
    d.spec.template.metadata.labels = { ...d.spec.template.metadata.labels, "istio.io/dataplane-mode": "none" };
    assert.deepEqual(await check(sidecarInjection, [d]), [
      "Deployment backend/user-service-v1 opts out of ambient (istio.io/dataplane-mode=none)",
    ]);
  });

  test("the namespaces come from per-stack config", async () => {
    const ns = clone(backendNamespace(dev));
    ns.metadata.name = "payments";
    delete ns.metadata.labels["istio-injection"];
    assert.deepEqual(await check(sidecarInjection, [ns]), []);
    assert.equal(
      (await check(sidecarInjection, [ns], { "sidecar-injection": { namespaces: ["payments"] } })).length,
      1,
    );
  });
});

describe("peer-authentication-strict", () => {
  test("passes STRICT, which is a valid PeerAuthentication", async () => {
    const { PeerAuthentication } = await import("@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication");
    new PeerAuthentication(strictPeerAuthentication() as never).validate();
    assert.deepEqual(await check(peerAuthenticationStrict, [strictPeerAuthentication()]), []);
  });

  test("flags PERMISSIVE, an unset mode and a port-level exception", async () => {
    const permissive = clone(strictPeerAuthentication());
    permissive.spec = { mtls: { mode: "PERMISSIVE" }, portLevelMtls: { "9080": { mode: "DISABLE" } } };
    const unset = clone(strictPeerAuthentication());
    unset.metadata.name = "inherit";
    unset.spec = {};
    const fix =
      "set STRICT, or for a migration list the namespace in peer-authentication-strict.permissiveNamespaces " +
      "in policies/config/<stack>.json";
    assert.deepEqual(await check(peerAuthenticationStrict, [permissive, unset]), [
      `PeerAuthentication backend/default: mtls.mode is PERMISSIVE; ${fix}`,
      `PeerAuthentication backend/default: port 9080 mtls.mode is DISABLE; ${fix}`,
      `PeerAuthentication backend/inherit: mtls.mode is UNSET; ${fix}`,
    ]);
  });

  test("a namespace in permissiveNamespaces may run the program's PERMISSIVE policy; nothing weaker, nowhere else", async () => {
    const migrating = buildMeshSpec(meshConfig({ mtlsMode: "PERMISSIVE" })).security.peerAuthentication;
    assert.equal(migrating.spec?.mtls?.mode, "PERMISSIVE");
    const { PeerAuthentication } = await import("@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication");
    new PeerAuthentication(migrating as never).validate();
    const allowBackend = { "peer-authentication-strict": { permissiveNamespaces: ["backend"] } };
    // The default (no config) is the invariant: STRICT everywhere.
    assert.equal((await check(peerAuthenticationStrict, [migrating])).length, 1);
    assert.deepEqual(await check(peerAuthenticationStrict, [migrating], allowBackend), []);

    const disabledPort = clone(migrating);
    disabledPort.spec = { mtls: { mode: "PERMISSIVE" }, portLevelMtls: { "9080": { mode: "DISABLE" } } };
    const unset = clone(migrating);
    unset.metadata.name = "inherit";
    unset.spec = {};
    const elsewhere = clone(migrating);
    elsewhere.metadata.namespace = "payments";
    const fix = "set STRICT (or PERMISSIVE while the namespace migrates)";
    assert.deepEqual((await check(peerAuthenticationStrict, [disabledPort, unset, elsewhere], allowBackend)).sort(), [
      `PeerAuthentication backend/default: port 9080 mtls.mode is DISABLE; ${fix}`,
      `PeerAuthentication backend/inherit: mtls.mode is UNSET; ${fix}`,
      "PeerAuthentication payments/default: mtls.mode is PERMISSIVE; set STRICT, or for a migration list the " +
        "namespace in peer-authentication-strict.permissiveNamespaces in policies/config/<stack>.json",
    ]);
  });
});

describe("authorization-rules-name-a-caller", () => {
  test("passes rules that name a caller or a condition, and DENY rules by method", async () => {
    const { AuthorizationPolicy } = await import("@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy");
    new AuthorizationPolicy(fixedAuthorizationPolicy() as never).validate();
    const deny = clone(labAuthorizationPolicy());
    deny.spec.action = "DENY";
    deny.spec.rules = [{ to: [{ operation: { methods: ["DELETE"] } }] }];
    assert.deepEqual(await check(authorizationRulesNameACaller, [fixedAuthorizationPolicy(), deny]), []);
  });

  test("flags the lab's lone `to: methods` rule and an empty rule", async () => {
    const allowAll = clone(fixedAuthorizationPolicy());
    allowAll.metadata.name = "allow-all";
    allowAll.spec.rules = [{}];
    assert.deepEqual(await check(authorizationRulesNameACaller, [labAuthorizationPolicy(), allowAll]), [
      "AuthorizationPolicy backend/user-service-policy rules[1] allows methods GET,POST from any caller: add `from` (principals, namespaces, requestPrincipals) or `when`, or list the policy in publicPolicies",
      "AuthorizationPolicy backend/allow-all rules[0] allows any request from any caller: add `from` (principals, namespaces, requestPrincipals) or `when`, or list the policy in publicPolicies",
    ]);
  });

  test("a stack can declare a deliberately public policy", async () => {
    const config = { "authorization-rules-name-a-caller": { publicPolicies: ["backend/user-service-policy"] } };
    assert.deepEqual(await check(authorizationRulesNameACaller, [labAuthorizationPolicy()], config), []);
  });
});

describe("local-rate-limit-enforced", () => {
  test("passes a limit with filter_enabled and filter_enforced at 100%", async () => {
    const { EnvoyFilter } = await import("@kubernetes-models/istio/networking.istio.io/v1alpha3/EnvoyFilter");
    new EnvoyFilter(fixedRateLimit() as never).validate();
    assert.deepEqual(await check(localRateLimitEnforced, [fixedRateLimit()]), []);
  });

  test("flags the lab's rate limit (neither field) and an enforcement of 0%", async () => {
    const prefix =
      "EnvoyFilter backend/rate-limit-filter configPatches[0].patch.value.typed_config.value: local rate limit";
    assert.deepEqual(await check(localRateLimitEnforced, [labRateLimit(), rateLimitWithEnforcement(0)]), [
      `${prefix} filter_enabled is missing (Envoy then applies the limit to 0% of requests)`,
      `${prefix} filter_enforced is missing (Envoy then applies the limit to 0% of requests)`,
      `${prefix} filter_enforced.default_value.numerator is 0`,
    ]);
  });
});

describe("credentials-stay-secret", () => {
  test("passes the program's kind command and what the tls/random SDKs register", async () => {
    const run = await runWithMocks(() => {
      new tls.PrivateKey("ca-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
      new random.RandomPassword("grafana-admin", { length: 24 });
      new k8s.core.v1.Secret("jwt-signing", { stringData: { key: "not a real key" } });
      return buildMeshSpec(dev);
    });
    const mesh = await runWithMocks(() => deployMesh(dev));
    const inputs = fromRegistered([...run.resources, ...mesh.resources]);
    assert.ok(inputs.some((r) => r.type === "command:local:Command"));
    assert.deepEqual(await check(credentialsStaySecret, inputs), []);
  });

  test("flags a kubeconfig command without additionalSecretOutputs and plain-text credentials", async () => {
    const kind = {
      type: "command:local:Command",
      name: "kind-cluster",
      props: { create: "kind create cluster && kind get kubeconfig --name lab" },
    };
    const pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n";
    const configMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "certs", namespace: "backend" },
      data: { "tls.key": pem, "jwks.json": '{"keys":[{"kty":"RSA","n":"abc","e":"AQAB"}]}' },
    };
    const d = clone(backendSpecs(dev).deployments[0]);
    d.spec.template.spec.containers[0].env = [
      { name: "DB_PASSWORD", value: "hunter2" },
      { name: "LOG_LEVEL", value: "debug" },
      { name: "API_TOKEN", valueFrom: { secretKeyRef: { name: "api", key: "token" } } },
    ];
    assert.deepEqual(await check(credentialsStaySecret, [kind, configMap, d]), [
      'command:local:Command kind-cluster outputs a kubeconfig in stdout, which is not secret: add { additionalSecretOutputs: ["stdout"] }',
      "ConfigMap backend/certs data.tls.key holds a PEM private key; put it in a Secret",
      'backend/user-service-v1 container "user-service" env DB_PASSWORD holds a credential in plain text; use valueFrom.secretKeyRef',
    ]);
  });
});
