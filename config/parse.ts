import { checkCell, parseCellArea } from "./cell";
import { parseClusterArea } from "./cluster";
import { PROJECT } from "./defaults";
import { parseEgressArea } from "./egress";
import { ConfigError, type ConfigIssue } from "./issues";
import { parseObservabilityArea } from "./observability";
import { parseProfileArea } from "./profile";
import { configKey, projectConfig, type RawConfig, Readers } from "./readers";
import { CONFIG_REFERENCE } from "./reference";
import { parseRevisionsArea } from "./revisions";
import { parseSecurityArea } from "./security";
import { closest, didYouMean } from "./suggest";
import { parseTrafficArea } from "./traffic";
import type { MeshConfig } from "./types";

export type { RawConfig } from "./readers";

/**
 * Every key this program reads, by area; each area's module parses its own keys and
 * docs/configuration.md documents each one (both from config/reference.ts).
 */
export const CONFIG_KEYS: readonly string[] = CONFIG_REFERENCE.map((k) => k.name);

/**
 * Keys of a stack file's `config:` map that look meant for this project but will not reach it: no
 * namespace at all (`canaryWeights:`), or a misspelt one (`istio-mseh:canaryWeights`). Neither would
 * reach this program's config, so a silently ignored setting is reported instead.
 */
export function strayKeyIssues(all: Readonly<Record<string, unknown>>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [key, value] of Object.entries(all)) {
    const colon = key.indexOf(":");
    const namespace = colon === -1 ? undefined : key.slice(0, colon);
    const name = colon === -1 ? key : key.slice(colon + 1);
    if (namespace === PROJECT) continue;
    if (namespace === undefined) {
      const known = CONFIG_KEYS.includes(name) ? name : closest(name, CONFIG_KEYS);
      const hint = known === undefined ? "" : `; did you mean ${configKey(known)}?`;
      issues.push({ key, value, allowed: `a key with the project's prefix, ${configKey("<key>")}${hint}` });
    } else if (closest(namespace, [PROJECT]) !== undefined) {
      issues.push({ key, value, allowed: `the project's prefix is ${PROJECT}:; did you mean ${configKey(name)}?` });
    }
  }
  return issues;
}

/**
 * A whole `namespace:key` config map (a stack file's, or Pulumi's at run time): stray keys and this
 * project's keys are reported together, in one ConfigError.
 */
export function parseStackConfig(all: Readonly<Record<string, unknown>>): MeshConfig {
  return parseMeshConfig(projectConfig(all), strayKeyIssues(all));
}

/**
 * Parses and validates the project's stack config. Collects every problem and throws one
 * ConfigError that lists them all; returns a complete MeshConfig with defaults applied.
 */
export function parseMeshConfig(raw: RawConfig, earlier: readonly ConfigIssue[] = []): MeshConfig {
  const read = new Readers();
  read.issues.push(...earlier);
  for (const name of Object.keys(raw)) {
    if (!CONFIG_KEYS.includes(name)) {
      read.fail(
        configKey(name),
        raw[name],
        `not a config key of this project; ${didYouMean(name, CONFIG_KEYS)}allowed: ${CONFIG_KEYS.join(", ")}`,
      );
    }
  }

  const profile = parseProfileArea(raw, read);
  const where = parseClusterArea(raw, read, profile.name);
  const cell = parseCellArea(raw, read);
  const traffic = parseTrafficArea(raw, read);
  const security = parseSecurityArea(raw, read);
  const egress = parseEgressArea(raw, read);
  const observability = parseObservabilityArea(raw, read);
  // Production installs istiod as a revision behind tags, as Istio's canary-upgrade guide runs it; ambient
  // refuses revisions (ztunnel upgrades in place), so there the default stays off; so it does when the
  // cluster's own istiod is used (its revisions are whoever installed it's).
  const revisionsByDefault =
    profile.name === "production" && cell.dataplane === "sidecar" && profile.existingIstio === undefined;
  const revisions = where && parseRevisionsArea(raw, read, where.istio.version, revisionsByDefault);
  if (revisions?.enabled && profile.existingIstio) {
    read.fail(
      `${configKey("revisions")}.enabled`,
      true,
      "false with existingIstio (istiod's revisions and tags belong to whoever installs istiod)",
    );
  }

  if (read.issues.length > 0 || !where || !revisions) throw new ConfigError(read.issues);
  const cfg: MeshConfig = { ...where, profile, cell, revisions, ...traffic, security, egress, observability };
  // What the cell cannot do is judged on a config that is otherwise valid, so each message is about the cell.
  checkCell(cfg, read);
  if (read.issues.length > 0) throw new ConfigError(read.issues);
  return cfg;
}
