/** `npm run canary` flags → a checked request. Every bad flag is reported at once, like config issues. */
import { parseArgs } from "node:util";
import { durationMillis } from "../../config/readers";
import { TARGET_OPTIONS, TARGET_USAGE, type TargetFlags, targetFlags } from "../lib/target";
import type { GateThresholds } from "./plan";

export const USAGE = `usage: npm run canary -- --to PERCENT [--step 10] [--pause 60s] [gates] [--dry-run]

Moves istio-mesh:canaryWeights toward the canary version in steps, on the selected stack, through the
Pulumi Automation API. Each step: set the config, \`pulumi up\` (only the routing objects change), wait
--pause, then gate. A failed gate rolls back to the last good weights and exits 1.

  --to PERCENT               canary share to end at, 0–100 (0 moves traffic back to the stable version)
  --step PERCENT             share moved per step, 1–100 (default 10)
  --pause 60s                wait after each up before gating (default 60s; also the metrics window)
  --dry-run                  print the plan (each step's weights and gates) and change nothing

gates, at every step with canary traffic:
  --requests N               requests through the gateway for the split test (default 300); paced so no
                             pod exceeds its rate-limit budget
  --max-error-rate 1%        highest canary 5xx share (default 1%)
  --max-p99 500ms            highest canary p99 latency (default 500ms)
  The split test is the verifier's exact test at α = 0.001. Error rate and p99 come from Prometheus
  (istio_requests_total and istio_request_duration_milliseconds of the canary's pods) when
  observability is on, otherwise from the sampled requests, where every 5xx counts against the canary.

${TARGET_USAGE}
  A real run changes the stack through the Pulumi CLI, so --config goes with --dry-run only; --url
  overrides the gateway address, while the config still comes from the stack.`;

export interface CanaryArgs {
  readonly to: number;
  readonly step: number;
  readonly pauseMs: number;
  readonly gates: GateThresholds;
  readonly dryRun: boolean;
  readonly target: TargetFlags;
  readonly help: false;
}

export type CanaryCommand = CanaryArgs | { readonly help: true };

export class CanaryArgsError extends Error {
  override name = "CanaryArgsError";
}

export function parseCanaryArgs(argv: readonly string[]): CanaryCommand {
  let values: ReturnType<typeof parse>["values"];
  try {
    ({ values } = parse(argv));
  } catch (error) {
    throw new CanaryArgsError(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (values.help) return { help: true };
  const issues: string[] = [];
  const int = (flag: string, text: string | undefined, fallback: number | undefined, min: number, max: number) => {
    if (text === undefined) {
      if (fallback === undefined) issues.push(`--${flag} is required: an integer from ${min} to ${max}`);
      return fallback ?? min;
    }
    const n = Number(text.replace(/%$/, ""));
    if (Number.isInteger(n) && n >= min && n <= max) return n;
    issues.push(`--${flag} ${JSON.stringify(text)}: an integer from ${min} to ${max}`);
    return min;
  };
  const millis = (flag: string, text: string) => {
    const ms = durationMillis(text);
    if (ms === undefined) issues.push(`--${flag} ${JSON.stringify(text)}: a duration such as 500ms, 60s, 2m`);
    return ms ?? 0;
  };
  const rate = (text: string) => {
    const n = Number(text.replace(/%$/, ""));
    if (Number.isFinite(n) && n >= 0 && n <= 100) return n / 100;
    issues.push(`--max-error-rate ${JSON.stringify(text)}: a percentage from 0 to 100, e.g. 1%`);
    return 0;
  };
  const dryRun = values["dry-run"] === true;
  if (values.config !== undefined && !dryRun) {
    issues.push("--config reads a stack file for --dry-run; a real run changes the stack through the Pulumi CLI");
  }
  const parsed: CanaryArgs = {
    to: int("to", values.to, undefined, 0, 100),
    step: int("step", values.step, 10, 1, 100),
    pauseMs: millis("pause", values.pause ?? "60s"),
    gates: {
      requests: int("requests", values.requests, 300, 10, 100_000),
      maxErrorRate: rate(values["max-error-rate"] ?? "1%"),
      maxP99Ms: millis("max-p99", values["max-p99"] ?? "500ms"),
    },
    dryRun,
    target: targetFlags(values),
    help: false,
  };
  if (issues.length > 0) throw new CanaryArgsError(`${issues.join("\n")}\n\n${USAGE}`);
  return parsed;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    options: {
      to: { type: "string" },
      step: { type: "string" },
      pause: { type: "string" },
      requests: { type: "string" },
      "max-error-rate": { type: "string" },
      "max-p99": { type: "string" },
      "dry-run": { type: "boolean" },
      ...TARGET_OPTIONS,
      help: { type: "boolean", short: "h" },
    },
  });
}
