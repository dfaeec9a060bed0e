import type { MeshConfig } from "../config/types";
import { EGRESS_NAMESPACE, INGRESS_NAMESPACE, ISTIO_NAMESPACE, type NamedObject } from "./meta";

/**
 * Where the stack's mesh-wide defaults (STRICT mTLS, the Telemetry) go. A stack that installs Istio owns
 * the mesh: the root namespace, where a policy without a selector governs every workload. On the
 * cluster's Istio (`existingIstio`) the root namespace is the platform team's, and a policy there would
 * govern every tenant's workloads (and, if one exists already, Istio keeps the oldest and ignores ours):
 * the same policy goes into each namespace of the stack where its proxies run instead.
 */
export function meshDefaultNamespaces(cfg: MeshConfig): readonly string[] {
  if (!cfg.profile.existingIstio) return [ISTIO_NAMESPACE];
  return [cfg.backend.namespace, INGRESS_NAMESPACE, ...(cfg.egress.gateway ? [EGRESS_NAMESPACE] : [])];
}

/**
 * The Pulumi name of a mesh default: its object name in the root namespace (unchanged, so an installing
 * stack's resources keep their URNs), namespace-qualified when there is one per stack namespace.
 */
export const meshDefaultResourceName = (o: NamedObject): string =>
  o.metadata.namespace === ISTIO_NAMESPACE ? o.metadata.name : `${o.metadata.name}-${o.metadata.namespace}`;
