/**
 * Runs an upgrade plan against the stack (the Pulumi CLI), the cluster (kubectl) and `verify`. Any
 * failure or Ctrl-C before the last step restores what it found: both tags back on the old revision
 * (`pulumi up`), every workload it restarted restarted again (so its pods are injected by the old
 * revision), then the revisions as found (`pulumi up`, which removes a revision this run installed).
 */
import { setTimeout as delay } from "node:timers/promises";
import type { Kubectl } from "../lib/kubectl";
import type { UpOptions } from "../lib/stackWorkspace";
import {
  type ConfigChange,
  changeBetween,
  formatChange,
  type RevisionState,
  tagsOn,
  type UpgradePlan,
  type UpgradeStep,
  type Workload,
  workloadText,
} from "./plan";

/** The stack, through the Pulumi CLI in real runs (tools/lib/stackWorkspace.ts). */
export interface UpgradeWorkspace {
  readonly stackName: string;
  setConfig(values: Readonly<Record<string, string>>): Promise<void>;
  removeConfig(keys: readonly string[]): Promise<void>;
  up(options?: UpOptions): Promise<void>;
}

export interface VerifyResult {
  readonly passed: boolean;
  /** One line: what failed, or how many checks passed. */
  readonly summary: string;
}

export type UpgradeEvent =
  | { event: "started"; stack: string; from: string; to: string }
  | { event: "step"; n: number; of: number; title: string; detail?: string }
  | { event: "restarted"; workload: string }
  | { event: "verified"; summary: string }
  | { event: "upgraded"; to: string }
  | { event: "restoring"; reason: string; detail: string }
  | {
      event: "rolled back" | "interrupted" | "failed";
      reason: string;
      restored: boolean;
      restoreError?: string;
      config: RevisionState;
    };

export interface UpgradeDeps {
  readonly workspace: UpgradeWorkspace;
  readonly kubectl: Kubectl;
  readonly verify: (stop: AbortSignal) => Promise<VerifyResult>;
  readonly emit: (event: UpgradeEvent) => void;
  /** Ctrl-C: aborted on the first one. */
  readonly interrupt: AbortSignal;
  /** Runs an `up` so that Ctrl-C reaches the CLI exactly once (tools/lib/interrupt.ts). */
  readonly guardedUp: (up: (options: UpOptions) => Promise<void>) => Promise<void>;
  /** `kubectl rollout status --timeout`, e.g. "5m". */
  readonly rolloutTimeout: string;
}

/** Where the run is, so a second Ctrl-C can say what the stack and the cluster hold. */
export interface UpgradeState {
  phase: "starting" | "setting config" | "up" | "restarting" | "verifying" | "restoring" | "done";
  step: number | undefined;
  /** What the stack's config holds now. */
  config: RevisionState;
  /** Workloads restarted since their tag moved, in order. */
  restarted: Workload[];
}

export type UpgradeOutcome =
  | { readonly status: "upgraded" }
  | {
      readonly status: "rolled back" | "interrupted" | "failed";
      readonly reason: string;
      /** false: restoring failed too (or, at the last step, was not attempted). */
      readonly restored: boolean;
      readonly config: RevisionState;
    };

class Interrupted extends Error {}

