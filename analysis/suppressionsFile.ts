/** Suppressions files (`--suppressions FILE`); apart from suppressions.ts so the policy pack need not load a YAML parser. */
import * as YAML from "yaml";
import { list, record, text } from "../policies/lib/kube";
import { parseSuppression, type Suppression, SuppressionError } from "./suppressions";

/** A suppressions file: `suppressions: [{ code, resource, reason }]`. */
export function parseSuppressionsFile(content: string, file: string): Suppression[] {
  let doc: unknown;
  try {
    doc = YAML.parse(content);
  } catch (error) {
    throw new SuppressionError(`${file}: not YAML (${(error as Error).message.split("\n")[0]})`);
  }
  return list(record(doc).suppressions).map((entry, i) => {
    const e = record(entry);
    const [code, resource, reason] = [text(e.code), text(e.resource), text(e.reason)];
    if (!code || !resource || !reason?.trim()) {
      throw new SuppressionError(`${file}: suppressions[${i}] needs code, resource and reason`);
    }
    return parseSuppression(`${code}=${resource} # ${reason}`);
  });
}
