/**
 * Security objects the way istio-lab.md writes them (Step 2-3, 4-2), moved to the v1 APIs, beside
 * corrected versions. Policies are tested against both; the corrected ones also pass Istio's schema.
 */

const meta = (name: string) => ({ name, namespace: "backend" });

export const strictPeerAuthentication = () => ({
  apiVersion: "security.istio.io/v1",
  kind: "PeerAuthentication",
  metadata: meta("default"),
  spec: { mtls: { mode: "STRICT" } },
});

/** Lab Step 4-2: the second rule has only `to`, so it allows GET and POST from anyone. */
export const labAuthorizationPolicy = () => ({
  apiVersion: "security.istio.io/v1",
  kind: "AuthorizationPolicy",
  metadata: meta("user-service-policy"),
  spec: {
    selector: { matchLabels: { app: "user-service" } },
    rules: [
      { from: [{ source: { principals: ["cluster.local/ns/frontend/sa/frontend-sa"] } }] },
      { to: [{ operation: { methods: ["GET", "POST"] } }] },
      { when: [{ key: "request.headers[x-user-role]", values: ["admin", "user"] }] },
    ],
  },
});

/** The same intent with every condition in one rule: the frontend, with GET/POST, as admin or user. */
export const fixedAuthorizationPolicy = () => ({
  apiVersion: "security.istio.io/v1",
  kind: "AuthorizationPolicy",
  metadata: meta("user-service-policy"),
  spec: {
    selector: { matchLabels: { app: "user-service" } },
    action: "ALLOW",
    rules: [
      {
        from: [{ source: { principals: ["cluster.local/ns/frontend/sa/frontend-sa"] } }],
        to: [{ operation: { methods: ["GET", "POST"] } }],
        when: [{ key: "request.headers[x-user-role]", values: ["admin", "user"] }],
      },
    ],
  },
});

const LOCAL_RATE_LIMIT = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";
const percent = (numerator: number) => ({
  default_value: { numerator, denominator: "HUNDRED" },
  runtime_key: "local_rate_limit_enabled",
});

function rateLimitFilter(typedConfig: Record<string, unknown>) {
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: meta("rate-limit-filter"),
    spec: {
      workloadSelector: { labels: { app: "user-service" } },
      configPatches: [
        {
          applyTo: "HTTP_FILTER",
          match: {
            context: "SIDECAR_INBOUND",
            listener: { filterChain: { filter: { name: "envoy.filters.network.http_connection_manager" } } },
          },
          patch: {
            operation: "INSERT_BEFORE",
            value: { name: "envoy.filters.http.local_ratelimit", typed_config: typedConfig },
          },
        },
      ],
    },
  };
}

const bucket = { max_tokens: 100, tokens_per_fill: 100, fill_interval: "60s" };

/** Lab Step 4-2: a token bucket, but no filter_enabled/filter_enforced, so Envoy limits 0% of requests. */
export const labRateLimit = () =>
  rateLimitFilter({
    "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
    type_url: LOCAL_RATE_LIMIT,
    value: { stat_prefix: "rate_limiter", token_bucket: bucket },
  });

export const fixedRateLimit = () =>
  rateLimitFilter({
    "@type": LOCAL_RATE_LIMIT,
    stat_prefix: "rate_limiter",
    token_bucket: bucket,
    filter_enabled: percent(100),
    filter_enforced: percent(100),
  });

export const rateLimitWithEnforcement = (numerator: number) =>
  rateLimitFilter({
    "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
    type_url: LOCAL_RATE_LIMIT,
    value: {
      stat_prefix: "rate_limiter",
      token_bucket: bucket,
      filter_enabled: percent(100),
      filter_enforced: percent(numerator),
    },
  });
