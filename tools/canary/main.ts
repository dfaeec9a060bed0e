/**
 * `npm run canary`: a gated progressive canary of user-service, driven from the stack itself.
 * Flags: `--help`. The plan, gates and runner are pure (plan.ts, gates.ts, run.ts); this file wires
 * them to the Pulumi Automation API, the gateway and Prometheus.
 */
import * as path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { OBSERVABILITY_NAMESPACE, PROMETHEUS } from "../../components/observability/services";
import type { MeshConfig } from "../../config/types";
import { type PulumiCli, resolveTarget, type Target, TargetError } from "../lib/target";
import { describeSplit } from "../verify/checks/format";
import { clusterTransport } from "../verify/kube";
import { DEFAULT_ALPHA, splitTest } from "../verify/stats";
import { type CanaryArgs, CanaryArgsError, parseCanaryArgs, USAGE } from "./args";
import { type CanaryHealth, type SplitSample, type SplitTest, sampledHealth } from "./gates";
import { type CanaryPlan, formatWeights, planCanary } from "./plan";
import { probeUsers, safeRate } from "./probe";
import { type PromQuery, prometheusHealth } from "./prometheus";
import { type CanaryState, type CanaryWorkspace, interruptionAdvice, runCanary } from "./run";
import { AutomationWorkspace } from "./workspace";

export interface CanaryIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** A one-line progress display; drawn only on a terminal. */
  readonly progress: (line: string) => void;
}

export interface CanaryMainDeps {
  readonly projectRoot: string;
  readonly io: CanaryIo;
  readonly pulumi?: PulumiCli;
  /** The stack; real runs use the Automation API. */
  readonly workspace?: (stack: string | undefined) => Promise<CanaryWorkspace>;
  readonly sleep?: (ms: number) => Promise<void>;
  /** PromQL through the API server's service proxy; absent: sampled health only. */
  readonly prometheus?: (target: Target) => Promise<PromQuery | undefined>;
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
    pauseMs: args.pauseMs,
    gates: args.gates,
  });
}

export function formatPlan(plan: CanaryPlan, cfg: MeshConfig): string {
  const health = cfg.observability.enabled
    ? "from Prometheus over the pause"
    : "from the sampled requests (observability is off)";
  const lines = [
    `canary plan: ${plan.canary} from ${plan.from[plan.canary] ?? 0}% (now ${formatWeights(plan.from)})`,
    ...(plan.steps.length === 0 ? ["  nothing to do: the stack is already there"] : []),
    ...plan.steps.map((s) => {
      const rate = safeRate(cfg, s.weights);
      const pace = rate === undefined ? "" : `, paced at ${rate.toFixed(2)} req/s for the rate limit`;
      return `  step ${s.index}/${plan.steps.length}: ${formatWeights(s.weights)}; up, wait ${plan.pauseMs / 1000}s, split test on ${plan.gates.requests} requests${pace}`;
    }),
    `gates at each step with canary traffic: split test α = ${DEFAULT_ALPHA}; ${plan.canary} error rate ≤ ${(plan.gates.maxErrorRate * 100).toFixed(2)}% and p99 ≤ ${plan.gates.maxP99Ms} ms, ${health}`,
    "on a failed gate: roll back to the last good weights and exit 1",
  ];
  return lines.join("\n");
}

