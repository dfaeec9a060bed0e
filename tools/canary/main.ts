/**
 * `npm run canary`: a gated progressive canary of user-service, driven from the stack itself.
 * The plan, gates, comparison and runner are pure (plan.ts, gates.ts, compare.ts, run.ts); this file
 * wires them to the stack through the Pulumi CLI (workspace.ts), the gateway (probe.ts) and Prometheus.
 */

import * as path from "node:path";
import { createInterface } from "node:readline/promises";
import { setTimeout as delay } from "node:timers/promises";
import { OBSERVABILITY_NAMESPACE, PROMETHEUS } from "../../components/observability/services";
import { BETA_HEADER } from "../../components/traffic/routes";
import type { MeshConfig } from "../../config/types";
import { CliError, EXIT, runCli } from "../lib/cli";
import { CtrlC } from "../lib/interrupt";
import { preflightStack, selectedStack } from "../lib/stackChecks";
import { beforeAnyChange, WORKSPACE_ENV } from "../lib/stackWorkspace";
import { styleFor } from "../lib/style";
import { type PulumiCli, projectRootFrom, resolveTarget, spawnPulumi, type Target, TargetError } from "../lib/target";
import { type LineIo, terminalLineIo } from "../lib/terminalIo";
import { describeSplit } from "../verify/checks/format";
import { clusterTransport } from "../verify/kube";
import { DEFAULT_ALPHA, splitTest } from "../verify/stats";
import { type CanaryArgs, parseCanaryArgs, USAGE } from "./args";
import { type CanaryEvent, humanLines, notificationBody } from "./events";
import type { SplitTest } from "./gates";
import { type CanaryPlan, type CanaryStep, formatWeights, planCanary } from "./plan";
import { probeUsers, safeRate } from "./probe";
import {
  describeRefusal,
  MIN_WINDOW_MS,
  metricsReporter,
  PrometheusError,
  type PromQuery,
  versionMetrics,
} from "./prometheus";
import { abandonedState, type CanaryState, type CanaryWorkspace, runCanary } from "./run";
import { PulumiCanaryWorkspace } from "./workspace";

export type CanaryIo = LineIo;

export interface CanaryMainDeps {
  readonly projectRoot: string;
  readonly io: CanaryIo;
  readonly env?: NodeJS.ProcessEnv;
  /** `pulumi` for reading the stack's config and outputs (default: the CLI on PATH). */
  readonly pulumi?: PulumiCli;
  /** The stack; real runs drive it through the Pulumi CLI (workspace.ts). */
  readonly workspace?: (stack: string) => Promise<CanaryWorkspace>;
  /** What `up` needs and `config set-all` does not check (default: the stack's passphrase and lock). */
  readonly preflight?: (stack: string) => Promise<void>;
  readonly wait?: (ms: number, stop: AbortSignal) => Promise<void>;
  /** PromQL through the API server's service proxy. */
  readonly prometheus?: (target: Target) => Promise<PromQuery>;
  readonly ctrlC?: CtrlC;
  readonly state?: CanaryState;
}

/** The verifier's split test at its false-alarm rate, as the canary gate uses it. */
export const verifierSplitTest: SplitTest = (counts, weights) => {
  const result = splitTest(counts, weights, { alpha: DEFAULT_ALPHA });
  const shares = `${describeSplit(result.shares)} of ${result.n}, p = ${result.pValue.toPrecision(2)}`;
  return { pass: result.verdict === "pass", summary: result.n > 0 ? shares : result.reason };
};

/** The user-service versions the canary moves between: the beta version is the canary. */
export function canaryVersions(cfg: MeshConfig): { stable: string; canary: string } {
  const versions = cfg.backend.services.find((s) => s.name === "user-service")?.versions.map((v) => v.version) ?? [];
  const stable = versions.find((v) => v !== cfg.betaVersion) ?? "v1";
  return { stable, canary: cfg.betaVersion };
}

export function buildPlan(cfg: MeshConfig, args: CanaryArgs): CanaryPlan {
  const { stable, canary } = canaryVersions(cfg);
  return planCanary({
    current: cfg.canaryWeights,
    stable,
    canary,
    to: args.to,
    step: args.step,
    shares: args.steps,
    pauseMs: args.pauseMs,
    gates: args.gates,
  });
}

