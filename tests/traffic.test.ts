import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildMeshSpec, type MeshSpec } from "../components/meshSpec";
import { serviceHost } from "../components/meta";
import {
  BETA_HEADER,
  type HttpRoute,
  ingressRoutes,
  meshRoutes,
  userServiceMeshRoutes,
} from "../components/traffic/routes";
import type { MeshConfig } from "../config/types";
import { istioTraffic } from "./support/cells";
import { devConfig, meshConfig } from "./support/configs";
import { istioModels } from "./support/istioSchemas";

function istioObjects(spec: MeshSpec) {
  return [istioTraffic(spec).gateway, ...istioTraffic(spec).virtualServices, ...istioTraffic(spec).destinationRules];
}

const labConfigs: [string, MeshConfig][] = [
  ["defaults", meshConfig()],
  ["the dev stack", devConfig()],
  [
    "a 75/25 shift with every fault",
    meshConfig({
      canaryWeights: { v1: 75, v2: 25 },
      faults: { "user-service": { percent: 5, delay: "1s", status: 503 } },
    }),
  ],
  ["everything on v2", meshConfig({ canaryWeights: { v1: 0, v2: 100 } })],
];

describe("Istio schemas", () => {
  for (const [name, cfg] of labConfigs) {
    test(`every Istio object is valid networking.istio.io/v1 (${name})`, async () => {
      const models = await istioModels();
      for (const object of istioObjects(buildMeshSpec(cfg))) {
        assert.equal(object.apiVersion, "networking.istio.io/v1");
        const Model = models[object.kind as keyof typeof models];
        assert.ok(Model, `no schema for ${object.kind}`);
        assert.doesNotThrow(() => new Model(object as never).validate(), `${object.kind}/${object.metadata.name}`);
      }
    });
  }

  test("the schemas do reject a broken object (the check has teeth)", async () => {
    const { VirtualService } = await istioModels();
    const broken = structuredClone(ingressRoutes(devConfig())) as {
      spec: { http: { route: { weight?: unknown }[] }[] };
    };
    const first = broken.spec.http[1]?.route[0];
    assert.ok(first);
    first.weight = "ninety";
    assert.throws(() => new VirtualService(broken as never).validate(), /weight must be integer/);
  });
});

describe("cross-references", () => {
  for (const [name, cfg] of labConfigs) {
    test(`hosts, subsets, gateways and weights all line up (${name})`, () => {
      const spec = buildMeshSpec(cfg);
      const ns = cfg.backend.namespace;
      const services = new Map(spec.backends.services.map((s) => [serviceHost(s.metadata.name, ns), s]));
      const rules = new Map(istioTraffic(spec).destinationRules.map((r) => [r.spec?.host, r]));
      const gateways = new Set([istioTraffic(spec).gateway.metadata.name]);
      const podLabelSets = spec.backends.deployments.map((d) => d.spec?.template.metadata?.labels ?? {});

      for (const vs of istioTraffic(spec).virtualServices) {
        for (const g of vs.spec?.gateways ?? [])
          assert.ok(g === "mesh" || gateways.has(g), `${vs.metadata.name}: no Gateway ${g}`);
        for (const route of vs.spec?.http ?? []) {
          const destinations = route.route ?? [];
          if (destinations.length > 1) {
            assert.equal(
              destinations.reduce((sum, d) => sum + (d.weight ?? 0), 0),
              100,
              `${route.name} weights`,
            );
          }
          for (const { destination } of destinations) {
            const host = destination?.host ?? "";
            assert.ok(services.has(host), `${route.name}: ${host} is not one of our Services`);
            if (destination?.subset === undefined) continue;
            const subset = rules.get(host)?.spec?.subsets?.find((s) => s.name === destination.subset);
            assert.ok(subset, `${route.name}: subset ${destination.subset} is not in ${host}'s DestinationRule`);
            const selects = podLabelSets.some((labels) =>
              Object.entries(subset.labels ?? {}).every(([k, v]) => labels[k] === v),
            );
            assert.ok(selects, `subset ${destination.subset} of ${host} selects no pods`);
          }
        }
      }
      for (const vs of istioTraffic(spec).virtualServices) {
        for (const host of vs.spec?.hosts ?? []) assert.ok(host === "*" || services.has(host), `VS host ${host}`);
      }
    });
  }

  test("one VirtualService per (gateway, host): no two owners of a route", () => {
    const spec = buildMeshSpec(devConfig());
    const owners = istioTraffic(spec).virtualServices.flatMap((vs) =>
      (vs.spec?.gateways ?? ["mesh"]).flatMap((g) => (vs.spec?.hosts ?? []).map((h) => `${g}|${h}`)),
    );
    assert.equal(new Set(owners).size, owners.length);
    assert.deepEqual(owners.sort(), [
      "app-gateway|*",
      `mesh|${serviceHost("order-service", "backend")}`,
      `mesh|${serviceHost("product-service", "backend")}`,
      `mesh|${serviceHost("user-service", "backend")}`,
    ]);
  });

  test("every service has exactly one DestinationRule with a subset per deployed version", () => {
    const spec = buildMeshSpec(devConfig());
    assert.deepEqual(
      istioTraffic(spec).destinationRules.map((r) => [r.metadata.name, r.spec?.subsets?.map((s) => s.name)]),
      [
        ["user-service", ["v1", "v2"]],
        ["product-service", ["v1"]],
        ["order-service", ["v1"]],
      ],
    );
  });
});

