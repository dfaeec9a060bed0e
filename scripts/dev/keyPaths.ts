/** Leaf key paths of a values tree; an empty map `{}` is recorded as `path.*` since any key may go in it. */
export function keyPaths(value: unknown, prefix = "", out: string[] = []): string[] {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0 && prefix) out.push(`${prefix}.*`);
    for (const [k, v] of entries) keyPaths(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.push(prefix);
  }
  return out;
}