export function formatPlan(plan: CanaryPlan, cfg: MeshConfig, args: CanaryArgs): string {
  const source = cfg.observability.enabled
    ? `Prometheus (reporter=${metricsReporter(cfg)}) over each interval`
    : "the probe's samples (observability is off)";
  const errors =
    plan.gates.maxErrorRate === undefined ? "not gated" : `≤ ${(plan.gates.maxErrorRate * 100).toFixed(2)}%`;
  return [
    `canary plan: ${plan.canary} from ${plan.from[plan.canary] ?? 0}% (now ${formatWeights(plan.from)})`,
    `  first: gate the weights deployed now${args.headerStage ? `; then the header stage (${BETA_HEADER}: beta → ${plan.canary})` : ""}`,
    ...(plan.steps.length === 0 ? ["  no steps: the stack is already there"] : []),
    ...plan.steps.map((s) => {
      const rate = safeRate(cfg, s.weights);
      const pace = rate === undefined ? "" : `, paced at ${rate.toFixed(2)} req/s for the rate limit`;
      return `  step ${s.index}/${plan.steps.length}: ${formatWeights(s.weights)}; up, ${plan.pauseMs / 1000}s interval, ${plan.gates.requests} requests${pace}`;
    }),
    `gates (from ${source}): split α = ${DEFAULT_ALPHA}; ${plan.canary} error rate ${errors}, p99 ≤ ${plan.gates.maxP99Ms} ms; vs ${plan.stable}: α = ${args.comparison.alpha} per test`,
    `a step fails after ${args.threshold} failed check(s); then: ${args.onFail === "pause" ? "restore the last good weights and pause (exit 3)" : "restore the last good weights (exit 1)"}`,
  ].join("\n");
}

/** Exit codes: see USAGE. */
export async function main(argv: readonly string[], deps: CanaryMainDeps): Promise<number> {
  const { io } = deps;
  const env = deps.env ?? process.env;
  const args = parseCanaryArgs(argv, env);
  if (args === undefined) {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  const pulumiDeps = {
    projectRoot: deps.projectRoot,
    requireConfig: true,
    ...(deps.pulumi && { pulumi: deps.pulumi }),
  };
  if (args.dryRun) {
    const target = await resolveTarget(args.target, pulumiDeps).catch(asCliError);
    const cfg = configOf(target);
    io.stdout(formatPlan(buildPlan(cfg, args), cfg, args));
    return EXIT.ok;
  }
  if (args.confirm && args.confirmUrl === undefined && !io.isTTY) {
    throw new CliError("--confirm needs a terminal to ask on, or --confirm-url: refusing to start and then hang");
  }

  // Everything the run needs, checked before the first change: the stack, its passphrase and lock,
  // its config and outputs, Prometheus.
  const instead = "--dry-run --config Pulumi.<stack>.yaml for the plan alone";
  const pulumi = deps.pulumi ?? spawnPulumi(deps.projectRoot, { env, instead });
  // The same `pulumi stack ls` as the upgrade's (stackWorkspace.ts open), its marker included.
  const stackLs = deps.pulumi ?? spawnPulumi(deps.projectRoot, { env: { ...env, ...WORKSPACE_ENV }, instead });
  const stackName =
    args.target.stack ?? (await selectedStack(stackLs).catch((error: unknown) => asCliError(beforeAnyChange(error))));
  await (deps.preflight ?? ((s) => preflightStack(deps.projectRoot, s, env)))(stackName);
  const target = await resolveTarget({ ...args.target, stack: stackName }, { ...pulumiDeps, pulumi }).catch(asCliError);
  const cfg = configOf(target);
  let query: PromQuery | undefined;
  if (cfg.observability.enabled) {
    if (args.pauseMs < MIN_WINDOW_MS) {
      throw new CliError(
        `--pause ${args.pauseMs / 1000}s is too short for the metrics window: at least ${MIN_WINDOW_MS / 1000}s (4 scrape intervals) (nothing was changed)`,
      );
    }
    query = await (deps.prometheus ?? prometheusViaApiServer)(target);
    await query("vector(1)").catch((error: unknown) => {
      throw new CliError(
        `Prometheus is needed by the gates and did not answer: ${(error as Error).message} (nothing was changed)`,
      );
    });
  } else if (args.gates.maxErrorRate !== undefined) {
    throw new CliError(
      "the error-rate gate needs Prometheus (observability.enabled): a client sees only what retries leave (3 retries make 30% failing attempts look like 0.8%); enable observability, or pass --max-error-rate none to gate on split and latency only (nothing was changed)",
    );
  }

  const plan = buildPlan(cfg, args);
  const workspace = await (deps.workspace ?? ((s) => PulumiCanaryWorkspace.open(s, deps.projectRoot, env)))(stackName);
  const style = styleFor({ isTTY: io.isTTY }, env);
  const ctrlC = deps.ctrlC ?? new CtrlC(() => {});
  const notify = args.notifyUrl;
  const emit = (event: CanaryEvent) => {
    if (args.json) io.stdout(JSON.stringify(event));
    else for (const line of humanLines(event, style)) io.stdout(line);
    if (notify)
      void postJson(notify, notificationBody(event, notify)).catch(() =>
        io.stderr(`canary: --notify-url ${notify} did not take the ${event.event} event`),
      );
  };
  if (!args.json) io.stdout(formatPlan(plan, cfg, args));
  const wait = deps.wait ?? waitFor;
  const state: CanaryState = deps.state ?? {
    phase: "starting",
    step: undefined,
    configWeights: plan.from,
    lastGood: undefined,
  };
  const outcome = await runCanary(
    plan,
    { threshold: args.threshold, headerStage: args.headerStage, onFail: args.onFail, comparison: args.comparison },
    {
      workspace,
      probe: (interval, stop) =>
        probeUsers({
          url: target.url,
          token: target.token,
          requests: args.gates.requests,
          ...(interval.beta && { headers: { [BETA_HEADER]: "beta" } }),
          rate: safeRate(cfg, interval.expected),
          timeoutMs: 15_000,
          sleep: (ms) => wait(ms, stop),
          stop,
          onProgress: (done) => io.progress(`sampling /users: ${done}/${args.gates.requests}`),
        }),
      metrics: async (windowMs) =>
        query ? versionMetrics(query, "user-service", windowMs, metricsReporter(cfg)) : undefined,
      splitTest: verifierSplitTest,
      wait,
      now: Date.now,
      ...(args.confirm && { confirm: (step: CanaryStep) => confirmStep(step, args.confirmUrl) }),
      emit,
      interrupt: ctrlC.signal,
      guardedUp: (up) => ctrlC.guardedUp(up, (line) => io.progress(line.trim())),
    },
    state,
  );
  switch (outcome.status) {
    case "promoted":
      return EXIT.ok;
    case "interrupted":
      return EXIT.interrupted;
    case "paused":
      io.stderr(
        `paused at ${formatWeights(outcome.weights)}: ${outcome.reason}. Resume with: npm run canary -- ${argv.join(" ")}`,
      );
      return 3;
    default:
      io.stderr(
        outcome.status === "failed"
          ? `failed: ${outcome.reason}; no weights have passed a gate on this stack, so the deployed ${formatWeights(outcome.weights)} stay`
          : `rolled back to ${formatWeights(outcome.weights)}: ${outcome.reason}`,
      );
      return EXIT.failed;
  }
}

function configOf(target: Target): MeshConfig {
  if (target.config === undefined) throw new CliError(`${target.source} gave no stack config`);
  return target.config;
}

const asCliError = (error: unknown): never => {
  if (error instanceof TargetError) throw new CliError(error.message);
  throw error;
};

async function waitFor(ms: number, stop: AbortSignal): Promise<void> {
  await delay(ms, undefined, { signal: stop }).catch(() => {});
}

async function postJson(url: string, body: string): Promise<Response> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`${response.status}`);
  return response;
}