const byName = (routes: readonly HttpRoute[], name: string) => {
  const found = routes.find((r) => r.name === name);
  assert.ok(found, `no route ${name}`);
  return found;
};

describe("routes", () => {
  test("the gateway serves HTTP on 80 for every host and HTTPS on 443 for httpsHost, on the ingress gateway pods", () => {
    const gateway = istioTraffic(buildMeshSpec(devConfig())).gateway;
    assert.deepEqual(gateway.spec, {
      selector: { istio: "ingressgateway" },
      servers: [
        { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] },
        {
          port: { number: 443, name: "https", protocol: "HTTPS" },
          hosts: ["api.example.com"],
          tls: { mode: "SIMPLE", credentialName: "api-cert" },
        },
      ],
    });
  });

  test("canary weights come from config", () => {
    const http = ingressRoutes(meshConfig({ canaryWeights: { v1: 75, v2: 25 } })).spec?.http ?? [];
    assert.deepEqual(
      byName(http, "user-service-canary").route?.map((d) => [d.destination?.subset, d.weight]),
      [
        ["v1", 75],
        ["v2", 25],
      ],
    );
  });

  test("a version at 0% is left out, and a lone version needs no weight", () => {
    const http = ingressRoutes(meshConfig({ canaryWeights: { v1: 100, v2: 0 } })).spec?.http ?? [];
    assert.deepEqual(byName(http, "user-service-canary").route, [
      { destination: { host: serviceHost("user-service", "backend"), subset: "v1" } },
    ]);
  });

  test("beta users match first, on the /users path, and always reach v2", () => {
    for (const vs of [ingressRoutes(devConfig()), userServiceMeshRoutes(devConfig())]) {
      const http = vs.spec?.http ?? [];
      const beta = http.findIndex((r) => r.name === "user-service-beta");
      const canary = http.findIndex((r) => r.name === "user-service-canary");
      assert.ok(beta >= 0 && beta < canary, `${vs.metadata.name}: beta must precede the weighted route`);
      const rule = http[beta];
      assert.deepEqual(rule?.match?.[0]?.headers, { [BETA_HEADER]: { exact: "beta" } });
      assert.deepEqual(
        rule?.route?.map((d) => d.destination?.subset),
        ["v2"],
      );
    }
    const ingressBeta = byName(ingressRoutes(devConfig()).spec?.http ?? [], "user-service-beta");
    assert.deepEqual(ingressBeta.match?.[0]?.uri, { prefix: "/users" }, "beta header alone must not capture /orders");
  });

  test("user-service retries 3×2s on 5xx within 10s, at the ingress and inside the mesh", () => {
    for (const vs of [ingressRoutes(devConfig()), userServiceMeshRoutes(devConfig())]) {
      const routes = (vs.spec?.http ?? []).filter((r) => r.name?.startsWith("user-service"));
      assert.deepEqual(
        routes.map((r) => r.name),
        ["user-service-beta", "user-service-canary"],
      );
      for (const route of routes) {
        assert.deepEqual(route.retries, { attempts: 3, perTryTimeout: "2s", retryOn: "5xx" });
        assert.equal(route.timeout, "10s");
      }
    }
  });

  test("/products and /orders route to their services", () => {
    const http = ingressRoutes(meshConfig()).spec?.http ?? [];
    for (const [name, prefix] of [
      ["product-service", "/products"],
      ["order-service", "/orders"],
    ] as const) {
      const route = byName(http, name);
      assert.deepEqual(route.match, [{ uri: { prefix } }]);
      assert.deepEqual(route.route, [{ destination: { host: serviceHost(name, "backend") } }]);
    }
  });
});

