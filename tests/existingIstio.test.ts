import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gatewayChartSelectorLabels } from "../components/egress/egressGateway";
import { crdShellLoad } from "../components/gatewayApi/crds";
import { deployMesh, type MeshEnvironment } from "../components/mesh";
import { buildMeshSpec, helmReleases, ownedObjects } from "../components/meshSpec";
import { highAvailability } from "../policies/availability";
import { meshConfig, rejected } from "./support/configs";
import { runWithMocks } from "./support/mockEngine";
import { fromRegistered, runPolicies } from "./support/policyHarness";
import { tlsOutputs } from "./support/tlsMocks";
import { T } from "./support/types";

/** production on a cluster whose platform team runs Istio: the stack uses that control plane. */
const USING = (revision: string, extra: Record<string, unknown> = {}) =>
  meshConfig({
    clusterMode: "existing",
    kubeContext: "prod-east",
    ingressHost: "mesh.example.com",
    existingIstio: { revision },
    ...extra,
  });

const ISTIO_CHARTS = ["base", "istiod", "cni", "ztunnel"];

describe("existingIstio config", () => {
  test("only with clusterMode existing, a DNS-label revision, and never with revisions.enabled", () => {
    const kind = rejected({ existingIstio: { revision: "prod-stable" } }).issues;
    assert.deepEqual(
      kind.map((i) => [i.key, i.allowed]),
      [["istio-mesh:existingIstio", "only used with clusterMode existing; remove it"]],
    );
    const bad = rejected({ clusterMode: "existing", existingIstio: { revision: "Prod_Stable" } }).issues;
    assert.deepEqual(
      bad.map((i) => [i.key, i.value]),
      [["istio-mesh:existingIstio.revision", "Prod_Stable"]],
    );
    assert.match(bad[0]?.allowed ?? "", /revision or revision tag of an istiod the cluster runs/);
    const missing = rejected({ clusterMode: "existing", existingIstio: {} }).issues;
    assert.deepEqual(
      missing.map((i) => i.key),
      ["istio-mesh:existingIstio.revision"],
    );
    const both = rejected({
      clusterMode: "existing",
      existingIstio: { revision: "prod-stable" },
      revisions: { enabled: true },
    }).issues;
    assert.deepEqual(
      both.map((i) => [i.key, i.value]),
      [["istio-mesh:revisions.enabled", true]],
    );
    assert.match(both[0]?.allowed ?? "", /^false with existingIstio/);
  });

  test("production's revisions default turns off with existingIstio", () => {
    assert.equal(USING("prod-stable").revisions.enabled, false);
    assert.equal(meshConfig({ clusterMode: "existing" }).revisions.enabled, true);
  });
});

