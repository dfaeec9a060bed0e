import {
  type ComparisonResult,
  type ComparisonSettings,
  compareErrors,
  compareLatency,
  histogramQuantile,
  type LatencyDistribution,
} from "./compare";
import type { GateThresholds, Weights } from "./plan";
import type { VersionMetrics } from "./prometheus";

/** What one interval's sampled requests through the gateway showed. */
export interface SplitSample {
  /** Responses classified by version (first `v<digits>` token of the body). */
  readonly counts: Readonly<Record<string, number>>;
  readonly total: number;
  /** Responses with a 5xx status or none at all (their body names no version). */
  readonly serverErrors: number;
  /** Latencies of the classified responses, by version, whole milliseconds. */
  readonly latenciesMs: Readonly<Record<string, readonly number[]>>;
}

/** The verifier's split test: observed counts against expected percent weights. */
export type SplitTest = (
  counts: Readonly<Record<string, number>>,
  weights: Weights,
) => { readonly pass: boolean; readonly summary: string };

export type GateName = "split" | "canary error rate" | "canary p99" | "errors vs stable" | "latency vs stable";

export interface GateResult {
  readonly gate: GateName;
  /** inconclusive: too little data to judge; it does not fail the interval. */
  readonly verdict: "pass" | "fail" | "inconclusive";
  readonly expected: string;
  readonly observed: string;
}

export interface Evidence {
  /** The weights the interval expects (the header stage: all of the canary). */
  readonly expected: Weights;
  readonly stable: string;
  readonly canary: string;
  readonly sample: SplitSample;
  /** Per-version Prometheus figures over the interval; undefined without observability. */
  readonly metrics: Readonly<Record<string, VersionMetrics>> | undefined;
}

/** Nearest-rank percentile of samples; undefined for none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

const fromComparison = (gate: GateName, expected: string, r: ComparisonResult): GateResult => ({
  gate,
  verdict: r.verdict,
  expected,
  observed: r.summary,
});

export function evaluateGates(
  evidence: Evidence,
  gates: GateThresholds,
  comparison: ComparisonSettings,
  splitTest: SplitTest,
): GateResult[] {
  const { expected, canary, stable, sample, metrics } = evidence;
  const split = splitTest(sample.counts, expected);
  const results: GateResult[] = [
    {
      gate: "split",
      verdict: split.pass ? "pass" : "fail",
      expected: Object.entries(expected)
        .map(([v, w]) => `${v} ${w}%`)
        .join(" / "),
      observed: split.summary,
    },
  ];
  // At 0% the canary gets no traffic, so there is nothing to judge it by.
  if ((expected[canary] ?? 0) === 0) return results;
  const from = metrics ? "Prometheus, reporter=destination" : "the probe's samples";
  const canaryMetrics = metrics?.[canary];
  if (gates.maxErrorRate !== undefined && metrics) {
    const attempts = canaryMetrics?.attempts ?? 0;
    const rate = attempts === 0 ? 0 : (canaryMetrics?.failed ?? 0) / attempts;
    results.push({
      gate: "canary error rate",
      verdict: attempts > 0 && rate <= gates.maxErrorRate ? "pass" : "fail",
      expected: `≤ ${(gates.maxErrorRate * 100).toFixed(2)}%`,
      observed:
        attempts === 0
          ? `no canary attempts in the window (${from})`
          : `${(rate * 100).toFixed(2)}% of ${attempts} attempts (${from})`,
    });
  }
  const p99 = canaryMetrics
    ? histogramQuantile(canaryMetrics.latency, 0.99)
    : percentile(sample.latenciesMs[canary] ?? [], 99);
  results.push({
    gate: "canary p99",
    verdict: p99 !== undefined && p99 <= gates.maxP99Ms ? "pass" : "fail",
    expected: `≤ ${gates.maxP99Ms} ms`,
    observed: p99 === undefined ? `no completed canary request (${from})` : `${p99.toFixed(0)} ms (${from})`,
  });
  // Against stable only when stable takes traffic in this interval too.
  if ((expected[stable] ?? 0) === 0) return results;
  const stableMetrics = metrics?.[stable];
  if (metrics) {
    results.push(
      fromComparison(
        "errors vs stable",
        `not worse by ≥ ${(comparison.minErrorDiff * 100).toFixed(1)} pp at α ${comparison.alpha}`,
        compareErrors(
          canaryMetrics ?? { attempts: 0, failed: 0 },
          stableMetrics ?? { attempts: 0, failed: 0 },
          comparison,
        ),
      ),
    );
  }
  const latency = (version: string, m: VersionMetrics | undefined): LatencyDistribution =>
    m
      ? m.latency
      : metrics
        ? { kind: "histogram", buckets: [] }
        : { kind: "samples", values: sample.latenciesMs[version] ?? [] };
  results.push(
    fromComparison(
      "latency vs stable",
      `median not slower by ≥ ${Math.round((comparison.minLatencyRatio - 1) * 100)}% at α ${comparison.alpha}`,
      compareLatency(latency(canary, canaryMetrics), latency(stable, stableMetrics), comparison),
    ),
  );
  return results;
}
