import type { MeshConfig } from "../../config/types";
import { DEMO_PROXY_REQUESTS, type HelmValues, type IstioRelease } from "../controlPlane/helmValues";
import { gatewayChartVersion, gatewayRevisionValues, REVISION_TAGS } from "../controlPlane/revisions";
import { EGRESS_NAMESPACE, serviceHost } from "../meta";

/**
 * The egress gateway: a second release of Istio's `gateway` chart, in its own namespace like the
 * ingress gateway, so the one workload allowed to leave the mesh can be fenced off (NetworkPolicy,
 * dedicated nodes) without touching istiod or the apps.
 */

/** Helm release name. The chart names the Deployment, Service and ServiceAccount after it. */
export const EGRESS_GATEWAY_RELEASE = "istio-egressgateway";

/** The label the egress Gateway selects on (the lab's and Istio's `istio: egressgateway`). */
export const EGRESS_GATEWAY_SELECTOR = { istio: "egressgateway" } as const;

/**
 * The Service's ports. They equal the chart's defaults; they are restated because Helm replaces a list
 * as a whole, and so the routes' cross-check can read the ports from our own values.
 */
export const EGRESS_GATEWAY_PORTS = [
  { name: "status-port", port: 15021, protocol: "TCP", targetPort: 15021 },
  { name: "http2", port: 80, protocol: "TCP", targetPort: 80 },
  { name: "https", port: 443, protocol: "TCP", targetPort: 443 },
] as const;

export function egressGatewayValues(): HelmValues {
  return {
    labels: { ...EGRESS_GATEWAY_SELECTOR },
    // Only sidecars reach it, from inside the cluster.
    service: { type: "ClusterIP", ports: EGRESS_GATEWAY_PORTS.map((p) => ({ ...p })) },
    autoscaling: { enabled: false },
    replicaCount: 1,
    resources: { requests: DEMO_PROXY_REQUESTS },
  };
}

export function egressGatewayRelease(cfg: MeshConfig): IstioRelease {
  return {
    name: EGRESS_GATEWAY_RELEASE,
    chart: "gateway",
    namespace: EGRESS_NAMESPACE,
    version: gatewayChartVersion(cfg, REVISION_TAGS.stable),
    repo: cfg.istio.chartRepo,
    values: { ...egressGatewayValues(), ...gatewayRevisionValues(cfg, REVISION_TAGS.stable) },
  };
}

/**
 * The labels the gateway chart puts on its pods and uses as the Service selector, as its
 * `gateway.selectorLabels` helper computes them: `app` and `istio` from `values.labels` when set,
 * else from the release name (`istio` without its `istio-` prefix).
 */
export function gatewayChartSelectorLabels(release: IstioRelease): { app: string; istio: string } {
  const labels = (release.values.labels ?? {}) as Record<string, string | undefined>;
  return {
    app: labels.app ?? release.name,
    istio: labels.istio ?? release.name.replace(/^istio-/, ""),
  };
}

/** The chart-created Service, as sidecars address it. */
export const egressGatewayHost = (): string => serviceHost(EGRESS_GATEWAY_RELEASE, EGRESS_NAMESPACE);
