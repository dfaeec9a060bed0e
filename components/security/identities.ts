import type { MeshConfig } from "../../config/types";
import { istioReleases } from "../controlPlane/helmValues";
import { INGRESS_NAMESPACE } from "../meta";

/** istiod's meshConfig.trustDomain (the istiod chart's default; chart-render shows `trustDomain: cluster.local`). */
export const TRUST_DOMAIN = "cluster.local";

/** A workload's SPIFFE identity as AuthorizationPolicy `principals` names it. */
export interface Identity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

export const principal = (id: Identity): string => `${TRUST_DOMAIN}/ns/${id.namespace}/sa/${id.serviceAccount}`;

/**
 * The gateway chart's ServiceAccount: `serviceAccount.name` is empty in our values, so the chart
 * names it after the release (chart-render: `ServiceAccount istio-ingressgateway` in istio-ingress).
 */
export function ingressGatewayIdentity(cfg: MeshConfig): Identity {
  const [, , gateway] = istioReleases(cfg);
  return { namespace: INGRESS_NAMESPACE, serviceAccount: gateway.name };
}

export const MESH_CLIENT = "mesh-client";
export const OUTSIDE_CLIENT = "outside-client";
/** The sidecar-less probe client's namespace: no injection label, so no sidecar and no mTLS identity. */
export const OUTSIDE_NAMESPACE = "outside";

export const meshClientIdentity = (cfg: MeshConfig): Identity => ({
  namespace: cfg.backend.namespace,
  serviceAccount: MESH_CLIENT,
});

/** Backend workloads run as a ServiceAccount named after their service (backends/workloads.ts). */
export const backendIdentity = (cfg: MeshConfig, service: string): Identity => ({
  namespace: cfg.backend.namespace,
  serviceAccount: service,
});
