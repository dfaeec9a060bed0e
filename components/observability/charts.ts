import type { HelmValues } from "../controlPlane/helmValues";
import { type NamedObject, objectMeta } from "../meta";
import {
  GRAFANA,
  inClusterUrl,
  JAEGER_BASE_PATH,
  JAEGER_QUERY,
  KIALI,
  OBSERVABILITY_NAMESPACE,
  PROMETHEUS,
} from "./services";

/**
 * Prometheus, Grafana and Kiali from their own Helm charts, at the chart versions Istio 1.30.3
 * renders its addons from (samples/addons), with the images those addons run pinned explicitly.
 * Every key is a key of that chart's values.yaml (or of Kiali's CR, which the chart passes
 * through); tests/chartValues.test.ts checks them against tests/fixtures/observability-chart-keys.json.
 */

export interface AddonRelease {
  /** Helm release name; also the Pulumi resource name. */
  readonly name: string;
  readonly chart: "prometheus" | "grafana" | "kiali-server";
  readonly version: string;
  readonly repo: string;
  readonly namespace: string;
  readonly values: HelmValues;
}

export const ADDON_CHARTS = {
  prometheus: { version: "28.13.0", repo: "https://prometheus-community.github.io/helm-charts" },
  grafana: { version: "9.2.2", repo: "https://grafana.github.io/helm-charts" },
  "kiali-server": { version: "2.26.0", repo: "https://kiali.org/helm-charts" },
} as const;

/** The images Istio 1.30.3's addons run (the charts' defaults, restated so a chart bump cannot move them). */
export const ADDON_IMAGES = {
  prometheus: { repository: "docker.io/prom/prometheus", tag: "v3.10.0" },
  configReloader: { repository: "ghcr.io/prometheus-operator/prometheus-config-reloader", tag: "v0.89.0" },
  grafana: { registry: "docker.io", repository: "grafana/grafana", tag: "12.0.1" },
  kiali: { name: "quay.io/kiali/kiali", version: "v2.26.0" },
} as const;

/** Keeps the tools out of the mesh, as Istio's addons do: they are not services under test. */
const NOT_INJECTED = { "sidecar.istio.io/inject": "false" };