describe("the mesh on the cluster's control plane (pure builders)", () => {
  for (const dataplane of ["sidecar", "ambient"] as const) {
    test(`${dataplane}: no base, istiod, tags, cni, ztunnel or istio-system of its own`, () => {
      const spec = buildMeshSpec(USING("prod-stable", { dataplane }));
      assert.deepEqual(spec.controlPlane, { kind: "existing", revision: "prod-stable" });
      const charts = helmReleases(spec).map((r) => r.chart);
      assert.deepEqual(
        charts.filter((c) => ISTIO_CHARTS.includes(c)),
        [],
      );
      assert.deepEqual(
        helmReleases(spec).map((r) => `${r.chart}/${r.namespace}/${r.name}`),
        dataplane === "sidecar"
          ? ["gateway/istio-ingress/istio-ingressgateway", "gateway/istio-egress/istio-egressgateway"]
          : ["gateway/istio-ingress/istio-ingressgateway"],
      );
      const owned = ownedObjects(spec);
      assert.ok(!owned.some((o) => o.kind === "Namespace" && o.metadata.name === "istio-system"));
      assert.ok(!owned.some((o) => o.kind === "MutatingWebhookConfiguration"));
    });
  }

  test("the gateways carry the revision, so that revision's injector fills in `image: auto`", () => {
    for (const r of helmReleases(buildMeshSpec(USING("prod-stable")))) {
      assert.equal((r.values as { revision?: string }).revision, "prod-stable", r.name);
      assert.equal(r.version, "1.30.3", r.name);
    }
    // The default injector takes the chart's `sidecar.istio.io/inject: "true"` pods without a revision label.
    for (const r of helmReleases(buildMeshSpec(USING("default")))) {
      assert.equal((r.values as { revision?: string }).revision, undefined, r.name);
    }
  });

  test("sidecar: the backend namespace is labelled for the revision; ambient labels as without it", () => {
    const labels = (cfg: ReturnType<typeof meshConfig>) => buildMeshSpec(cfg).namespaces.backend.metadata.labels ?? {};
    const injection = (cfg: ReturnType<typeof meshConfig>) =>
      Object.entries(labels(cfg)).filter(([k]) => k.startsWith("istio"));
    assert.deepEqual(injection(USING("prod-stable")), [["istio.io/rev", "prod-stable"]]);
    assert.deepEqual(injection(USING("default")), [["istio-injection", "enabled"]]);
    const ambient = USING("prod-stable", { dataplane: "ambient" });
    assert.deepEqual(
      labels(ambient),
      labels(meshConfig({ clusterMode: "existing", kubeContext: "prod-east", dataplane: "ambient" })),
    );
    // A revisioned istiod deploys only Gateways that name it (pkg/revisions/tag_watcher.go IsMine).
    assert.equal(buildMeshSpec(ambient).ambient?.waypoint.metadata.labels?.["istio.io/rev"], "prod-stable");
  });

  test("the ingress gateway's pods and the Gateway selecting them use a label of the stack's own", () => {
    const selectors = (cfg: ReturnType<typeof meshConfig>) => {
      const spec = buildMeshSpec(cfg);
      const owned = ownedObjects(spec);
      const gateway = owned.find((o) => o.kind === "Gateway" && o.metadata.name === "app-gateway") as
        | { spec?: { selector?: Record<string, string> } }
        | undefined;
      const filter = owned.find((o) => o.kind === "EnvoyFilter" && o.metadata.namespace === "istio-ingress") as
        | { spec?: { workloadSelector?: { labels?: Record<string, string> } } }
        | undefined;
      return {
        pods: gatewayChartSelectorLabels(spec.ingressGateway).istio,
        gateway: gateway?.spec?.selector?.istio,
        ...(filter && { rateLimit: filter.spec?.workloadSelector?.labels?.istio }),
      };
    };
    assert.deepEqual(selectors(USING("prod-stable")), {
      pods: "istio-mesh-ingressgateway",
      gateway: "istio-mesh-ingressgateway",
    });
    assert.deepEqual(selectors(USING("prod-stable", { dataplane: "ambient" })), {
      pods: "istio-mesh-ingressgateway",
      gateway: "istio-mesh-ingressgateway",
      rateLimit: "istio-mesh-ingressgateway",
    });
    // Installing its own Istio, the stack keeps Istio's usual label.
    assert.deepEqual(selectors(meshConfig({ clusterMode: "existing", kubeContext: "prod-east" })), {
      pods: "ingressgateway",
      gateway: "ingressgateway",
    });
  });

  test("gateway-api: the ingress Gateway names the revision (its owner writes its status); none for default", () => {
    const ingress = (cfg: ReturnType<typeof meshConfig>) =>
      ownedObjects(buildMeshSpec(cfg)).find(
        (o) => o.kind === "Gateway" && o.metadata.namespace === "istio-ingress" && o.metadata.name === "app-gateway",
      );
    const labelled = ingress(USING("prod-stable", { trafficApi: "gateway-api" }));
    assert.ok(labelled);
    assert.equal(labelled.metadata.labels?.["istio.io/rev"], "prod-stable");
    assert.equal(
      ingress(USING("default", { trafficApi: "gateway-api" }))?.metadata.labels?.["istio.io/rev"],
      undefined,
    );
  });
});

describe("mesh-wide defaults stay in the stack's namespaces on the cluster's control plane", () => {
  const meshWide = (cfg: ReturnType<typeof meshConfig>) =>
    ownedObjects(buildMeshSpec(cfg))
      .filter((o) => ["PeerAuthentication", "Telemetry"].includes(o.kind) && o.metadata.name === "mesh-default")
      .map((o) => `${o.kind} ${o.metadata.namespace}`);

  test("installing Istio: STRICT and the Telemetry in the root namespace; existingIstio: none there", () => {
    assert.deepEqual(meshWide(meshConfig({ clusterMode: "existing", kubeContext: "prod-east" })), [
      "Telemetry istio-system",
      "PeerAuthentication istio-system",
    ]);
    for (const dataplane of ["sidecar", "ambient"] as const) {
      const owned = ownedObjects(buildMeshSpec(USING("prod-stable", { dataplane })));
      const inRoot = owned.filter((o) => o.metadata.namespace === "istio-system" && o.apiVersion.includes("istio.io"));
      assert.deepEqual(inRoot, [], dataplane);
      // The backend keeps its own `default` PeerAuthentication (its mtlsMode): no second selector-less one there.
      assert.deepEqual(meshWide(USING("prod-stable", { dataplane })), [
        "Telemetry backend",
        "Telemetry istio-ingress",
        "Telemetry istio-egress",
        "PeerAuthentication istio-ingress",
        "PeerAuthentication istio-egress",
      ]);
    }
    assert.deepEqual(meshWide(USING("prod-stable", { egressGateway: false })), [
      "Telemetry backend",
      "Telemetry istio-ingress",
      "PeerAuthentication istio-ingress",
    ]);
  });

  test("one rendering of the same config: each copy has the root one's spec", () => {
    const spec = (cfg: ReturnType<typeof meshConfig>, kind: string) =>
      ownedObjects(buildMeshSpec(cfg))
        .filter((o) => o.kind === kind && o.metadata.name === "mesh-default")
        .map((o) => JSON.stringify((o as { spec?: unknown }).spec));
    const root = meshConfig({ clusterMode: "existing", kubeContext: "prod-east", ingressHost: "mesh.example.com" });
    for (const kind of ["PeerAuthentication", "Telemetry"]) {
      const [installed] = spec(root, kind);
      assert.ok(installed);
      for (const copy of spec(USING("prod-stable"), kind)) assert.equal(copy, installed, kind);
    }
  });
});

