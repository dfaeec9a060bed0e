/**
 * `npm run verify`: every check of the lab, against the live mesh, with sound statistics.
 * Run `npm run verify -- --help` for the options; README.md "Verify" explains the checks.
 */
import * as path from "node:path";
import mt19937 from "@stdlib/random-base-mt19937";
import { accessMatrix } from "../../components/security/accessMatrix";
import { CliError, EXIT, parseCli, reportFailure } from "../lib/cli";
import { styleFor } from "../lib/style";
import { type PulumiCli, resolveTarget, TARGET_OPTIONS, TARGET_USAGE, targetFlags } from "../lib/target";
import { HttpClient, probeTcp } from "./http";
import { clusterTransport } from "./kube";
import { BETA_SAMPLE, CLUSTER_CHECKS, DEFAULT_CONCURRENCY, DEFAULT_REQUESTS, delaySample, planChecks } from "./plan";
import { buildReport, formatTable } from "./report";
import { runChecks } from "./run";
import { DEFAULT_ALPHA, detectableRange, TARGET_POWER } from "./stats";
import { CHECK_NAMES, type CheckName, type ClusterTransport } from "./types";

const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Power figures for --help and README, computed exactly from the test at the default sizes. */
export function powerStatement(requests = DEFAULT_REQUESTS, alpha = DEFAULT_ALPHA): string {
  const [splitLo, splitHi] = detectableRange(requests, 0.1, { alpha });
  const [abortLo, abortHi] = detectableRange(requests, 0.3, { alpha });
  const delayN = delaySample(requests);
  const [delayLo, delayHi] = detectableRange(delayN, 0.5, { alpha });
  return [
    `Each statistical check fails a correct mesh with probability ≤ ${alpha} (exact two-sided binomial test).`,
    `At --requests ${requests} it fails with probability ≥ ${TARGET_POWER * 100}% when the true value is outside:`,
    `  canary split 90/10 (n=${requests}): v2 share ${pct(splitLo)}–${pct(splitHi)}`,
    `  abort fault 30% (n=${requests}):    ${pct(abortLo)}–${pct(abortHi)}`,
    `  delay fault 50% (n=${delayN}):      ${pct(delayLo)}–${pct(delayHi)}`,
  ].join("\n");
}

const help = (requests: number) => `usage: npm run verify -- [options]

Checks the running mesh against the stack's own parsed config: canary split, beta routing, faults,
JWT, rate limit, HTTPS, circuit breaker through the ingress gateway; access matrix, mTLS, egress,
control plane and observability inside the cluster. Only checks the config calls for run.

Expectations come from the stack's config, parsed by the program's own parseMeshConfig, so --url
does not replace the stack here: it overrides the gateway address of the stack or of --config.

${TARGET_USAGE}

Run:
  --only NAME[,NAME]      ${CHECK_NAMES.join(", ")}
  --requests N            canary-split and abort sample (default ${DEFAULT_REQUESTS}); delay sample N/5; beta ${BETA_SAMPLE}
  --concurrency N         requests in flight (default ${DEFAULT_CONCURRENCY})
  --seed N                seeds pacing jitter and request ids (default: random, printed)
  --offline               skip checks that need the internet (egress to httpbin.org)
  --json                  machine-readable report; when it could not run, {"passed": false, "error": "…"}
Exit status: 0 all passed, 1 a check failed, 2 could not run (bad flags, config, Pulumi CLI or
passphrase, unreachable gateway).

Pacing: with a rate limit, the canary split is paced so the busiest user-service pod stays at 75% of
its token refill (dev: ~4 min at the default N); lower --requests for a quicker, less sensitive run.

Statistics:
${powerStatement(requests)}
A full dev run has 3 statistical checks (split, delay rate, abort rate): a false alarm in any of them
has probability ≤ 0.3% (Bonferroni).
`;

const OPTIONS = {
  ...TARGET_OPTIONS,
  only: { type: "string" },
  requests: { type: "string" },
  concurrency: { type: "string" },
  seed: { type: "string" },
  offline: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
} as const;

/** The flags, checked; undefined for --help. */
function parseFlags(argv: readonly string[]) {
  const parsed = parseCli("verify", argv, OPTIONS);
  if (parsed === undefined) return undefined;
  const { values } = parsed;
  const positiveInt = (name: string, text: string | undefined, fallback: number, max: number) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new CliError(`--${name} ${text}: an integer from 1 to ${max}`);
    return n;
  };
  const only = values.only?.split(",").map((s) => s.trim());
  const unknown = only?.filter((n) => !(CHECK_NAMES as readonly string[]).includes(n)) ?? [];
  if (unknown.length > 0)
    throw new CliError(`--only ${unknown.join(",")}: not a check; allowed: ${CHECK_NAMES.join(", ")}`);
  return {
    ...values,
    only: only as CheckName[] | undefined,
    requests: positiveInt("requests", values.requests, DEFAULT_REQUESTS, 100_000),
    concurrency: positiveInt("concurrency", values.concurrency, DEFAULT_CONCURRENCY, 500),
    seed: positiveInt("seed", values.seed, Math.floor(Math.random() * 2 ** 31) + 1, 2 ** 31),
  };
}

