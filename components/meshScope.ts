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

/**
 * The `exportTo` of a VirtualService, DestinationRule or ServiceEntry, from the stack's namespaces whose
 * proxies consume it (`.` is the object's own). istiod gives a proxy, sidecar, gateway or waypoint alike,
 * only the objects exported to the proxy's own namespace (pilot/pkg/model/push_context.go @ 1.30.3:
 * `VirtualServicesForGateway(proxyNamespace, …)`, `destinationRule(proxyNameSpace, …)`), so a gateway
 * needs the VirtualService bound to it and the DestinationRules and ServiceEntries of its destinations.
 * A stack that installs Istio owns the mesh and keeps Istio's default, every namespace (so its objects
 * render as they always have). On the cluster's Istio that default would hand the stack's routes and
 * hosts to every tenant's proxies, and its DestinationRules would govern their calls to the same hosts.
 */
export function exportedToStack(cfg: MeshConfig, consumers: readonly string[]): { exportTo?: string[] } {
  return cfg.profile.existingIstio ? { exportTo: [...consumers] } : {};
}
