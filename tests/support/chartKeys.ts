/** Checking Helm values against a snapshot of a chart's keys (see scripts/dev/*chart-keys.ts). */

/** Dotted paths of a values tree's leaves; lists count as leaves (Helm replaces them whole). */
export function leafPaths(value: unknown, prefix = ""): string[] {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

/**
 * True when `path` is a key the chart defines: listed itself, under an empty map of the chart's
 * (`parent.*`), or under one of `openMaps`, maps whose keys the chart passes through unchecked.
 */
export function isChartKey(known: readonly string[], openMaps: readonly string[], path: string): boolean {
  if (known.includes(path)) return true;
  const parents = path.split(".").map((_, i, parts) => parts.slice(0, i + 1).join("."));
  return parents.some((p) => known.includes(`${p}.*`) || openMaps.includes(p));
}
