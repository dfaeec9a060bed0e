import type { HelmValues } from "../controlPlane/helmValues";
import { ADDON_IMAGES, NOT_INJECTED } from "./pins";
import { PROMETHEUS } from "./services";

/** How often Prometheus scrapes; the canary's metrics window is a multiple of it. */
export const SCRAPE_INTERVAL_SECONDS = 15;

/** Istio's Prometheus addon, from the prometheus-community chart. */
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
      global: { scrape_interval: `${SCRAPE_INTERVAL_SECONDS}s` },
      retention: "2d",
    },
  };
}
