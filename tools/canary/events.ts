/**
 * One event per thing that happens in a run: `--json` prints each as a line, `--notify-url` POSTs
 * each, and the human report is drawn from the same events (a table row per gate).
 */
import type { Style } from "../lib/style";
import type { GateResult } from "./gates";
import { formatWeights, type Weights } from "./plan";

export type CanaryEvent =
  | { event: "started"; stack: string; weights: Weights; lastGood: Weights | null }
  | { event: "step"; step: number; of: number; weights: Weights }
  | { event: "check"; stage: string; check: number; of: number; results: readonly GateResult[] }
  | { event: "passed"; stage: string; weights: Weights }
  | { event: "failed"; stage: string; failures?: readonly GateResult[]; reason?: string; weights?: Weights }
  | {
      event: "rolled back" | "paused" | "interrupted";
      reason: string;
      weights: Weights;
      restored: boolean;
      restoreError?: string;
    }
  | { event: "promoted"; weights: Weights };

/** One line a person (or Slack) reads. */
export function eventText(e: CanaryEvent): string {
  switch (e.event) {
    case "started":
      return `canary on stack ${e.stack}: now ${formatWeights(e.weights)}; last good ${e.lastGood ? formatWeights(e.lastGood) : "none recorded"}`;
    case "step":
      return `step ${e.step}/${e.of}: ${formatWeights(e.weights)}`;
    case "check":
      return `${e.stage}: check ${e.check}/${e.of}: ${e.results.map((r) => `${r.gate} ${r.verdict}`).join(", ")}`;
    case "passed":
      return `${e.stage} passed at ${formatWeights(e.weights)}`;
    case "failed":
      return `${e.stage} failed: ${e.reason ?? (e.failures ?? []).map((f) => f.gate).join(", ")}`;
    case "promoted":
      return `promoted: canaryWeights ${formatWeights(e.weights)}`;
    default:
      return `${e.event}: ${e.reason}; the stack ${e.restored ? "runs" : "holds in config (the restoring up failed)"} ${formatWeights(e.weights)}`;
  }
}

/** The human report: a table row per gate under each check, other events as one line. */
export function humanLines(e: CanaryEvent, style: Style): string[] {
  if (e.event !== "check") return [e.event === "step" ? style.bold(eventText(e)) : eventText(e)];
  const mark = (r: GateResult) =>
    r.verdict === "pass" ? style.pass("PASS") : r.verdict === "fail" ? style.fail("FAIL") : style.warn("N/A ");
  const width = Math.max(...e.results.map((r) => r.gate.length));
  return [
    `${e.stage}: gates${e.of > 1 ? ` (check ${e.check}/${e.of})` : ""}`,
    ...e.results.map((r) => `  ${mark(r)} ${r.gate.padEnd(width)}  expected ${r.expected}; observed ${r.observed}`),
  ];
}

/** Slack incoming webhooks take `text` (and reject what they do not know): send only that there. */
export function notificationBody(e: CanaryEvent, url: string): string {
  const text = `istio-mesh canary: ${eventText(e)}`;
  return JSON.stringify(new URL(url).hostname === "hooks.slack.com" ? { text } : { text, ...e });
}
