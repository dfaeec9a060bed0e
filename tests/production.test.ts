import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { istioReleases } from "../components/controlPlane/helmValues";
import { PENDING_ADDRESS } from "../components/controlPlane/ingressAddress";
import { HOSTNAME_KEY, ZONE_KEY } from "../components/controlPlane/production";
import { revisionName } from "../components/controlPlane/revisions";
import { gatewayUrls, loadBalancerUrls } from "../components/endpoints";
import { deployMesh } from "../components/mesh";
import { buildMeshSpec, helmReleases, installedControlPlane } from "../components/meshSpec";
import { DEFAULT_ISTIO_VERSION } from "../config/defaults";
import { highAvailability } from "../policies/availability";
import snapshot from "./fixtures/istio-1.30.3-chart-keys.json";
import { isChartKey, leafPaths } from "./support/chartKeys";
import { meshConfig, rejected } from "./support/configs";
import { type MockOptions, resolved, runWithMocks } from "./support/mockEngine";
import { fromRegistered, runPolicies } from "./support/policyHarness";
import { tlsOutputs } from "./support/tlsMocks";
import { T } from "./support/types";

const PRODUCTION = { clusterMode: "existing", kubeContext: "prod-east" } as const;
const production = (extra: Record<string, unknown> = {}) => meshConfig({ ...PRODUCTION, ...extra });
const lab = () => meshConfig({ ...PRODUCTION, profile: "lab" });
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";

const valuesOf = (cfg: ReturnType<typeof meshConfig>, name: string) => {
  const release = helmReleases(buildMeshSpec(cfg)).find((r) => r.name === name);
  assert.ok(release, name);
  return release.values as Record<string, any>;
};

/** What the engine returns once Helm has installed the gateway and the cloud gave its Service an address. */
const installed =
  (ingress: Record<string, string>[]): MockOptions["generatedOutputs"] =>
  (type, name) => {
    if (type === T.release)
      return { status: { name, namespace: name === "istiod" ? "istio-system" : "istio-ingress" } };
    if (type === T.service && name === "ingress-gateway-address") return { status: { loadBalancer: { ingress } } };
    return tlsOutputs(type, name);
  };

