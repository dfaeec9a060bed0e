/**
 * `npm run upgrade`: a zero-downtime Istio upgrade with revisions and revision tags. The plan and the
 * runner are pure (plan.ts, run.ts); this file wires them to the stack through the Pulumi CLI
 * (tools/lib/stackWorkspace.ts), kubectl (tools/lib/kubectl.ts) and `npm run verify`.
 */

import { spawn } from "node:child_process";
import * as path from "node:path";
import type { MeshConfig } from "../../config/types";
import { CliError, EXIT, runCli } from "../lib/cli";
import { CtrlC } from "../lib/interrupt";
import { type Kubectl, KubectlError, kubectlSession } from "../lib/kubectl";
import { StackWorkspace } from "../lib/stackWorkspace";
import { styleFor } from "../lib/style";
import { type PulumiCli, projectRootFrom, resolveStack, TargetError } from "../lib/target";
import { type LineIo, terminalLineIo } from "../lib/terminalIo";
import { parseUpgradeArgs, USAGE } from "./args";
import { formatPlan, planUpgrade, revisionState, type UpgradePlan, workloadText } from "./plan";
import {
  abandonedState,
  runUpgrade,
  type UpgradeEvent,
  type UpgradeState,
  type UpgradeWorkspace,
  type VerifyResult,
} from "./run";

export type UpgradeIo = LineIo;

export interface UpgradeMainDeps {
  readonly projectRoot: string;
  readonly io: UpgradeIo;
  readonly env?: NodeJS.ProcessEnv;
  /** `pulumi` for reading the stack's config (default: the CLI on PATH). */
  readonly pulumi?: PulumiCli;
  /** The stack; real runs drive it through the Pulumi CLI (tools/lib/stackWorkspace.ts). */
  readonly workspace?: (stack: string | undefined) => Promise<UpgradeWorkspace & { preflight?: () => Promise<void> }>;
  /** kubectl with the stack's cluster flags (default: kubectl on PATH). */
  readonly kubectl?: Kubectl;
  readonly verify?: (stack: string, stop: AbortSignal) => Promise<VerifyResult>;
  readonly ctrlC?: CtrlC;
  readonly state?: UpgradeState;
}

/** One line a person reads. */
export function eventText(e: UpgradeEvent): string {
  switch (e.event) {
    case "started":
      return `upgrade on stack ${e.stack}: Istio ${e.from} → ${e.to}`;
    case "step":
      return `step ${e.n}/${e.of}: ${e.title}`;
    case "restarted":
      return `  restarted ${e.workload}`;
    case "verified":
      return `  verify passed: ${e.summary}`;
    case "upgraded":
      return `upgraded: Istio ${e.to}, one revision, both tags on it`;
    case "restoring":
      return `${e.reason}: restoring: ${e.detail}`;
    default:
      return `${e.event}: ${e.reason}; the config holds istioVersion ${e.config.istioVersion}${e.config.upgradeTo ? ` and ${e.config.upgradeTo}` : ""}, prod-stable → ${e.config.stableVersion}, prod-canary → ${e.config.canaryVersion}${e.restored ? "" : ` (not restored${e.restoreError ? `: ${e.restoreError}` : ""})`}`;
  }
}

