import type { UpOptions } from "../lib/stackWorkspace";
import type { ComparisonSettings } from "./compare";
import type { CanaryEvent } from "./events";
import { evaluateGates, type GateResult, type SplitSample, type SplitTest } from "./gates";
import { type CanaryPlan, type CanaryStep, formatWeights, type Weights } from "./plan";
import type { VersionMetrics } from "./prometheus";

/** The stack, through the Pulumi CLI in real runs (workspace.ts). */
export interface CanaryWorkspace {
  readonly stackName: string;
  setWeights(weights: Weights): Promise<void>;
  up(options?: UpOptions): Promise<void>;
  lastGood(): Promise<Weights | undefined>;
  recordLastGood(weights: Weights): Promise<void>;
}

/** One analysis interval: the traffic to expect, and how to sample it. */
export interface Interval {
  readonly expected: Weights;
  /** The header stage sends the beta header. */
  readonly beta: boolean;
}

export interface CanaryDeps {
  readonly workspace: CanaryWorkspace;
  /** Samples through the gateway for `ms` (or until stopped), paced for the weights. */
  readonly probe: (interval: Interval, stop: AbortSignal) => Promise<SplitSample>;
  /** Per-version Prometheus figures over the last `windowMs`; undefined without observability. */
  readonly metrics: (windowMs: number) => Promise<Record<string, VersionMetrics> | undefined>;
  readonly splitTest: SplitTest;
  /** Waits `ms` or until `stop` aborts. */
  readonly wait: (ms: number, stop: AbortSignal) => Promise<void>;
  readonly now: () => number;
  /** A person or a webhook approves a promotion; false: not approved. */
  readonly confirm?: (step: CanaryStep) => Promise<boolean>;
  readonly emit: (event: CanaryEvent) => void;
  /** Ctrl-C: aborted on the first one. */
  readonly interrupt: AbortSignal;
  /** Runs an `up` so that Ctrl-C reaches the CLI exactly once (see interrupt.ts). */
  readonly guardedUp: (up: (options: UpOptions) => Promise<void>) => Promise<void>;
}

export interface RunOptions {
  readonly threshold: number;
  readonly headerStage: boolean;
  readonly onFail: "rollback" | "pause";
  readonly comparison: ComparisonSettings;
}

/** Where the run is, so an interruption can say what the stack holds. */
export interface CanaryState {
  phase: "starting" | "setting config" | "up" | "analysing" | "restoring" | "done";
  step: CanaryStep | undefined;
  /** The weights the stack's config holds now. */
  configWeights: Weights;
  /** The last weights that passed a gate; undefined until one has. */
  lastGood: Weights | undefined;
}

export type CanaryOutcome =
  | { readonly status: "promoted"; readonly weights: Weights }
  | {
      readonly status: "rolled back" | "paused" | "interrupted" | "failed";
      /** Why, in one line. */
      readonly reason: string;
      readonly failures: readonly GateResult[];
      /** What the stack holds and runs now. */
      readonly weights: Weights;
      /** false: restoring failed too; the stack holds `weights` in config but maybe not in the cluster. */
      readonly restored: boolean;
    };

class Interrupted extends Error {}
class GateFailed extends Error {
  constructor(
    message: string,
    readonly failures: readonly GateResult[],
  ) {
    super(message);
  }
}

/**
 * Gates the weights deployed now (never assumed good), optionally the header stage, then each
 * step. Any failure (a gate, an exception from the CLI, Prometheus or the probe, Ctrl-C) restores
 * the last weights that passed a gate and says so.
 */
