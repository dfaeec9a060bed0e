/** Security invariants: strict mTLS, authorization rules that name a caller, rate limits that limit. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import {
  ISTIO_NETWORKING,
  ISTIO_SECURITY,
  isKind,
  list,
  namespaceOf,
  objectRef,
  type Props,
  record,
  text,
  walkObjects,
} from "./lib/kube";
import { settings } from "./lib/settings";

export interface PeerAuthenticationSettings {
  /**
   * Namespaces in the middle of a migration to mTLS: a PeerAuthentication there may be PERMISSIVE
   * (never DISABLE or UNSET). A stack running `istio-mesh:mtlsMode: PERMISSIVE` lists `backend`.
   */
  readonly permissiveNamespaces: readonly string[];
}

const PEER_AUTHN_DEFAULTS: PeerAuthenticationSettings = { permissiveNamespaces: [] };

export const peerAuthenticationStrict: ResourceValidationPolicy = {
  name: "peer-authentication-strict",
  description:
    "PeerAuthentication sets mTLS mode STRICT, for the workload and for every port it lists; PERMISSIVE only in " +
    "the namespaces listed in permissiveNamespaces (a migration).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      permissiveNamespaces: {
        type: "array",
        items: { type: "string", minLength: 1 },
        default: [...PEER_AUTHN_DEFAULTS.permissiveNamespaces],
        description: "Namespaces migrating to mTLS, where a PeerAuthentication may be PERMISSIVE.",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    if (!isKind(args.type, ISTIO_SECURITY, "PeerAuthentication")) return;
    const spec = record(args.props.spec);
    const ref = objectRef(args.props);
    const migrating = settings(args, PEER_AUTHN_DEFAULTS).permissiveNamespaces.includes(namespaceOf(args.props));
    const allowed = (mode: string) => mode === "STRICT" || (migrating && mode === "PERMISSIVE");
    const fix = migrating
      ? "set STRICT (or PERMISSIVE while the namespace migrates)"
      : "set STRICT, or for a migration list the namespace in peer-authentication-strict.permissiveNamespaces " +
        "in policies/config/<stack>.json";
    // UNSET inherits, and the mesh default it falls back to is PERMISSIVE.
    const mode = text(record(spec.mtls).mode) ?? "UNSET";
    if (!allowed(mode)) reportViolation(`PeerAuthentication ${ref}: mtls.mode is ${mode}; ${fix}`);
    for (const [port, setting] of Object.entries(record(spec.portLevelMtls))) {
      const portMode = text(record(setting).mode) ?? "UNSET";
      if (portMode !== "UNSET" && !allowed(portMode)) {
        reportViolation(`PeerAuthentication ${ref}: port ${port} mtls.mode is ${portMode}; ${fix}`);
      }
    }
  },
};

const nonEmpty = (value: unknown): boolean =>
  Array.isArray(value)
    ? value.length > 0
    : typeof value === "object" && value !== null && Object.keys(value).length > 0;

/** A rule limits who may call when a source field or a condition is set. */
function namesACaller(rule: Props): boolean {
  const sourced = list(rule.from).some((f) => Object.values(record(record(f).source)).some(nonEmpty));
  const conditioned = list(rule.when).some((c) => text(record(c).key) !== undefined);
  return sourced || conditioned;
}

function describeOperations(rule: Props): string {
  const ops = list(rule.to).map((t) => record(record(t).operation));
  const parts = ops.flatMap((op) =>
    ["methods", "paths", "hosts", "ports"].filter((k) => nonEmpty(op[k])).map((k) => `${k} ${list(op[k]).join(",")}`),
  );
  return parts.length > 0 ? parts.join("; ") : "any request";
}

export interface AuthorizationSettings {
  /** `namespace/name` of ALLOW policies that deliberately open an operation to every caller. */
  readonly publicPolicies: readonly string[];
}

