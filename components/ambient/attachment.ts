import type { MeshConfig } from "../../config/types";

/** A policy's reference to the Service it applies to (Istio's PolicyTargetReference; core group ""). */
export interface ServiceTargetRef {
  readonly group: "";
  readonly kind: "Service";
  readonly name: string;
}

export type ServiceAttachment =
  | { readonly selector: { readonly matchLabels: Record<string, string> } }
  | { readonly targetRefs: ServiceTargetRef[] };

/**
 * How a per-service L7 policy (JWT, L7 authorization) reaches the service's proxy. sidecar: a
 * selector on the pods, read by their sidecar. ambient: `targetRefs` to the Service, so the waypoint
 * serving it enforces the policy; ztunnel reads no L7 policy, and one bound by selector would be
 * enforced by ztunnel with its L7 parts failing closed (istio.io/latest/docs/ambient/usage/l7-features,
 * "Considerations for authorization policies"; pilot/pkg/serviceregistry/ambient/authorization.go).
 */
export function serviceAttachment(cfg: MeshConfig, service: string): ServiceAttachment {
  if (cfg.cell.dataplane === "ambient") return { targetRefs: [{ group: "", kind: "Service", name: service }] };
  return { selector: { matchLabels: { app: service } } };
}
