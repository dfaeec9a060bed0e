import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { istiodValues } from "../components/controlPlane/helmValues";
import {
  EGRESS_GATEWAY_RELEASE,
  egressGatewayHost,
  gatewayChartSelectorLabels,
} from "../components/egress/egressGateway";
import { egressIstioObjects } from "../components/egress/egressSpec";
import { EXTERNAL_DB_HOST, HTTPBIN_HOST } from "../components/egress/externalServices";
import { egressGatewayRef, egressRoutes } from "../components/egress/routing";
import { deployMesh } from "../components/mesh";
import { buildMeshSpec, helmReleases, type MeshSpec, ownedObjects } from "../components/meshSpec";
import { EGRESS_NAMESPACE, INGRESS_NAMESPACE, type NamedObject, serviceHost } from "../components/meta";
import { parseMeshConfig, type RawConfig } from "../config/parse";
import type { MeshConfig } from "../config/types";
import { asPulumiConfig, devConfig, devStackConfig, meshConfig, rejected } from "./support/configs";
import { devMeshRun } from "./support/devMeshRun";
import { loadIndex } from "./support/indexProgram";
import { istioModels } from "./support/istioSchemas";
import { type MockRun, type Registered, runWithMocks } from "./support/mockEngine";
import { T } from "./support/types";

type Spec = Record<string, any>;
const specOf = (o: NamedObject): Spec => (o as { spec?: Spec }).spec ?? {};

const configs: [string, MeshConfig][] = [
  ["defaults", meshConfig()],
  ["the dev stack", devConfig()],
  ["REGISTRY_ONLY", meshConfig({ outboundTrafficPolicy: "REGISTRY_ONLY" })],
  ["no egress gateway", meshConfig({ egressGateway: "false" })],
];

const istioKinds = new Set(["Gateway", "VirtualService", "DestinationRule", "ServiceEntry"]);
const istioObjectsOf = (spec: MeshSpec) => ownedObjects(spec).filter((o) => istioKinds.has(o.kind));

/** Whether an object with this exportTo is visible to proxies in `ns` (absent: everywhere). */
function visibleIn(o: NamedObject, ns: string): boolean {
  const exportTo: string[] | undefined = specOf(o).exportTo;
  if (exportTo === undefined) return true;
  return exportTo.some((e) => e === "*" || e === ns || (e === "." && o.metadata.namespace === ns));
}

/** The Services the mesh has: ours, and the ones the gateway chart creates (named after the release). */
function servicePorts(spec: MeshSpec): Map<string, number[]> {
  const ports = new Map<string, number[]>();
  for (const s of spec.backends.services) {
    ports.set(
      serviceHost(s.metadata.name, s.metadata.namespace ?? ""),
      (s.spec?.ports ?? []).map((p) => p.port),
    );
  }
  for (const r of helmReleases(spec).filter((x) => x.chart === "gateway")) {
    const values = r.values as { service: { ports: { port: number }[] } };
    ports.set(
      serviceHost(r.name, r.namespace),
      values.service.ports.map((p) => p.port),
    );
  }
  return ports;
}

describe("egress: Istio schemas", () => {
  for (const [name, cfg] of configs) {
    test(`every Istio object is valid v1 (networking, and the gateway's AuthorizationPolicy) (${name})`, async () => {
      const models = await istioModels();
      const objects = egressIstioObjects(buildMeshSpec(cfg).egress);
      assert.ok(objects.length >= 3);
      for (const object of objects) {
        const group = object.kind === "AuthorizationPolicy" ? "security" : "networking";
        assert.equal(object.apiVersion, `${group}.istio.io/v1`);
        const Model = models[object.kind as keyof typeof models];
        assert.ok(Model, `no schema for ${object.kind}`);
        assert.doesNotThrow(() => new Model(object as never).validate(), `${object.kind}/${object.metadata.name}`);
      }
    });
  }

  test("the ServiceEntry schema rejects a broken object (the check has teeth)", async () => {
    const { ServiceEntry } = await istioModels();
    const [httpbin] = buildMeshSpec(meshConfig()).egress.serviceEntries;
    const broken = structuredClone(httpbin) as { spec: { resolution: string } };
    broken.spec.resolution = "DNS_PLEASE";
    assert.throws(() => new ServiceEntry(broken as never).validate(), /resolution/);
  });
});

