/**
 * docs/production.md's table of what the production profile changes: the two profiles' Helm values
 * compared leaf by leaf (so the table is the overlay's real effect, not a copy of it), each row with
 * its source from components/controlPlane/production.ts, then what production adds beside the charts.
 */
import { sourceOf } from "../../components/controlPlane/production";
import { buildMeshSpec, helmReleases } from "../../components/meshSpec";
import { parseMeshConfig } from "../../config/parse";

const EXISTING = { clusterMode: "existing" } as const;
/** The values revisions set (on by default in production with sidecars), and where they are explained. */
const REVISION_KEYS = ["revision", "defaultRevision"];
const REVISION_SOURCE = "revisions, on by default in production: [Upgrades](upgrade.md)";

/** The value at a dotted path of a values tree; `undefined` when absent. */
function at(values: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], values);
}

/** Leaf paths, lists as leaves (Helm replaces them whole). */
function leaves(value: unknown, prefix = ""): string[] {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

/** A cell: short values as code; a topology spread as its keys and modes; absent as the chart's default. */
function cell(value: unknown): string {
  if (value === undefined) return "(chart default)";
  if (Array.isArray(value) && value.every((c) => typeof c === "object" && c !== null && "topologyKey" in c)) {
    return value
      .map((c) => `\`${(c as Record<string, string>).topologyKey}\` ${(c as Record<string, string>).whenUnsatisfiable}`)
      .join(", ");
  }
  if (Array.isArray(value)) {
    return value
      .map((p) => {
        const { name, port, nodePort } = p as Record<string, unknown>;
        return `${name}:${port}${nodePort === undefined ? "" : ` (NodePort ${nodePort})`}`;
      })
      .join(", ");
  }
  return `\`${JSON.stringify(value)}\``;
}

export function productionValuesMarkdown(): string {
  const lab = helmReleases(buildMeshSpec(parseMeshConfig({ ...EXISTING, profile: "lab" })));
  const production = helmReleases(buildMeshSpec(parseMeshConfig(EXISTING)));
  const sections: string[] = [];
  for (const release of production) {
    // By chart and namespace: production's istiod is the revision `istiod-1-30-3` where the lab's is `istiod`.
    const labRelease = lab.find((r) => r.chart === release.chart && r.namespace === release.namespace);
    const before = labRelease?.values;
    const paths = [...new Set([...leaves(release.values), ...leaves(before ?? {})])];
    const lines = paths.flatMap((path) => {
      const [was, now] = [at(before, path), at(release.values, path)];
      if (JSON.stringify(was) === JSON.stringify(now)) return [];
      const source = REVISION_KEYS.includes(path) ? REVISION_SOURCE : sourceOf(path);
      return [`- \`${path}\`: ${cell(was)} → ${cell(now)} (${source})`];
    });
    if (release.name === "istio-ingressgateway") {
      lines.push(
        "- `service.annotations`: none → `istio-mesh:ingressServiceAnnotations` (the cloud's load-balancer controller)",
      );
    }
    const renamed = labRelease && labRelease.name !== release.name ? `, the lab's \`${labRelease.name}\`` : "";
    if (lines.length > 0) {
      sections.push([`**${release.name}**${renamed} (lab → production):`, "", ...lines].join("\n"));
    }
  }
  return sections.join("\n\n");
}