const AUTHZ_DEFAULTS: AuthorizationSettings = { publicPolicies: [] };

export const authorizationRulesNameACaller: ResourceValidationPolicy = {
  name: "authorization-rules-name-a-caller",
  description:
    "Every rule of an ALLOW AuthorizationPolicy names a caller (from) or a condition (when): a rule with only `to` " +
    "(methods, paths) allows those operations from anyone, and an empty rule allows everything.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      publicPolicies: {
        type: "array",
        items: { type: "string" },
        default: [...AUTHZ_DEFAULTS.publicPolicies],
        description: "namespace/name of ALLOW policies that deliberately open operations to every caller.",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    if (!isKind(args.type, ISTIO_SECURITY, "AuthorizationPolicy")) return;
    const spec = record(args.props.spec);
    const action = text(spec.action) ?? "ALLOW";
    const ref = objectRef(args.props);
    if (action !== "ALLOW" || settings(args, AUTHZ_DEFAULTS).publicPolicies.includes(ref)) return;
    list(spec.rules).forEach((r, i) => {
      const rule = record(r);
      if (namesACaller(rule)) return;
      reportViolation(
        `AuthorizationPolicy ${ref} rules[${i}] allows ${describeOperations(rule)} from any caller: ` +
          "add `from` (principals, namespaces, requestPrincipals) or `when`, or list the policy in publicPolicies",
      );
    });
  },
};

const LOCAL_RATE_LIMIT = "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";
const TYPED_STRUCT = /(udpa\.type\.v1|xds\.type\.v3)\.TypedStruct$/;

/** LocalRateLimit configs anywhere in a patch value: typed_config, typed_per_filter_config, TypedStruct or not. */
function localRateLimits(value: unknown): { path: string; config: Props }[] {
  const found: { path: string; config: Props }[] = [];
  walkObjects(value, (obj, path) => {
    const type = text(obj["@type"]) ?? "";
    if (TYPED_STRUCT.test(type) && text(obj.type_url)?.endsWith(LOCAL_RATE_LIMIT)) {
      found.push({ path: path ? `${path}.value` : "value", config: record(obj.value) });
    } else if (type.endsWith(LOCAL_RATE_LIMIT)) {
      found.push({ path, config: obj });
    }
  });
  return found;
}

function fractionMissing(config: Props, field: "filter_enabled" | "filter_enforced"): string | undefined {
  const fraction = record(config[field]);
  if (Object.keys(fraction).length === 0) return `${field} is missing (Envoy then applies the limit to 0% of requests)`;
  const numerator = record(fraction.default_value).numerator;
  if (typeof numerator !== "number" || numerator <= 0)
    return `${field}.default_value.numerator is ${String(numerator)}`;
  return undefined;
}

export const localRateLimitEnforced: ResourceValidationPolicy = {
  name: "local-rate-limit-enforced",
  description:
    "An EnvoyFilter local rate limit with a token bucket sets filter_enabled and filter_enforced above 0%, " +
    "without which Envoy counts nothing and limits nothing.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!isKind(args.type, ISTIO_NETWORKING, "EnvoyFilter")) return;
    list(record(args.props.spec).configPatches).forEach((p, i) => {
      for (const { path, config } of localRateLimits(record(record(p).patch).value)) {
        // A LocalRateLimit without a bucket only declares the filter; routes configure it per route.
        if (config.token_bucket === undefined) continue;
        for (const field of ["filter_enabled", "filter_enforced"] as const) {
          const problem = fractionMissing(config, field);
          if (problem) {
            reportViolation(
              `EnvoyFilter ${objectRef(args.props)} configPatches[${i}].patch.value${path ? `.${path}` : ""}: ` +
                `local rate limit ${problem}`,
            );
          }
        }
      }
    });
  },
};

export const securityPolicies = [
  peerAuthenticationStrict,
  authorizationRulesNameACaller,
  localRateLimitEnforced,
] as const;