/**
 * Cross-checks over a whole mesh spec; each returns its problems, so a test can show it catches one.
 * Gateway pods: the gateway chart labels its pods (and selects them in its Service) with `app` and
 * `istio` from values.labels, else from the release name. chart-render of our values prints, for the
 * egress release, pod labels app=istio-egressgateway, istio=egressgateway (beside Helm's own).
 */
function selectorProblems(spec: MeshSpec, objects = istioObjectsOf(spec)): string[] {
  const pods = helmReleases(spec)
    .filter((r) => r.chart === "gateway")
    .map((r) => [r.name, gatewayChartSelectorLabels(r) as Record<string, string>] as const);
  return objects
    .filter((o) => o.kind === "Gateway")
    .flatMap((gw) => {
      const selector: Record<string, string> = specOf(gw).selector;
      const hits = pods.filter(([, labels]) => Object.entries(selector).every(([k, v]) => labels[k] === v));
      return hits.length === 1
        ? []
        : [`Gateway ${gw.metadata.name} selects ${hits.map(([n]) => n).join(", ") || "no pods"}`];
    });
}

const routesOf = (vs: NamedObject): Spec[] => [
  ...(specOf(vs).http ?? []),
  ...(specOf(vs).tls ?? []),
  ...(specOf(vs).tcp ?? []),
];

function gatewayRefProblems(objects: readonly NamedObject[]): string[] {
  const gateways = new Set(
    objects.filter((o) => o.kind === "Gateway").map((g) => `${g.metadata.namespace}/${g.metadata.name}`),
  );
  return objects
    .filter((o) => o.kind === "VirtualService")
    .flatMap((vs) => {
      // Istio reads a bare name as a Gateway in the VirtualService's own namespace.
      const qualify = (g: string) => (g === "mesh" || g.includes("/") ? g : `${vs.metadata.namespace}/${g}`);
      const bound: string[] = (specOf(vs).gateways ?? ["mesh"]).map(qualify);
      const missing = bound.filter((g) => g !== "mesh" && !gateways.has(g)).map((g) => `no Gateway ${g}`);
      const unbound = routesOf(vs)
        .flatMap((r) => (r.match ?? []).flatMap((m: Spec) => m.gateways ?? []))
        .filter((g: string) => !bound.includes(qualify(g)))
        .map((g: string) => `a match names unbound gateway ${g}`);
      return [...missing, ...unbound].map((p) => `${vs.metadata.name}: ${p}`);
    });
}

function destinationProblems(spec: MeshSpec, objects = istioObjectsOf(spec)): string[] {
  const exposed = servicePorts(spec);
  for (const se of objects.filter((o) => o.kind === "ServiceEntry")) {
    for (const host of specOf(se).hosts) {
      exposed.set(
        host,
        specOf(se).ports.map((p: Spec) => p.number),
      );
    }
  }
  const rules = objects.filter((o) => o.kind === "DestinationRule");
  const problems: string[] = [];
  for (const vs of objects.filter((o) => o.kind === "VirtualService")) {
    for (const { destination } of routesOf(vs).flatMap((r) => r.route ?? [])) {
      const where = `${vs.metadata.name} → ${destination.host}`;
      const ports = exposed.get(destination.host);
      const port: number | undefined = destination.port?.number;
      if (!ports) problems.push(`${where}: neither a ServiceEntry host nor a Service`);
      else if (port === undefined && ports.length !== 1) problems.push(`${where}: several ports, none named`);
      else if (port !== undefined && !ports.includes(port)) problems.push(`${where}: no port ${port}`);
      if (destination.subset === undefined) continue;
      const subsets = rules.filter((r) => specOf(r).host === destination.host).flatMap((r) => specOf(r).subsets ?? []);
      if (!subsets.some((s: Spec) => s.name === destination.subset))
        problems.push(`${where}: no subset ${destination.subset}`);
    }
  }
  return problems;
}

