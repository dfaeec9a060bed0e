import type { HelmValues } from "../controlPlane/helmValues";
import { DASHBOARD_GROUPS, DASHBOARD_PROVIDERS, dashboardDir } from "./dashboards";
import { ADDON_IMAGES, NOT_INJECTED } from "./pins";
import { GRAFANA, inClusterUrl, PROMETHEUS } from "./services";

/** Istio's Grafana addon, from the grafana chart: Prometheus as data source, Istio's dashboards. */

/** Where the Grafana chart finds the admin login; the Secret holds a generated password. */
export const GRAFANA_ADMIN_SECRET = { name: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" };
export const GRAFANA_ADMIN_USER = "admin";

export function grafanaValues(): HelmValues {
  return {
    image: ADDON_IMAGES.grafana,
    // Grafana reads no Kubernetes API here; no RBAC, no test pod.
    rbac: { create: false },
    testFramework: { enabled: false },
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
    // Istio's addon layout: one file provider per ConfigMap, each its own folder. No `dashboards`
    // key, so the chart renders no init container that downloads anything when the pod starts.
    dashboardProviders: {
      "dashboardproviders.yaml": {
        apiVersion: 1,
        providers: DASHBOARD_PROVIDERS.map((name) => ({
          name,
          orgId: 1,
          folder: name,
          type: "file",
          disableDeletion: false,
          options: { path: dashboardDir(name) },
        })),
      },
    },
    dashboardsConfigMaps: Object.fromEntries(DASHBOARD_PROVIDERS.map((p) => [p, DASHBOARD_GROUPS[p].configMap])),
  };
}
