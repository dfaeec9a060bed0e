/**
 * Runs the analyzers over one input: findings deduplicated and sorted as istioctl prints them
 * (diag.Messages SortedDedupedCopy: origin, then code, then message), suppressions applied.
 */
import { ANALYZERS } from "./all";
import { AnalysisContext } from "./context";
import type { Level } from "./messages";
import { MESH } from "./messages";
import { type AnalysisInput, type Analyzer, type Finding, finding } from "./model";
import { type Suppression, suppressedBy } from "./suppressions";

export interface AnalysisResult {
  readonly findings: readonly Finding[];
  /** Findings a suppression hid, with the suppression (and its reason). */
  readonly suppressed: readonly { finding: Finding; by: Suppression }[];
  readonly counts: Readonly<Record<Level, number>>;
}

/** Kinds whose absence from `--files` input makes checks report every reference as missing. */
const WORKLOAD_KINDS = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"];

export function analyze(
  input: AnalysisInput,
  suppressions: readonly Suppression[] = [],
  analyzers: readonly Analyzer[] = ANALYZERS,
): AnalysisResult {
  const ctx = new AnalysisContext(input);
  const all = analyzers.flatMap((a) => a.analyze(ctx));
  if (input.mode === "files") all.push(...missingInputs(input));
  const seen = new Set<string>();
  const unique = all.filter((f) => {
    const key = `${f.origin}\u0000${f.code}\u0000${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  unique.sort(istioctlOrder);
  const findings: Finding[] = [];
  const suppressed: { finding: Finding; by: Suppression }[] = [];
  for (const f of unique) {
    const by = suppressedBy(f, suppressions);
    if (by) suppressed.push({ finding: f, by });
    else findings.push(f);
  }
  const counts = { Error: 0, Warning: 0, Info: 0 };
  for (const f of findings) counts[f.level]++;
  return { findings, suppressed, counts };
}

const LEVEL_ORDER: Record<Level, number> = { Error: 0, Warning: 1, Info: 2 };
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const comparator = (f: Finding) => `${f.resource.kind}/${f.resource.name}/${f.resource.namespace ?? ""}`;

/** diag.Messages.Sort: level (Error first), code, then the object as Kind/name/namespace, then the line. */
function istioctlOrder(a: Finding, b: Finding): number {
  return (
    LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] ||
    compare(a.code, b.code) ||
    compare(comparator(a), comparator(b)) ||
    compare(`${a.origin} ${a.message}`, `${b.origin} ${b.message}`)
  );
}

/** In `--files` mode, say which inputs the files lack instead of guessing what a chart would add. */
function missingInputs(input: AnalysisInput): Finding[] {
  const kinds = new Set(input.resources.map((r) => r.kind));
  const out: Finding[] = [];
  const note = (what: string) =>
    out.push(finding("input", { kind: "Input", name: "files", namespace: undefined }, MESH.MissingInput, [what]));
  if (!WORKLOAD_KINDS.some((k) => kinds.has(k))) {
    note("no Pod or Deployment: every workload selector (Gateway, subset, policy) reads as matching nothing");
  }
  if (!kinds.has("MutatingWebhookConfiguration"))
    note("no MutatingWebhookConfiguration: `image: auto` pods read as never injected");
  if (kinds.has("Gateway") && !kinds.has("Service"))
    note("no Service: Gateway ports cannot be matched to a gateway Service");
  return out;
}