/** The mesh's objects with one of them swapped for a broken copy. */
function withBroken(spec: MeshSpec, name: string, breakIt: (spec: Spec) => void): NamedObject[] {
  return istioObjectsOf(spec).map((o) => {
    if (o.metadata.name !== name) return o;
    const copy = structuredClone(o) as NamedObject & { spec: Spec };
    breakIt(copy.spec);
    return copy;
  });
}

describe("egress: cross-references", () => {
  for (const [name, cfg] of configs) {
    test(`Gateway selectors, gateway references and route destinations all line up (${name})`, () => {
      const spec = buildMeshSpec(cfg);
      assert.deepEqual(selectorProblems(spec), []);
      assert.deepEqual(gatewayRefProblems(istioObjectsOf(spec)), []);
      assert.deepEqual(destinationProblems(spec), []);
    });
  }

  test("the egress Gateway selects the egress release's pods and not the ingress gateway's", () => {
    const spec = buildMeshSpec(meshConfig());
    const release = spec.egress.gateway?.release;
    assert.ok(release);
    assert.deepEqual(gatewayChartSelectorLabels(release), { app: "istio-egressgateway", istio: "egressgateway" });
    assert.deepEqual(spec.egress.gateway?.gateway.spec?.selector, { istio: "egressgateway" });
    assert.equal(EGRESS_GATEWAY_RELEASE, release.name);
  });

  test("the checks catch what they look for", () => {
    const spec = buildMeshSpec(meshConfig());
    const vs = "direct-httpbin-through-egress-gateway";
    assert.deepEqual(
      selectorProblems(
        spec,
        withBroken(spec, "istio-egressgateway", (s) => {
          s.selector = { istio: "egress-gateway" };
        }),
      ),
      ["Gateway istio-egressgateway selects no pods"],
    );
    assert.deepEqual(
      gatewayRefProblems(
        withBroken(spec, vs, (s) => {
          s.gateways = ["mesh", "backend/istio-egressgateway"];
        }),
      ),
      [
        `${vs}: no Gateway backend/istio-egressgateway`,
        `${vs}: a match names unbound gateway istio-egress/istio-egressgateway`,
        `${vs}: a match names unbound gateway istio-egress/istio-egressgateway`,
      ],
    );
    // The lab's first leg names istio-system, where this install has no egress gateway.
    const labHost = "istio-egressgateway.istio-system.svc.cluster.local";
    assert.deepEqual(
      destinationProblems(
        spec,
        withBroken(spec, vs, (s) => {
          s.http[0].route[0].destination.host = labHost;
          s.tls[0].route[0].destination.port.number = 8443;
        }),
      ),
      [
        `${vs} → ${labHost}: neither a ServiceEntry host nor a Service`,
        `${vs} → ${labHost}: no subset httpbin`,
        `${vs} → ${egressGatewayHost()}: no port 8443`,
      ],
    );
  });

  test("whoever connects to httpbin.org sees its ServiceEntry and DestinationRule; routing reaches the callers", () => {
    const spec = buildMeshSpec(meshConfig());
    const [httpbinEntry] = spec.egress.serviceEntries;
    const [httpbinRule] = spec.egress.destinationRules;
    const gateway = spec.egress.gateway;
    assert.ok(httpbinEntry && httpbinRule && gateway);
    // Sidecars in backend make the first hop; the egress gateway makes the last one.
    for (const o of [httpbinEntry, httpbinRule]) {
      assert.ok(visibleIn(o, "backend") && visibleIn(o, EGRESS_NAMESPACE), o.metadata.name);
      assert.ok(!visibleIn(o, INGRESS_NAMESPACE), `${o.metadata.name} is exported no further than needed`);
    }
    // The first-leg rule and the routes live with the gateway and must reach the backend sidecars.
    for (const o of [gateway.destinationRule, gateway.virtualService]) {
      assert.ok(visibleIn(o, "backend") && visibleIn(o, EGRESS_NAMESPACE), o.metadata.name);
    }
    // A DestinationRule is looked up in the client's namespace, then the host's (Service) namespace.
    assert.equal(gateway.destinationRule.metadata.namespace, EGRESS_NAMESPACE);
    assert.equal(specOf(gateway.destinationRule).host, egressGatewayHost());
  });

  test("without the gateway, httpbin.org is exported to the backend namespace alone", () => {
    const spec = buildMeshSpec(meshConfig({ egressGateway: false }));
    for (const o of [...spec.egress.serviceEntries, ...spec.egress.destinationRules]) {
      assert.deepEqual(specOf(o).exportTo, ["."], o.metadata.name);
      assert.equal(o.metadata.namespace, "backend");
    }
  });
});

