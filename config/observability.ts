import { DEFAULT_OBSERVABILITY } from "./defaults";
import { metricTagProblem } from "./metricTags";
import { optional, type RawConfig, type Readers } from "./readers";
import { fieldsOf } from "./reference";
import type { ObservabilityConfig } from "./types";

/** Prometheus, Grafana, Kiali, Jaeger and tracing (lab Steps 4, 5 and 7-1). */

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
    const problem = metricTagProblem(name, expression);
    if (problem !== undefined) read.fail(`${k}.${name}`, expression, problem);
    else if (typeof expression === "string") tags[name] = expression.trim();
  }
  return tags;
}