describe("faults", () => {
  test("the dev stack delays /products 5s for 50% and aborts /orders with 500 for 30%", () => {
    const http = ingressRoutes(devConfig()).spec?.http ?? [];
    assert.deepEqual(byName(http, "product-service").fault, { delay: { fixedDelay: "5s", percentage: { value: 50 } } });
    assert.deepEqual(byName(http, "order-service").fault, { abort: { httpStatus: 500, percentage: { value: 30 } } });
    assert.equal(byName(http, "user-service-canary").fault, undefined);
  });

  test("with no faults key, no route injects anything", () => {
    const spec = buildMeshSpec(meshConfig());
    for (const vs of istioTraffic(spec).virtualServices) {
      for (const route of vs.spec?.http ?? []) assert.equal(route.fault, undefined, route.name);
    }
  });

  test("a faulted service gets its fault on both of its routes: at the ingress and inside the mesh", () => {
    const cfg = devConfig();
    const ingress = ingressRoutes(cfg).spec?.http ?? [];
    const expected = {
      "product-service": { delay: { fixedDelay: "5s", percentage: { value: 50 } } },
      "order-service": { abort: { httpStatus: 500, percentage: { value: 30 } } },
    } as const;
    for (const [name, fault] of Object.entries(expected) as [keyof typeof expected, unknown][]) {
      assert.deepEqual(byName(ingress, name).fault, fault, `${name} at the ingress`);
      const mesh = meshRoutes(cfg, name);
      assert.deepEqual(mesh.spec?.hosts, [serviceHost(name, "backend")]);
      assert.deepEqual(mesh.spec?.gateways, ["mesh"]);
      assert.deepEqual(mesh.spec?.http, [
        { name, route: [{ destination: { host: serviceHost(name, "backend") } }], fault },
      ]);
    }
  });

  test("every service has its mesh VirtualService with or without a fault, so a fault toggles a field", () => {
    const names = (cfg: MeshConfig) => istioTraffic(buildMeshSpec(cfg)).virtualServices.map((vs) => vs.metadata.name);
    assert.deepEqual(names(meshConfig()), names(devConfig()));
    assert.deepEqual(names(devConfig()), ["app-routes", "user-service", "product-service", "order-service"]);
    assert.deepEqual(meshRoutes(meshConfig(), "order-service").spec?.http?.[0]?.fault, undefined);
  });

  test("a fault on user-service applies at the ingress and inside the mesh, always with a percentage", () => {
    const cfg = meshConfig({ faults: { "user-service": { percent: 10, delay: "2s", status: 503 } } });
    for (const vs of [ingressRoutes(cfg), userServiceMeshRoutes(cfg)]) {
      const routes = (vs.spec?.http ?? []).filter((r) => r.name?.startsWith("user-service"));
      assert.deepEqual(
        routes.map((r) => r.name),
        ["user-service-beta", "user-service-canary"],
      );
      for (const route of routes) {
        assert.deepEqual(route.fault, {
          delay: { fixedDelay: "2s", percentage: { value: 10 } },
          abort: { httpStatus: 503, percentage: { value: 10 } },
        });
      }
    }
  });
});

describe("circuit breakers", () => {
  test("user-service: 10/10/2 pool; product-service: the lab's 1/1/1 pool with outlier detection", () => {
    const rules = new Map(
      istioTraffic(buildMeshSpec(devConfig())).destinationRules.map((r) => [r.metadata.name, r.spec]),
    );
    assert.deepEqual(rules.get("user-service")?.trafficPolicy?.connectionPool, {
      tcp: { maxConnections: 10 },
      http: { http1MaxPendingRequests: 10, maxRequestsPerConnection: 2 },
    });
    assert.deepEqual(rules.get("product-service")?.trafficPolicy, {
      connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 } },
      outlierDetection: { consecutive5xxErrors: 1, interval: "1s", baseEjectionTime: "3m", maxEjectionPercent: 100 },
    });
    assert.equal(rules.get("order-service")?.trafficPolicy, undefined);
  });

  test("no DestinationRule uses the deprecated consecutiveErrors", () => {
    const text = JSON.stringify(istioTraffic(buildMeshSpec(devConfig())).destinationRules);
    assert.doesNotMatch(text, /consecutiveErrors/);
    assert.match(text, /consecutive5xxErrors/);
  });
});