describe("egress: the objects", () => {
  test("ServiceEntries: httpbin.org 80 HTTP + 443 TLS, external-db 5432 TCP, MESH_EXTERNAL, DNS", () => {
    const entries = buildMeshSpec(meshConfig()).egress.serviceEntries.map((e) => [
      e.metadata.name,
      e.spec?.hosts,
      e.spec?.ports?.map((p) => `${p.number}/${p.protocol}`),
      e.spec?.location,
      e.spec?.resolution,
    ]);
    assert.deepEqual(entries, [
      ["httpbin-external", [HTTPBIN_HOST], ["80/HTTP", "443/TLS"], "MESH_EXTERNAL", "DNS"],
      ["external-database", [EXTERNAL_DB_HOST], ["5432/TCP"], "MESH_EXTERNAL", "DNS"],
    ]);
  });

  test("httpbin.org's DestinationRule has the lab's 5/5/1 pool and consecutive5xxErrors", () => {
    const [rule] = buildMeshSpec(devConfig()).egress.destinationRules;
    assert.deepEqual(rule?.spec?.host, HTTPBIN_HOST);
    assert.deepEqual(rule?.spec?.trafficPolicy, {
      connectionPool: { tcp: { maxConnections: 5 }, http: { http1MaxPendingRequests: 5, maxRequestsPerConnection: 1 } },
      outlierDetection: { consecutive5xxErrors: 3, interval: "30s", baseEjectionTime: "30s" },
    });
    assert.doesNotMatch(JSON.stringify(rule), /consecutiveErrors/);
  });

  test("the egress Gateway takes httpbin.org only inside Istio mTLS: HTTP in mTLS on 80, TLS in mTLS on 443", () => {
    const gateway = buildMeshSpec(meshConfig()).egress.gateway?.gateway;
    assert.deepEqual(gateway?.metadata.namespace, EGRESS_NAMESPACE);
    assert.deepEqual(gateway?.spec, {
      selector: { istio: "egressgateway" },
      servers: [
        {
          port: { number: 80, name: "https-mesh-httpbin", protocol: "HTTPS" },
          hosts: [HTTPBIN_HOST],
          tls: { mode: "ISTIO_MUTUAL" },
        },
        {
          port: { number: 443, name: "tls-mesh-httpbin", protocol: "TLS" },
          hosts: [HTTPBIN_HOST],
          tls: { mode: "ISTIO_MUTUAL" },
        },
      ],
    });
    // The sidecars' side of the same leg: the subset originates Istio mTLS with the SNI the servers match.
    const rule = buildMeshSpec(meshConfig()).egress.gateway?.destinationRule;
    assert.deepEqual(rule?.spec?.subsets, [
      { name: "httpbin", trafficPolicy: { tls: { mode: "ISTIO_MUTUAL", sni: HTTPBIN_HOST } } },
    ]);
  });

  test("one VirtualService, two legs per protocol: sidecar → gateway Service subset httpbin, gateway → httpbin.org", () => {
    const vs = egressRoutes(meshConfig());
    const gw = egressGatewayRef();
    assert.equal(gw, "istio-egress/istio-egressgateway");
    assert.deepEqual(vs.spec?.gateways, ["mesh", gw]);
    // The chart names the Service after the release (chart-render: Service istio-egress/istio-egressgateway,
    // ports status-port 15021, http2 80, https 443).
    const gatewayHost = "istio-egressgateway.istio-egress.svc.cluster.local";
    assert.deepEqual(
      vs.spec?.http?.map((r) => [r.match?.[0]?.gateways, r.match?.[0]?.port, r.route?.[0]?.destination]),
      [
        [["mesh"], 80, { host: gatewayHost, subset: "httpbin", port: { number: 80 } }],
        [[gw], 80, { host: HTTPBIN_HOST, port: { number: 80 } }],
      ],
    );
    assert.deepEqual(
      vs.spec?.tls?.map((r) => [
        r.match?.[0]?.gateways,
        r.match?.[0]?.port,
        r.match?.[0]?.sniHosts,
        r.route?.[0]?.destination,
      ]),
      [[["mesh"], 443, [HTTPBIN_HOST], { host: gatewayHost, subset: "httpbin", port: { number: 443 } }]],
    );
    // The gateway terminated the mTLS, so its leg is TCP (istio's gateway.go builds TCP proxy filters
    // from `tcp` routes for non-passthrough TLS servers): the client's own TLS goes on untouched.
    assert.deepEqual(
      vs.spec?.tcp?.map((r) => [r.match?.[0]?.gateways, r.match?.[0]?.port, r.route?.[0]?.destination]),
      [[[gw], 443, { host: HTTPBIN_HOST, port: { number: 443 } }]],
    );
  });

  test("the egress release: gateway chart, ClusterIP, istio=egressgateway, status-port + 80 + 443", () => {
    const release = buildMeshSpec(meshConfig()).egress.gateway?.release;
    assert.ok(release);
    assert.deepEqual(
      [release.name, release.chart, release.namespace, release.version],
      ["istio-egressgateway", "gateway", "istio-egress", "1.30.3"],
    );
    const values = release.values as Spec;
    assert.equal(values.service.type, "ClusterIP");
    assert.deepEqual(values.labels, { istio: "egressgateway" });
    assert.deepEqual(
      values.service.ports.map((p: Spec) => [p.name, p.port, p.targetPort, p.nodePort]),
      [
        ["status-port", 15021, 15021, undefined],
        ["http2", 80, 80, undefined],
        ["https", 443, 443, undefined],
      ],
    );
  });

  test("outboundTrafficPolicy lands in istiod's meshConfig beside the access log", () => {
    for (const mode of ["ALLOW_ANY", "REGISTRY_ONLY"] as const) {
      const mesh = istiodValues(meshConfig({ outboundTrafficPolicy: mode })).meshConfig as Spec;
      assert.deepEqual(mesh.outboundTrafficPolicy, { mode });
      assert.equal(mesh.accessLogFile, "/dev/stdout");
    }
    assert.equal(meshConfig().egress.outboundTrafficPolicy, "ALLOW_ANY");
  });
});

