import type { MeshConfig } from "../../config/types";
import type { ChartRelease, HelmValues } from "../chartRelease";
import { egressMeshConfig } from "../egress/meshConfig";
import { INGRESS_NAMESPACE, ISTIO_NAMESPACE } from "../meta";
import { tracingMeshConfig } from "../observability/telemetry";

/**
 * Helm values for Istio's charts. Every key here is a key of that chart's values.yaml
 * at 1.30 (tests/chartValues.test.ts checks them against a snapshot of those keys).
 */

export type { HelmValues } from "../chartRelease";

export interface IstioRelease extends ChartRelease {
  readonly chart: "base" | "istiod" | "gateway" | "cni" | "ztunnel";
}

/**
 * The profile Istio 1.30's Helm ambient install sets on istiod, cni and ztunnel alike
 * (istio.io/latest/docs/ambient/install/helm; each chart's templates/zzz_profile.yaml merges
 * files/profile-ambient.yaml under our values: PILOT_ENABLE_AMBIENT, cni.ambient.enabled, HBONE).
 */
export const AMBIENT_PROFILE = { profile: "ambient" } as const;

/** The demo profile's small requests, so the mesh fits on a laptop. */
export const DEMO_PROXY_REQUESTS = { cpu: "10m", memory: "40Mi" };

export function baseValues(): HelmValues {
  return {
    defaultRevision: "default",
    global: { istioNamespace: ISTIO_NAMESPACE },
  };
}

export function istiodValues(cfg: MeshConfig): HelmValues {
  return {
    // Pin images: the chart's own fallback tag is "latest".
    global: {
      hub: cfg.istio.hub,
      tag: cfg.istio.version,
      istioNamespace: ISTIO_NAMESPACE,
      proxy: { resources: { requests: DEMO_PROXY_REQUESTS } },
    },
    ...(cfg.cell.dataplane === "ambient" && AMBIENT_PROFILE),
    autoscaleEnabled: false,
    replicaCount: 1,
    resources: { requests: { cpu: "10m", memory: "100Mi" } },
    meshConfig: meshConfigValues(cfg),
  };
}

/**
 * What the mesh's objects need of istiod's MeshConfig: the access log the docs read, the egress mode,
 * and the tracing provider the Telemetry names. The pre-flight compares it with the cluster's own
 * istiod's when the stack uses that one (`existingIstio`).
 */
export function meshConfigValues(cfg: MeshConfig) {
  return {
    accessLogFile: "/dev/stdout",
    ...egressMeshConfig(cfg),
    ...tracingMeshConfig(cfg.observability),
  };
}

/** The gateway Service's ports. Helm replaces lists, so the full list is restated. */
export function gatewayServicePorts(cfg: MeshConfig) {
  return [
    { name: "status-port", port: 15021, protocol: "TCP", targetPort: 15021 },
    { name: "http2", port: 80, protocol: "TCP", targetPort: 80, nodePort: cfg.ingress.httpNodePort },
    { name: "https", port: 443, protocol: "TCP", targetPort: 443, nodePort: cfg.ingress.httpsNodePort },
  ];
}

/** The ingress gateway's pods; in ambient each holds the rate limit's buckets (ambient/rateLimit.ts). */
export const INGRESS_GATEWAY_REPLICAS = 1;

/**
 * The label the ingress gateway's pods carry and the ingress Gateway selects. Istio binds a Gateway to
 * matching pods in every namespace (PILOT_SCOPE_GATEWAY_TO_NAMESPACE defaults to false), and a platform's
 * own ingress gateway carries Istio's `istio: ingressgateway`: on the cluster's Istio (`existingIstio`) the
 * stack's gateway gets a label of its own, so neither side's Gateways program the other's pods.
 */
export function ingressGatewaySelector(cfg: MeshConfig): { readonly istio: string } {
  return { istio: cfg.profile.existingIstio ? "istio-mesh-ingressgateway" : "ingressgateway" };
}

export function gatewayValues(cfg: MeshConfig): HelmValues {
  return {
    labels: { ...ingressGatewaySelector(cfg) },
    service: { type: "NodePort", ports: gatewayServicePorts(cfg) },
    autoscaling: { enabled: false },
    replicaCount: INGRESS_GATEWAY_REPLICAS,
    resources: { requests: DEMO_PROXY_REQUESTS, limits: { cpu: "2000m", memory: "1024Mi" } },
  };
}

/** In install order: CRDs, then the control plane, then the ingress gateway. */
export function istioReleases(cfg: MeshConfig): readonly [IstioRelease, IstioRelease, IstioRelease] {
  const common = { version: cfg.istio.version, repo: cfg.istio.chartRepo };
  return [
    { name: "istio-base", chart: "base", namespace: ISTIO_NAMESPACE, values: baseValues(), ...common },
    { name: "istiod", chart: "istiod", namespace: ISTIO_NAMESPACE, values: istiodValues(cfg), ...common },
    // Without `labels`, the chart would derive the `istio: ingressgateway` selector label from this name.
    {
      name: "istio-ingressgateway",
      chart: "gateway",
      namespace: INGRESS_NAMESPACE,
      values: gatewayValues(cfg),
      ...common,
    },
  ];
}
