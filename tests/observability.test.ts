import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import type { Service } from "kubernetes-types/core/v1";
import * as YAML from "yaml";
import { istiodValues } from "../components/controlPlane/helmValues";
import { deployMesh } from "../components/mesh";
import { buildMeshSpec } from "../components/meshSpec";
import { serviceHost } from "../components/meta";
import { Observability } from "../components/observability/observability";
import type { AddonRelease } from "../components/observability/pins";
import { type ObservabilitySpec, observabilitySpec } from "../components/observability/spec";
import { meshTelemetry, type TracingProvider } from "../components/observability/telemetry";
import { parseMeshConfig, type RawConfig } from "../config/parse";
import type { MeshConfig } from "../config/types";
import { renderMesh } from "../tools/render/main";
import { devConfig, meshConfig, rejected } from "./support/configs";
import { devMeshRun } from "./support/devMeshRun";
import { istioModels } from "./support/istioSchemas";
import { RANDOM_PASSWORD, type Registered, resolved, runWithMocks } from "./support/mockEngine";
import { T } from "./support/types";

const TELEMETRY = "kubernetes:telemetry.istio.io/v1:Telemetry";
const SECRET = "kubernetes:core/v1:Secret";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const OFF = { observability: { enabled: false } };

const specOf = (cfg: MeshConfig): ObservabilitySpec => {
  const spec = buildMeshSpec(cfg).observability;
  assert.ok(spec, "observability is on");
  return spec;
};

/**
 * The Services each chart creates, read off our own values the way each chart names them (checked
 * against the charts rendered by a real helm: see the README's Observability section).
 */
function chartServices(releases: readonly AddonRelease[]): { host: string; ports: number[] }[] {
  return releases.map((r) => {
    const v = r.values as Record<string, any>;
    const named = (name: string, port: number) => ({ host: serviceHost(name, r.namespace), ports: [port] });
    if (r.chart === "prometheus") return named(v.server.fullnameOverride, v.server.service.servicePort);
    if (r.chart === "grafana") return named(r.name, v.service.port);
    return named(v.deployment.instance_name, v.server.port);
  });
}

/** Every Service in the namespace of the tools: Jaeger's (ours) and the charts'. */
function toolServices(spec: ObservabilitySpec) {
  const own = (s: Service & { metadata: { name: string; namespace?: string } }) => ({
    host: serviceHost(s.metadata.name, s.metadata.namespace ?? ""),
    ports: (s.spec?.ports ?? []).map((p) => p.port),
  });
  return [own(spec.jaeger.queryService), own(spec.jaeger.collectorService), ...chartServices(spec.releases)];
}

const pointsAtService = (url: string, services: ReturnType<typeof toolServices>) => {
  const { hostname, port } = new URL(url);
  return services.some((s) => s.host === hostname && s.ports.includes(Number(port)));
};