/** --help at the sizes the other flags ask for, when they parse; else at the defaults. */
function helpFor(argv: readonly string[]): string {
  try {
    return help(parseFlags(argv.filter((a) => a !== "--help" && a !== "-h"))?.requests ?? DEFAULT_REQUESTS);
  } catch {
    return help(DEFAULT_REQUESTS);
  }
}

/** Seeded uniform [0, 1) from stdlib's Mersenne Twister. */
export function seededRandom(seed: number): () => number {
  const next = mt19937.factory({ seed });
  return () => next() / 2 ** 32;
}

function progressLine(): {
  start: (name: string) => void;
  update: (done: number, total: number) => void;
  end: () => void;
} {
  const tty = process.stderr.isTTY === true;
  let current = "";
  let last = 0;
  return {
    start: (name) => {
      current = name;
      if (tty) process.stderr.write(`\r\x1b[K${name} …`);
    },
    update: (done, total) => {
      const now = Date.now();
      if (!tty || (now - last < 100 && done < total)) return;
      last = now;
      process.stderr.write(`\r\x1b[K${current} ${done}/${total}`);
    },
    end: () => {
      if (tty) process.stderr.write("\r\x1b[K");
    },
  };
}

export interface VerifyDeps {
  readonly stdout: (text: string) => void;
  readonly stderr: (line: string) => void;
  readonly projectRoot: string;
  /** The Pulumi CLI (default: the real one, run in projectRoot). */
  readonly pulumi?: PulumiCli;
  /** STACK and PULUMI_CONFIG_PASSPHRASE* (default: process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

const processDeps: VerifyDeps = {
  stdout: (text) => process.stdout.write(text),
  stderr: (line) => process.stderr.write(`${line}\n`),
  projectRoot: PROJECT_ROOT,
};

/**
 * The CLI; never throws. A failure to run is one line on stderr and exit 2; with --json, stdout gets
 * `{"passed": false, "error": …}` too, so a CI step that keeps the file keeps why.
 */
export async function main(argv: readonly string[], deps: VerifyDeps = processDeps): Promise<number> {
  try {
    return await verify(argv, deps);
  } catch (error) {
    const code = reportFailure("verify", error, deps.stderr);
    if (argv.includes("--json")) {
      const message = error instanceof Error ? error.message : String(error);
      deps.stdout(`${JSON.stringify({ passed: false, exitCode: code, error: message }, null, 2)}\n`);
    }
    return code;
  }
}

async function verify(argv: readonly string[], deps: VerifyDeps): Promise<number> {
  const args = parseFlags(argv);
  if (args === undefined) {
    deps.stdout(helpFor(argv));
    return EXIT.ok;
  }
  const target = await resolveTarget(targetFlags(args), {
    projectRoot: deps.projectRoot,
    requireConfig: true,
    ...(deps.pulumi && { pulumi: deps.pulumi }),
    ...(deps.env && { env: deps.env }),
  });
  const cfg = target.config;
  if (cfg === undefined) throw new CliError(`${target.source} gives no stack config: pass --config`);
  let cluster: ClusterTransport | undefined;
  // Only a run with an in-cluster check loads the Kubernetes client (seconds of CPU) and reads a kubeconfig.
  if (CLUSTER_CHECKS.some((name) => args.only?.includes(name) ?? true)) {
    try {
      cluster = await clusterTransport(target.cluster);
    } catch (e) {
      throw new CliError(`cannot use the kubeconfig: ${(e as Error).message}`);
    }
  }
  const plan = planChecks(
    cfg,
    {
      token: target.token !== undefined,
      caCert: target.caCert !== undefined,
      httpsUrl: target.httpsUrl !== undefined,
      cluster: cluster !== undefined,
      offline: args.offline,
    },
    args.only,
  );
  const running = plan.filter((p) => p.skip === undefined).map((p) => p.name);
  const throughGateway = running.some((n) => !CLUSTER_CHECKS.includes(n));
  if (throughGateway) {
    try {
      await probeTcp(target.url);
    } catch (e) {
      throw new CliError(
        `cannot reach the ingress gateway at ${target.url}: ${(e as Error).message}. ` +
          "Is the stack up (npm run up)? For another address pass --url.",
      );
    }
  }
  const http = new HttpClient(args.concurrency);
  const progress = progressLine();
  try {
    const rows = await runChecks(
      plan,
      {
        cfg,
        target,
        options: {
          requests: args.requests,
          concurrency: args.concurrency,
          seed: args.seed,
          offline: args.offline,
          alpha: DEFAULT_ALPHA,
        },
        http,
        ...(cluster && { cluster }),
        accessCases: accessMatrix(cfg),
        progress: progress.update,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        random: seededRandom(args.seed),
      },
      progress.start,
    );
    progress.end();
    const report = buildReport(rows, {
      source: target.source,
      gateway: target.url,
      seed: args.seed,
      alpha: DEFAULT_ALPHA,
    });
    const table = () => formatTable(report, styleFor(process.stdout));
    deps.stdout(args.json ? `${JSON.stringify(report, null, 2)}\n` : `${table()}\n`);
    return report.passed ? EXIT.ok : EXIT.failed;
  } finally {
    http.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
