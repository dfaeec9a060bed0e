/**
 * The verifier's statistics, pure and shared: `npm run verify` tests the canary split and fault rates
 * with them, and the canary gate reuses `splitTest`. Distributions come from stdlib (exact binomial
 * via the regularized incomplete beta; chi-square via the incomplete gamma), not approximations.
 */
import betaQuantile from "@stdlib/stats-base-dists-beta-quantile";
import binomialCdf from "@stdlib/stats-base-dists-binomial-cdf";
import binomialPmf from "@stdlib/stats-base-dists-binomial-pmf";
import chisquareCdf from "@stdlib/stats-base-dists-chisquare-cdf";

/** Per-check false-alarm rate: a correct mesh fails a check with probability at most this. */
export const DEFAULT_ALPHA = 0.001;
/** Probability of catching a deviation that the README and `--help` state as detectable. */
export const TARGET_POWER = 0.95;

export type Verdict = "pass" | "fail";
export type Interval = readonly [number, number];

// Ties in the two-sided exact test are decided with R's binom.test tolerance.
const RELATIVE_TIE = 1 + 1e-7;

/**
 * Two-sided exact binomial p-value (method of small p-values, as R's binom.test): the probability,
 * under p, of an outcome no more likely than x successes in n.
 */
export function binomialPValue(x: number, n: number, p: number): number {
  if (n === 0) return 1;
  if (p <= 0) return x === 0 ? 1 : 0;
  if (p >= 1) return x === n ? 1 : 0;
  const observed = binomialPmf(x, n, p) * RELATIVE_TIE;
  const mode = Math.floor((n + 1) * p);
  if (x === mode) return 1;
  // The pmf is unimodal: the outcomes at most as likely as x are x's own tail plus a tail on the far side.
  if (x < mode) {
    const far = firstIndex(mode, n, (i) => binomialPmf(i, n, p) <= observed);
    const upper = far > n ? 0 : 1 - binomialCdf(far - 1, n, p);
    return Math.min(1, binomialCdf(x, n, p) + upper);
  }
  const near = lastIndex(0, mode, (i) => binomialPmf(i, n, p) <= observed);
  const lower = near < 0 ? 0 : binomialCdf(near, n, p);
  return Math.min(1, lower + 1 - binomialCdf(x - 1, n, p));
}

/** Smallest i in [lo, hi] with pred(i), for pred monotone false→true; hi + 1 if none. */
function firstIndex(lo: number, hi: number, pred: (i: number) => boolean): number {
  let [a, b] = [lo, hi + 1];
  while (a < b) {
    const mid = Math.floor((a + b) / 2);
    if (pred(mid)) b = mid;
    else a = mid + 1;
  }
  return a;
}

/** Largest i in [lo, hi] with pred(i), for pred monotone true→false; lo - 1 if none. */
function lastIndex(lo: number, hi: number, pred: (i: number) => boolean): number {
  let [a, b] = [lo - 1, hi];
  while (a < b) {
    const mid = Math.ceil((a + b) / 2);
    if (pred(mid)) a = mid;
    else b = mid - 1;
  }
  return a;
}

/** Clopper–Pearson interval for a binomial proportion at confidence 1 − alpha (exact, conservative). */
export function clopperPearson(x: number, n: number, alpha: number): Interval {
  if (n === 0) return [0, 1];
  const lo = x === 0 ? 0 : betaQuantile(alpha / 2, x, n - x + 1);
  const hi = x === n ? 1 : betaQuantile(1 - alpha / 2, x + 1, n - x);
  return [lo, hi];
}

export interface ProportionResult {
  readonly test: "exact binomial";
  readonly expected: number;
  /** Observed proportion among the classified responses. */
  readonly observed: number;
  /** Interval at confidence 1 − alpha for the true proportion; it widens to cover every censored outcome. */
  readonly interval: Interval;
  readonly n: number;
  readonly censored: number;
  readonly pValue: number;
  readonly verdict: Verdict;
}

/**
 * Exact two-sided test that `x` of `n` classified outcomes fit proportion `p`. `censored` outcomes
 * (e.g. 429s, whose version nobody can see) could be either: the p-value is the largest over every
 * way to classify them, so the test keeps its level whatever they were.
 */
export function proportionTest(
  x: number,
  n: number,
  p: number,
  { alpha = DEFAULT_ALPHA, censored = 0 }: { alpha?: number; censored?: number } = {},
): ProportionResult {
  const total = n + censored;
  const pValue = maxPValueOverCompletions(x, censored, total, p);
  return {
    test: "exact binomial",
    expected: p,
    observed: n === 0 ? Number.NaN : x / n,
    interval: [clopperPearson(x, total, alpha)[0], clopperPearson(x + censored, total, alpha)[1]],
    n,
    censored,
    pValue,
    verdict: total > 0 && pValue > alpha ? "pass" : "fail",
  };
}

/** The p-value is unimodal in the completed count, highest nearest the mode: try that point and its neighbours. */
function maxPValueOverCompletions(x: number, censored: number, total: number, p: number): number {
  const mode = Math.floor((total + 1) * p);
  const nearest = Math.min(x + censored, Math.max(x, mode));
  const candidates = [nearest - 1, nearest, nearest + 1].filter((c) => c >= x && c <= x + censored);
  return Math.max(...candidates.map((c) => binomialPValue(c, total, p)));
}

export interface SplitShare {
  readonly count: number;
  /** Expected share from the weights, 0–1. */
  readonly expected: number;
  readonly observed: number;
  readonly interval: Interval;
}

