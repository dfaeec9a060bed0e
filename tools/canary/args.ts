/** `npm run canary` flags → a checked request. Every bad flag is reported at once, like config issues. */
import { durationMillis } from "../../config/readers";
import { CliError, EXIT, parseCli, stackChoice } from "../lib/cli";
import { TARGET_OPTIONS, TARGET_USAGE, type TargetFlags, targetFlags } from "../lib/target";
import { type ComparisonSettings, DEFAULT_COMPARISON } from "./compare";
import type { GateThresholds } from "./plan";

export const USAGE = `usage: npm run canary -- (--to PERCENT [--step 10] | --steps 5,10,25,50,100) [options]

Moves istio-mesh:canaryWeights toward the canary version in steps, on the stack \`pulumi\` would use
(--stack, else STACK, else the selected stack), through the Pulumi CLI. Before changing
anything it checks the passphrase, the stack's lock, its outputs and Prometheus, then gates the weights
deployed now (a resumed run never assumes they are good). Each step: set the config, \`pulumi up\`
(only the routing objects change), sample for --pause, gate. Any failure (a gate, \`up\`, a policy
violation, a lock, Prometheus or the API server, Ctrl-C) puts back the last weights that passed a gate
(kept in the stack tag istio-mesh:canary-last-good), applies them, then says what happened.

steps
  --to PERCENT             canary share to end at, 0–100 (0 moves traffic back to the stable version)
  --step PERCENT           share moved per step with --to, 1–100 (default 10)
  --steps 5,10,25,50,100   explicit canary shares, in order (Argo Rollouts' setWeight list)
  --header-stage           first, for one interval, only requests with x-user-type: beta reach the
                           canary (the routes always send them there); they are judged like a step
  --pause 60s              each step's analysis interval: the probe samples during it and the metrics
                           window spans it (default 60s; with Prometheus at least 4 scrape intervals)
  --threshold K            failed checks before a step fails, each a fresh interval (default 1)
  --confirm                wait for a person (a prompt on a TTY) before each promotion...
  --confirm-url URL        ...or for this URL to answer 2xx to a POST of the step's event
  --on-fail rollback|pause rollback (default): restore the last good weights, exit 1; pause: restore
                           them and exit 3 with the command that resumes
  --dry-run                print the plan and change nothing

gates, at every interval with canary traffic
  --requests N             requests through the gateway per interval (default 300), paced under the
                           rate limit; the split test is the verifier's exact test at α = 0.001
  --max-error-rate 1%      highest canary share of failed attempts (default 1%), from Prometheus
                           (reporter="destination": each retry is an attempt); "none" turns it off.
                           Without observability it is refused: retries hide failures from a client
                           (3 retries make a 30% attempt failure rate look like 0.8%)
  --max-p99 500ms          highest canary p99 latency (default 500ms)
  --alpha 0.01             canary vs stable, each one-sided test (default ${DEFAULT_COMPARISON.alpha}): Fisher's exact
                           test on failed attempts, Mann–Whitney U on latencies (Prometheus histograms,
                           or the probe's own samples without observability)
  --min-error-diff 0.5%    smallest error-rate excess worth failing for (default ${DEFAULT_COMPARISON.minErrorDiff * 100}%)
  --min-slowdown 10%       smallest median slowdown worth failing for (default ${Math.round((DEFAULT_COMPARISON.minLatencyRatio - 1) * 100)}%)
  Each result prints its p-value and what the interval's sample size could detect.

output
  --json                   one JSON event per line (started, step, check, passed, failed, rolled back,
                           paused, promoted, interrupted) instead of the table
  --notify-url URL         POST each event as JSON; Slack-compatible (a "text" field; only "text" is
                           sent to a hooks.slack.com incoming webhook)

${TARGET_USAGE}
  A real run changes the stack through the Pulumi CLI, so --config goes with --dry-run only; --url
  overrides the gateway address, while the config still comes from the stack.

Exit status: 0 promoted (or the plan printed), 1 a gate or an operation failed (the last good weights
were restored), 2 could not start (nothing changed), 3 paused (--on-fail pause), 130 interrupted.`;

export interface CanaryArgs {
  readonly to: number | undefined;
  readonly step: number;
  readonly steps: readonly number[] | undefined;
  readonly headerStage: boolean;
  readonly pauseMs: number;
  readonly threshold: number;
  readonly confirm: boolean;
  readonly confirmUrl: string | undefined;
  readonly onFail: "rollback" | "pause";
  readonly gates: GateThresholds;
  readonly comparison: ComparisonSettings;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly notifyUrl: string | undefined;
  readonly target: TargetFlags;
}