export async function runUpgrade(plan: UpgradePlan, deps: UpgradeDeps, state: UpgradeState): Promise<UpgradeOutcome> {
  state.config = plan.before;
  const last = plan.steps[plan.steps.length - 1];
  deps.emit({ event: "started", stack: deps.workspace.stackName, from: plan.from, to: plan.to });
  try {
    for (const step of plan.steps) {
      checkInterrupt();
      state.step = step.n;
      deps.emit({ event: "step", n: step.n, of: plan.steps.length, title: step.title });
      await run(step);
    }
    state.phase = "done";
    deps.emit({ event: "upgraded", to: plan.to });
    return { status: "upgraded" };
  } catch (error) {
    const interrupted = error instanceof Interrupted || deps.interrupt.aborted;
    const reason = interrupted ? "interrupted (Ctrl-C)" : error instanceof Error ? error.message : String(error);
    if (state.step === last?.n && !interrupted) {
      // Every workload already runs the new revision; only the old one's removal failed.
      state.phase = "done";
      const why = `${reason}; every tag and workload is on ${plan.to}: \`npm run up\` retries removing the old revision`;
      deps.emit({ event: "failed", reason: why, restored: false, config: state.config });
      return { status: "failed", reason: why, restored: false, config: state.config };
    }
    return restore(reason, interrupted);
  }

  async function run(step: UpgradeStep) {
    if (step.kind === "config") {
      await apply(step.change, step.after);
      state.phase = "up";
      await deps.guardedUp((o) => deps.workspace.up(o));
      checkInterrupt();
    } else if (step.kind === "restart") {
      for (const batch of step.batches) await restart(batch, deps.interrupt);
    } else {
      state.phase = "verifying";
      const result = await deps.verify(deps.interrupt);
      checkInterrupt();
      if (!result.passed) throw new Error(`verify failed: ${result.summary}`);
      deps.emit({ event: "verified", summary: result.summary });
    }
  }

  async function apply(change: ConfigChange, after: RevisionState) {
    state.phase = "setting config";
    if (Object.keys(change.set).length > 0) await deps.workspace.setConfig(change.set);
    if (change.remove.length > 0) await deps.workspace.removeConfig(change.remove);
    state.config = after;
  }

  /** One batch: every Deployment restarted, then each awaited, so a batch rolls side by side. */
  async function restart(batch: readonly Workload[], stop?: AbortSignal) {
    state.phase = "restarting";
    for (const w of batch) {
      const restartArgs = ["rollout", "restart", `deployment/${w.deployment}`, "--namespace", w.namespace];
      const options = { ...(stop && { signal: stop }) };
      await deps.kubectl(restartArgs, options).catch(async (error: unknown) => {
        // restartedAt has a resolution of one second: kubectl refuses a second restart within it.
        if (!String(error).includes("already been triggered within the past second")) throw error;
        await delay(1100);
        await deps.kubectl(restartArgs, options);
      });
      if (!state.restarted.some((r) => workloadText(r) === workloadText(w))) state.restarted.push(w);
      deps.emit({ event: "restarted", workload: workloadText(w) });
    }
    for (const w of batch) {
      await deps.kubectl(
        [
          "rollout",
          "status",
          `deployment/${w.deployment}`,
          "--namespace",
          w.namespace,
          `--timeout=${deps.rolloutTimeout}`,
        ],
        { ...(stop && { signal: stop }) },
      );
    }
  }

  function checkInterrupt() {
    if (deps.interrupt.aborted) throw new Interrupted("interrupted");
  }

  /** No signal from here on: the restoring `up`s and rollouts must finish, even after Ctrl-C. */
  async function restore(reason: string, interrupted: boolean): Promise<UpgradeOutcome> {
    state.phase = "restoring";
    const tagsBack = tagsOn(state.config, plan.from);
    // As found, with the tags on the old revision (a resumed run may have found one moved already).
    const found = tagsOn(plan.before, plan.from);
    const moved = [...state.restarted];
    const steps = [
      `tags back on ${plan.from} (${formatChange(changeBetween(state.config, tagsBack)) || "already there"})`,
      ...(moved.length > 0 ? [`restart ${moved.map(workloadText).join(", ")}`] : []),
      `the revisions as found (${formatChange(changeBetween(tagsBack, found)) || "already there"})`,
    ];
    deps.emit({ event: "restoring", reason, detail: steps.join("; then ") });
    const errors: string[] = [];
    const attempt = async (what: () => Promise<void>) =>
      what().then(
        () => true,
        (e: unknown) => {
          errors.push(e instanceof Error ? e.message : String(e));
          return false;
        },
      );
    const tagsRestored = await attempt(async () => {
      if (!sameState(state.config, tagsBack)) {
        await apply(changeBetween(state.config, tagsBack), tagsBack);
        await deps.workspace.up();
      }
    });
    // With the tags still on the new revision, a restart would inject it again and removing it would strand pods.
    if (tagsRestored) {
      if (moved.length > 0 && (await attempt(() => restart(moved)))) state.restarted = [];
      await attempt(async () => {
        if (!sameState(state.config, found)) {
          await apply(changeBetween(state.config, found), found);
          await deps.workspace.up();
        }
      });
    }
    state.phase = "done";
    const restoreError = errors.join("; ");
    const restored = restoreError === "";
    const status = interrupted ? "interrupted" : "rolled back";
    deps.emit({
      event: status,
      reason,
      restored,
      ...(restoreError && { restoreError }),
      config: state.config,
    });
    return {
      status,
      reason: restored ? reason : `${reason}; restoring failed too: ${restoreError}`,
      restored,
      config: state.config,
    };
  }
}

function sameState(a: RevisionState, b: RevisionState): boolean {
  return (
    a.istioVersion === b.istioVersion &&
    a.upgradeTo === b.upgradeTo &&
    a.stableVersion === b.stableVersion &&
    a.canaryVersion === b.canaryVersion
  );
}

/** What the stack and the cluster hold when a second Ctrl-C ends the run at once. */
export function abandonedState(state: UpgradeState): string {
  const c = state.config;
  const inFlight =
    state.phase === "up" || state.phase === "restoring"
      ? "an `up` or a rollout was in flight and was told to stop: `pulumi refresh` shows pending operations; "
      : "";
  return (
    `stopped at once while ${state.phase}${state.step ? ` (step ${state.step})` : ""}. ${inFlight}` +
    `The config holds istioVersion ${c.istioVersion}${c.upgradeTo ? `, revisions.upgradeTo ${c.upgradeTo}` : ""}, ` +
    `prod-stable → ${c.stableVersion}, prod-canary → ${c.canaryVersion}; restarted: ${state.restarted.map(workloadText).join(", ") || "none"}. ` +
    "Run the upgrade again with the same --to: it resumes from the config."
  );
}
