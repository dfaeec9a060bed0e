import type { ChartRelease } from "../chartRelease";

/**
 * Prometheus, Grafana and Kiali from their own Helm charts, at the chart versions Istio 1.30.3
 * renders its addons from (samples/addons), with the images those addons run pinned explicitly.
 * Every key is a key of that chart's values.yaml (or of Kiali's CR, which the chart passes
 * through); tests/observabilityChartValues.test.ts checks them against tests/fixtures/observability-chart-keys.json.
 */

export interface AddonRelease extends ChartRelease {
  readonly chart: "prometheus" | "grafana" | "kiali-server";
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
export const NOT_INJECTED = { "sidecar.istio.io/inject": "false" };
