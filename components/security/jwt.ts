import type { IRequestAuthentication } from "@kubernetes-models/istio/security.istio.io/v1/RequestAuthentication";
import { durationMillis } from "../../config/readers";
import type { JwtConfig, MeshConfig } from "../../config/types";
import { serviceAttachment } from "../ambient/attachment";
import { type NamedObject, objectMeta } from "../meta";

export type RequestAuthenticationSpec = IRequestAuthentication & NamedObject;

export const JWT_SERVICE = "user-service";
/** RS256 (RSASSA-PKCS1-v1_5) signatures are deterministic: the same claims give the same token. */
export const JWT_ALG = "RS256";
export const DEMO_SUBJECT = "demo";

/** Arguments of the stack's tls.PrivateKey that signs tokens. */
export const signingKeyArgs = () => ({ algorithm: "RSA", rsaBits: 2048 }) as const;

/**
 * Validates tokens for user-service (its sidecar, or in ambient the waypoint serving its Service)
 * against an inline JWKS (no URL to fetch, unlike the lab's
 * jwksUri on GitHub). A bad token gets 401 here; a missing one passes on to authorization, which
 * answers 403 when a token is required.
 */
export function requestAuthentication(cfg: MeshConfig, jwks: string): RequestAuthenticationSpec {
  const { issuer, audiences } = cfg.security.jwt;
  return {
    apiVersion: "security.istio.io/v1",
    kind: "RequestAuthentication",
    metadata: objectMeta(`${JWT_SERVICE}-jwt`, cfg.backend.namespace, { app: JWT_SERVICE }),
    spec: {
      ...serviceAttachment(cfg, JWT_SERVICE),
      jwtRules: [{ issuer, audiences: [...audiences], jwks }],
    },
  };
}

/** The JWKS (a JSON string) for an SPKI public key PEM; `kid` is the key's RFC 7638 thumbprint. */
export async function jwksFromPublicKey(publicKeyPem: string): Promise<string> {
  const { importSPKI, exportJWK, calculateJwkThumbprint } = await import("jose");
  const jwk = await exportJWK(await importSPKI(publicKeyPem, JWT_ALG, { extractable: true }));
  const kid = await calculateJwkThumbprint(jwk);
  return JSON.stringify({ keys: [{ ...jwk, kid, alg: JWT_ALG, use: "sig" }] });
}

export interface TokenRequest {
  readonly subject: string;
  /** Seconds since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** Extra claims; the role claim defaults to the first allowed role. */
  readonly claims?: Readonly<Record<string, string>>;
}

/** Signs a JWT with a PKCS#8 private key PEM, for this stack's issuer and audiences. */
export async function mintToken(privateKeyPkcs8: string, jwt: JwtConfig, request: TokenRequest): Promise<string> {
  const { importPKCS8, exportJWK, calculateJwkThumbprint, SignJWT } = await import("jose");
  const key = await importPKCS8(privateKeyPkcs8, JWT_ALG, { extractable: true });
  const kid = await calculateJwkThumbprint(await exportJWK(key));
  const claims = { [jwt.roleClaim]: jwt.roles[0] ?? "", ...request.claims };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: JWT_ALG, kid, typ: "JWT" })
    .setIssuer(jwt.issuer)
    .setAudience([...jwt.audiences])
    .setSubject(request.subject)
    .setIssuedAt(request.issuedAt)
    .setExpirationTime(request.expiresAt)
    .sign(key);
}

/**
 * When the demo token is issued and expires, for a clock reading `nowMs`. Time is cut into windows
 * of one TTL; the token is issued at the start of the current window and expires one TTL after its
 * end. So it is the same token (same claims, deterministic signature) for every `pulumi up` within
 * a window (no diff on each preview), is re-minted at most once per TTL, and always has at least
 * one TTL left when a run outputs it.
 */
export function demoTokenWindow(ttl: string, nowMs: number): { issuedAt: number; expiresAt: number } {
  const ttlMs = durationMillis(ttl) ?? Number.NaN;
  const windowStart = Math.floor(nowMs / ttlMs) * ttlMs;
  return { issuedAt: Math.floor(windowStart / 1000), expiresAt: Math.floor((windowStart + 2 * ttlMs) / 1000) };
}
