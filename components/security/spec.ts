import type { MeshConfig } from "../../config/types";
import { ingressRateLimitFilter } from "../ambient/rateLimit";
import type { GatewayServer } from "../traffic/gateway";
import { type AuthorizationPolicySpec, authorizationPolicies } from "./authorization";
import { certificateArgs, httpsServer, type SecretSpec, tlsSecret } from "./https";
import { type RequestAuthenticationSpec, requestAuthentication } from "./jwt";
import { meshPeerAuthentications, type PeerAuthenticationSpec, peerAuthentication } from "./peerAuthentication";
import { type ProbeClientSpecs, probeClients } from "./probeClients";
import { type EnvoyFilterSpec, rateLimitFilter } from "./rateLimit";

/**
 * The security objects that are plain data from config alone. The RequestAuthentication's JWKS
 * and the TLS Secret's data come from keys the stack generates, so only their shells are here.
 */
export interface SecuritySpec {
  /** Mesh-wide STRICT: in the root namespace, or (existingIstio) in the stack's other namespaces. */
  readonly meshPeerAuthentications: readonly PeerAuthenticationSpec[];
  /** The backend namespace's `mtlsMode`. */
  readonly peerAuthentication: PeerAuthenticationSpec;
  /** Selector, issuer and audiences; MeshSecurity fills each rule's empty `jwks` from the stack's key. */
  readonly requestAuthentication: RequestAuthenticationSpec;
  readonly authorizationPolicies: readonly AuthorizationPolicySpec[];
  /** sidecar: on user-service's sidecar; ambient: on the ingress gateway (no EnvoyFilter on waypoints). */
  readonly rateLimit?: EnvoyFilterSpec;
  /** Joins app-gateway (traffic owns the Gateway object). */
  readonly httpsServer: GatewayServer;
  readonly tlsSecret: SecretSpec;
  readonly certificates: ReturnType<typeof certificateArgs>;
  readonly probeClients?: ProbeClientSpecs;
}

export function securitySpec(cfg: MeshConfig): SecuritySpec {
  const rateLimit = cfg.cell.dataplane === "ambient" ? ingressRateLimitFilter(cfg) : rateLimitFilter(cfg);
  const clients = probeClients(cfg);
  return {
    meshPeerAuthentications: meshPeerAuthentications(cfg),
    peerAuthentication: peerAuthentication(cfg),
    requestAuthentication: requestAuthentication(cfg, ""),
    authorizationPolicies: authorizationPolicies(cfg),
    ...(rateLimit && { rateLimit }),
    httpsServer: httpsServer(cfg),
    tlsSecret: tlsSecret(),
    certificates: certificateArgs(cfg),
    ...(clients && { probeClients: clients }),
  };
}