describe("the stack's Istio routing config is exported to the stack's namespaces only on the cluster's control plane", () => {
  const ISTIO_CONFIG = ["VirtualService", "DestinationRule", "ServiceEntry"];
  const CELLS = [
    { dataplane: "sidecar", trafficApi: "istio" },
    { dataplane: "ambient", trafficApi: "istio" },
    { dataplane: "sidecar", trafficApi: "gateway-api" },
    { dataplane: "ambient", trafficApi: "gateway-api" },
    { dataplane: "sidecar", trafficApi: "istio", egressGateway: false },
  ] as const;
  /** `kind namespace/name` → the namespaces it is exported to, `.` resolved to its own; undefined for Istio's `*`. */
  const visibility = (cfg: ReturnType<typeof meshConfig>) => {
    const owned = ownedObjects(buildMeshSpec(cfg));
    const rows = owned
      .filter((o) => ISTIO_CONFIG.includes(o.kind))
      .map((o): [string, string[] | undefined] => {
        const exportTo = (o as { spec?: { exportTo?: string[] } }).spec?.exportTo;
        const ns = o.metadata.namespace ?? "";
        return [`${o.kind} ${ns}/${o.metadata.name}`, exportTo?.map((e) => (e === "." ? ns : e))];
      });
    const namespaces = owned.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name);
    return { seen: new Map(rows), namespaces };
  };

  test("existingIstio: every VirtualService, DestinationRule and ServiceEntry names only the stack's namespaces", () => {
    for (const cell of CELLS) {
      const { seen, namespaces } = visibility(USING("prod-stable", cell));
      assert.ok(seen.size > 0, JSON.stringify(cell));
      for (const [object, exportTo] of seen) {
        assert.ok(exportTo && exportTo.length > 0, `${object} in ${JSON.stringify(cell)} is exported everywhere`);
        for (const ns of exportTo) assert.ok(namespaces.includes(ns), `${object}: ${ns} is not the stack's`);
      }
    }
  });

  test("existingIstio: each object reaches the proxies that consume it", () => {
    const needs = (cell: (typeof CELLS)[number], object: string, consumers: string[]) => {
      const exportTo = visibility(USING("prod-stable", cell)).seen.get(object);
      for (const ns of consumers) assert.ok(exportTo?.includes(ns), `${object} in ${JSON.stringify(cell)}: ${ns}`);
    };
    const [sidecar, ambient, gatewayApi] = CELLS;
    // The ingress gateway's proxies take the route bound to them, and the subsets and breakers it sends to.
    needs(sidecar, "VirtualService backend/app-routes", ["istio-ingress"]);
    for (const service of ["user-service", "product-service", "order-service"]) {
      needs(sidecar, `DestinationRule backend/${service}`, ["backend", "istio-ingress"]);
      needs(sidecar, `VirtualService backend/${service}`, ["backend"]);
      needs(ambient, `DestinationRule backend/${service}`, ["backend", "istio-ingress"]);
    }
    needs(gatewayApi, "DestinationRule backend/user-service-v1", ["backend", "istio-ingress"]);
    // The egress path: the callers' sidecars in backend, the egress gateway (or waypoint) in istio-egress.
    needs(sidecar, "VirtualService istio-egress/direct-httpbin-through-egress-gateway", ["istio-egress", "backend"]);
    needs(sidecar, "DestinationRule istio-egress/egressgateway-for-httpbin", ["backend"]);
    needs(sidecar, "ServiceEntry backend/httpbin-external", ["backend", "istio-egress"]);
    needs(sidecar, "DestinationRule backend/httpbin-external", ["backend", "istio-egress"]);
    needs(ambient, "ServiceEntry istio-egress/httpbin-external", ["istio-egress", "backend"]);
    needs(ambient, "DestinationRule istio-egress/httpbin-external", ["istio-egress"]);
  });

  test("installing Istio: only the egress objects' own narrower choices, the rest Istio's default", () => {
    const exported = (cfg: ReturnType<typeof meshConfig>) =>
      [...visibility(cfg).seen].filter(([, exportTo]) => exportTo !== undefined).map(([object]) => object);
    const installing = (extra: Record<string, unknown>) =>
      meshConfig({ clusterMode: "existing", kubeContext: "prod-east", ingressHost: "mesh.example.com", ...extra });
    const sidecarEgress = [
      "ServiceEntry backend/httpbin-external",
      "ServiceEntry backend/external-database",
      "DestinationRule backend/httpbin-external",
      "DestinationRule istio-egress/egressgateway-for-httpbin",
      "VirtualService istio-egress/direct-httpbin-through-egress-gateway",
    ];
    for (const cfg of [meshConfig({}), installing({}), installing({ trafficApi: "gateway-api" })]) {
      assert.deepEqual(exported(cfg), sidecarEgress);
    }
    // ambient: httpbin.org's ServiceEntry keeps `*` beside the egress waypoint.
    assert.deepEqual(exported(installing({ dataplane: "ambient" })), [
      "ServiceEntry backend/external-database",
      "DestinationRule istio-egress/httpbin-external",
    ]);
  });
});

