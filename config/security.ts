import { DEFAULT_HTTPS_HOST, DEFAULT_JWT, DEFAULT_RATE_LIMIT } from "./defaults";
import { durationMillis, optional, type RawConfig, type Readers } from "./readers";
import { fieldsOf, keyReference } from "./reference";
import type { JwtConfig, RateLimit, SecurityConfig } from "./types";

/**
 * mTLS, JWT, the rate limit, HTTPS ingress and the probe clients (lab Steps 2-3, 3-1, 4-2, 6). What
 * each key accepts is in config/reference.ts (and docs/configuration.md).
 */

const MTLS_MODES = keyReference("mtlsMode").values as readonly ("STRICT" | "PERMISSIVE")[];
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)+$/;
const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const TOKEN_TEXT = /^[^\s"\\]{1,256}$/;
/**
 * RFC 7519's registered claims. The token's own `iss`, `sub`, `aud`, `exp`, `nbf`, `iat` and `jti` are
 * set by whoever mints it (mintToken overwrites them), so a role claim of that name could never carry
 * a role and every call would get 403.
 */
export const REGISTERED_CLAIMS = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"] as const;

export function parseSecurityArea(raw: RawConfig, read: Readers): SecurityConfig {
  const mtlsMode = optional(raw, "mtlsMode", (v, k) => read.oneOf(k, v, MTLS_MODES));
  const jwt = optional(raw, "jwt", (v, k) => parseJwt(read, k, v));
  const rateLimit = optional(raw, "rateLimit", (v, k) => parseRateLimit(read, k, v));
  const httpsHost = optional(raw, "httpsHost", (v, k) =>
    read.string(k, v, HOST_NAME, keyReference("httpsHost").allowed),
  );
  const probeClients = optional(raw, "probeClients", (v, k) => read.bool(k, v));
  return {
    mtlsMode: mtlsMode ?? "STRICT",
    jwt: jwt ?? DEFAULT_JWT,
    rateLimit: rateLimit ?? DEFAULT_RATE_LIMIT,
    httpsHost: httpsHost ?? DEFAULT_HTTPS_HOST,
    probeClients: probeClients ?? true,
  };
}

/** Fields you set override the defaults one by one. */
function parseJwt(read: Readers, k: string, value: unknown): JwtConfig | undefined {
  const fields = read.object(k, value, fieldsOf("jwt"));
  if (!fields) return undefined;
  const field = <T>(name: keyof JwtConfig, parse: (v: unknown, at: string) => T | undefined): T | undefined =>
    fields[name] === undefined ? undefined : parse(fields[name], `${k}.${name}`);
  const required = field("required", (v, at) => read.bool(at, v));
  const issuer = field("issuer", (v, at) => read.string(at, v, TOKEN_TEXT, "a non-empty issuer without spaces"));
  const audiences = field("audiences", (v, at) => read.stringList(at, v, TOKEN_TEXT, "audiences without spaces"));
  const roleClaim = field("roleClaim", (v, at) => parseRoleClaim(read, at, v));
  const roles = field("roles", (v, at) => read.stringList(at, v, TOKEN_TEXT, "role values without spaces"));
  const demoTokenTtl = field("demoTokenTtl", (v, at) =>
    within(read, at, read.duration(at, v), MINUTE_MS, 720 * HOUR_MS, "a duration from 1m to 720h"),
  );
  return {
    ...DEFAULT_JWT,
    ...(required !== undefined && { required }),
    ...(issuer !== undefined && { issuer }),
    ...(audiences !== undefined && { audiences }),
    ...(roleClaim !== undefined && { roleClaim }),
    ...(roles !== undefined && { roles }),
    ...(demoTokenTtl !== undefined && { demoTokenTtl }),
  };
}

function parseRoleClaim(read: Readers, at: string, value: unknown): string | undefined {
  const allowed = `a claim name such as role, not a registered claim (${REGISTERED_CLAIMS.join(", ")})`;
  const claim = read.string(at, value, CLAIM_NAME, allowed);
  if (claim === undefined) return undefined;
  return (REGISTERED_CLAIMS as readonly string[]).includes(claim) ? read.fail(at, claim, allowed) : claim;
}

function parseRateLimit(read: Readers, k: string, value: unknown): RateLimit | false | undefined {
  if (value === false || value === "false") return false;
  const fields = read.object(k, value, fieldsOf("rateLimit"));
  if (!fields) return undefined;
  const requests =
    fields.requests === undefined
      ? read.missing(k, `${k}.requests`, "an integer from 1 to 1000000")
      : read.int(`${k}.requests`, fields.requests, 1, 1_000_000);
  const per =
    fields.per === undefined
      ? read.missing(k, `${k}.per`, 'a duration such as "60s"')
      : within(
          read,
          `${k}.per`,
          read.duration(`${k}.per`, fields.per),
          50,
          Number.POSITIVE_INFINITY,
          'a duration of at least 50ms, e.g. "60s"',
        );
  return requests !== undefined && per !== undefined ? { requests, per } : undefined;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** A parsed duration inside [minMs, maxMs]; outside, an issue naming the key. */
function within(
  read: Readers,
  key: string,
  duration: string | undefined,
  minMs: number,
  maxMs: number,
  allowed: string,
) {
  if (duration === undefined) return undefined;
  const ms = durationMillis(duration) ?? 0;
  return ms >= minMs && ms <= maxMs ? duration : read.fail(key, duration, allowed);
}