/** Where the Grafana chart finds the admin login; the Secret holds a generated password. */
export const GRAFANA_ADMIN_SECRET = { name: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" };
export const GRAFANA_ADMIN_USER = "admin";
/** Kiali encrypts its session cookies with this key (16, 24 or 32 bytes). */
export const KIALI_SIGNING_SECRET = { name: "kiali-signing-key", key: "signing-key", length: 32 };

/** Istio's dashboards, exactly as tagged in the Istio release we install (read at `up` by Grafana's init container). */
export const ISTIO_DASHBOARDS = {
  "istio-mesh": "istio-mesh-dashboard.gen.json",
  "istio-service": "istio-service-dashboard.json",
  "istio-workload": "istio-workload-dashboard.json",
  "istio-performance": "istio-performance-dashboard.json",
  "istio-control-plane": "pilot-dashboard.gen.json",
  "istio-extension": "istio-extension-dashboard.json",
  "istio-ztunnel": "ztunnel-dashboard.gen.json",
} as const;

export const dashboardUrl = (istioVersion: string, file: string) =>
  `https://raw.githubusercontent.com/istio/istio/${istioVersion}/manifests/addons/dashboards/${file}`;

const DASHBOARD_PROVIDER = "istio";
const DASHBOARD_DIR = "/var/lib/grafana/dashboards/istio";

export function prometheusValues(): HelmValues {
  return {
    alertmanager: { enabled: false },
    "prometheus-pushgateway": { enabled: false },
    "kube-state-metrics": { enabled: false },
    "prometheus-node-exporter": { enabled: false },
    configmapReload: { prometheus: { image: ADDON_IMAGES.configReloader } },
    // The chart's default scrape jobs include `kubernetes-pods`, which scrapes what the
    // prometheus.io/* annotations name: istiod, and each sidecar's merged Envoy + app stats on
    // :15020/stats/prometheus (Istio's metrics merging). Istio's addon relies on the same jobs.
    server: {
      fullnameOverride: PROMETHEUS.name,
      image: ADDON_IMAGES.prometheus,
      podLabels: NOT_INJECTED,
      persistentVolume: { enabled: false },
      service: { type: "ClusterIP", servicePort: PROMETHEUS.port },
      readinessProbeInitialDelay: 0,
      global: { scrape_interval: "15s" },
      retention: "2d",
    },
  };
}

export function grafanaValues(istioVersion: string): HelmValues {
  return {
    image: ADDON_IMAGES.grafana,
    // Grafana reads no Kubernetes API here; no RBAC, no test pod.
    rbac: { create: false },
    testFramework: { enabled: false },
    // The chart's default adds -k; dashboards come over verified TLS.
    defaultCurlOptions: "-sLf",
    podLabels: { app: "grafana", ...NOT_INJECTED },
    service: { type: "ClusterIP", port: GRAFANA.port },
    admin: {
      existingSecret: GRAFANA_ADMIN_SECRET.name,
      userKey: GRAFANA_ADMIN_SECRET.userKey,
      passwordKey: GRAFANA_ADMIN_SECRET.passwordKey,
    },
    "grafana.ini": {
      "auth.anonymous": { enabled: false },
      users: { allow_sign_up: false },
      analytics: { check_for_updates: false, reporting_enabled: false },
    },
    datasources: {
      "datasources.yaml": {
        apiVersion: 1,
        datasources: [
          {
            name: "Prometheus",
            type: "prometheus",
            orgId: 1,
            url: inClusterUrl(PROMETHEUS.name, PROMETHEUS.port),
            access: "proxy",
            isDefault: true,
            jsonData: { timeInterval: "15s" },
            editable: false,
          },
        ],
      },
    },
    dashboardProviders: {
      "dashboardproviders.yaml": {
        apiVersion: 1,
        providers: [
          {
            name: DASHBOARD_PROVIDER,
            orgId: 1,
            folder: "istio",
            type: "file",
            disableDeletion: false,
            options: { path: DASHBOARD_DIR },
          },
        ],
      },
    },
    dashboards: {
      [DASHBOARD_PROVIDER]: Object.fromEntries(
        Object.entries(ISTIO_DASHBOARDS).map(([key, file]) => [key, { url: dashboardUrl(istioVersion, file) }]),
      ),
    },
  };
}

/** Kiali's view of the other tools: in-cluster URLs for its own queries, localhost for the links it shows. */
export function kialiExternalServices(localUrls: { grafana: string; tracing: string }) {
  return {
    istio: { root_namespace: OBSERVABILITY_NAMESPACE },
    prometheus: { url: inClusterUrl(PROMETHEUS.name, PROMETHEUS.port) },
    grafana: {
      enabled: true,
      internal_url: inClusterUrl(GRAFANA.name, GRAFANA.port),
      external_url: localUrls.grafana,
      // Kiali lists Grafana's dashboards with the admin login, read from the same Secret.
      auth: {
        type: "basic",
        username: `secret:${GRAFANA_ADMIN_SECRET.name}:${GRAFANA_ADMIN_SECRET.userKey}`,
        password: `secret:${GRAFANA_ADMIN_SECRET.name}:${GRAFANA_ADMIN_SECRET.passwordKey}`,
      },
    },
    tracing: {
      enabled: true,
      provider: "jaeger",
      use_grpc: true,
      internal_url: inClusterUrl(JAEGER_QUERY.name, JAEGER_QUERY.grpcPort, JAEGER_BASE_PATH),
      external_url: localUrls.tracing,
    },
  };
}

export function kialiValues(localUrls: { grafana: string; tracing: string }): HelmValues {
  return {
    // Login with a Kubernetes token (`kubectl -n istio-system create token kiali`), not anonymous.
    auth: { strategy: "token" },
    deployment: {
      image_name: ADDON_IMAGES.kiali.name,
      image_version: ADDON_IMAGES.kiali.version,
      image_pull_policy: "IfNotPresent",
      // The chart names the Deployment and Service after this.
      instance_name: KIALI.name,
      pod_labels: NOT_INJECTED,
      service_type: "ClusterIP",
    },
    login_token: { signing_key: `secret:${KIALI_SIGNING_SECRET.name}:${KIALI_SIGNING_SECRET.key}` },
    server: { port: KIALI.port, web_root: "/kiali" },
    external_services: kialiExternalServices(localUrls),
  };
}

export interface SecretShell extends NamedObject {
  readonly apiVersion: "v1";
  readonly kind: "Secret";
  readonly type: "Opaque";
}

/** The Secrets the charts read; their data (generated passwords) is added by the component. */
export function addonSecrets(): { grafanaAdmin: SecretShell; kialiSigningKey: SecretShell } {
  const shell = (name: string, app: string): SecretShell => ({
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: objectMeta(name, OBSERVABILITY_NAMESPACE, { app }),
  });
  return {
    grafanaAdmin: shell(GRAFANA_ADMIN_SECRET.name, "grafana"),
    kialiSigningKey: shell(KIALI_SIGNING_SECRET.name, "kiali"),
  };
}

/** Release names: the Grafana chart names its Service after the release ("grafana"). */
export function addonReleases(istioVersion: string, localUrls: { grafana: string; tracing: string }): AddonRelease[] {
  const release = (name: string, chart: AddonRelease["chart"], values: HelmValues): AddonRelease => ({
    name,
    chart,
    namespace: OBSERVABILITY_NAMESPACE,
    ...ADDON_CHARTS[chart],
    values,
  });
  return [
    release(PROMETHEUS.name, "prometheus", prometheusValues()),
    release(GRAFANA.name, "grafana", grafanaValues(istioVersion)),
    release(KIALI.name, "kiali-server", kialiValues(localUrls)),
  ];
}