/** Exit codes: 0 promoted (or the plan printed), 1 rolled back or could not run, 130 interrupted. */
export async function main(argv: readonly string[], deps: CanaryMainDeps): Promise<number> {
  const { io } = deps;
  try {
    const command = parseCanaryArgs(argv);
    if (command.help) {
      io.stdout(USAGE);
      return 0;
    }
    // The canary needs the stack's config: --url overrides the gateway address, not the stack.
    const target = await resolveTarget(command.target, {
      projectRoot: deps.projectRoot,
      requireConfig: true,
      ...(deps.pulumi && { pulumi: deps.pulumi }),
    });
    const cfg = target.config;
    if (cfg === undefined) throw new TargetError(`${target.source} gave no stack config`);
    const plan = buildPlan(cfg, command);
    io.stdout(formatPlan(plan, cfg));
    if (command.dryRun || plan.steps.length === 0) return 0;

    const workspace = await (deps.workspace ?? defaultWorkspace(deps))(command.target.stack);
    const sleep = deps.sleep ?? ((ms: number) => delay(ms));
    const query = cfg.observability.enabled ? await (deps.prometheus ?? prometheusViaApiServer)(target) : undefined;
    const state: CanaryState = deps.state ?? { phase: "idle", step: undefined, configWeights: {}, lastGood: {} };
    state.configWeights = cfg.canaryWeights;
    state.lastGood = cfg.canaryWeights;
    const outcome = await runCanary(
      plan,
      {
        workspace,
        probe: (requests, weights) =>
          probeUsers({
            url: target.url,
            token: target.token,
            requests,
            canary: plan.canary,
            rate: safeRate(cfg, weights),
            timeoutMs: 15_000,
            sleep,
            onProgress: (done) => io.progress(`sampling /users: ${done}/${requests}`),
          }),
        health: (windowMs, sample: SplitSample): Promise<CanaryHealth> =>
          query
            ? prometheusHealth(query, "user-service", plan.canary, windowMs)
            : Promise.resolve(sampledHealth(sample, plan.canary)),
        splitTest: verifierSplitTest,
        sleep: async (ms, onTick) => {
          for (let left = ms; left > 0; left -= 1000) {
            onTick(left);
            await sleep(Math.min(1000, left));
          }
        },
        log: io.stdout,
        progress: io.progress,
      },
      state,
    );
    if (outcome.status === "promoted") {
      io.stdout(`promoted: canaryWeights ${formatWeights(outcome.weights)}`);
      return 0;
    }
    io.stderr(
      [
        `rolled back to ${formatWeights(outcome.weights)}: step ${outcome.failedStep.index} (${formatWeights(outcome.failedStep.weights)}) failed`,
        ...outcome.failures.map((f) => `  ${f.gate}: expected ${f.expected}, observed ${f.observed}`),
      ].join("\n"),
    );
    return 1;
  } catch (error) {
    if (error instanceof CanaryArgsError || error instanceof TargetError) {
      io.stderr(error.message);
      return 1;
    }
    throw error;
  }
}

function defaultWorkspace(deps: CanaryMainDeps) {
  return async (stack: string | undefined) => {
    if (stack === undefined) {
      const names = await (deps.pulumi ?? (() => Promise.resolve("")))(["stack", "--show-name"]);
      stack = names.trim();
    }
    return AutomationWorkspace.select(stack, deps.projectRoot, (text) => deps.io.progress(text.trim()));
  };
}

/**
 * Prometheus's query API through the API server's service proxy, with the target's cluster access
 * (kind: the stack's kubeconfig output; existing: the configured kubeconfig and context).
 */
async function prometheusViaApiServer(target: Target): Promise<PromQuery | undefined> {
  const api = await clusterTransport(target.cluster);
  if (api === undefined) return undefined;
  const base = `/api/v1/namespaces/${OBSERVABILITY_NAMESPACE}/services/${PROMETHEUS.name}:${PROMETHEUS.port}/proxy`;
  return async (promql) => {
    const reply = await api.get(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
    if (reply.status !== 200) return undefined;
    const value = (JSON.parse(reply.body) as { data?: { result?: { value?: [number, string] }[] } }).data?.result?.[0]
      ?.value?.[1];
    return value === undefined ? undefined : Number(value);
  };
}

if (require.main === module) {
  const state: CanaryState = { phase: "idle", step: undefined, configWeights: {}, lastGood: {} };
  const argv = process.argv.slice(2);
  const tty = process.stderr.isTTY === true;
  process.on("SIGINT", () => {
    if (state.phase !== "idle" && state.phase !== "done") {
      process.stderr.write(`\n${interruptionAdvice(state, `npm run canary -- ${argv.join(" ")}`)}\n`);
    }
    process.exit(130);
  });
  main(argv, {
    projectRoot: path.resolve(__dirname, "..", ".."),
    io: {
      stdout: (line) => process.stdout.write(`${tty ? "\r\x1b[K" : ""}${line}\n`),
      stderr: (line) => process.stderr.write(`${tty ? "\r\x1b[K" : ""}${line}\n`),
      progress: (line) => {
        if (tty) process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 80) - 1)}`);
      },
    },
    state,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
