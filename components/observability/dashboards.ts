import type { ConfigMap } from "kubernetes-types/core/v1";
import { type NamedObject, objectMeta } from "../meta";
import { OBSERVABILITY_NAMESPACE } from "./services";

/**
 * Istio's Grafana dashboards, served from ConfigMaps as Istio's own addon does
 * (samples/addons/grafana.yaml: `istio-grafana-dashboards` and `istio-services-grafana-dashboards`,
 * one Grafana provider and folder each), instead of the chart's init container downloading them
 * from GitHub on every pod start.
 *
 * Pinned by content: the sha256 of each file at Istio's tag 1.30.3 (manifests/addons/dashboards/),
 * i.e. of the bytes raw.githubusercontent.com serves at DASHBOARD_TAG. The git blob ids say where
 * each digest came from (`git rev-parse 1.30.3:manifests/addons/dashboards/<file>` in istio/istio).
 * They stay pinned to this tag when `istioVersion` changes, until they are pinned again.
 */

export const DASHBOARD_TAG = "1.30.3";

export interface PinnedDashboard {
  readonly file: string;
  readonly sha256: string;
  readonly gitBlob: string;
}

/** Grafana provider → the dashboards in its ConfigMap (the split Istio's addon uses). */
export const DASHBOARD_GROUPS = {
  istio: {
    configMap: "istio-grafana-dashboards",
    dashboards: [
      {
        file: "istio-performance-dashboard.json",
        sha256: "8a34d37f6798fbd931db93b1ce9972fa81bb215a62705adbe94db8a5fc6c5688",
        gitBlob: "d94ff4fed2c093b96835100e7aa18ea546503bc1",
      },
      {
        file: "pilot-dashboard.gen.json",
        sha256: "5a03f45efa32b975ac1dba1b12877c586fb63bbb1da06516dfa56256caa1acc0",
        gitBlob: "a9f6247e4b29b4d7adf0653e82ef2617dbb30fbd",
      },
      {
        file: "ztunnel-dashboard.gen.json",
        sha256: "66b6b15099eb9b497cba8655835f4e8cc485fd0ef61ee8e4ed545ee26553cfe8",
        gitBlob: "9ff90c7f8cacb84ce6a530aedf57cd8cfa8b6b27",
      },
    ],
  },
  "istio-services": {
    configMap: "istio-services-grafana-dashboards",
    dashboards: [
      {
        file: "istio-extension-dashboard.json",
        sha256: "242e536f04330e46385436591f40ec3a946975a24fb4be91b46bb78b5916968d",
        gitBlob: "9602024a6aecdb01dc4a07401ed4adf908a028ec",
      },
      {
        file: "istio-mesh-dashboard.gen.json",
        sha256: "d1f8f1f0c61722ffebada80b4ea50a17d99e5dfd62efd658d0f79635437afc74",
        gitBlob: "cab2ec0c2540645999069b53328b3c9853819b5c",
      },
      {
        file: "istio-service-dashboard.json",
        sha256: "d2c3881bd82f44965bd124ef5aade6e81b41e05355758a41c6d4d7465e98d3fc",
        gitBlob: "09a796693cfbeb3fb9765669da4b07c323d97147",
      },
      {
        file: "istio-workload-dashboard.json",
        sha256: "0a9b4c2cec355b85fe941db9215467b0ca0bfd85c44598c99fbfe91eb539a1de",
        gitBlob: "4719789dc3f3241895252b95cbb21493e603a645",
      },
    ],
  },
} as const satisfies Record<string, { configMap: string; dashboards: readonly PinnedDashboard[] }>;

export type DashboardProvider = keyof typeof DASHBOARD_GROUPS;
export const DASHBOARD_PROVIDERS = Object.keys(DASHBOARD_GROUPS) as DashboardProvider[];
export const PINNED_DASHBOARDS: readonly PinnedDashboard[] = DASHBOARD_PROVIDERS.flatMap(
  (p): readonly PinnedDashboard[] => DASHBOARD_GROUPS[p].dashboards,
);

export const dashboardUrl = (file: string) =>
  `https://raw.githubusercontent.com/istio/istio/${DASHBOARD_TAG}/manifests/addons/dashboards/${file}`;
export const dashboardDir = (provider: DashboardProvider) => `/var/lib/grafana/dashboards/${provider}`;

export type DashboardConfigMap = ConfigMap & NamedObject;

/**
 * The ConfigMap of one provider for verified dashboard contents (file → JSON text). A dashboard is
 * stored without whitespace, as Istio's addon stores them (the services group is over 256 KiB as
 * published); its digest annotation says which pinned file it is.
 */
export function dashboardConfigMap(
  provider: DashboardProvider,
  contents: Readonly<Record<string, string>>,
): DashboardConfigMap {
  const group: { configMap: string; dashboards: readonly PinnedDashboard[] } = DASHBOARD_GROUPS[provider];
  const present = group.dashboards.filter((d) => contents[d.file] !== undefined);
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      ...objectMeta(group.configMap, OBSERVABILITY_NAMESPACE, { app: "grafana" }),
      annotations: Object.fromEntries(present.map((d) => [`istio-mesh/sha256.${d.file}`, d.sha256])),
    },
    data: Object.fromEntries(
      present.map((d) => [d.file.replace(/\.gen\.json$/, ".json"), JSON.stringify(JSON.parse(contents[d.file] ?? ""))]),
    ),
  };
}

/**
 * What render and the mesh diff show of a provider's ConfigMap: its name and the pinned digest of
 * every dashboard, without the contents (fetched when the program runs). A digest pin that moves
 * shows in the diff.
 */
export function dashboardConfigMapShell(provider: DashboardProvider): DashboardConfigMap {
  const group: { configMap: string; dashboards: readonly PinnedDashboard[] } = DASHBOARD_GROUPS[provider];
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      ...objectMeta(group.configMap, OBSERVABILITY_NAMESPACE, { app: "grafana" }),
      annotations: Object.fromEntries(group.dashboards.map((d) => [`istio-mesh/sha256.${d.file}`, d.sha256])),
    },
    data: {},
  };
}
