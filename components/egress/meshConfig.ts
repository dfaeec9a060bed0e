import type { MeshConfig } from "../../config/types";

/**
 * istiod's meshConfig fragment for egress. ALLOW_ANY lets sidecars pass traffic to unknown hosts
 * through; REGISTRY_ONLY sends it to a black hole unless a ServiceEntry (or a Kubernetes Service)
 * names the host. Set explicitly so the mesh ConfigMap shows the mode in force.
 */
export function egressMeshConfig(cfg: MeshConfig) {
  return { outboundTrafficPolicy: { mode: cfg.egress.outboundTrafficPolicy } };
}
