import type { MeshConfig } from "../../config/types";
import { AMBIENT_PROFILE, DEMO_PROXY_REQUESTS, type HelmValues, type IstioRelease } from "../controlPlane/helmValues";
import { ISTIO_NAMESPACE } from "../meta";

/**
 * istio-cni's values: the ambient profile, the pinned images. The chart takes its image from
 * `hub`/`tag`, else `global.hub`/`global.tag` (templates/daemonset.yaml), as istiod does.
 */
export function cniValues(cfg: MeshConfig): HelmValues {
  return {
    ...AMBIENT_PROFILE,
    global: { hub: cfg.istio.hub, tag: cfg.istio.version },
    // The chart's 100m/100Mi is sized for production nodes; the lab's node is a laptop.
    resources: { requests: { cpu: "10m", memory: "40Mi" } },
  };
}

/**
 * ztunnel's values. Its image is `hub`/`tag` only, whose chart defaults are a test registry and
 * `latest` (values.yaml), so both are pinned here. Its 200m/512Mi request is sized "for ~200k pods".
 */
export function ztunnelValues(cfg: MeshConfig): HelmValues {
  return {
    ...AMBIENT_PROFILE,
    hub: cfg.istio.hub,
    tag: cfg.istio.version,
    resources: { requests: DEMO_PROXY_REQUESTS },
  };
}

/** The ambient data plane's charts, at the control plane's version, in istio-system. */
export function ambientReleases(cfg: MeshConfig): readonly [IstioRelease, IstioRelease] {
  const common = { version: cfg.istio.version, repo: cfg.istio.chartRepo, namespace: ISTIO_NAMESPACE };
  return [
    // The release names Istio's guide uses: `helm install istio-cni istio/cni`, `helm install ztunnel istio/ztunnel`.
    { name: "istio-cni", chart: "cni", values: cniValues(cfg), ...common },
    { name: "ztunnel", chart: "ztunnel", values: ztunnelValues(cfg), ...common },
  ];
}
