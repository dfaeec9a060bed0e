import type { MeshConfig } from "../../config/types";
import { objectMeta } from "../meta";
import type { AuthorizationPolicySpec } from "../security/authorization";
import { principal } from "../security/identities";
import { WAYPOINT_NAME } from "./labels";
import { waypointIdentity } from "./waypoint";

export const ALLOW_FROM_WAYPOINT = "allow-from-waypoint";
export const WAYPOINT_ALLOW_NOTHING = "waypoint-allow-nothing";

/**
 * L4, enforced by each backend pod's ztunnel (no selector: every workload of the namespace). With
 * `allow-nothing` beside it, a backend pod accepts connections from the waypoint alone: every call
 * addressed to a backend Service goes through the waypoint (the Services use it, the ingress gateway
 * included), so this refuses only what bypasses it (a pod IP). ztunnel sees the waypoint's identity
 * on forwarded calls, not the caller's, which is why the callers are checked at the waypoint.
 */
export function allowFromWaypoint(cfg: MeshConfig): AuthorizationPolicySpec {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: objectMeta(ALLOW_FROM_WAYPOINT, cfg.backend.namespace),
    spec: { action: "ALLOW", rules: [{ from: [{ source: { principals: [principal(waypointIdentity(cfg))] } }] }] },
  };
}

/**
 * L7 deny by default, on the waypoint: an ALLOW policy without rules attached to the whole waypoint
 * matches nothing, so a request through it is allowed only by a per-service policy (`<svc>-allow`,
 * attached to its Service).
 */
export function waypointAllowNothing(cfg: MeshConfig): AuthorizationPolicySpec {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: objectMeta(WAYPOINT_ALLOW_NOTHING, cfg.backend.namespace),
    spec: { targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: WAYPOINT_NAME }] },
  };
}