export interface SplitResult {
  readonly test: "exact binomial" | "chi-square" | "none";
  readonly alpha: number;
  readonly n: number;
  readonly censored: number;
  readonly pValue: number;
  readonly verdict: Verdict;
  readonly shares: Readonly<Record<string, SplitShare>>;
  /** Why the verdict is what it is, in one line. */
  readonly reason: string;
}

/**
 * Do the observed counts per version fit the configured weights? Two live versions: exact binomial;
 * more: Pearson chi-square (expected counts ≥ 5 at the sizes we use). A version with weight 0 that
 * shows up, or a label that is not a version, fails outright. `censored` responses count for whichever
 * version makes the fit best, so censoring can only cost power, never a false alarm.
 */
export function splitTest(
  counts: Readonly<Record<string, number>>,
  weights: Readonly<Record<string, number>>,
  { alpha = DEFAULT_ALPHA, censored = 0 }: { alpha?: number; censored?: number } = {},
): SplitResult {
  const totalWeight = Object.values(weights).reduce((s, w) => s + w, 0);
  const labels = [...new Set([...Object.keys(weights), ...Object.keys(counts)])].sort();
  const n = labels.reduce((s, l) => s + (counts[l] ?? 0), 0);
  const total = n + censored;
  const share = (l: string) => (totalWeight > 0 ? (weights[l] ?? 0) / totalWeight : 0);
  const shares = Object.fromEntries(
    labels.map((l) => {
      const c = counts[l] ?? 0;
      const interval: Interval = [clopperPearson(c, total, alpha)[0], clopperPearson(c + censored, total, alpha)[1]];
      return [l, { count: c, expected: share(l), observed: n > 0 ? c / n : Number.NaN, interval }];
    }),
  );
  const result = (test: SplitResult["test"], pValue: number, reason: string): SplitResult => ({
    test,
    alpha,
    n,
    censored,
    pValue,
    verdict: total > 0 && pValue > alpha ? "pass" : "fail",
    shares,
    reason,
  });

  if (total === 0) return result("none", 0, "no responses");
  const impossible = labels.filter((l) => share(l) === 0 && (counts[l] ?? 0) > 0);
  if (impossible.length > 0) return result("none", 0, `responses from ${impossible.join(", ")}, weighted 0`);
  const live = labels.filter((l) => share(l) > 0);
  const [first, second] = live;
  if (live.length === 1 || first === undefined) return result("none", 1, "one live version: nothing to split");
  if (live.length === 2 && second !== undefined) {
    const t = proportionTest(counts[second] ?? 0, n, share(second), { alpha, censored });
    return result("exact binomial", t.pValue, `${second}: exact two-sided binomial test`);
  }
  const observed = live.map((l) => counts[l] ?? 0);
  const completed = completeTowardExpected(
    observed,
    live.map((l) => share(l) * total),
    censored,
  );
  const statistic = completed.reduce((s, o, i) => {
    const e = share(live[i] ?? "") * total;
    return s + (o - e) ** 2 / e;
  }, 0);
  return result(
    "chi-square",
    1 - chisquareCdf(statistic, live.length - 1),
    `Pearson chi-square, ${live.length - 1} df`,
  );
}

/**
 * Assigns censored outcomes one at a time to the category whose chi-square term grows least; for a
 * separable convex objective under a sum constraint this greedy choice is the minimum.
 */
function completeTowardExpected(observed: number[], expected: number[], censored: number): number[] {
  const counts = [...observed];
  for (let k = 0; k < censored; k++) {
    let best = 0;
    let bestCost = Number.POSITIVE_INFINITY;
    counts.forEach((o, i) => {
      const e = expected[i] ?? 1;
      const cost = (2 * (o - e) + 1) / e;
      if (cost < bestCost) [best, bestCost] = [i, cost];
    });
    counts[best] = (counts[best] ?? 0) + 1;
  }
  return counts;
}

/** Outcomes x in 0..n that the exact test at level alpha rejects: x ≤ lower or x ≥ upper. */
export function rejectionRegion(n: number, p: number, alpha: number): { lower: number; upper: number } {
  const mode = Math.floor((n + 1) * p);
  const lower = lastIndex(0, mode, (x) => binomialPValue(x, n, p) <= alpha);
  const upper = firstIndex(mode, n, (x) => binomialPValue(x, n, p) <= alpha);
  return { lower, upper };
}

/** Exact probability that the test rejects when the true proportion is q. */
export function power(n: number, p: number, q: number, alpha: number): number {
  const { lower, upper } = rejectionRegion(n, p, alpha);
  const below = lower < 0 ? 0 : binomialCdf(lower, n, q);
  const above = upper > n ? 0 : 1 - binomialCdf(upper - 1, n, q);
  return below + above;
}

/**
 * The true proportions, below and above p, that the test catches with probability `target` at size n:
 * a true value outside [low, high] fails the check at least that often. Exact, by bisection on `power`.
 */
export function detectableRange(
  n: number,
  p: number,
  { alpha = DEFAULT_ALPHA, target = TARGET_POWER }: { alpha?: number; target?: number } = {},
): Interval {
  const solve = (from: number, to: number): number => {
    // power rises monotonically as q moves away from p; find where it reaches target.
    let [near, far] = [from, to];
    if (power(n, p, far, alpha) < target) return Number.NaN;
    for (let i = 0; i < 50; i++) {
      const mid = (near + far) / 2;
      if (power(n, p, mid, alpha) >= target) far = mid;
      else near = mid;
    }
    return far;
  };
  return [solve(p, 0), solve(p, 1)];
}

/** Bonferroni bound on the chance that a correct mesh fails any of `checks` statistical checks. */
export const familyWiseBound = (checks: number, alpha = DEFAULT_ALPHA): number => Math.min(1, checks * alpha);