describe("egress: config", () => {
  const rejectedWith = (raw: RawConfig) => rejected(raw).message;

  test("bad values are rejected, naming the key, the value and what is allowed", () => {
    assert.match(rejectedWith({ egressGateway: "yes" }), /istio-mesh:egressGateway = "yes": true or false/);
    assert.match(
      rejectedWith({ outboundTrafficPolicy: "DENY" }),
      /istio-mesh:outboundTrafficPolicy = "DENY": one of "ALLOW_ANY", "REGISTRY_ONLY"/,
    );
    assert.match(rejectedWith({ outboundTrafficPolicy: "registry_only" }), /istio-mesh:outboundTrafficPolicy/);
  });

  test("Pulumi's string values are accepted", () => {
    const cfg = meshConfig({ egressGateway: "false", outboundTrafficPolicy: "REGISTRY_ONLY" });
    assert.deepEqual(cfg.egress, { gateway: false, outboundTrafficPolicy: "REGISTRY_ONLY" });
  });

  for (const [key, value] of [
    ["egressGateway", "on"],
    ["outboundTrafficPolicy", "BLOCK"],
  ] as const) {
    test(`through index.ts, a bad ${key} stops the program before any resource`, async () => {
      const run = await runWithMocks(loadIndex, {
        config: { ...asPulumiConfig(devStackConfig()), [`istio-mesh:${key}`]: value },
      });
      assert.ok(pulumi.RunError.isInstance(run.error), String(run.error));
      assert.match((run.error as Error).message, new RegExp(`istio-mesh:${key} = "${value}"`));
      assert.equal(run.resources.length, 0);
    });
  }
});

