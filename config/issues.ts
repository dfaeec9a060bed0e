/** Collects every config problem so one run reports all of them, not the first. */

export interface ConfigIssue {
  /** Full key path, e.g. `istio-mesh:canaryWeights.v3`. */
  readonly key: string;
  readonly value: unknown;
  /** What would have been accepted. */
  readonly allowed: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(formatIssues(issues));
    this.name = "ConfigError";
  }
}

export function formatIssues(issues: readonly ConfigIssue[]): string {
  const count = issues.length === 1 ? "1 invalid config value" : `${issues.length} invalid config values`;
  const lines = issues.map((i) => `  - ${i.key} = ${showValue(i.value)}: ${i.allowed}`);
  return [`istio-mesh: ${count}:`, ...lines].join("\n");
}

function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
