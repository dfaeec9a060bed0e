/**
 * The canary against the stable version, under the same traffic in the same window: what Flagger and
 * Argo Rollouts do not do (they judge the canary against fixed limits only). Two one-sided tests,
 * each at `alpha`, so a canary as good as stable passes both with probability ≥ 1 − 2α:
 *
 *   errors   Fisher's exact test on the 2×2 table (canary/stable × failed/succeeded attempts);
 *            fails when p < α and the canary's rate is at least `minErrorDiff` above stable's.
 *   latency  Mann–Whitney U on the two latency distributions (raw samples, or Prometheus histogram
 *            buckets as ordered categories with ties); fails when p < α and the canary's median is
 *            at least `minLatencyRatio` times stable's.
 *
 * The minimum effects keep a large window from failing a canary over a difference nobody would
 * roll back for; they can only make a step pass more often, never raise the false-alarm rate.
 */
import binomcoefln from "@stdlib/math-base-special-binomcoefln";
import erfc from "@stdlib/math-base-special-erfc";

export interface ComparisonSettings {
  /** Per-test false-alarm rate. */
  readonly alpha: number;
  /** Smallest canary − stable error-rate difference worth failing for (0.005 = 0.5 pp). */
  readonly minErrorDiff: number;
  /** Smallest canary/stable median-latency ratio worth failing for (1.1 = 10% slower). */
  readonly minLatencyRatio: number;
}

export const DEFAULT_COMPARISON: ComparisonSettings = { alpha: 0.01, minErrorDiff: 0.005, minLatencyRatio: 1.1 };
/** Power the "detectable" figures are stated at. */
export const DETECTABLE_POWER = 0.8;
/** Below this many latencies per version the normal approximation of U is not trusted: inconclusive. */
export const MIN_LATENCY_SAMPLES = 10;

/** Attempts and failed attempts of one version over the window. */
export interface AttemptCounts {
  readonly attempts: number;
  readonly failed: number;
}

/** Latencies of one version: raw samples (ms), or cumulative histogram buckets (Prometheus `le`). */
export type LatencyDistribution =
  | { readonly kind: "samples"; readonly values: readonly number[] }
  | { readonly kind: "histogram"; readonly buckets: readonly { readonly le: number; readonly count: number }[] };

export type ComparisonVerdict = "pass" | "fail" | "inconclusive";

export interface ComparisonResult {
  readonly verdict: ComparisonVerdict;
  readonly pValue: number | undefined;
  /** One line for people: what was compared, p, and what this sample could detect. */
  readonly summary: string;
}

/** P(X ≥ x) for X ~ Hypergeometric: `draws` from `total` items of which `marked` are marked. */
function hypergeometricUpperTail(x: number, total: number, marked: number, draws: number): number {
  const high = Math.min(marked, draws);
  const denominator = binomcoefln(total, draws);
  let p = 0;
  for (let k = Math.max(x, 0, draws - (total - marked)); k <= high; k++) {
    p += Math.exp(binomcoefln(marked, k) + binomcoefln(total - marked, draws - k) - denominator);
  }
  return Math.min(1, p);
}

/** One-sided Fisher exact p-value that the canary fails more often than stable. */
export function fisherGreater(canary: AttemptCounts, stable: AttemptCounts): number {
  const total = canary.attempts + stable.attempts;
  if (canary.attempts === 0 || stable.attempts === 0) return 1;
  return hypergeometricUpperTail(canary.failed, total, canary.failed + stable.failed, canary.attempts);
}

const standardNormalUpper = (z: number) => 0.5 * erfc(z / Math.SQRT2);

