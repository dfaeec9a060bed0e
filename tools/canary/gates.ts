import type { CanaryPlan, CanaryStep, GateThresholds, Weights } from "./plan";

/** What one step's sampled requests through the gateway showed. */
export interface SplitSample {
  /** Responses classified by version (first `v<digits>` token of the body). */
  readonly counts: Readonly<Record<string, number>>;
  readonly total: number;
  /** Responses with a 5xx status (their body names no version). */
  readonly serverErrors: number;
  /** Latencies of responses classified as the canary version, milliseconds. */
  readonly canaryLatenciesMs: readonly number[];
}

/** The canary's health over the step's window. */
export interface CanaryHealth {
  readonly source: "prometheus" | "sampled";
  /** Canary requests the figures rest on. */
  readonly requests: number;
  readonly errorRate: number;
  /** undefined when no canary request completed. */
  readonly p99Ms: number | undefined;
}

/** The verifier's split test: observed counts against expected percent weights. */
export type SplitTest = (
  counts: Readonly<Record<string, number>>,
  weights: Weights,
) => { readonly pass: boolean; readonly summary: string };

export interface GateResult {
  readonly gate: "split" | "canary error rate" | "canary p99";
  readonly pass: boolean;
  readonly expected: string;
  readonly observed: string;
}

/** Nearest-rank percentile; undefined for no samples. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/**
 * Without Prometheus, a failed request's body names no version, so every 5xx counts against the
 * canary: a conservative gate that can only err towards rolling back.
 */
export function sampledHealth(sample: SplitSample, canary: string): CanaryHealth {
  const canaryOk = sample.counts[canary] ?? 0;
  const requests = canaryOk + sample.serverErrors;
  return {
    source: "sampled",
    requests,
    errorRate: requests === 0 ? 0 : sample.serverErrors / requests,
    p99Ms: percentile(sample.canaryLatenciesMs, 99),
  };
}

export function evaluateGates(
  step: CanaryStep,
  plan: Pick<CanaryPlan, "canary" | "gates">,
  sample: SplitSample,
  health: CanaryHealth,
  splitTest: SplitTest,
): GateResult[] {
  const split = splitTest(sample.counts, step.weights);
  const results: GateResult[] = [
    {
      gate: "split",
      pass: split.pass,
      expected: Object.entries(step.weights)
        .map(([v, w]) => `${v} ${w}%`)
        .join(" / "),
      observed: split.summary,
    },
  ];
  // At 0% the canary gets no traffic, so there is nothing to judge it by.
  if ((step.weights[plan.canary] ?? 0) > 0) results.push(...healthGates(plan.gates, health));
  return results;
}

function healthGates(gates: GateThresholds, health: CanaryHealth): GateResult[] {
  const from = `(${health.source}, ${health.requests} canary requests)`;
  const noTraffic = health.requests === 0;
  return [
    {
      gate: "canary error rate",
      pass: !noTraffic && health.errorRate <= gates.maxErrorRate,
      expected: `≤ ${(gates.maxErrorRate * 100).toFixed(2)}%`,
      observed: noTraffic ? `no canary traffic ${from}` : `${(health.errorRate * 100).toFixed(2)}% ${from}`,
    },
    {
      gate: "canary p99",
      pass: health.p99Ms !== undefined && health.p99Ms <= gates.maxP99Ms,
      expected: `≤ ${gates.maxP99Ms} ms`,
      observed:
        health.p99Ms === undefined ? `no completed canary request ${from}` : `${health.p99Ms.toFixed(0)} ms ${from}`,
    },
  ];
}