describe("tracing: the provider, the Telemetry and the Service behind them", () => {
  const telemetryConfigs: [string, MeshConfig][] = [
    ["the dev stack", devConfig()],
    ["defaults", meshConfig()],
    [
      "sampling off, two tags",
      meshConfig({ observability: { traceSampling: 0, metricTags: { a: "request.protocol", b: "response.code" } } }),
    ],
  ];
  for (const [name, cfg] of telemetryConfigs) {
    test(`the Telemetry is valid telemetry.istio.io/v1 (${name})`, async () => {
      const { Telemetry } = await istioModels();
      const [telemetry] = specOf(cfg).telemetries;
      assert.ok(telemetry);
      assert.doesNotThrow(() => new Telemetry(telemetry as never).validate());
      assert.equal(telemetry.metadata.namespace, "istio-system", "mesh-wide: the root namespace, no selector");
    });
  }

  test("the schema check has teeth: a misspelt sampling field is refused", async () => {
    const { Telemetry } = await istioModels();
    const broken = structuredClone(meshTelemetry(devConfig().observability, "istio-system")) as any;
    broken.spec.tracing[0].randomSamplingPercentage = "all";
    assert.throws(() => new Telemetry(broken).validate());
  });

  test("the dev stack samples 100% and tags request_protocol (bounded); user_agent and request_id are not tagged", () => {
    const [telemetry] = specOf(devConfig()).telemetries;
    assert.ok(telemetry);
    assert.equal(telemetry.spec.tracing[0]?.randomSamplingPercentage, 100);
    const tags = telemetry.spec.metrics?.[0]?.overrides[0]?.tagOverrides ?? {};
    assert.deepEqual(tags, { request_protocol: { operation: "UPSERT", value: "request.protocol" } });
    assert.equal(
      meshTelemetry(meshConfig().observability, "istio-system").spec.metrics,
      undefined,
      "no tags: no metrics override",
    );
  });

  test("its provider is in istiod's mesh config and points at a Service of ours, on a port it exposes", () => {
    const cfg = devConfig();
    const spec = specOf(cfg);
    const providers = (istiodValues(cfg).meshConfig as { extensionProviders: TracingProvider[] }).extensionProviders;
    const selected = spec.telemetries[0]?.spec.tracing[0]?.providers[0]?.name;
    const provider = providers.find((p) => p.name === selected);
    assert.ok(provider, `istiod's meshConfig defines ${selected}`);

    const collector = spec.jaeger.collectorService;
    assert.equal(
      provider.opentelemetry.service,
      serviceHost(collector.metadata.name, collector.metadata.namespace ?? ""),
    );
    const port = collector.spec?.ports?.find((p) => p.port === provider.opentelemetry.port);
    assert.ok(port, `${collector.metadata.name} exposes ${provider.opentelemetry.port}`);
    assert.equal(port.name, "grpc-otel", "Istio reads the protocol from the port name: OTLP is gRPC");

    // The port reaches Jaeger: the Service selects its pod, which listens there with an OTLP receiver.
    const pod = spec.jaeger.deployment.spec?.template;
    const selector = Object.entries(collector.spec?.selector ?? {});
    assert.ok(selector.length > 0, "a Service without a selector reaches no pod");
    for (const [k, v] of selector) assert.equal(pod?.metadata?.labels?.[k], v);
    const containerPorts = pod?.spec?.containers.flatMap((c) => c.ports ?? []).map((p) => p.containerPort);
    assert.ok(containerPorts?.includes(Number(port.targetPort)));
    const config = YAML.parse(spec.jaeger.configMap.data?.["config.yaml"] ?? "");
    assert.equal(config.receivers.otlp.protocols.grpc.endpoint, `0.0.0.0:${port.targetPort}`);
    assert.deepEqual(config.service.pipelines.traces.receivers, ["otlp"]);
  });

  test("the lab's IstioOperator knob is not used: no pilot.traceSampling in istiod's values", () => {
    const values = istiodValues(devConfig()) as Record<string, any>;
    assert.equal(values.pilot, undefined);
    assert.equal(values.meshConfig.accessLogFile, "/dev/stdout", "the existing mesh config stays");
  });
});