describe("egress: the program (Pulumi mocks)", () => {
  let on: MockRun;
  let off: MockRun;
  before(async () => {
    on = await devMeshRun();
    off = await runWithMocks(() =>
      deployMesh(parseMeshConfig({ egressGateway: "false", outboundTrafficPolicy: "REGISTRY_ONLY" })),
    );
  });

  const inNamespace = (run: MockRun, ns: string) =>
    run.resources.filter((r) => (r.inputs.metadata as Spec | undefined)?.namespace === ns);

  test("the egress gateway waits for istiod and its namespace, beside the ingress gateway, not after it", () => {
    const egress = on.get(T.release, "istio-egressgateway");
    const ingress = on.get(T.release, "istio-ingressgateway");
    assert.ok(on.dependsOn(egress, on.get(T.release, "istiod")));
    assert.ok(on.dependsOn(egress, on.get(T.namespace, "istio-egress")));
    assert.ok(!on.dependsOn(egress, ingress) && !on.dependsOn(ingress, egress));
    assert.equal(egress.inputs.namespace, "istio-egress");
  });

  test("each egress Istio object depends on the CRDs, istiod and its own namespace, and nothing more", () => {
    const base = on.get(T.release, "istio-base");
    const istiod = on.get(T.release, "istiod");
    const objects: Registered[] = [
      ...on.ofType(T.serviceEntry),
      on.get(T.destinationRule, "httpbin-external"),
      on.get(T.gateway, "istio-egressgateway"),
      on.get(T.destinationRule, "egressgateway-for-httpbin"),
      on.get(T.virtualService, "direct-httpbin-through-egress-gateway"),
    ];
    assert.equal(objects.length, 6);
    for (const r of objects) {
      const ns = on.get(T.namespace, (r.inputs.metadata as Spec).namespace);
      assert.deepEqual([...r.dependencies].sort(), [base.urn, istiod.urn, ns.urn].sort(), r.name);
    }
  });

  test("istiod gets the outbound traffic policy", () => {
    const mode = (run: MockRun) =>
      (run.get(T.release, "istiod").inputs.values as Spec).meshConfig.outboundTrafficPolicy;
    assert.deepEqual(mode(on), { mode: "ALLOW_ANY" });
    assert.deepEqual(mode(off), { mode: "REGISTRY_ONLY" });
  });

  test("egressGateway: false registers no release, namespace or routing; the ServiceEntries and httpbin rule stay", () => {
    assert.equal(inNamespace(on, EGRESS_NAMESPACE).length, 4);
    assert.equal(on.ofType(T.networkPolicy).length, 1);
    assert.equal(off.ofType(T.networkPolicy).length, 0, "without the gateway, nothing fences direct egress");
    assert.equal(inNamespace(off, EGRESS_NAMESPACE).length, 0);
    assert.equal(off.ofType(T.release).filter((r) => r.name === "istio-egressgateway").length, 0);
    assert.ok(off.ofType(T.namespace).every((r) => r.name !== EGRESS_NAMESPACE));
    assert.ok(off.ofType(T.gateway).every((r) => r.name !== "istio-egressgateway"));
    assert.ok(off.ofType(T.virtualService).every((r) => r.name !== "direct-httpbin-through-egress-gateway"));
    assert.ok(off.ofType(T.destinationRule).every((r) => r.name !== "egressgateway-for-httpbin"));
    assert.deepEqual(
      off
        .ofType(T.serviceEntry)
        .map((r) => r.name)
        .sort(),
      ["external-database", "httpbin-external"],
    );
    off.get(T.destinationRule, "httpbin-external");
    assert.equal(on.ofType(T.release).length, off.ofType(T.release).length + 1);
  });
});
