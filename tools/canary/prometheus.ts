import { SCRAPE_INTERVAL_SECONDS } from "../../components/observability/prometheus";
import type { MeshConfig } from "../../config/types";
import type { AttemptCounts, LatencyDistribution } from "./compare";

/** One series of an instant vector: its labels and value. */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Runs an instant PromQL query; throws PrometheusError when Prometheus or the API server refuses. */
export type PromQuery = (promql: string) => Promise<readonly PromSample[]>;

export class PrometheusError extends Error {
  override name = "PrometheusError";
}

/**
 * `rate()`/`increase()` need at least two samples in the window, and extrapolate from the ones they
 * get: four scrape intervals keep a step's figures from resting on one or two scrapes.
 */
export const MIN_WINDOW_MS = 4 * SCRAPE_INTERVAL_SECONDS * 1000;

/** What one version's server-side sidecars reported over the window. */
export interface VersionMetrics extends AttemptCounts {
  readonly latency: LatencyDistribution & { kind: "histogram" };
}

/**
 * Istio's standard metrics as each version's own sidecar reports them (reporter="destination"):
 * every retry the client's sidecar makes is a separate request there, so failed attempts are
 * counted even when a retry hides them from the client. In ambient no sidecar reports; the waypoint
 * does, as reporter="waypoint" (Istio 1.30.3's dashboards query `reporter=~"source|waypoint"`,
 * manifests/addons/dashboards/lib/queries.libsonnet), and ztunnel reports TCP metrics only.
 */
export function versionQueries(service: string, windowMs: number, reporter: MetricsReporter = "destination") {
  const selector = `reporter="${reporter}",destination_service_name="${service}"`;
  const window = `[${Math.max(1, Math.round(windowMs / 1000))}s]`;
  return {
    attempts: `sum by (destination_version) (increase(istio_requests_total{${selector}}${window}))`,
    failed: `sum by (destination_version) (increase(istio_requests_total{${selector},response_code=~"5.."}${window}))`,
    buckets: `sum by (destination_version, le) (increase(istio_request_duration_milliseconds_bucket{${selector}}${window}))`,
  };
}

/** Which proxy's istio_requests_total describes a version's server side. */
export type MetricsReporter = "destination" | "waypoint";
export const metricsReporter = (cfg: MeshConfig): MetricsReporter =>
  cfg.cell.dataplane === "ambient" ? "waypoint" : "destination";

/** Per-version attempts, failed attempts and latency histograms over the last `windowMs`. */
export async function versionMetrics(
  query: PromQuery,
  service: string,
  windowMs: number,
  reporter: MetricsReporter = "destination",
): Promise<Record<string, VersionMetrics>> {
  const q = versionQueries(service, windowMs, reporter);
  const [attempts, failed, buckets] = await Promise.all([query(q.attempts), query(q.failed), query(q.buckets)]);
  const byVersion = (samples: readonly PromSample[], version: string) =>
    samples.filter((s) => s.metric.destination_version === version);
  const versions = new Set(attempts.map((s) => s.metric.destination_version ?? ""));
  return Object.fromEntries(
    [...versions].map((version) => [
      version,
      {
        attempts: Math.round(byVersion(attempts, version)[0]?.value ?? 0),
        failed: Math.round(byVersion(failed, version)[0]?.value ?? 0),
        latency: {
          kind: "histogram",
          buckets: byVersion(buckets, version)
            .map((s) => ({
              le: Number(s.metric.le === "+Inf" ? Number.POSITIVE_INFINITY : s.metric.le),
              count: s.value,
            }))
            .sort((a, b) => a.le - b.le),
        },
      },
    ]),
  );
}

/** Why a Prometheus reply through the API server's proxy is not data, in the user's terms. */
export function describeRefusal(status: number, body: string): string {
  const what =
    status === 401
      ? "the API server refused the kubeconfig's credentials (401: expired or revoked)"
      : status === 403
        ? "the kubeconfig's user may not proxy to the Prometheus service (403)"
        : status === 429
          ? "the API server rate-limited the request (429)"
          : status === 404 || status === 503
            ? `Prometheus is not reachable through the API server (${status}: is observability deployed and ready?)`
            : `Prometheus answered ${status}`;
  return `${what}: ${body.trim().slice(0, 200)}`;
}
