import type { IAuthorizationPolicy } from "@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy";
import type { BackendServiceName, MeshConfig } from "../../config/types";
import { serviceAttachment } from "../ambient/attachment";
import { allowFromWaypoint, waypointAllowNothing } from "../ambient/authorization";
import { type NamedObject, objectMeta } from "../meta";
import { backendIdentity, type Identity, ingressGatewayIdentity, meshClientIdentity, principal } from "./identities";

export type AuthorizationPolicySpec = IAuthorizationPolicy & NamedObject;
export type AuthorizationRule = NonNullable<NonNullable<IAuthorizationPolicy["spec"]>["rules"]>[number];

export const ALLOW_NOTHING = "allow-nothing";

/**
 * The lab's architecture: who calls whom inside the mesh (user → product → order). The ingress
 * gateway and the in-mesh probe client come on top, for every backend.
 */
export const CALL_GRAPH: Readonly<Record<BackendServiceName, readonly BackendServiceName[]>> = {
  "user-service": [],
  "product-service": ["user-service"],
  "order-service": ["product-service"],
};

/**
 * Deny by default: an ALLOW policy with no rules selects every workload in the namespace and matches
 * nothing. In ambient each pod's ztunnel enforces it (an L4 policy).
 */
export function allowNothing(cfg: MeshConfig): AuthorizationPolicySpec {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: objectMeta(ALLOW_NOTHING, cfg.backend.namespace),
    spec: {},
  };
}

/** `${issuer}/*`: any subject of a token our RequestAuthentication validated. */
export const requestPrincipalsOf = (cfg: MeshConfig): string => `${cfg.security.jwt.issuer}/*`;
export const roleClaimKey = (cfg: MeshConfig): string => `request.auth.claims[${cfg.security.jwt.roleClaim}]`;

/** Who may call `target`: the ingress gateway, the probe client (when deployed) and its callers in CALL_GRAPH. */
export function callersOf(cfg: MeshConfig, target: BackendServiceName): Identity[] {
  return [
    ingressGatewayIdentity(cfg),
    ...(cfg.security.probeClients ? [meshClientIdentity(cfg)] : []),
    ...CALL_GRAPH[target].map((caller) => backendIdentity(cfg, caller)),
  ];
}

/**
 * One rule naming the callers by mTLS principal. user-service's callers also present an end-user
 * JWT (the gateway forwards it) carrying an allowed role, the lab's `x-user-role` header as a
 * signed claim. Calls further down the graph carry no end-user token, so they need none.
 */
export function allowRule(cfg: MeshConfig, target: BackendServiceName): AuthorizationRule {
  const principals = callersOf(cfg, target).map(principal);
  const { jwt } = cfg.security;
  if (target !== "user-service" || !jwt.required) return { from: [{ source: { principals } }] };
  return {
    from: [{ source: { principals, requestPrincipals: [requestPrincipalsOf(cfg)] } }],
    when: [{ key: roleClaimKey(cfg), values: [...jwt.roles] }],
  };
}

export function allowPolicy(cfg: MeshConfig, target: BackendServiceName): AuthorizationPolicySpec {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: objectMeta(`${target}-allow`, cfg.backend.namespace, { app: target }),
    spec: {
      // sidecar: the target's pods; ambient: its Service, so the waypoint enforces the L7 parts.
      ...serviceAttachment(cfg, target),
      action: "ALLOW",
      rules: [allowRule(cfg, target)],
    },
  };
}

/**
 * sidecar: allow-nothing and one policy per service, all read by the callee's sidecar. ambient: the
 * same per-service policies attached to the waypoint, its own deny by default, and at L4 (ztunnel)
 * allow-nothing plus the waypoint as the one peer a backend pod accepts.
 */
export function authorizationPolicies(cfg: MeshConfig): AuthorizationPolicySpec[] {
  const perService = cfg.backend.services.map((s) => allowPolicy(cfg, s.name));
  if (cfg.cell.dataplane === "ambient") {
    return [allowNothing(cfg), allowFromWaypoint(cfg), waypointAllowNothing(cfg), ...perService];
  }
  return [allowNothing(cfg), ...perService];
}