/** z with P(Z > z) = p, by bisection on erfc (monotone), to 1e-9. */
function normalQuantileUpper(p: number): number {
  let low = -10;
  let high = 10;
  while (high - low > 1e-9) {
    const mid = (low + high) / 2;
    if (standardNormalUpper(mid) > p) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/** Counts per ordered category, the two versions aligned: the input U needs. */
interface Ordinal {
  readonly canary: readonly number[];
  readonly stable: readonly number[];
}

function ordinal(canary: LatencyDistribution, stable: LatencyDistribution): Ordinal {
  if (canary.kind === "histogram" && stable.kind === "histogram") {
    const bounds = [...new Set([...canary.buckets, ...stable.buckets].map((b) => b.le))].sort((a, b) => a - b);
    const perBucket = (buckets: readonly { le: number; count: number }[]) => {
      const cumulative = bounds.map((le) => buckets.find((b) => b.le === le)?.count ?? 0);
      return cumulative.map((c, i) => Math.max(0, c - (i === 0 ? 0 : (cumulative[i - 1] ?? 0))));
    };
    return { canary: perBucket(canary.buckets), stable: perBucket(stable.buckets) };
  }
  if (canary.kind === "samples" && stable.kind === "samples") {
    const values = [...new Set([...canary.values, ...stable.values])].sort((a, b) => a - b);
    const index = new Map(values.map((v, i) => [v, i]));
    const count = (xs: readonly number[]) => {
      const counts = new Array<number>(values.length).fill(0);
      for (const x of xs) counts[index.get(x) ?? 0] = (counts[index.get(x) ?? 0] ?? 0) + 1;
      return counts;
    };
    return { canary: count(canary.values), stable: count(stable.values) };
  }
  throw new Error("both versions' latencies must come from the same source");
}

export interface MannWhitney {
  readonly pValue: number;
  /** P(a canary request is slower than a stable one), ties counted half: 0.5 when alike. */
  readonly superiority: number;
  readonly canaryN: number;
  readonly stableN: number;
}

/** One-sided Mann–Whitney U (canary slower), normal approximation with tie and continuity corrections. */
export function mannWhitneyGreater(canary: LatencyDistribution, stable: LatencyDistribution): MannWhitney {
  const o = ordinal(canary, stable);
  const n1 = o.canary.reduce((a, b) => a + b, 0);
  const n2 = o.stable.reduce((a, b) => a + b, 0);
  let stableBelow = 0;
  let u = 0;
  let ties = 0;
  for (let i = 0; i < o.canary.length; i++) {
    const c = o.canary[i] ?? 0;
    const s = o.stable[i] ?? 0;
    u += c * (stableBelow + s / 2);
    stableBelow += s;
    const t = c + s;
    ties += t * t * t - t;
  }
  const n = n1 + n2;
  if (n1 === 0 || n2 === 0) return { pValue: 1, superiority: 0.5, canaryN: n1, stableN: n2 };
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  const z = variance > 0 ? (u - (n1 * n2) / 2 - 0.5) / Math.sqrt(variance) : 0;
  return { pValue: standardNormalUpper(z), superiority: u / (n1 * n2), canaryN: n1, stableN: n2 };
}

/** Median in ms: exact for samples; for a histogram, as PromQL's histogram_quantile computes it. */
export function median(d: LatencyDistribution): number | undefined {
  if (d.kind === "histogram") return histogramQuantile(d, 0.5);
  if (d.values.length === 0) return undefined;
  const sorted = [...d.values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 === 1 ? sorted[Math.floor(mid)] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** A histogram's quantile, linear within the bucket (histogram_quantile); undefined when empty. */
export function histogramQuantile(d: LatencyDistribution & { kind: "histogram" }, q: number): number | undefined {
  const buckets = [...d.buckets].sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lowerLe = 0;
  let lowerCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return lowerLe;
      return lowerLe + ((b.le - lowerLe) * (rank - lowerCount)) / Math.max(1e-9, b.count - lowerCount);
    }
    lowerLe = b.le;
    lowerCount = b.count;
  }
  return lowerLe;
}

/** Smallest canary error rate above `stableRate` that this sample detects with DETECTABLE_POWER. */
export function detectableErrorRate(stableRate: number, canaryN: number, stableN: number, alpha: number): number {
  const za = normalQuantileUpper(alpha);
  const zb = normalQuantileUpper(1 - DETECTABLE_POWER);
  for (let diff = 0.0005; diff < 1 - stableRate; diff += 0.0005) {
    const p1 = stableRate + diff;
    const pooled = (p1 * canaryN + stableRate * stableN) / (canaryN + stableN);
    const se0 = Math.sqrt(pooled * (1 - pooled) * (1 / canaryN + 1 / stableN));
    const se1 = Math.sqrt((p1 * (1 - p1)) / canaryN + (stableRate * (1 - stableRate)) / stableN);
    if (diff >= za * se0 + zb * se1) return p1;
  }
  return 1;
}

/** Smallest P(canary slower) this sample detects with DETECTABLE_POWER (no ties assumed). */
export function detectableSuperiority(canaryN: number, stableN: number, alpha: number): number {
  const sd = Math.sqrt((canaryN + stableN + 1) / (12 * canaryN * stableN));
  return Math.min(1, 0.5 + (normalQuantileUpper(alpha) + normalQuantileUpper(1 - DETECTABLE_POWER)) * sd);
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const pText = (p: number) => (p < 0.001 ? p.toExponential(1) : p.toFixed(3));

export function compareErrors(
  canary: AttemptCounts,
  stable: AttemptCounts,
  settings: ComparisonSettings = DEFAULT_COMPARISON,
): ComparisonResult {
  if (canary.attempts === 0 || stable.attempts === 0) {
    return { verdict: "inconclusive", pValue: undefined, summary: "no attempts of one version in the window" };
  }
  const canaryRate = canary.failed / canary.attempts;
  const stableRate = stable.failed / stable.attempts;
  const p = fisherGreater(canary, stable);
  const worse = canaryRate - stableRate >= settings.minErrorDiff;
  const detectable = detectableErrorRate(stableRate, canary.attempts, stable.attempts, settings.alpha);
  return {
    verdict: p < settings.alpha && worse ? "fail" : "pass",
    pValue: p,
    summary:
      `canary ${pct(canaryRate)} of ${canary.attempts} vs stable ${pct(stableRate)} of ${stable.attempts} attempts, ` +
      `Fisher p = ${pText(p)} (α ${settings.alpha}); detects ≥ ${pct(detectable)} at ${DETECTABLE_POWER * 100}% power`,
  };
}

export function compareLatency(
  canary: LatencyDistribution,
  stable: LatencyDistribution,
  settings: ComparisonSettings = DEFAULT_COMPARISON,
): ComparisonResult {
  const test = mannWhitneyGreater(canary, stable);
  const mc = median(canary);
  const ms = median(stable);
  if (test.canaryN < MIN_LATENCY_SAMPLES || test.stableN < MIN_LATENCY_SAMPLES || mc === undefined || !ms) {
    return {
      verdict: "inconclusive",
      pValue: undefined,
      summary: `${test.canaryN} canary and ${test.stableN} stable latencies: needs ≥ ${MIN_LATENCY_SAMPLES} of each`,
    };
  }
  const ratio = mc / ms;
  const slower = ratio >= settings.minLatencyRatio;
  const detectable = detectableSuperiority(test.canaryN, test.stableN, settings.alpha);
  return {
    verdict: test.pValue < settings.alpha && slower ? "fail" : "pass",
    pValue: test.pValue,
    summary:
      `median canary ${mc.toFixed(0)} ms vs stable ${ms.toFixed(0)} ms (×${ratio.toFixed(2)}), ` +
      `P(canary slower) ${test.superiority.toFixed(2)}, Mann–Whitney p = ${pText(test.pValue)} (α ${settings.alpha}, ` +
      `n ${test.canaryN}/${test.stableN}); detects P(slower) ≥ ${detectable.toFixed(2)} at ${DETECTABLE_POWER * 100}% power`,
  };
}