describe("the mesh on the cluster's control plane under mocks", () => {
  // Nothing fetched: no dashboards, the Gateway API CRDs as shells.
  const offline: MeshEnvironment = {
    dashboards: async () => ({ contents: {}, missing: [] }),
    gatewayApiCrds: crdShellLoad,
  };
  const installed = (type: string, name: string) =>
    type === T.release ? { status: { name, namespace: "istio-ingress" } } : tlsOutputs(type, name);
  // One run per cell, shared by the tests that only read it (runs share the mock engine, so one at a time).
  const runs = new Map<string, ReturnType<typeof runWithMocks>>();
  const up = (dataplane: "sidecar" | "ambient") => {
    const run =
      runs.get(dataplane) ??
      runWithMocks(() => deployMesh(USING("prod-stable", { dataplane }), offline), { generatedOutputs: installed });
    runs.set(dataplane, run);
    return run;
  };

  for (const dataplane of ["sidecar", "ambient"] as const) {
    test(`${dataplane}: only the gateways are releases, and nothing waits for a control plane of its own`, async () => {
      const run = await up(dataplane);
      assert.equal(run.error, undefined);
      const releases = run.ofType(T.release).map((r) => r.name);
      assert.ok(releases.includes("istio-ingressgateway"));
      for (const name of ["istio-base", "istiod", "istio-cni", "ztunnel"]) assert.ok(!releases.includes(name), name);
      assert.ok(!run.ofType(T.namespace).some((r) => r.name === "istio-system"));
      // The gateway waits for its namespace only; the Istio objects and backends for their namespace only.
      const ingressNs = run.get(T.namespace, "istio-ingress");
      assert.deepEqual(run.get(T.release, "istio-ingressgateway").dependencies, [ingressNs.urn]);
      const kinds = (urn: string) => urn.split("::")[2]?.split("$").at(-1);
      const deployment = run.get("kubernetes:apps/v1:Deployment", "user-service-v1");
      assert.deepEqual([...new Set(deployment.dependencies.map(kinds))].sort(), [
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:ServiceAccount",
      ]);
      // The cluster's Gateway API CRDs are used (the pre-flight checks them): none created, none waited for.
      const crd = "CustomResourceDefinition";
      assert.deepEqual(
        run.resources.filter((r) => r.type.endsWith(crd) || r.dependencies.some((u) => u.includes(crd))),
        [],
      );
    });
  }

  test("each mesh default waits for its own namespace, under a namespace-qualified name", async () => {
    const run = await up("sidecar");
    for (const [type, ns] of [
      [T.peerAuthentication, "istio-ingress"],
      [T.peerAuthentication, "istio-egress"],
      [T.telemetry, "backend"],
      [T.telemetry, "istio-egress"],
    ] as const) {
      const object = run.get(type, `mesh-default-${ns}`);
      assert.equal((object.inputs.metadata as { namespace?: string }).namespace, ns);
      assert.ok(object.dependencies.includes(run.get(T.namespace, ns).urn), `${type} ${ns}`);
    }
    assert.ok(!run.resources.some((r) => r.name === "mesh-default"));
  });

  test("the HA policy says, as an advisory, that istiod is not this stack's to check", async () => {
    const run = await up("sidecar");
    const result = await runPolicies([highAvailability], fromRegistered(run.resources), {
      packEnforcementLevel: "mandatory",
    });
    assert.deepEqual(result.mandatory, []);
    assert.equal(result.advisory.length, 1);
    assert.match(result.advisory[0]?.message ?? "", /no istiod Helm release in this stack \(it uses the cluster's/);
  });
});