export async function runCanary(
  plan: CanaryPlan,
  options: RunOptions,
  deps: CanaryDeps,
  state: CanaryState,
): Promise<CanaryOutcome> {
  const total = plan.steps.length;
  const recorded = await deps.workspace.lastGood();
  state.lastGood = recorded;
  state.configWeights = plan.from;
  deps.emit({ event: "started", stack: deps.workspace.stackName, weights: plan.from, lastGood: recorded ?? null });
  try {
    state.phase = "analysing";
    await analyse("current", { expected: plan.from, beta: false });
    await pass(plan.from);
    if (options.headerStage && (plan.from[plan.canary] ?? 0) < 100) {
      await analyse("header stage", { expected: { [plan.canary]: 100 }, beta: true });
    }
    for (const step of plan.steps) {
      state.step = step;
      deps.emit({ event: "step", step: step.index, of: total, weights: step.weights });
      if (deps.confirm && !(await deps.confirm(step))) {
        throw new GateFailed(`step ${step.index} was not approved`, []);
      }
      await deploy(step.weights);
      await analyse(`step ${step.index}/${total}`, { expected: step.weights, beta: false });
      await pass(step.weights);
    }
    state.phase = "done";
    deps.emit({ event: "promoted", weights: state.configWeights });
    return { status: "promoted", weights: state.configWeights };
  } catch (error) {
    return await recover(error);
  }

  async function pass(weights: Weights) {
    state.lastGood = weights;
    await deps.workspace.recordLastGood(weights);
  }

  async function deploy(weights: Weights) {
    checkInterrupt();
    state.phase = "setting config";
    await deps.workspace.setWeights(weights);
    state.configWeights = weights;
    state.phase = "up";
    await deps.guardedUp((o) => deps.workspace.up(o));
    checkInterrupt();
  }

  /** Up to `threshold` checks, each a fresh interval; the first that passes passes the stage. */
  async function analyse(name: string, interval: Interval) {
    let results: GateResult[] = [];
    for (let check = 1; check <= options.threshold; check++) {
      checkInterrupt();
      state.phase = "analysing";
      const started = deps.now();
      const [sample] = await Promise.all([
        deps.probe(interval, deps.interrupt),
        deps.wait(plan.pauseMs, deps.interrupt),
      ]);
      checkInterrupt();
      const metrics = await deps.metrics(deps.now() - started);
      results = evaluateGates(
        { expected: interval.expected, stable: plan.stable, canary: plan.canary, sample, metrics },
        plan.gates,
        options.comparison,
        deps.splitTest,
      );
      const failed = results.filter((r) => r.verdict === "fail");
      deps.emit({ event: "check", stage: name, check, of: options.threshold, results });
      if (failed.length === 0) {
        deps.emit({ event: "passed", stage: name, weights: interval.expected });
        return;
      }
    }
    const failures = results.filter((r) => r.verdict === "fail");
    deps.emit({ event: "failed", stage: name, failures });
    throw new GateFailed(`${name} failed ${failures.map((f) => f.gate).join(", ")}`, failures);
  }

  function checkInterrupt() {
    if (deps.interrupt.aborted) throw new Interrupted("interrupted");
  }

  async function recover(error: unknown): Promise<CanaryOutcome> {
    const interrupted = error instanceof Interrupted || deps.interrupt.aborted;
    const failures = error instanceof GateFailed ? error.failures : [];
    const reason = interrupted ? "interrupted (Ctrl-C)" : error instanceof Error ? error.message : String(error);
    const target = state.lastGood;
    const status = interrupted
      ? "interrupted"
      : target === undefined
        ? "failed"
        : options.onFail === "pause" && error instanceof GateFailed
          ? "paused"
          : "rolled back";
    if (target === undefined) {
      // Nothing ever passed here: the weights found at the start are all there is; say so.
      deps.emit({ event: "failed", stage: "run", reason, weights: state.configWeights });
      return { status: "failed", reason, failures, weights: state.configWeights, restored: false };
    }
    state.phase = "restoring";
    let restored = true;
    let restoreError = "";
    try {
      await deps.workspace.setWeights(target);
      state.configWeights = target;
      // No signal: the restoring `up` must finish, even after Ctrl-C.
      await deps.workspace.up();
    } catch (e) {
      restored = false;
      restoreError = e instanceof Error ? e.message : String(e);
    }
    state.phase = "done";
    deps.emit({
      event: status === "paused" ? "paused" : status === "interrupted" ? "interrupted" : "rolled back",
      reason,
      weights: state.configWeights,
      restored,
      ...(restoreError && { restoreError }),
    });
    return {
      status,
      reason: restored ? reason : `${reason}; restoring ${formatWeights(target)} failed too: ${restoreError}`,
      failures,
      weights: state.configWeights,
      restored,
    };
  }
}

/** What the stack holds when a second Ctrl-C ends the run at once. */
export function abandonedState(state: CanaryState): string {
  const inFlight =
    state.phase === "up" || state.phase === "restoring"
      ? "an `up` was in flight and was told to terminate: the cluster may be between weights and the stack may hold pending operations (`pulumi refresh` shows them); "
      : "";
  const good = state.lastGood ? formatWeights(state.lastGood) : "none recorded";
  return (
    `stopped at once while ${state.phase}${state.step ? ` (step ${state.step.index})` : ""}. ${inFlight}` +
    `The config holds canaryWeights ${formatWeights(state.configWeights)}; last good weights: ${good}. ` +
    "Run the canary again: it gates what is deployed first and restores the last good weights if that fails."
  );
}
