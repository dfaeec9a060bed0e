import type { BackendServiceName, MeshConfig } from "../../config/types";
import { WAYPOINT_NAME } from "../ambient/labels";
import { waypointIdentity } from "../ambient/waypoint";
import { podLabels } from "../backends/workloads";
import { ISTIO_NAMESPACE } from "../meta";
import { authorizationPolicies } from "./authorization";
import { type Call, decide, type PresentedToken, type SecurityPolicies } from "./evaluator";
import {
  backendIdentity,
  ingressGatewayIdentity,
  MESH_CLIENT,
  meshClientIdentity,
  OUTSIDE_CLIENT,
  OUTSIDE_NAMESPACE,
  principal,
} from "./identities";
import { DEMO_SUBJECT, requestAuthentication } from "./jwt";
import { meshPeerAuthentications, peerAuthentication } from "./peerAuthentication";

export type TokenState = "none" | "valid" | "invalid";
export const TOKEN_STATES: readonly TokenState[] = ["none", "valid", "invalid"];

export interface AccessCase {
  caller: string;
  target: BackendServiceName;
  token: TokenState;
  allowed: boolean;
  /** 200 allowed, 403 denied by authorization, 401 bad token, 0 connection refused (plaintext under STRICT). */
  status: number;
}

interface Caller {
  readonly name: string;
  /** undefined: outside the mesh (no sidecar, not captured by ztunnel), so plaintext and no identity. */
  readonly principal?: string;
  readonly namespace: string;
}

export function callers(cfg: MeshConfig): Caller[] {
  const gateway = ingressGatewayIdentity(cfg);
  return [
    { name: "ingress-gateway", principal: principal(gateway), namespace: gateway.namespace },
    ...(cfg.security.probeClients
      ? [
          { name: MESH_CLIENT, principal: principal(meshClientIdentity(cfg)), namespace: cfg.backend.namespace },
          { name: OUTSIDE_CLIENT, namespace: OUTSIDE_NAMESPACE },
        ]
      : []),
    ...cfg.backend.services.map((s) => ({
      name: s.name,
      principal: principal(backendIdentity(cfg, s.name)),
      namespace: cfg.backend.namespace,
    })),
  ];
}

/** Our policy objects, as the program builds them (the JWKS content does not change a decision). */
export function securityPolicies(cfg: MeshConfig): SecurityPolicies {
  return {
    rootNamespace: ISTIO_NAMESPACE,
    ...(cfg.cell.dataplane === "ambient" && {
      waypoint: { name: WAYPOINT_NAME, principal: principal(waypointIdentity(cfg)) },
    }),
    peerAuthentications: [...meshPeerAuthentications(cfg), peerAuthentication(cfg)],
    requestAuthentications: [requestAuthentication(cfg, '{"keys":[]}')],
    authorizationPolicies: authorizationPolicies(cfg),
  };
}

/** valid: the demo token's claims, signed by the stack's key. invalid: the same claims, any other signer. */
export function presentedToken(cfg: MeshConfig, state: TokenState): PresentedToken | undefined {
  if (state === "none") return undefined;
  const { jwt } = cfg.security;
  const claims = { iss: jwt.issuer, sub: DEMO_SUBJECT, aud: [...jwt.audiences], [jwt.roleClaim]: jwt.roles[0] ?? "" };
  return { claims, verifies: state === "valid" };
}

/** Caller × target × token state → Istio's answer, evaluated over the policies we deploy. */
export function accessMatrix(cfg: MeshConfig): AccessCase[] {
  const policies = securityPolicies(cfg);
  return callers(cfg).flatMap((caller) =>
    cfg.backend.services.flatMap((service) => {
      const target = {
        namespace: cfg.backend.namespace,
        labels: podLabels(service.name, service.versions[0]?.version ?? ""),
        service: service.name,
      };
      return TOKEN_STATES.map((token): AccessCase => {
        const presented = presentedToken(cfg, token);
        const call: Call = {
          ...(caller.principal !== undefined && {
            sourcePrincipal: caller.principal,
            sourceNamespace: caller.namespace,
          }),
          ...(presented !== undefined && { token: presented }),
          method: "GET",
          path: service.pathPrefix,
        };
        const { allowed, status } = decide(policies, target, call);
        return { caller: caller.name, target: service.name, token, allowed, status };
      });
    }),
  );
}

const cell = (status: number) => (status === 0 ? "refused" : String(status));

/** The matrix as the Markdown table docs/security.md shows between its access-matrix markers (Biome's layout). */
export function accessMatrixMarkdown(cfg: MeshConfig): string {
  const cases = accessMatrix(cfg);
  const targets = cfg.backend.services.map((s) => s.name);
  const statuses = (caller: string, target: string) =>
    TOKEN_STATES.map((token) => {
      const found = cases.find((c) => c.caller === caller && c.target === target && c.token === token);
      return cell(found?.status ?? Number.NaN);
    }).join(" · ");
  const header = ["caller ↓ target → (no token · valid · invalid)", ...targets];
  const rows = callers(cfg).map((caller) => [caller.name, ...targets.map((t) => statuses(caller.name, t))]);
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