describe("Kiali and Grafana find the other tools", () => {
  const spec = specOf(devConfig());
  const services = toolServices(spec);
  const values = (name: string) => (spec.releases.find((r) => r.name === name)?.values ?? {}) as Record<string, any>;

  test("Kiali's in-cluster URLs point at Services that exist", () => {
    const ext = values("kiali").external_services;
    for (const url of [ext.prometheus.url, ext.grafana.internal_url, ext.tracing.internal_url]) {
      assert.ok(pointsAtService(url, services), `${url} is no Service of ours`);
    }
    assert.equal(ext.tracing.use_grpc, true);
    assert.equal(new URL(ext.tracing.internal_url).port, "16685", "gRPC query port for use_grpc");
  });

  test("Kiali's links for the browser are the port-forward URLs", () => {
    const ext = values("kiali").external_services;
    assert.equal(ext.grafana.external_url, spec.dashboards.grafana.url);
    assert.equal(ext.tracing.external_url, spec.dashboards.jaeger.url);
  });

  test("Grafana's Prometheus data source is the Prometheus Service", () => {
    const [source] = values("grafana").datasources["datasources.yaml"].datasources;
    assert.ok(pointsAtService(source.url, services), source.url);
    assert.equal(source.isDefault, true);
  });

  test("Grafana reads Istio's dashboards from ConfigMaps, one per provider; nothing is downloaded at pod start", () => {
    const grafana = values("grafana");
    // The chart renders its download-dashboards init container only for `dashboards` entries.
    assert.equal(grafana.dashboards, undefined);
    assert.equal(grafana.defaultCurlOptions, undefined);
    assert.deepEqual(grafana.dashboardsConfigMaps, {
      istio: "istio-grafana-dashboards",
      "istio-services": "istio-services-grafana-dashboards",
    });
    const providers = grafana.dashboardProviders["dashboardproviders.yaml"].providers;
    assert.deepEqual(
      providers.map((p: { name: string; options: { path: string } }) => [p.name, p.options.path]),
      [
        ["istio", "/var/lib/grafana/dashboards/istio"],
        ["istio-services", "/var/lib/grafana/dashboards/istio-services"],
      ],
      "the chart mounts a provider's ConfigMap at that provider's path",
    );
  });

  test("the port-forwards target the same Services and ports", () => {
    for (const tool of Object.values(spec.dashboards)) {
      assert.ok(
        services.some(
          (s) => s.host === serviceHost(tool.service, tool.namespace) && s.ports.includes(tool.servicePort),
        ),
        `${tool.service}:${tool.servicePort}`,
      );
    }
  });
});

describe("credentials and exposure", () => {
  const spec = specOf(devConfig());
  const values = (name: string) => (spec.releases.find((r) => r.name === name)?.values ?? {}) as Record<string, any>;

  test("Grafana: admin from an existing Secret, anonymous off, no password in the values", () => {
    const grafana = values("grafana");
    assert.equal(grafana.admin.existingSecret, spec.secrets.grafanaAdmin.metadata.name);
    assert.equal(grafana["grafana.ini"]["auth.anonymous"].enabled, false);
    assert.doesNotMatch(JSON.stringify(grafana), /adminPassword|GF_SECURITY_ADMIN_PASSWORD|"admin"\s*:\s*"admin"/);
    assert.equal(grafana.adminPassword, undefined);
  });

  test("Kiali: token login, a signing key from a Secret, never the sample's CHANGEME key", () => {
    const kiali = values("kiali");
    assert.equal(kiali.auth.strategy, "token");
    assert.equal(kiali.login_token.signing_key, `secret:${spec.secrets.kialiSigningKey.metadata.name}:signing-key`);
    assert.doesNotMatch(JSON.stringify(kiali), /CHANGEME|anonymous/);
  });

  test("every Service is ClusterIP", () => {
    for (const s of [spec.jaeger.queryService, spec.jaeger.collectorService]) assert.equal(s.spec?.type, "ClusterIP");
    assert.equal(values("prometheus").server.service.type, "ClusterIP");
    assert.equal(values("grafana").service.type, "ClusterIP");
    assert.equal(values("kiali").deployment.service_type, "ClusterIP");
  });

  test("the generated password and signing key stay secret", async () => {
    let component: Observability | undefined;
    const run = await runWithMocks(() => {
      const dummy = new pulumi.ComponentResource("test:index:Dummy", "dummy");
      const dashboards = Promise.resolve({ contents: {}, missing: [] });
      component = new Observability("observability", {
        spec,
        namespace: [dummy],
        crds: [dummy],
        istiod: [dummy],
        stackNamespaces: {},
        dashboards,
      });
    });
    assert.ok(component);
    assert.equal(await pulumi.isSecret(component.grafanaAdminPassword), true);
    assert.equal(await resolved(component.grafanaAdminPassword), "mock-grafana-admin-password");
    for (const s of component.secrets) assert.equal(await pulumi.isSecret(s.stringData), true, s.urn.toString());
    const passwords = run.ofType(RANDOM_PASSWORD);
    assert.deepEqual(passwords.map((p) => p.name).sort(), ["grafana-admin-password", "kiali-signing-key"]);
    assert.equal(passwords.find((p) => p.name === "kiali-signing-key")?.inputs.length, 32, "an AES-256 key length");
    // The Secret holds it; nothing else registered carries it.
    const holders = run.resources.filter((r) => JSON.stringify(r.inputs).includes("mock-grafana-admin-password"));
    assert.deepEqual(
      holders.map((r) => r.type),
      [SECRET],
    );
  });
});

