/**
 * `pulumi config set [--path] <key> <value>` applied to a stack's `config:` map, as the Pulumi CLI
 * does: without --path the key is set whole (a JSON object stays a string, which the program decodes);
 * with --path, `a.b[0]` walks into objects and lists, creating them (pulumi/pulumi
 * sdk/go/common/resource/config/key.go and map.go: path segments are `.name`, `[index]`, `["name"]`).
 */

/** Shell words of a command line: quotes removed, stops at a comment or a shell operator. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"((?:\\.|[^"\\])*)"|(#.*$|&&|\|\||[;|])|([^\s'"]+)/g)) {
    if (m[3] !== undefined) break;
    words.push(m[1] ?? m[2]?.replace(/\\(.)/g, "$1") ?? m[4] ?? "");
  }
  return words;
}

export interface ConfigSet {
  readonly key: string;
  readonly path: boolean;
  readonly value: string;
}

/** The key and value of a `pulumi config set` line, or an error text. */
export function parseConfigSet(line: string): ConfigSet | string {
  const words = shellWords(line).slice(3);
  const path = words.includes("--path");
  const rest = words.filter((w) => !w.startsWith("--"));
  if (rest.length !== 2) return `expected a key and a value: ${line}`;
  return { key: rest[0] as string, path, value: rest[1] as string };
}

function segments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/\[(\d+)\]|\["([^"]+)"\]|([^.[\]]+)/g)) {
    out.push(m[1] !== undefined ? Number(m[1]) : (m[2] ?? (m[3] as string)));
  }
  return out;
}

export function applyConfigSet(config: Readonly<Record<string, unknown>>, set: ConfigSet): Record<string, unknown> {
  const copy = structuredClone(config) as Record<string, unknown>;
  if (!set.path) {
    copy[set.key] = set.value;
    return copy;
  }
  const [first, ...rest] = segments(set.key);
  if (typeof first !== "string") throw new Error(`${set.key}: a path starts with a key`);
  let node = copy as Record<string | number, unknown>;
  const path = [first, ...rest];
  path.forEach((segment, i) => {
    const next = path[i + 1];
    if (next === undefined) {
      node[segment] = set.value;
      return;
    }
    if (typeof node[segment] !== "object" || node[segment] === null) node[segment] = typeof next === "number" ? [] : {};
    node = node[segment] as Record<string | number, unknown>;
  });
  return copy;
}

/**
 * Stacks a documented command may be meant for: the dev stack, a stack on an existing cluster
 * (where the kind-only keys are refused and the existing-only ones are read), or a stack without the
 * egress gateway (which the ambient cells refuse: config/cell.ts).
 */
export const CANDIDATE_STACKS = (dev: Record<string, unknown>): Record<string, unknown>[] => [
  dev,
  { "istio-mesh:clusterMode": "existing" },
  { "istio-mesh:egressGateway": false },
];
