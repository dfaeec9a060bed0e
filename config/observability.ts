import { DEFAULT_OBSERVABILITY } from "./defaults";
import { optional, type RawConfig, type Readers } from "./readers";
import { fieldsOf } from "./reference";
import type { ObservabilityConfig } from "./types";

/** Prometheus, Grafana, Kiali, Jaeger and tracing (lab Steps 4, 5 and 7-1). */

/** A Prometheus label name; Istio's own tags are lowercase snake_case, so ours are too. */
const TAG_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * An attribute expression of Istio's Telemetry API (CEL-like: `request.headers['user-agent']`),
 * rooted at one of the attribute families Envoy exposes.
 */
const EXPRESSION =
  /^(?:request|response|connection|upstream|source|destination|xds|filter_state|node|has|string|size)\b[^\n]{0,250}$/;

/** The lab's `%{REQUEST_ID}` is Envoy access-log syntax, which the Telemetry API does not evaluate. */
const ENVOY_FORMAT = /%[{A-Z]/;

/**
 * A per-request value makes one Prometheus series per request: the lab's `request_id` tag. It is
 * refused rather than warned about, since once scraped the series cannot be taken back.
 */
const PER_REQUEST = /request\.id\b|x-request-id|traceparent|x-b3-traceid|request\.time\b/i;

export function parseObservabilityArea(raw: RawConfig, read: Readers): ObservabilityConfig {
  return optional(raw, "observability", (v, k) => parseObservability(read, k, v)) ?? DEFAULT_OBSERVABILITY;
}

function parseObservability(read: Readers, k: string, value: unknown): ObservabilityConfig | undefined {
  const fields = read.object(k, value, fieldsOf("observability"));
  if (!fields) return undefined;
  const enabled = fields.enabled === undefined ? undefined : read.bool(`${k}.enabled`, fields.enabled);
  const traceSampling =
    fields.traceSampling === undefined ? undefined : sampling(read, `${k}.traceSampling`, fields.traceSampling);
  const metricTags =
    fields.metricTags === undefined ? undefined : parseMetricTags(read, `${k}.metricTags`, fields.metricTags);
  return {
    enabled: enabled ?? DEFAULT_OBSERVABILITY.enabled,
    traceSampling: traceSampling ?? DEFAULT_OBSERVABILITY.traceSampling,
    metricTags: metricTags ?? DEFAULT_OBSERVABILITY.metricTags,
  };
}

function sampling(read: Readers, k: string, value: unknown): number | undefined {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n === "number" && Number.isFinite(n) && n >= 0 && n <= 100) return n;
  return read.fail(k, value, "a percentage from 0 to 100");
}

function parseMetricTags(read: Readers, k: string, value: unknown): Record<string, string> | undefined {
  const entries = read.object(k, value);
  if (!entries) return undefined;
  const tags: Record<string, string> = {};
  for (const [name, expression] of Object.entries(entries)) {
    const key = `${k}.${name}`;
    if (!TAG_NAME.test(name)) {
      read.fail(key, expression, "a tag name of lowercase letters, digits and '_'");
    } else if (typeof expression === "string" && ENVOY_FORMAT.test(expression)) {
      read.fail(
        key,
        expression,
        "an Istio attribute expression such as request.headers['user-agent'] (Envoy's %{...} format is not evaluated here)",
      );
    } else if (typeof expression === "string" && PER_REQUEST.test(expression)) {
      read.fail(
        key,
        expression,
        "a value with few distinct values: a per-request id makes one Prometheus series per request (find requests by id in Jaeger or the access log)",
      );
    } else {
      const parsed = read.string(
        key,
        expression,
        EXPRESSION,
        "an Istio attribute expression such as request.headers['user-agent'] or request.host",
      );
      if (parsed !== undefined) tags[name] = parsed;
    }
  }
  return tags;
}