describe("in the program", () => {
  /** One mock run of the dev stack, shared by the tests that only read it. */
  const devStack = devMeshRun;
  const toolResources = (run: { resources: readonly Registered[] }) =>
    run.resources.filter(
      (r) =>
        r.type === TELEMETRY ||
        r.type === RANDOM_PASSWORD ||
        r.type.startsWith("istio-mesh:observability") ||
        (r.type === T.release && ["prometheus", "grafana", "kiali-server"].includes(String(r.inputs.chart))) ||
        // The mesh-wide PeerAuthentication lives in istio-system too, but is security's.
        ((r.inputs.metadata as { namespace?: string } | undefined)?.namespace === "istio-system" &&
          r.type !== T.peerAuthentication),
    );

  test("registers the three charts at the pinned versions, Jaeger's objects, the Secrets and the Telemetry", async () => {
    const run = await devStack();
    const releases = ["prometheus", "grafana", "kiali"].map((n) => run.get(T.release, n));
    assert.deepEqual(
      releases.map((r) => [r.inputs.chart, r.inputs.version, r.inputs.namespace]),
      [
        ["prometheus", "28.13.0", "istio-system"],
        ["grafana", "9.2.2", "istio-system"],
        ["kiali-server", "2.26.0", "istio-system"],
      ],
    );
    run.get(T.deployment, "jaeger");
    run.get(T.service, "tracing");
    run.get(T.service, "jaeger-collector");
    run.get(CONFIG_MAP, "jaeger");
    run.get(SECRET, "grafana-admin");
    run.get(SECRET, "kiali-signing-key");
    run.get(TELEMETRY, "mesh-default");
  });

  test("the tools wait for istio-system, never for istiod or the gateway; the Telemetry waits for the CRDs and istiod", async () => {
    const run = await devStack();
    const istioNs = run.get(T.namespace, "istio-system");
    const istiod = run.get(T.release, "istiod");
    const gateway = run.get(T.release, "istio-ingressgateway");
    const k8sObjects = toolResources(run).filter((r) => r.type.startsWith("kubernetes:"));
    const telemetry = run.get(TELEMETRY, "mesh-default");
    const tools = k8sObjects.filter((r) => r !== telemetry);
    // 3 releases, Jaeger's 4 objects, 2 Secrets, 2 dashboard ConfigMaps.
    assert.equal(tools.length, 3 + 4 + 2 + 2);
    for (const r of tools) {
      assert.ok(run.dependsOn(r, istioNs), `${r.name} waits for its namespace`);
      assert.ok(!run.dependsOn(r, istiod) && !run.dependsOn(r, gateway), `${r.name} must not wait for istiod`);
    }
    // An Istio object: the CRDs must exist and istiod's webhook must be up to validate it.
    assert.deepEqual(
      [istioNs, run.get(T.release, "istio-base"), istiod].map((r) => run.dependsOn(telemetry, r)),
      [true, true, true],
    );
    assert.ok(!run.dependsOn(telemetry, gateway));
    assert.ok(run.dependsOn(run.get(T.release, "grafana"), run.get(SECRET, "grafana-admin")));
    assert.ok(run.dependsOn(run.get(T.release, "kiali"), run.get(SECRET, "kiali-signing-key")));
    const jaegerPod = (run.get(T.deployment, "jaeger").inputs.spec as any).template.metadata.labels;
    assert.equal(jaegerPod["sidecar.istio.io/inject"], "false");
  });

  test("the dashboards output names all four tools with a port-forward command and a local URL", async () => {
    const run = await devStack();
    const { dashboards } = run.result as ReturnType<typeof deployMesh>;
    assert.deepEqual(
      Object.entries(dashboards).map(([name, t]) => [name, t.command, t.url]),
      [
        [
          "kiali",
          "kubectl --context kind-lab-cluster -n istio-system port-forward svc/kiali 20001:20001",
          "http://localhost:20001/kiali",
        ],
        [
          "jaeger",
          "kubectl --context kind-lab-cluster -n istio-system port-forward svc/tracing 16686:80",
          "http://localhost:16686/jaeger",
        ],
        [
          "prometheus",
          "kubectl --context kind-lab-cluster -n istio-system port-forward svc/prometheus 9090:9090",
          "http://localhost:9090",
        ],
        [
          "grafana",
          "kubectl --context kind-lab-cluster -n istio-system port-forward svc/grafana 3000:3000",
          "http://localhost:3000",
        ],
      ],
    );
    assert.match(dashboards.kiali?.login ?? "", /create token kiali$/);
    assert.match(dashboards.grafana?.login ?? "", /get secret grafana-admin/);
  });

  test("an existing cluster's commands use its kubeconfig and context", () => {
    const cfg = meshConfig({ clusterMode: "existing", kubeconfig: "/home/me/my config", kubeContext: "prod-east" });
    assert.equal(
      observabilitySpec(cfg).dashboards.prometheus.command,
      "kubectl --kubeconfig '/home/me/my config' --context prod-east -n istio-system port-forward svc/prometheus 9090:9090",
    );
  });

  test("switched off: no tools, no Telemetry, no provider, no secrets, no dashboards", async () => {
    const cfg = meshConfig(OFF);
    const run = await runWithMocks(() => deployMesh(cfg));
    assert.deepEqual(
      toolResources(run).map((r) => `${r.type} ${r.name}`),
      [],
    );
    assert.equal(run.ofType(TELEMETRY).length, 0);
    assert.equal(run.ofType(RANDOM_PASSWORD).length, 0);
    assert.deepEqual(
      run
        .ofType(T.release)
        .map((r) => r.name)
        .sort(),
      ["istio-base", "istio-egressgateway", "istio-ingressgateway", "istiod"],
    );
    const istiod = run.get(T.release, "istiod").inputs.values as Record<string, any>;
    assert.equal(istiod.meshConfig.extensionProviders, undefined);
    assert.deepEqual((run.result as ReturnType<typeof deployMesh>).dashboards, {});
    assert.equal(buildMeshSpec(cfg).observability, undefined);
  });

  test("render writes Jaeger, the Telemetry and the charts' values (helm/addons, apart from Istio's charts)", () => {
    const files = renderMesh({ "istio-mesh:observability": { enabled: true, traceSampling: 10 } });
    const paths = files.map((f) => f.path);
    for (const p of [
      "helm/addons/prometheus.values.yaml",
      "helm/addons/grafana.values.yaml",
      "helm/addons/kiali.values.yaml",
    ]) {
      assert.ok(paths.includes(p), p);
    }
    const telemetry = files.find((f) => f.path.endsWith("-telemetry-istio-system-mesh-default.yaml"));
    assert.equal(YAML.parse(telemetry?.content ?? "").spec.tracing[0].randomSamplingPercentage, 10);
    assert.ok(
      !renderMesh({ "istio-mesh:observability": { enabled: false } }).some((f) =>
        /addons|telemetry|jaeger/.test(f.path),
      ),
    );
  });
});

