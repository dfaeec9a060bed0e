import type { HelmValues } from "../controlPlane/helmValues";
import { ADDON_IMAGES, NOT_INJECTED } from "./pins";
import { GRAFANA, inClusterUrl, PROMETHEUS } from "./services";

/** Istio's Grafana addon, from the grafana chart: Prometheus as data source, Istio's dashboards. */

/** Where the Grafana chart finds the admin login; the Secret holds a generated password. */
export const GRAFANA_ADMIN_SECRET = { name: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" };
export const GRAFANA_ADMIN_USER = "admin";

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
