import { type CanaryHealth, evaluateGates, type GateResult, type SplitSample, type SplitTest } from "./gates";
import { type CanaryPlan, type CanaryStep, formatWeights, type Weights } from "./plan";

/** The stack, through the Automation API in real runs. */
export interface CanaryWorkspace {
  setWeights(weights: Weights): Promise<void>;
  /** `pulumi up`; only the routing objects change. */
  up(): Promise<void>;
}

export interface CanaryDeps {
  readonly workspace: CanaryWorkspace;
  /** Samples `requests` calls through the gateway, paced for the step's weights. */
  readonly probe: (requests: number, weights: Weights) => Promise<SplitSample>;
  /** The canary's health over the last `windowMs`; the sample is the fallback without Prometheus. */
  readonly health: (windowMs: number, sample: SplitSample) => Promise<CanaryHealth>;
  readonly splitTest: SplitTest;
  /** Waits `ms`, calling `onTick` with the time left so a progress display can update. */
  readonly sleep: (ms: number, onTick: (remainingMs: number) => void) => Promise<void>;
  readonly log: (line: string) => void;
  readonly progress: (line: string) => void;
}

/** Where the run is, so an interruption can say what the stack holds and how to resume. */
export interface CanaryState {
  phase: "idle" | "setting config" | "up" | "waiting" | "gating" | "rolling back" | "done";
  step: CanaryStep | undefined;
  /** The weights the stack's config holds now. */
  configWeights: Weights;
  /** The last weights that were deployed and passed their gates (or the starting weights). */
  lastGood: Weights;
}

export type CanaryOutcome =
  | { readonly status: "promoted"; readonly weights: Weights }
  | {
      readonly status: "rolled back";
      readonly failedStep: CanaryStep;
      readonly failures: readonly GateResult[];
      readonly weights: Weights;
    };

export async function runCanary(plan: CanaryPlan, deps: CanaryDeps, state: CanaryState): Promise<CanaryOutcome> {
  const total = plan.steps.length;
  for (const step of plan.steps) {
    state.step = step;
    deps.log(`step ${step.index}/${total}: ${formatWeights(step.weights)}`);
    await deploy(step.weights, deps, state);

    state.phase = "waiting";
    await deps.sleep(plan.pauseMs, (left) =>
      deps.progress(`step ${step.index}/${total}: settling, ${Math.ceil(left / 1000)}s left`),
    );

    state.phase = "gating";
    const sample = await deps.probe(plan.gates.requests, step.weights);
    const health = await deps.health(plan.pauseMs, sample);
    const results = evaluateGates(step, plan, sample, health, deps.splitTest);
    for (const r of results)
      deps.log(`  ${r.pass ? "PASS" : "FAIL"} ${r.gate}: expected ${r.expected}, observed ${r.observed}`);

    const failures = results.filter((r) => !r.pass);
    if (failures.length > 0) {
      deps.log(`step ${step.index} failed; rolling back to ${formatWeights(state.lastGood)}`);
      state.phase = "rolling back";
      await deploy(state.lastGood, deps, state);
      state.phase = "done";
      return { status: "rolled back", failedStep: step, failures, weights: state.lastGood };
    }
    state.lastGood = step.weights;
  }
  state.phase = "done";
  return { status: "promoted", weights: state.lastGood };
}

async function deploy(weights: Weights, deps: CanaryDeps, state: CanaryState): Promise<void> {
  state.phase = "setting config";
  await deps.workspace.setWeights(weights);
  state.configWeights = weights;
  state.phase = "up";
  await deps.workspace.up();
}

/** What to tell a user whose run was interrupted. */
export function interruptionAdvice(state: CanaryState, resumeCommand: string): string {
  const held = formatWeights(state.configWeights);
  const deployed =
    state.phase === "up" || state.phase === "setting config"
      ? "an `up` was in progress, so the cluster may still run the previous weights"
      : "the cluster runs these weights";
  return [
    `interrupted while ${state.phase}${state.step ? ` (step ${state.step.index})` : ""}.`,
    `The stack's config holds canaryWeights ${held}; ${deployed}.`,
    `Last weights that passed their gates: ${formatWeights(state.lastGood)}.`,
    `Resume with: ${resumeCommand}   (it starts from the config's current weights)`,
  ].join("\n");
}