describe("istio-mesh:observability is validated", () => {
  const issues = (raw: RawConfig) => rejected(raw).issues.map((i) => ({ key: i.key, allowed: i.allowed }));
  const K = "istio-mesh:observability";
  const cases: [string, unknown, string, RegExp][] = [
    ["not an object", "on", K, /object/],
    ["an unknown field", { tracing: true }, `${K}.tracing`, /allowed: enabled, traceSampling, metricTags/],
    ["enabled not a boolean", { enabled: "yes" }, `${K}.enabled`, /true or false/],
    ["sampling above 100", { traceSampling: 101 }, `${K}.traceSampling`, /0 to 100/],
    ["negative sampling", { traceSampling: -1 }, `${K}.traceSampling`, /0 to 100/],
    ["sampling not a number", { traceSampling: "all" }, `${K}.traceSampling`, /0 to 100/],
    ["tags not an object", { metricTags: ["user_agent"] }, `${K}.metricTags`, /object/],
    [
      "a tag name Prometheus would refuse",
      { metricTags: { "User-Agent": "request.host" } },
      `${K}.metricTags.User-Agent`,
      /lowercase/,
    ],
    [
      "the lab's Envoy syntax",
      { metricTags: { request_id: "%{REQUEST_ID}" } },
      `${K}.metricTags.request_id`,
      /attribute expression/,
    ],
    ["a per-request id", { metricTags: { request_id: "request.id" } }, `${K}.metricTags.request_id`, /series per/],
    [
      "the request-id header",
      { metricTags: { rid: "request.headers['x-request-id']" } },
      `${K}.metricTags.rid`,
      /series per/,
    ],
    ["not an attribute", { metricTags: { a: "rm -rf /" } }, `${K}.metricTags.a`, /bounded attributes/],
    ["an empty expression", { metricTags: { a: "" } }, `${K}.metricTags.a`, /bounded attributes/],
    // Credentials in a label are readable by anyone with Prometheus, Grafana or Kiali access.
    ...["authorization", "cookie", "Authorization", "proxy-authorization", "x-api-key"].map(
      (header): [string, unknown, string, RegExp] => [
        `the ${header} header`,
        { metricTags: { who: `request.headers['${header}']` } },
        `${K}.metricTags.who`,
        /never a credential/,
      ],
    ),
    [
      "a cookie in the response",
      { metricTags: { c: "response.headers['set-cookie']" } },
      `${K}.metricTags.c`,
      /never a credential/,
    ],
    // Unbounded values: one series per client address, connection, path or client-chosen header.
    ...[
      "source.address",
      "connection.id",
      "request.url_path",
      "request.path",
      "request.host",
      "request.method",
      "request.headers['user-agent']",
      "request.headers['traceparent']",
      "request.headers['x-b3-traceid']",
      "request.time",
      "request.auth.principal",
      "source.port",
    ].map((expression): [string, unknown, string, RegExp] => [
      `the unbounded ${expression}`,
      { metricTags: { t: expression } },
      `${K}.metricTags.t`,
      /bounded attributes/,
    ]),
    // Names the scrape's relabelling sets on every target; honor_labels would let the tag overwrite them.
    ...[
      "namespace",
      "pod",
      "app",
      "version",
      "job",
      "instance",
      "node",
      "service",
      "pod_template_hash",
      "app_kubernetes_io_name",
    ].map((name): [string, unknown, string, RegExp] => [
      `the scrape label ${name}`,
      { metricTags: { [name]: "request.protocol" } },
      `${K}.metricTags.${name}`,
      /honor_labels/,
    ]),
  ];
  for (const [name, value, key, allowed] of cases) {
    test(`${name} is rejected, naming ${key}`, () => {
      const found = issues({ observability: value });
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.equal(found[0]?.key, key);
      assert.match(found[0]?.allowed ?? "", allowed);
    });
  }

  test("every bad field is reported at once", () => {
    const found = issues({ observability: { enabled: 1, traceSampling: 500, metricTags: { x: "%{X}" } } });
    assert.deepEqual(
      found.map((i) => i.key),
      [`${K}.enabled`, `${K}.traceSampling`, `${K}.metricTags.x`],
    );
  });

  test("Pulumi's string-encoded values parse like YAML ones; partial objects keep the defaults", () => {
    const fromString = parseMeshConfig({ observability: '{"enabled":"true","traceSampling":"25"}' }).observability;
    assert.deepEqual(fromString, { enabled: true, traceSampling: 25, metricTags: {} });
    assert.deepEqual(parseMeshConfig({ observability: { traceSampling: 5 } }).observability, {
      enabled: true,
      traceSampling: 5,
      metricTags: {},
    });
    assert.deepEqual(parseMeshConfig({}).observability, { enabled: true, traceSampling: 1, metricTags: {} });
  });
});
