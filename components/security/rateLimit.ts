import type { IEnvoyFilter } from "@kubernetes-models/istio/networking.istio.io/v1alpha3/EnvoyFilter";
import { durationMillis } from "../../config/readers";
import type { MeshConfig, RateLimit } from "../../config/types";
import { type NamedObject, objectMeta } from "../meta";

export type EnvoyFilterSpec = IEnvoyFilter & NamedObject;

export const RATE_LIMIT_FILTER = "user-service-rate-limit";
export const RATE_LIMITED_SERVICE = "user-service";
export const LOCAL_RATE_LIMIT_TYPE =
  "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";
/** Added to every 429 this filter sends, so a client can tell it from an upstream's own 429. */
export const RATE_LIMIT_HEADER = { key: "x-local-rate-limit", value: "true" } as const;
/**
 * The EnvoyFilter's priority. Without one, a relative patch (INSERT_BEFORE) is IST0151 in `istioctl
 * analyze` (pkg/config/analysis/analyzers/envoyfilter/envoyfilter.go): filters of equal priority apply
 * by creation time, so another filter's patch could land first. Positive: after the default (0) ones.
 */
export const RATE_LIMIT_PRIORITY = 10;

/** Envoy reads fill_interval as a protobuf Duration, which only has seconds ("60s", "0.5s"), never "1m". */
export const protoDuration = (text: string): string => `${(durationMillis(text) ?? Number.NaN) / 1000}s`;

const ALWAYS = { numerator: 100, denominator: "HUNDRED" } as const;

/**
 * The Envoy local_ratelimit filter config: one token bucket per Envoy, i.e. per pod. It holds at most
 * `requests` tokens and, since Envoy 1.34 (AtomicTokenBucket, local_ratelimit_impl.cc), refills
 * continuously at tokens_per_fill / fill_interval: a pod admits a burst of `requests`, then one request
 * every `per / requests`, not a fresh `requests` every `per`.
 */
export function localRateLimitConfig(limit: RateLimit) {
  return {
    "@type": LOCAL_RATE_LIMIT_TYPE,
    stat_prefix: "http_local_rate_limiter",
    token_bucket: {
      max_tokens: limit.requests,
      tokens_per_fill: limit.requests,
      fill_interval: protoDuration(limit.per),
    },
    // Without these two the filter only counts (the lab's mistake): enabled checks the bucket, enforced rejects.
    filter_enabled: { runtime_key: "local_rate_limit_enabled", default_value: ALWAYS },
    filter_enforced: { runtime_key: "local_rate_limit_enforced", default_value: ALWAYS },
    status: { code: "TooManyRequests" },
    response_headers_to_add: [{ append_action: "OVERWRITE_IF_EXISTS_OR_ADD", header: { ...RATE_LIMIT_HEADER } }],
  };
}

export const LOCAL_RATE_LIMIT_FILTER = "envoy.filters.http.local_ratelimit";

/**
 * The HTTP filter patch both placements share: Envoy's local rate limit inserted before the router of
 * the HTTP connection manager, in the sidecar's inbound chain or the gateway's.
 */
export function localRateLimitFilterPatch(context: "SIDECAR_INBOUND" | "GATEWAY", typedConfig: object) {
  return {
    applyTo: "HTTP_FILTER" as const,
    match: {
      context,
      listener: {
        filterChain: {
          filter: {
            name: "envoy.filters.network.http_connection_manager",
            subFilter: { name: "envoy.filters.http.router" },
          },
        },
      },
    },
    patch: {
      operation: "INSERT_BEFORE" as const,
      value: { name: LOCAL_RATE_LIMIT_FILTER, typed_config: typedConfig },
    },
  };
}

/**
 * Lab Step 4-2's limit on user-service's inbound sidecar listener, inserted just before the router,
 * so requests that authentication or authorization already refused use no tokens.
 */
export function rateLimitFilter(cfg: MeshConfig): EnvoyFilterSpec | undefined {
  const limit = cfg.security.rateLimit;
  if (limit === false) return undefined;
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: objectMeta(RATE_LIMIT_FILTER, cfg.backend.namespace, { app: RATE_LIMITED_SERVICE }),
    spec: {
      workloadSelector: { labels: { app: RATE_LIMITED_SERVICE } },
      priority: RATE_LIMIT_PRIORITY,
      configPatches: [localRateLimitFilterPatch("SIDECAR_INBOUND", localRateLimitConfig(limit))],
    },
  };
}
