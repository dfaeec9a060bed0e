/**
 * The gateway-api cell (trafficApi: gateway-api): its objects validate against Gateway API v1.5.1's
 * schemas and Istio's, every reference resolves to an object the program or the charts create, a
 * canary shift changes only routing objects, and what the cell cannot do is refused by name.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { crdName, crdShellLoad, GATEWAY_API_CRDS, needsGatewayApiCrds } from "../components/gatewayApi/crds";
import { deployMesh } from "../components/mesh";
import { buildMeshSpec, generatedShells, helmReleases, ownedObjects } from "../components/meshSpec";
import { INGRESS_NAMESPACE, type NamedObject, serviceHost } from "../components/meta";
import { HTTPS_CREDENTIAL } from "../components/security/https";
import { retryCodes } from "../components/traffic/gatewayApi/resilience";
import { versionServiceName } from "../components/traffic/gatewayApi/versionServices";
import type { MeshConfig } from "../config/types";
import { devAmbientGatewayApiRaw, devGatewayApiRaw, gatewayApiTraffic } from "./support/cells";
import { meshConfig, rejected } from "./support/configs";
import { gatewayApiModels } from "./support/gatewayApiSchemas";
import { istioModels } from "./support/istioSchemas";
import { type Registered, runWithMocks } from "./support/mockEngine";
import { T } from "./support/types";

const HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute";
const KUBE_GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway";
const CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition";

const cellConfigs: [string, MeshConfig][] = [
  ["the dev stack without faults", meshConfig(devGatewayApiRaw())],
  [
    "a 75/25 shift with a circuit breaker",
    meshConfig({
      ...devGatewayApiRaw(),
      canaryWeights: { v1: 75, v2: 25 },
      circuitBreakers: { "user-service": { connectionPool: { maxConnections: 10 } } },
    }),
  ],
  ["everything on v2", meshConfig({ trafficApi: "gateway-api", canaryWeights: { v1: 0, v2: 100 } })],
  // The fourth cell: the same routes, enforced by the waypoint; what ambient refuses of the dev stack off.
  ["ambient × gateway-api, the dev stack", meshConfig(devAmbientGatewayApiRaw())],
];

type Obj = NamedObject & { spec?: Record<string, unknown> };
const key = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ""}/${name}`;

describe("gateway-api cell: schemas", () => {
  for (const [name, cfg] of cellConfigs) {
    test(`every object validates against its schema (${name})`, async () => {
      const gatewayApi = await gatewayApiModels();
      const istio = await istioModels();
      const spec = buildMeshSpec(cfg);
      const traffic = gatewayApiTraffic(spec);
      for (const object of [traffic.gateway, ...traffic.httpRoutes, ...(spec.ambient ? [spec.ambient.waypoint] : [])]) {
        const Model = gatewayApi[object.kind as keyof typeof gatewayApi];
        assert.doesNotThrow(() => new Model(object as never).validate(), `${object.kind}/${object.metadata.name}`);
      }
      for (const dr of traffic.destinationRules) {
        assert.doesNotThrow(() => new istio.DestinationRule(dr as never).validate(), dr.metadata.name);
      }
      // No Istio routing object is rendered in this cell (egress keeps its own, see docs/cells.md).
      assert.ok(
        !ownedObjects(spec).some((o) => o.kind === "VirtualService" && o.metadata.namespace === cfg.backend.namespace),
      );
    });
  }

  test("the schemas do reject a broken route (the check has teeth)", async () => {
    const { HTTPRoute } = await gatewayApiModels();
    const [, dev] = cellConfigs[0] ?? ["", meshConfig()];
    const route = structuredClone(gatewayApiTraffic(buildMeshSpec(dev)).httpRoutes[0]) as {
      spec: { rules: { retry?: { attempts?: unknown } }[] };
    };
    const rule = route.spec.rules[0];
    assert.ok(rule?.retry);
    rule.retry.attempts = "three";
    assert.throws(() => new HTTPRoute(route as never).validate(), /attempts must be integer/);
  });
});

describe("gateway-api cell: cross-references", () => {
  for (const [name, cfg] of cellConfigs) {
    test(`parentRefs, backendRefs, certificateRefs and the gateway address resolve (${name})`, () => {
      const spec = buildMeshSpec(cfg);
      const traffic = gatewayApiTraffic(spec);
      const objects = [...ownedObjects(spec), ...generatedShells(spec)] as Obj[];
      const byKey = new Map(objects.map((o) => [key(o.kind, o.metadata.namespace, o.metadata.name), o]));
      const servicePorts = (ns: string, svc: string) => {
        const found = byKey.get(key("Service", ns, svc)) as { spec?: { ports?: { port: number }[] } } | undefined;
        return found?.spec?.ports?.map((p) => p.port);
      };
      for (const route of traffic.httpRoutes) {
        const ns = route.metadata.namespace ?? "";
        for (const parent of route.spec.parentRefs ?? []) {
          const kind = parent.kind ?? "Gateway";
          const target = key(kind, parent.namespace ?? ns, parent.name);
          assert.ok(byKey.has(target), `${route.metadata.name}: parentRef ${target} does not exist`);
          if (kind === "Service") {
            assert.ok(servicePorts(parent.namespace ?? ns, parent.name)?.includes(parent.port ?? -1));
          }
        }
        for (const rule of route.spec.rules ?? []) {
          for (const ref of rule.backendRefs ?? []) {
            const ports = servicePorts(ref.namespace ?? ns, ref.name);
            assert.ok(ports, `${route.metadata.name}: backendRef Service ${ref.name} does not exist`);
            assert.ok(
              ports.includes(ref.port ?? -1),
              `${route.metadata.name}: ${ref.name} exposes no port ${ref.port}`,
            );
          }
        }
      }
      // Version Services select exactly one Deployment's pods.
      for (const svc of traffic.versionServices) {
        const selected = spec.backends.deployments.filter(
          (d) => JSON.stringify(d.spec?.selector?.matchLabels) === JSON.stringify(svc.spec?.selector),
        );
        assert.equal(selected.length, 1, svc.metadata.name);
      }
      // The certificate is the stack's Secret in the Gateway's namespace; the address is the chart's Service.
      const gw = traffic.gateway;
      const https = gw.spec.listeners.find((l) => l.protocol === "HTTPS");
      assert.equal(https?.tls?.certificateRefs?.[0]?.name, HTTPS_CREDENTIAL);
      assert.ok(byKey.has(key("Secret", gw.metadata.namespace, HTTPS_CREDENTIAL)));
      const ingress = helmReleases(spec).find((r) => r.chart === "gateway" && r.namespace === INGRESS_NAMESPACE);
      assert.ok(ingress);
      assert.deepEqual(gw.spec.addresses, [{ type: "Hostname", value: serviceHost(ingress.name, ingress.namespace) }]);
      // Listener ports are that Service's ports, whose NodePorts are the kind host ports.
      const ports = (ingress.values as { service: { ports: { port: number }[] } }).service.ports.map((p) => p.port);
      for (const l of gw.spec.listeners) assert.ok(ports.includes(l.port), `listener ${l.name}`);
      // Routes attach from the backend namespace, which the listeners admit.
      const admitted = gw.spec.listeners.map(
        (l) => l.allowedRoutes?.namespaces?.selector?.matchLabels?.["kubernetes.io/metadata.name"],
      );
      assert.deepEqual(admitted, [cfg.backend.namespace, cfg.backend.namespace]);
    });
  }
});

describe("gateway-api cell: routing", () => {
  test("the canary split is HTTPRoute weights over version Services; the beta header reaches betaVersion", () => {
    const cfg = meshConfig({ ...devGatewayApiRaw(), canaryWeights: { v1: 75, v2: 25 } });
    const [ingress] = gatewayApiTraffic(buildMeshSpec(cfg)).httpRoutes;
    const [beta, canary] = ingress?.spec.rules ?? [];
    assert.deepEqual(beta?.matches?.[0]?.headers, [{ type: "Exact", name: "x-user-type", value: "beta" }]);
    assert.deepEqual(beta?.backendRefs, [{ name: versionServiceName("user-service", cfg.betaVersion), port: 80 }]);
    assert.deepEqual(canary?.backendRefs, [
      { name: "user-service-v1", port: 80, weight: 75 },
      { name: "user-service-v2", port: 80, weight: 25 },
    ]);
  });

  test("retries and timeouts become retry codes and timeouts, as istiod translates them back", () => {
    const cfg = meshConfig({
      trafficApi: "gateway-api",
      userServiceRetries: {
        attempts: 2,
        perTryTimeout: "1.5s",
        retryOn: "gateway-error,connect-failure",
        timeout: "6s",
      },
    });
    const rule = gatewayApiTraffic(buildMeshSpec(cfg)).httpRoutes[0]?.spec.rules?.[0];
    assert.deepEqual(rule?.retry, { attempts: 2, codes: [502, 503, 504] });
    assert.deepEqual(rule?.timeouts, { request: "6s", backendRequest: "1500ms" });
    assert.deepEqual(retryCodes("5xx").slice(0, 3), [500, 501, 502]);
  });

  test("circuit breakers land on the hosts the routes send to: each version Service", () => {
    const cfg = meshConfig({
      trafficApi: "gateway-api",
      circuitBreakers: {
        "user-service": { connectionPool: { maxConnections: 10 } },
        "order-service": { connectionPool: { maxConnections: 5 } },
      },
    });
    const rules = gatewayApiTraffic(buildMeshSpec(cfg)).destinationRules;
    assert.deepEqual(
      rules.map((r) => [r.spec?.host, r.spec?.trafficPolicy?.connectionPool?.tcp?.maxConnections, r.spec?.subsets]),
      [
        [serviceHost("user-service-v1", cfg.backend.namespace), 10, undefined],
        [serviceHost("user-service-v2", cfg.backend.namespace), 10, undefined],
        // The default breaker (lab Step 4-3).
        [serviceHost("product-service", cfg.backend.namespace), 1, undefined],
        [serviceHost("order-service", cfg.backend.namespace), 5, undefined],
      ],
    );
  });

  test("security (JWT, authorization, the rate limit) and egress render the same objects in both cells", () => {
    // They select backend and egress-gateway pods by labels no cell changes; nothing selects the
    // ingress gateway's pods but the istio cell's Gateway, and manual deployment keeps those pods.
    const gatewayApi = buildMeshSpec(meshConfig(devGatewayApiRaw()));
    const { trafficApi: _, ...istioRaw } = devGatewayApiRaw();
    const istio = buildMeshSpec(meshConfig(istioRaw));
    assert.deepEqual(gatewayApi.security, istio.security);
    assert.deepEqual(gatewayApi.egress, istio.egress);
  });
});

describe("gateway-api cell: refusals", () => {
  test("faults are refused by key, naming the cell and the reason; the istio cell keeps them", () => {
    const raw = { ...devGatewayApiRaw(), faults: { "order-service": { percent: 30, status: 500 } } };
    const error = rejected(raw);
    assert.deepEqual(
      error.issues.map((i) => i.key),
      ["istio-mesh:faults.order-service"],
    );
    assert.match(
      error.message,
      /dataplane=sidecar, trafficApi=gateway-api: Gateway API HTTPRoute has no fault injection filter/,
    );
    assert.doesNotThrow(() => meshConfig({ ...raw, trafficApi: "istio" }));
  });

  test("retry conditions an HTTPRoute cannot carry are refused; the istio cell keeps them", () => {
    const retries = { userServiceRetries: { retryOn: "5xx,reset,retriable-headers" } };
    const error = rejected({ trafficApi: "gateway-api", ...retries });
    assert.deepEqual(
      error.issues.map((i) => i.key),
      ["istio-mesh:userServiceRetries.retryOn"],
    );
    assert.match(
      error.message,
      /trafficApi=gateway-api: HTTPRoute retry takes status codes only .*not reset, retriable-headers$/m,
    );
    assert.doesNotThrow(() => meshConfig(retries));
  });

  test("the dev stack without its faults parses in the cell", () => {
    assert.equal(meshConfig(devGatewayApiRaw()).cell.trafficApi, "gateway-api");
  });
});

describe("gateway-api cell: the program", () => {
  // One mock run per config: the tests only read what it registered.
  const runs = new Map<string, ReturnType<typeof runWithMocks>>();
  function run(raw: Record<string, unknown>) {
    const key = JSON.stringify(raw);
    let found = runs.get(key);
    if (!found) {
      found = runWithMocks(() =>
        deployMesh(meshConfig(raw), {
          dashboards: async () => ({ contents: {}, missing: [] }),
          gatewayApiCrds: crdShellLoad,
        }),
      );
      runs.set(key, found);
    }
    return found;
  }

  test("one CustomResourceDefinition per pinned CRD, and every Gateway API object waits for them", async () => {
    const { resources } = await run(devGatewayApiRaw());
    const crds = resources.filter((r) => r.type === CRD);
    assert.deepEqual(crds.map((r) => r.name).sort(), GATEWAY_API_CRDS.map((p) => crdName(p.file)).sort());
    const crdUrns = crds.map((r) => r.urn);
    for (const r of resources.filter((x) => x.type === HTTP_ROUTE || x.type === KUBE_GATEWAY)) {
      for (const urn of crdUrns) assert.ok(r.dependencies.includes(urn), `${r.name} does not wait for ${urn}`);
    }
  });

  test("the istio cell installs no Gateway API CRDs; ambient would", async () => {
    const { resources } = await run({});
    assert.equal(resources.filter((r) => r.type === CRD).length, 0);
    assert.equal(needsGatewayApiCrds(meshConfig({ dataplane: "ambient", egressGateway: false })), true);
  });

  for (const [cell, raw] of [
    ["sidecar", devGatewayApiRaw],
    ["ambient", devAmbientGatewayApiRaw],
  ] as const) {
    test(`shifting the canary to 75/25 changes the routing objects and nothing else (${cell} × gateway-api)`, async () => {
      const inputs = async (raw: Record<string, unknown>) =>
        new Map(
          (await run(raw)).resources.map((r: Registered) => [
            r.urn,
            { label: `${r.type}::${r.name}`, inputs: JSON.stringify(r.inputs) },
          ]),
        );
      const before = await inputs(raw());
      const after = await inputs({ ...raw(), canaryWeights: { v1: 75, v2: 25 } });
      assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), "the same resources exist");
      const changed = [...before].filter(([urn, b]) => after.get(urn)?.inputs !== b.inputs).map(([urn]) => urn);
      assert.deepEqual(changed.map((urn) => before.get(urn)?.label).sort(), [
        `${HTTP_ROUTE}::app-routes`,
        `${HTTP_ROUTE}::user-service`,
      ]);
      assert.ok(!changed.some((urn) => urn.includes(T.service) || urn.includes(T.deployment)));
    });
  }
});
