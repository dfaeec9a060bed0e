/**
 * `--repeat K`: the median of each figure over K runs and a distribution-free confidence interval
 * for it, from order statistics: with the runs sorted, [x(j), x(K+1-j)] covers the true median with
 * probability 1 − 2·P(B ≤ j−1), B ~ Binomial(K, ½). The widest j that still reaches 95% is used; a
 * K too small for 95% (fewer than 6 runs) gets [min, max] and says its real level (K = 5: 93.8%).
 */
import binomialCdf from "@stdlib/stats-base-dists-binomial-cdf";
import type { LoadStats } from "./load";

export const TARGET_CONFIDENCE = 0.95;

export interface MedianInterval {
  readonly median: number;
  readonly low: number;
  readonly high: number;
}

export interface RepeatSummary {
  readonly runs: number;
  /** The interval's coverage of the true median, e.g. 0.9375 for 5 runs. */
  readonly confidence: number;
  readonly requestsPerSecond: MedianInterval;
  readonly p50Ms: MedianInterval;
  readonly p90Ms: MedianInterval;
  readonly p99Ms: MedianInterval;
  readonly p999Ms: MedianInterval;
}

/** The order-statistic ranks (1-based, low) and the interval's coverage, for K runs. */
export function medianRanks(k: number): { readonly rank: number; readonly confidence: number } {
  const coverage = (j: number) => 1 - 2 * binomialCdf(j - 1, k, 0.5);
  let rank = 1;
  while (rank + 1 <= Math.floor((k + 1) / 2) && coverage(rank + 1) >= TARGET_CONFIDENCE) rank++;
  return { rank, confidence: coverage(rank) };
}

export function medianInterval(values: readonly number[]): MedianInterval {
  const sorted = [...values].sort((a, b) => a - b);
  const k = sorted.length;
  const mid = k % 2 === 1 ? (sorted[(k - 1) / 2] ?? 0) : ((sorted[k / 2 - 1] ?? 0) + (sorted[k / 2] ?? 0)) / 2;
  const { rank } = medianRanks(k);
  return { median: mid, low: sorted[rank - 1] ?? mid, high: sorted[k - rank] ?? mid };
}

export function summarizeRuns(runs: readonly LoadStats[]): RepeatSummary {
  const of = (pick: (s: LoadStats) => number) => medianInterval(runs.map(pick));
  return {
    runs: runs.length,
    confidence: Math.round(medianRanks(runs.length).confidence * 10_000) / 10_000,
    requestsPerSecond: of((s) => s.requestsPerSecond),
    p50Ms: of((s) => s.latencyMs.p50),
    p90Ms: of((s) => s.latencyMs.p90),
    p99Ms: of((s) => s.latencyMs.p99),
    p999Ms: of((s) => s.latencyMs.p999),
  };
}
