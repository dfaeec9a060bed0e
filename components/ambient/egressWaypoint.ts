import type { MeshConfig } from "../../config/types";
import { backendEgressPolicy, type NetworkPolicySpec } from "../egress/fence";
import { EGRESS_NAMESPACE, objectMeta } from "../meta";
import { ambientEgressNamespace, type NamespaceSpec } from "../namespaces";
import type { AuthorizationPolicySpec } from "../security/authorization";
import { GATEWAY_NAME_POD_LABEL, HBONE_LISTENER, WAYPOINT_NAME } from "./labels";
import { namespaceWaypoint, type WaypointSpec } from "./waypoint";

/**
 * The egress gateway in ambient: a waypoint in its own namespace, after Istio 1.30's "Egress
 * gateways" page for ambient (istio.io/latest/docs/ambient/usage/egress-gateway). The namespace is
 * captured by ztunnel and enrolled to use its waypoint (`istioctl waypoint apply --for service
 * --enroll-namespace --namespace istio-egress`), and httpbin.org's ServiceEntry lives there
 * (components/egress/externalServices.ts), so ztunnel sends every mesh call to httpbin.org through
 * that waypoint; no route steers it. The sidecar cells' Gateway, VirtualService and subset are not
 * needed.
 */
export interface EgressWaypointSpec {
  readonly namespace: NamespaceSpec;
  readonly waypoint: WaypointSpec;
  /** Only the backend namespace's identities may leave through it (the sidecar cells' intent). */
  readonly authorization: AuthorizationPolicySpec;
  /**
   * Backend pods leave only through the waypoint. ztunnel proxies a pod's traffic from inside the
   * pod's network namespace (istio-cni's in-pod redirection), so the pod's NetworkPolicy applies to
   * ztunnel's connections: the exit is the waypoint's pods on HBONE (15008).
   */
  readonly networkPolicy: NetworkPolicySpec;
}

/** The sidecar cells' name for the same intent (components/egress/fence.ts), kept so docs and tools name one policy. */
export const EGRESS_WAYPOINT_AUTHZ = "egress-gateway-allow-backend";

/**
 * An ALLOW policy attached to the whole egress waypoint (`targetRefs` → its Gateway): the waypoint
 * sees the caller's own mTLS identity (ztunnel opens the HBONE tunnel with the caller's certificate),
 * so a call whose identity is not in the backend namespace matches no rule and is refused, 403 for
 * HTTP, the connection closed for TLS. L4-only, so it holds on the TLS port, which the waypoint
 * forwards without reading.
 */
export function egressWaypointAuthorization(cfg: MeshConfig): AuthorizationPolicySpec {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: objectMeta(EGRESS_WAYPOINT_AUTHZ, EGRESS_NAMESPACE),
    spec: {
      targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: WAYPOINT_NAME }],
      action: "ALLOW",
      rules: [{ from: [{ source: { namespaces: [cfg.backend.namespace] } }] }],
    },
  };
}

export function egressWaypointSpec(cfg: MeshConfig): EgressWaypointSpec {
  return {
    namespace: ambientEgressNamespace(),
    waypoint: namespaceWaypoint(cfg, EGRESS_NAMESPACE),
    authorization: egressWaypointAuthorization(cfg),
    networkPolicy: backendEgressPolicy(cfg, {
      podSelector: { [GATEWAY_NAME_POD_LABEL]: WAYPOINT_NAME },
      ports: [{ protocol: "TCP", port: HBONE_LISTENER.port }],
    }),
  };
}