/** A promotion waits for a 2xx from --confirm-url, or a "y" on the terminal. */
async function confirmStep(step: CanaryStep, url: string | undefined): Promise<boolean> {
  if (url !== undefined) {
    const event = { event: "confirm", step: step.index, weights: step.weights };
    return postJson(url, JSON.stringify(event)).then(
      () => true,
      () => false,
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`promote to ${formatWeights(step.weights)}? [y/N] `);
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

/**
 * Prometheus's query API through the API server's service proxy, with the target's cluster access
 * (kind: the stack's kubeconfig output; existing: the configured kubeconfig and context).
 */
async function prometheusViaApiServer(target: Target): Promise<PromQuery> {
  const api = await clusterTransport(target.cluster);
  if (api === undefined) throw new CliError("no kubeconfig context reaches the cluster, so Prometheus cannot be read");
  const base = `/api/v1/namespaces/${OBSERVABILITY_NAMESPACE}/services/${PROMETHEUS.name}:${PROMETHEUS.port}/proxy`;
  return async (promql) => {
    const reply = await api.get(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
    if (reply.status !== 200) throw new PrometheusError(describeRefusal(reply.status, reply.body));
    const result =
      (
        JSON.parse(reply.body) as {
          data?: { result?: { metric?: Record<string, string>; value?: [number, string] }[] };
        }
      ).data?.result ?? [];
    return result.map((r) => ({ metric: r.metric ?? {}, value: Number(r.value?.[1] ?? Number.NaN) }));
  };
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const state: CanaryState = { phase: "starting", step: undefined, configWeights: {}, lastGood: undefined };
  const ctrlC = new CtrlC(() => {
    process.stderr.write(`\ncanary: Ctrl-C again: ${abandonedState(state)}\n`);
    process.exit(EXIT.interrupted);
  });
  // Our own handler: Node's default would exit at once, and the exit would SIGTERM `pulumi up` (pulumiProcess.ts runPulumi).
  process.on("SIGINT", () => ctrlC.received());
  void runCli("canary", () =>
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
