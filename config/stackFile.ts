/**
 * Reading a `Pulumi.<stack>.yaml` without the Pulumi CLI: render, token, the dev scripts and the
 * target resolver (bench, verify, canary, dashboards) share this.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { PROJECT } from "./defaults";
import { parseStackConfig } from "./parse";
import type { MeshConfig } from "./types";

/** A stack file that is missing or not shaped like one; reported without a stack trace. */
export class StackFileError extends Error {
  override name = "StackFileError";
}

/** The stack file's `config:` map (full `namespace:key` keys, real YAML types); `{}` when it has none. */
export function readStackFile(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new StackFileError(`stack file not found: ${file}`);
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(file, "utf8"));
  } catch (error) {
    if (error instanceof YAML.YAMLError) throw new StackFileError(`${file}: ${error.message}`);
    throw error;
  }
  const config = typeof doc === "object" && doc !== null && "config" in doc ? doc.config : undefined;
  if (config === undefined || config === null) return {};
  if (typeof config !== "object" || Array.isArray(config))
    throw new StackFileError(`${file}: \`config:\` is not a map`);
  return config as Record<string, unknown>;
}

/** Pulumi's encrypted values are `{secure: ...}`; only `pulumi` itself can decrypt them. */
const holdsSecret = (value: unknown): boolean =>
  typeof value === "object" &&
  value !== null &&
  (("secure" in value && Object.keys(value).length === 1) || Object.values(value).some(holdsSecret));

/** This project's keys whose value (or a part of it) is encrypted in the stack file. */
export function secretProjectKeys(stackConfig: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(stackConfig).filter((k) => k.startsWith(`${PROJECT}:`) && holdsSecret(stackConfig[k]));
}

/** `Pulumi.<stack>.yaml` in `projectRoot`, parsed as the program parses its config. */
export function stackFileConfig(projectRoot: string, stack: string): MeshConfig {
  return parseStackConfig(readStackFile(path.join(projectRoot, `Pulumi.${stack}.yaml`)));
}
