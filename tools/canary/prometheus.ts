import type { CanaryHealth } from "./gates";

/** Runs an instant PromQL query; resolves to the first sample's value, or undefined for no data. */
export type PromQuery = (promql: string) => Promise<number | undefined>;

/** Istio's standard metrics, as the canary's server-side sidecars report them. */
export function canaryQueries(service: string, version: string, windowSeconds: number) {
  const selector = `reporter="destination",destination_service_name="${service}",destination_version="${version}"`;
  const window = `[${Math.max(1, Math.round(windowSeconds))}s]`;
  return {
    requests: `sum(increase(istio_requests_total{${selector}}${window}))`,
    errors: `sum(increase(istio_requests_total{${selector},response_code=~"5.."}${window}))`,
    p99Ms: `histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{${selector}}${window})))`,
  };
}

export async function prometheusHealth(
  query: PromQuery,
  service: string,
  version: string,
  windowMs: number,
): Promise<CanaryHealth> {
  const q = canaryQueries(service, version, windowMs / 1000);
  const [requests, errors, p99] = await Promise.all([query(q.requests), query(q.errors), query(q.p99Ms)]);
  const n = requests ?? 0;
  return {
    source: "prometheus",
    requests: Math.round(n),
    errorRate: n > 0 ? (errors ?? 0) / n : 0,
    p99Ms: p99 !== undefined && Number.isFinite(p99) ? p99 : undefined,
  };
}