describe("the profile in config", () => {
  test("lab on kind, production on an existing cluster; production refused on kind", () => {
    assert.equal(meshConfig().profile.name, "lab");
    assert.equal(production().profile.name, "production");
    assert.equal(lab().profile.name, "lab");
    const [issue] = rejected({ profile: "production" }).issues;
    assert.equal(issue?.key, "istio-mesh:profile");
    assert.match(issue?.allowed ?? "", /production needs clusterMode existing/);
  });

  test("annotations are for production's LoadBalancer only; bad names are refused", () => {
    const annotations = { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" };
    assert.deepEqual(
      production({ ingressServiceAnnotations: annotations }).profile.ingressServiceAnnotations,
      annotations,
    );
    const [inLab] = rejected({ ...PRODUCTION, profile: "lab", ingressServiceAnnotations: annotations }).issues;
    assert.match(inLab?.allowed ?? "", /only used with profile production/);
    assert.equal(rejected({ ...PRODUCTION, ingressServiceAnnotations: { "a b": "x" } }).issues.length, 1);
    assert.equal(rejected({ ...PRODUCTION, ingressServiceAnnotations: { ok: 1 } }).issues.length, 1);
  });
});

describe("production's objects (pure builders)", () => {
  test("the lab's releases are exactly helmValues' own: the overlay changes nothing there", () => {
    const cfg = lab();
    const spec = buildMeshSpec(cfg);
    const installed = installedControlPlane(spec);
    assert.deepEqual([installed?.base, installed?.istiod, spec.ingressGateway], istioReleases(cfg));
  });

  test("production installs istiod as a revision behind the prod-stable/prod-canary tags; the lab does not", () => {
    assert.equal(production().revisions.enabled, true);
    assert.equal(lab().revisions.enabled, false);
    // Ambient refuses revisions (ztunnel upgrades in place), so there the default stays off.
    assert.equal(production({ dataplane: "ambient" }).revisions.enabled, false);
    assert.equal(production({ revisions: { enabled: false } }).revisions.enabled, false);
    const spec = buildMeshSpec(production());
    assert.deepEqual(
      installedControlPlane(spec)
        ?.revisions?.tags.map((t) => `${t.kind}/${t.metadata.name}`)
        .filter((n) => n.startsWith("Mutating")),
      [
        "MutatingWebhookConfiguration/istio-revision-tag-prod-stable",
        "MutatingWebhookConfiguration/istio-revision-tag-prod-canary",
      ],
    );
    assert.equal(spec.namespaces.backend.metadata.labels?.["istio.io/rev"], "prod-stable");
  });

  test("istiod: an HPA of 2–5 at 80% CPU, a PDB, spread over nodes and zones, the chart's requests", () => {
    // Production installs istiod as its release's revision (revisions on by default there).
    const v = valuesOf(production(), `istiod-${revisionName(DEFAULT_ISTIO_VERSION)}`);
    assert.equal(v.revision, revisionName(DEFAULT_ISTIO_VERSION));
    assert.equal(v.autoscaleEnabled, true);
    assert.equal(v.autoscaleMin, 2);
    assert.equal(v.autoscaleMax, 5);
    assert.equal(v.cpu.targetAverageUtilization, 80);
    assert.equal(v.global.defaultPodDisruptionBudget.enabled, true);
    assert.deepEqual(v.pdb, { minAvailable: 1 });
    assert.deepEqual(v.resources, { requests: { cpu: "500m", memory: "2048Mi" } });
    assert.deepEqual(
      v.topologySpreadConstraints.map((c: Record<string, unknown>) => [c.topologyKey, c.whenUnsatisfiable]),
      [
        [HOSTNAME_KEY, "DoNotSchedule"],
        [ZONE_KEY, "ScheduleAnyway"],
      ],
    );
    assert.deepEqual(v.topologySpreadConstraints[0].labelSelector, { matchLabels: { app: "istiod" } });
    // The lab's mesh config is kept under the overlay.
    assert.equal(v.meshConfig.accessLogFile, "/dev/stdout");
  });

  test("the ingress gateway: a LoadBalancer on 80/443 without NodePorts, annotations passed through, HA", () => {
    const annotations = { "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing" };
    const v = valuesOf(production({ ingressServiceAnnotations: annotations }), "istio-ingressgateway");
    assert.equal(v.service.type, "LoadBalancer");
    assert.deepEqual(v.service.annotations, annotations);
    assert.deepEqual(
      v.service.ports.map((p: Record<string, unknown>) => [p.name, p.port, p.nodePort]),
      [
        ["status-port", 15021, undefined],
        ["http2", 80, undefined],
        ["https", 443, undefined],
      ],
    );
    assert.deepEqual(v.autoscaling, {
      enabled: true,
      minReplicas: 2,
      maxReplicas: 5,
      targetCPUUtilizationPercentage: 80,
    });
    assert.deepEqual(v.podDisruptionBudget, { minAvailable: 1 });
    assert.deepEqual(v.topologySpreadConstraints[0].labelSelector.matchLabels, {
      app: "istio-ingressgateway",
      istio: "ingressgateway",
    });
    assert.deepEqual(v.resources, {
      requests: { cpu: "100m", memory: "128Mi" },
      limits: { cpu: "2000m", memory: "1024Mi" },
    });
  });

  test("the egress gateway is HA too and stays ClusterIP", () => {
    const v = valuesOf(production(), "istio-egressgateway");
    assert.equal(v.service.type, "ClusterIP");
    assert.equal(v.autoscaling.minReplicas, 2);
    assert.deepEqual(v.topologySpreadConstraints[0].labelSelector.matchLabels, {
      app: "istio-egressgateway",
      istio: "egressgateway",
    });
  });

  test("every production value is a key of its chart (the 1.30.3 snapshot)", () => {
    const open: Record<string, readonly string[]> = { istiod: ["meshConfig"], gateway: ["labels"], base: [] };
    for (const release of helmReleases(buildMeshSpec(production({ ingressServiceAnnotations: { "a.io/b": "c" } })))) {
      const keys = snapshot.charts[release.chart];
      const unknown = leafPaths(release.values).filter((p) => !isChartKey(keys, open[release.chart] ?? [], p));
      assert.deepEqual(unknown, [], release.name);
    }
  });

  test("backend versions of more than one replica get a PDB; the one-pod canary none", () => {
    const spec = buildMeshSpec(production());
    assert.deepEqual(
      spec.backends.disruptionBudgets.map((p) => [
        p.metadata.name,
        p.spec?.maxUnavailable,
        p.spec?.selector?.matchLabels,
      ]),
      [
        ["user-service-v1", 1, { app: "user-service", version: "v1" }],
        ["product-service-v1", 1, { app: "product-service", version: "v1" }],
        ["order-service-v1", 1, { app: "order-service", version: "v1" }],
      ],
    );
    assert.deepEqual(buildMeshSpec(lab()).backends.disruptionBudgets, []);
    assert.equal(spec.namespaces.istio?.metadata.labels?.["istio-mesh/profile"], "production");
  });

  test("gatewayUrls: ingressHost on the load balancer's ports; none from config alone without it", () => {
    assert.equal(gatewayUrls(production()), undefined);
    assert.deepEqual(gatewayUrls(production({ ingressHost: "mesh.example.com" })), {
      http: "http://mesh.example.com",
      https: "https://mesh.example.com",
    });
    assert.deepEqual(gatewayUrls(lab()), { http: "http://localhost:30080", https: "https://localhost:30443" });
  });

  test("a load balancer's address: the hostname first (AWS), else the IP, IPv6 bracketed", () => {
    assert.equal(loadBalancerUrls(undefined), undefined);
    assert.equal(loadBalancerUrls({ ingress: [] }), undefined);
    assert.equal(
      loadBalancerUrls({ ingress: [{ hostname: "a.elb.amazonaws.com", ip: "1.2.3.4" }] })?.http,
      "http://a.elb.amazonaws.com",
    );
    assert.equal(loadBalancerUrls({ ingress: [{ ip: "203.0.113.7" }] })?.https, "https://203.0.113.7");
    assert.equal(loadBalancerUrls({ ingress: [{ ip: "2001:db8::1" }] })?.http, "http://[2001:db8::1]");
  });
});

describe("production under mocks", () => {
  // One run shared by the tests that only read it; started by the first of them, as runs share the mock engine.
  let shared: ReturnType<typeof runWithMocks<ReturnType<typeof deployMesh>>> | undefined;
  const up = () => {
    shared ??= runWithMocks(() => deployMesh(production()), {
      generatedOutputs: installed([{ hostname: "mesh-1234.elb.amazonaws.com" }]),
    });
    return shared;
  };

  test("gatewayUrls come from the gateway Service's status, read after the release", async () => {
    const run = await up();
    assert.equal(run.error, undefined);
    const urls = await resolved(pulumi.output((run.result as ReturnType<typeof deployMesh>).gatewayUrls));
    assert.deepEqual(urls, {
      http: "http://mesh-1234.elb.amazonaws.com",
      https: "https://mesh-1234.elb.amazonaws.com",
    });
  });

  test("the backends' PDBs are registered in their namespace", async () => {
    const run = await up();
    assert.deepEqual(
      run.ofType(PDB).map((r) => r.name),
      ["user-service-v1", "product-service-v1", "order-service-v1"],
    );
  });

  test("the HA policy passes on production's objects", async () => {
    const run = await up();
    const result = await runPolicies([highAvailability], fromRegistered(run.resources), {
      packEnforcementLevel: "mandatory",
    });
    assert.deepEqual(result.diagnostics, []);
  });

  test("a fresh stack's first preview: no release status yet, so the read is skipped and nothing fails", async () => {
    const run = await runWithMocks(() => deployMesh(production()), { preview: true });
    assert.equal(run.error, undefined);
    const outputs = run.result as ReturnType<typeof deployMesh>;
    const known = await (outputs.gatewayUrls as unknown as { isKnown: Promise<boolean> }).isKnown;
    assert.equal(known, false, "unknown until the release exists, not an error");
  });

  test("a later preview, the load balancer still without an address: a placeholder, not a failure", async () => {
    const run = await runWithMocks(() => deployMesh(production()), { preview: true, generatedOutputs: installed([]) });
    assert.equal(run.error, undefined);
    const urls = await resolved(pulumi.output((run.result as ReturnType<typeof deployMesh>).gatewayUrls));
    assert.deepEqual(urls, { http: PENDING_ADDRESS, https: PENDING_ADDRESS });
  });

  test("ingressHost overrides the load balancer's address", async () => {
    const run = await runWithMocks(() => deployMesh(production({ ingressHost: "mesh.example.com" })));
    assert.deepEqual((run.result as ReturnType<typeof deployMesh>).gatewayUrls, {
      http: "http://mesh.example.com",
      https: "https://mesh.example.com",
    });
  });
});

describe("the HA policy on the lab profile", () => {
  let shared: ReturnType<typeof runWithMocks<ReturnType<typeof deployMesh>>> | undefined;
  const labRun = () => {
    shared ??= runWithMocks(() => deployMesh(lab()));
    return shared;
  };

  test("a lab stack is not checked by default", async () => {
    const run = await labRun();
    const result = await runPolicies([highAvailability], fromRegistered(run.resources), {
      packEnforcementLevel: "mandatory",
    });
    assert.deepEqual(result.diagnostics, []);
  });

  test("held to production (advisory), the lab fails on every release and multi-replica backend", async () => {
    const run = await labRun();
    const result = await runPolicies([highAvailability], fromRegistered(run.resources), {
      config: { "high-availability": { labProfile: "advisory" } },
      packEnforcementLevel: "mandatory",
    });
    assert.deepEqual(result.mandatory, []);
    const messages = result.advisory.map((d) => d.message);
    for (const release of ["istiod (istiod)", "istio-ingressgateway (gateway)", "istio-egressgateway (gateway)"]) {
      assert.ok(
        messages.includes(
          `Helm release ${release} runs 1 replica(s) at least; HA needs 2 or more (mandatory in profile production)`,
        ),
        release,
      );
      assert.ok(
        messages.includes(`Helm release ${release} has no PodDisruptionBudget (mandatory in profile production)`),
        release,
      );
      assert.ok(
        messages.some((m) => m.startsWith(`Helm release ${release} may put every replica on one node`)),
        release,
      );
    }
    assert.ok(
      messages.includes(
        "Deployment backend/user-service-v1 runs 3 replicas and no PodDisruptionBudget selects them (mandatory in profile production)",
      ),
    );
    assert.equal(messages.length, 12, messages.join("\n"));
  });

  test("the lab's objects in a production stack fail as mandatory", async () => {
    const run = await labRun();
    const inputs = fromRegistered(run.resources).map((r) =>
      r.type === T.namespace && r.name === "istio-system"
        ? {
            ...r,
            outputs: {
              ...r.outputs,
              metadata: { name: "istio-system", labels: { "istio-mesh/profile": "production" } },
            },
          }
        : r,
    );
    const result = await runPolicies([highAvailability], inputs, { packEnforcementLevel: "mandatory" });
    assert.equal(result.mandatory.length, 12);
    assert.equal(result.advisory.length, 0);
  });
});
