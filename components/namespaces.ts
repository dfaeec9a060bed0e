import type { Namespace } from "kubernetes-types/core/v1";
import type { MeshConfig } from "../config/types";
import {
  DATAPLANE_MODE_AMBIENT,
  DATAPLANE_MODE_LABEL,
  INGRESS_USE_WAYPOINT_LABEL,
  USE_WAYPOINT_LABEL,
  WAYPOINT_NAME,
} from "./ambient/labels";
import { injectionLabels } from "./controlPlane/revisions";
import { EGRESS_NAMESPACE, INGRESS_NAMESPACE, ISTIO_NAMESPACE, type NamedObject, objectMeta } from "./meta";

export type NamespaceSpec = Namespace & NamedObject;

function namespace(name: string, labels: Record<string, string> = {}): NamespaceSpec {
  return { apiVersion: "v1", kind: "Namespace", metadata: objectMeta(name, undefined, labels) };
}

/** Marks a production stack, for the policies that hold production to more (policies/availability.ts). */
export const PROFILE_LABEL = "istio-mesh/profile";

const profileLabels = (cfg: MeshConfig): Record<string, string> =>
  cfg.profile.name === "production" ? { [PROFILE_LABEL]: "production" } : {};

/** The control plane's namespace; in production it names the profile. */
export const istioNamespace = (cfg: MeshConfig): NamespaceSpec => namespace(ISTIO_NAMESPACE, profileLabels(cfg));
/**
 * The ingress gateway's namespace; in production it names the profile too, so a stack that uses the
 * cluster's own istio-system (`existingIstio`) is still seen as production.
 */
export const ingressNamespace = (cfg: MeshConfig): NamespaceSpec => namespace(INGRESS_NAMESPACE, profileLabels(cfg));
export const egressNamespace = (): NamespaceSpec => namespace(EGRESS_NAMESPACE);
/**
 * ambient's egress namespace, as Istio's ambient egress page sets it up: captured by ztunnel, and
 * enrolled to use its own waypoint, so every service defined there (ServiceEntries included) is
 * reached through that waypoint.
 */
export const ambientEgressNamespace = (): NamespaceSpec =>
  namespace(EGRESS_NAMESPACE, { [DATAPLANE_MODE_LABEL]: DATAPLANE_MODE_AMBIENT, [USE_WAYPOINT_LABEL]: WAYPOINT_NAME });

/**
 * sidecar: injection on for every pod the namespace gets. ambient: ztunnel captures every pod, every
 * Service's traffic (ingress gateway's included) goes through the namespace's waypoint, and nothing
 * asks for a sidecar. istiod reads both waypoint labels from the namespace when a Service has none
 * (pilot/pkg/serviceregistry/ambient/services.go, ingressUseWaypointFromLabels).
 */
export function backendNamespace(cfg: MeshConfig): NamespaceSpec {
  if (cfg.cell.dataplane === "ambient") {
    return namespace(cfg.backend.namespace, {
      [DATAPLANE_MODE_LABEL]: DATAPLANE_MODE_AMBIENT,
      [USE_WAYPOINT_LABEL]: WAYPOINT_NAME,
      [INGRESS_USE_WAYPOINT_LABEL]: "true",
    });
  }
  // Sidecars: injection on for every pod the namespace gets (with revisions: through `prod-stable`).
  return namespace(cfg.backend.namespace, injectionLabels(cfg));
}
