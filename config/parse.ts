import { CLUSTER_KEYS, parseClusterArea } from "./cluster";
import { EGRESS_KEYS, parseEgressArea } from "./egress";
import { ConfigError } from "./issues";
import { OBSERVABILITY_KEYS, parseObservabilityArea } from "./observability";
import { configKey, type RawConfig, Readers } from "./readers";
import { parseSecurityArea, SECURITY_KEYS } from "./security";
import { parseTrafficArea, TRAFFIC_KEYS } from "./traffic";
import type { MeshConfig } from "./types";

export type { RawConfig } from "./readers";

/**
 * Every key this program reads, by area; each area's module parses its own keys and README.md
 * documents each one.
 */
export const CONFIG_KEYS = [
  ...CLUSTER_KEYS,
  ...TRAFFIC_KEYS,
  ...SECURITY_KEYS,
  ...EGRESS_KEYS,
  ...OBSERVABILITY_KEYS,
] as const;

/**
 * Parses and validates the project's stack config. Collects every problem and throws one
 * ConfigError that lists them all; returns a complete MeshConfig with defaults applied.
 */
export function parseMeshConfig(raw: RawConfig): MeshConfig {
  const read = new Readers();
  for (const name of Object.keys(raw)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(name)) {
      read.fail(configKey(name), raw[name], `not a config key of this project; allowed: ${CONFIG_KEYS.join(", ")}`);
    }
  }

  const where = parseClusterArea(raw, read);
  const traffic = parseTrafficArea(raw, read);
  const security = parseSecurityArea(raw, read);
  const egress = parseEgressArea(raw, read);
  const observability = parseObservabilityArea(raw, read);

  if (read.issues.length > 0 || !where) throw new ConfigError(read.issues);
  return { ...where, ...traffic, security, egress, observability };
}
