import { optional, type RawConfig, type Readers } from "./readers";
import { fieldsOf } from "./reference";
import type { MeshConfig, RevisionsConfig } from "./types";

/** istiod revisions and the revision tags (docs/upgrade.md); `npm run upgrade` moves them. */

const EXACT_VERSION = /^\d+\.\d+\.\d+$/;

/** `byDefault`: what `enabled` is when the stack does not say (on in the production profile's sidecar cells). */
export function parseRevisionsArea(
  raw: RawConfig,
  read: Readers,
  istioVersion: string,
  byDefault: boolean,
): RevisionsConfig {
  const unset: RevisionsConfig = { enabled: byDefault, stableVersion: istioVersion, canaryVersion: istioVersion };
  return optional(raw, "revisions", (v, k) => parseRevisions(read, k, v, istioVersion, byDefault)) ?? unset;
}

function parseRevisions(
  read: Readers,
  k: string,
  value: unknown,
  istioVersion: string,
  byDefault: boolean,
): RevisionsConfig | undefined {
  const fields = read.object(k, value, fieldsOf("revisions"));
  if (!fields) return undefined;
  const enabled = fields.enabled === undefined ? byDefault : read.bool(`${k}.enabled`, fields.enabled);
  const upgradeTo =
    fields.upgradeTo === undefined
      ? undefined
      : read.string(`${k}.upgradeTo`, fields.upgradeTo, EXACT_VERSION, 'an exact Istio release such as "1.30.4"');
  if (upgradeTo === istioVersion) {
    read.fail(`${k}.upgradeTo`, upgradeTo, `a release other than istioVersion (${istioVersion})`);
  }
  const installed = [istioVersion, ...(upgradeTo === undefined ? [] : [upgradeTo])];
  const tag = (field: "stableVersion" | "canaryVersion") => {
    const v = fields[field];
    if (v === undefined) return istioVersion;
    if (typeof v === "string" && installed.includes(v)) return v;
    return read.fail(
      `${k}.${field}`,
      v,
      `an installed release: ${installed.map((i) => JSON.stringify(i)).join(" or ")}`,
    );
  };
  const stableVersion = tag("stableVersion");
  const canaryVersion = tag("canaryVersion");
  if (enabled === false) {
    for (const field of ["upgradeTo", "stableVersion", "canaryVersion"] as const) {
      if (fields[field] !== undefined) read.fail(`${k}.${field}`, fields[field], "only with revisions.enabled true");
    }
  }
  if (enabled === undefined || stableVersion === undefined || canaryVersion === undefined) return undefined;
  return { enabled, ...(upgradeTo !== undefined && { upgradeTo }), stableVersion, canaryVersion };
}

/**
 * Ambient's ztunnel is one DaemonSet per node, and Istio's ambient upgrade guide upgrades it in place; a
 * revision per release covers istiod and sidecars only, and `npm run upgrade` does not drive ztunnel.
 */
export function revisionsCellRule(cfg: MeshConfig) {
  return cfg.revisions.enabled && cfg.cell.dataplane === "ambient"
    ? [
        {
          key: "revisions.enabled",
          value: true,
          reason:
            "ztunnel (one per node) is upgraded in place, as Istio's ambient upgrade guide does; npm run upgrade moves sidecar revisions only",
        },
      ]
    : [];
}
