import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { ConfigError } from "../../config/issues";
import { parseMeshConfig, type RawConfig } from "../../config/parse";
import { projectConfig } from "../../config/readers";
import type { MeshConfig } from "../../config/types";

export const PROJECT_ROOT = join(__dirname, "..", "..");

/** The dev stack's config map as the Pulumi.dev.yaml in this repo declares it. */
export function devStackConfig(): Record<string, unknown> {
  const file = parse(readFileSync(join(PROJECT_ROOT, "Pulumi.dev.yaml"), "utf8")) as {
    config: Record<string, unknown>;
  };
  return file.config;
}

export const devConfig = (): MeshConfig => parseMeshConfig(projectConfig(devStackConfig()));

/** A MeshConfig from raw keys (without the `istio-mesh:` prefix). */
export const meshConfig = (raw: RawConfig = {}): MeshConfig => parseMeshConfig(raw);

/** Flat `istio-mesh:key` → string map, the way the Pulumi CLI hands config to a program. */
export function asPulumiConfig(stack: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(stack).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

/** Parses `raw` expecting a ConfigError, and returns it; fails the test if the config is accepted. */
export function rejected(raw: RawConfig): ConfigError {
  try {
    parseMeshConfig(raw);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error;
  }
  return assert.fail(`config was accepted: ${JSON.stringify(raw)}`);
}
