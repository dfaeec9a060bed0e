/**
 * The canary's plan: pure, so `--dry-run` prints exactly what a real run would do.
 * A step moves weight from the stable version to the canary version; every other version is 0.
 */

export type Weights = Readonly<Record<string, number>>;

export interface GateThresholds {
  /** Highest acceptable share of canary attempts that fail (5xx), 0–1; undefined: not gated. */
  readonly maxErrorRate: number | undefined;
  /** Highest acceptable canary p99 latency, milliseconds. */
  readonly maxP99Ms: number;
  /** Requests sampled through the gateway for the split test at each step. */
  readonly requests: number;
}

export interface CanaryStep {
  /** 1-based; step 0 is where the run starts. */
  readonly index: number;
  readonly weights: Weights;
}

export interface CanaryPlan {
  readonly stable: string;
  readonly canary: string;
  readonly from: Weights;
  readonly steps: readonly CanaryStep[];
  readonly pauseMs: number;
  readonly gates: GateThresholds;
}

export interface PlanRequest {
  readonly current: Weights;
  readonly stable: string;
  readonly canary: string;
  /** Target canary percent, 0–100, reached `step` at a time; or `shares`, the canary percent of each step. */
  readonly to: number | undefined;
  /** Percent moved per step, 1–100. */
  readonly step: number;
  readonly shares?: readonly number[] | undefined;
  readonly pauseMs: number;
  readonly gates: GateThresholds;
}

/** Weights with `canaryPercent` on the canary, the rest on stable, every other version 0. */
export function weightsAt(current: Weights, stable: string, canary: string, canaryPercent: number): Weights {
  const next: Record<string, number> = Object.fromEntries(Object.keys(current).map((v) => [v, 0]));
  next[canary] = canaryPercent;
  next[stable] = 100 - canaryPercent;
  return next;
}

/**
 * Steps from the current canary percent to `to` (either direction), `step` at a time, the last one
 * landing exactly on `to`. Starting weights on a third version are folded into the first step.
 */
export function planCanary(req: PlanRequest): CanaryPlan {
  const base = { stable: req.stable, canary: req.canary, from: req.current, pauseMs: req.pauseMs, gates: req.gates };
  if (req.shares !== undefined) {
    const start = req.current[req.canary] ?? 0;
    // A leading share equal to where the stack is already is no step.
    const shares = req.shares.filter((p, i) => !(i === 0 && p === start));
    return {
      ...base,
      steps: shares.map((p, i) => ({ index: i + 1, weights: weightsAt(req.current, req.stable, req.canary, p) })),
    };
  }
  const to = req.to ?? 0;
  const start = req.current[req.canary] ?? 0;
  const direction = Math.sign(to - start);
  const steps: CanaryStep[] = [];
  let percent = start;
  const alreadyThere = direction === 0 && isExactly(req.current, weightsAt(req.current, req.stable, req.canary, start));
  if (!alreadyThere) {
    do {
      percent =
        direction === 0 ? to : direction > 0 ? Math.min(to, percent + req.step) : Math.max(to, percent - req.step);
      steps.push({ index: steps.length + 1, weights: weightsAt(req.current, req.stable, req.canary, percent) });
    } while (percent !== to);
  }
  return { ...base, steps };
}

function isExactly(a: Weights, b: Weights): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
}

export function formatWeights(w: Weights): string {
  return Object.entries(w)
    .map(([v, p]) => `${v} ${p}%`)
    .join(" / ");
}