const OPTIONS = {
  to: { type: "string" },
  step: { type: "string" },
  steps: { type: "string" },
  "header-stage": { type: "boolean" },
  pause: { type: "string" },
  threshold: { type: "string" },
  confirm: { type: "boolean" },
  "confirm-url": { type: "string" },
  "on-fail": { type: "string" },
  requests: { type: "string" },
  "max-error-rate": { type: "string" },
  "max-p99": { type: "string" },
  alpha: { type: "string" },
  "min-error-diff": { type: "string" },
  "min-slowdown": { type: "string" },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
  "notify-url": { type: "string" },
  ...TARGET_OPTIONS,
} as const;

/** undefined: --help was asked for. */
export function parseCanaryArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CanaryArgs | undefined {
  const parsed = parseCli("canary", argv, OPTIONS);
  if (parsed === undefined) return undefined;
  const values = parsed.values;
  const issues: string[] = [];
  const int = (flag: string, text: string | undefined, fallback: number, min: number, max: number) => {
    if (text === undefined) return fallback;
    const n = Number(text.replace(/%$/, ""));
    if (Number.isInteger(n) && n >= min && n <= max) return n;
    issues.push(`--${flag} ${JSON.stringify(text)}: an integer from ${min} to ${max}`);
    return fallback;
  };
  const millis = (flag: string, text: string) => {
    const ms = durationMillis(text);
    if (ms === undefined) issues.push(`--${flag} ${JSON.stringify(text)}: a duration such as 500ms, 60s, 2m`);
    return ms ?? 0;
  };
  const share = (flag: string, text: string, max = 100) => {
    const n = Number(text.replace(/%$/, ""));
    if (text.trim() !== "" && Number.isFinite(n) && n >= 0 && n <= max) return n / 100;
    issues.push(`--${flag} ${JSON.stringify(text)}: a percentage from 0 to ${max}, e.g. 1%`);
    return 0;
  };
  const url = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol))
      issues.push(`--${flag} ${text}: an http(s) URL`);
    return text;
  };

  const steps = values.steps === undefined ? undefined : parseSteps(values.steps, issues);
  if (steps === undefined && values.to === undefined) issues.push("--to PERCENT or --steps LIST is required");
  if (steps !== undefined && (values.to !== undefined || values.step !== undefined)) {
    issues.push("--steps lists every share: use it without --to and --step");
  }
  const onFailText = values["on-fail"] ?? "rollback";
  const onFail = onFailText === "pause" ? "pause" : "rollback";
  if (onFailText !== onFail) issues.push(`--on-fail ${JSON.stringify(onFailText)}: rollback or pause`);
  const alpha = Number(values.alpha ?? DEFAULT_COMPARISON.alpha);
  if (!(alpha > 0 && alpha < 0.5)) issues.push(`--alpha ${JSON.stringify(values.alpha)}: a number between 0 and 0.5`);
  const maxErrorRate =
    values["max-error-rate"] === "none" ? undefined : share("max-error-rate", values["max-error-rate"] ?? "1%");
  const dryRun = values["dry-run"] === true;
  if (values.config !== undefined && !dryRun) {
    issues.push("--config reads a stack file for --dry-run; a real run changes the stack through the Pulumi CLI");
  }
  const result: CanaryArgs = {
    to: values.to === undefined ? undefined : int("to", values.to, 0, 0, 100),
    step: int("step", values.step, 10, 1, 100),
    steps,
    headerStage: values["header-stage"] === true,
    pauseMs: millis("pause", values.pause ?? "60s"),
    threshold: int("threshold", values.threshold, 1, 1, 10),
    confirm: values.confirm === true || values["confirm-url"] !== undefined,
    confirmUrl: url("confirm-url", values["confirm-url"]),
    onFail,
    gates: {
      requests: int("requests", values.requests, 300, 10, 100_000),
      maxErrorRate,
      maxP99Ms: millis("max-p99", values["max-p99"] ?? "500ms"),
    },
    comparison: {
      alpha,
      minErrorDiff: share("min-error-diff", values["min-error-diff"] ?? `${DEFAULT_COMPARISON.minErrorDiff * 100}%`),
      minLatencyRatio: 1 + share("min-slowdown", values["min-slowdown"] ?? "10%", 1000),
    },
    dryRun,
    json: values.json === true,
    notifyUrl: url("notify-url", values["notify-url"]),
    target: { ...targetFlags(values), stack: stackChoice(values.stack, env) },
  };
  if (issues.length > 0) {
    throw new CliError(`${issues.join("\n")}\n(see npm run canary -- --help)`, EXIT.usage);
  }
  return result;
}

function parseSteps(text: string, issues: string[]): number[] {
  const shares = text.split(",").map((s) => Number(s.trim().replace(/%$/, "")));
  const valid = shares.length > 0 && shares.every((n) => Number.isInteger(n) && n >= 0 && n <= 100);
  if (!valid)
    issues.push(`--steps ${JSON.stringify(text)}: comma-separated integers from 0 to 100, e.g. 5,10,25,50,100`);
  return valid ? shares : [];
}