/** Exit codes: see USAGE. */
export async function main(argv: readonly string[], deps: UpgradeMainDeps): Promise<number> {
  const { io } = deps;
  const env = deps.env ?? process.env;
  const args = parseUpgradeArgs(argv, env);
  if (args === undefined) {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  const stackDeps = { projectRoot: deps.projectRoot, env, ...(deps.pulumi && { pulumi: deps.pulumi }) };
  if (args.dryRun) {
    const target = await resolveStack(args.target, stackDeps).catch(asCliError);
    const plan = planUpgrade(target.config, args.to, args.batch);
    io.stdout(args.json ? JSON.stringify(plan) : formatPlan(plan));
    return EXIT.ok;
  }

  // Everything the run needs, checked before the first change.
  const workspace = await (deps.workspace ?? ((s) => StackWorkspace.open(s, deps.projectRoot, env)))(args.target.stack);
  await workspace.preflight?.();
  const target = await resolveStack({ ...args.target, stack: workspace.stackName }, stackDeps).catch(asCliError);
  const plan = planUpgrade(target.config, args.to, args.batch);
  const session = deps.kubectl ? undefined : kubectlSession(target.cluster);
  const kubectl = deps.kubectl ?? (session as NonNullable<typeof session>).run;
  try {
    await checkWorkloads(plan, kubectl);
    const style = styleFor({ isTTY: io.isTTY }, env);
    const emit = (event: UpgradeEvent) => {
      if (args.json) io.stdout(JSON.stringify(event));
      else io.stdout(event.event === "step" ? style.bold(eventText(event)) : eventText(event));
    };
    if (!args.json) io.stdout(formatPlan(plan));
    const ctrlC = deps.ctrlC ?? new CtrlC(() => {});
    const state = deps.state ?? initialState(target.config);
    const verify = deps.verify ?? ((stack, stop) => verifyStack(deps.projectRoot, stack, args.offline, stop));
    const outcome = await runUpgrade(
      plan,
      {
        workspace,
        kubectl,
        verify: (stop) => verify(workspace.stackName, stop),
        emit,
        interrupt: ctrlC.signal,
        guardedUp: (up) => ctrlC.guardedUp(up, (line) => io.progress(line.trim())),
        rolloutTimeout: args.rolloutTimeout,
      },
      state,
    );
    if (outcome.status === "upgraded") return EXIT.ok;
    if (outcome.status === "interrupted") return EXIT.interrupted;
    io.stderr(`upgrade: ${outcome.reason}`);
    return EXIT.failed;
  } finally {
    session?.close();
  }
}

export function initialState(cfg: MeshConfig): UpgradeState {
  return { phase: "starting", step: undefined, config: revisionState(cfg), restarted: [] };
}

/** Every Deployment the plan restarts exists where the plan expects it (`kubectl get` fails with NotFound). */
async function checkWorkloads(plan: UpgradePlan, kubectl: Kubectl): Promise<void> {
  for (const w of [...plan.canary, ...plan.rest]) {
    await kubectl(["get", `deployment/${w.deployment}`, "--namespace", w.namespace, "--output", "name"]).catch(
      (error: unknown) => {
        const why = error instanceof KubectlError ? error.message : String(error);
        throw new CliError(`cannot restart ${workloadText(w)}: ${why} (nothing was changed)`, EXIT.usage);
      },
    );
  }
}

/**
 * `npm run verify` on the stack, as its own process: exit 0 passed,
 * 1 a check failed, 2 could not run (tools/verify/main.ts).
 */
function verifyStack(projectRoot: string, stack: string, offline: boolean, stop: AbortSignal): Promise<VerifyResult> {
  const argv = [
    path.join(projectRoot, "tools", "verify", "main.ts"),
    "--stack",
    stack,
    ...(offline ? ["--offline"] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...argv], {
      cwd: projectRoot,
      // Its report goes to our stderr, so --json keeps stdout to the upgrade's own events.
      stdio: ["ignore", 2, 2],
      signal: stop,
    });
    child.on("error", (error) => (stop.aborted ? resolve({ passed: false, summary: "interrupted" }) : reject(error)));
    child.on("close", (code) =>
      resolve({
        passed: code === 0,
        summary:
          code === 0
            ? "every check passed"
            : code === 1
              ? "a check failed (report above)"
              : `verify could not run (exit ${code})`,
      }),
    );
  });
}

const asCliError = (error: unknown): never => {
  if (error instanceof TargetError) throw new CliError(error.message);
  throw error;
};

if (require.main === module) {
  const argv = process.argv.slice(2);
  const state: UpgradeState = {
    phase: "starting",
    step: undefined,
    config: { istioVersion: "", upgradeTo: undefined, stableVersion: "", canaryVersion: "" },
    restarted: [],
  };
  const ctrlC = new CtrlC(
    () => {
      process.stderr.write(`\nupgrade: Ctrl-C again: ${abandonedState(state)}\n`);
      process.exit(EXIT.interrupted);
    },
    undefined,
    undefined,
    "moving the tags back and restarting what moved",
  );
  // Our own handler: Node's default would exit at once, and the exit would SIGTERM `pulumi up` (pulumiProcess.ts runPulumi).
  process.on("SIGINT", () => ctrlC.received());
  void runCli("upgrade", () =>
    main(argv, {
      projectRoot: projectRootFrom(process.cwd()) ?? path.resolve(__dirname, "..", ".."),
      io: terminalLineIo(),
      ctrlC,
      state,
    }),
  ).then((code) => {
    process.exitCode = code;
  });
}
