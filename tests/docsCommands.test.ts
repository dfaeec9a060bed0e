import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, normalize } from "node:path";
import { describe, test } from "node:test";
import { parseStackConfig } from "../config/parse";
import { devStackConfig, PROJECT_ROOT } from "./support/configs";
import { applyConfigSet, CANDIDATE_STACKS, parseConfigSet } from "./support/pulumiConfigSet";

/**
 * The docs name commands, config keys, files and sections; each must exist. A stale name fails
 * here instead of failing the reader.
 */
const PAGES = [
  "README.md",
  ...readdirSync(join(PROJECT_ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];
const text = (page: string) => readFileSync(join(PROJECT_ROOT, page), "utf8");
const scripts = Object.keys(JSON.parse(text("package.json")).scripts as Record<string, string>);
const tracked = execFileSync("git", ["ls-files"], { cwd: PROJECT_ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
const trackedNames = new Set(tracked.map((f) => basename(f)));

/** Outputs and state the tools write (ignored by git), which the docs rightly name. */
const GENERATED = [
  /^rendered\//,
  /^\.pulumi-state\/?$/,
  /^node_modules\/?$/,
  /^kubeconfig\.yaml$/,
  /^Pulumi\.<stack>\.yaml$/,
];

/** Each occurrence with its page and line, for messages that point at it. */
function occurrences(pattern: RegExp): { page: string; line: number; match: RegExpMatchArray }[] {
  return PAGES.flatMap((page) =>
    text(page)
      .split("\n")
      .flatMap((content, i) => [...content.matchAll(pattern)].map((match) => ({ page, line: i + 1, match }))),
  );
}

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to `-`. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, "")
    .replace(/[^\p{L}\p{N} -]/gu, "")
    .replace(/ /g, "-");

function anchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of text(page)
    .replace(/```[\s\S]*?```/g, "")
    .matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(m[1] as string);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe("commands and names in the docs", () => {
  test("every `npm run <script>` is a script in package.json", () => {
    const missing = occurrences(/npm run(?: -s)? ([\w:-]*\w)/g)
      .filter((o) => !scripts.includes(o.match[1] as string))
      .map((o) => `${o.page}:${o.line}: npm run ${o.match[1]}`);
    assert.deepEqual(missing, []);
  });

  test("every script in package.json is documented", () => {
    const named = new Set(occurrences(/npm (?:run(?: -s)? )?([\w:-]*\w)/g).map((o) => o.match[1]));
    assert.deepEqual(
      scripts.filter((s) => !named.has(s)),
      [],
    );
  });

  test("every `pulumi config set istio-mesh:…` sets a key and value the parser accepts", () => {
    const sets = occurrences(/pulumi config set [^`\n]*/g).filter((o) => /istio-mesh:/.test(o.match[0]));
    assert.ok(sets.length >= 20, `only ${sets.length} found`);
    const refused = sets.flatMap((o) => {
      if (o.match[0].includes("…")) return [];
      const set = parseConfigSet(o.match[0]);
      if (typeof set === "string") return [`${o.page}:${o.line}: ${set}`];
      if (set.key.includes("<")) return [];
      const accepted = CANDIDATE_STACKS(devStackConfig()).some((stack) => {
        try {
          parseStackConfig(applyConfigSet(stack, set));
          return true;
        } catch {
          return false;
        }
      });
      return accepted ? [] : [`${o.page}:${o.line}: ${o.match[0]}`];
    });
    assert.deepEqual(refused, []);
  });

  test("every repository path the docs name in backticks exists", () => {
    const roots = new Set(tracked.map((f) => f.split("/")[0]));
    const missing = occurrences(/`([^`\s]+)`/g).flatMap((o) => {
      const name = (o.match[1] as string).replace(/[:,.]$/, "").replace(/:\d+$/, "");
      if (/[<>*…$~{}=@]|^\.\.?\/|^https?:|^-/.test(name) || GENERATED.some((g) => g.test(name))) return [];
      const first = name.split("/")[0] as string;
      if (name.includes("/") && roots.has(first)) {
        const exists = existsSync(join(PROJECT_ROOT, name));
        return exists ? [] : [`${o.page}:${o.line}: ${name}`];
      }
      // A bare file name of ours (a script, a page, a module) must be one the repository has.
      if (!name.includes("/") && /\.(?:ts|sh|md)$/.test(name) && !trackedNames.has(name)) {
        return [`${o.page}:${o.line}: ${name}`];
      }
      return [];
    });
    assert.deepEqual(missing, []);
  });

  test("the layout tree in docs/design.md names paths that exist, and every tool folder", () => {
    const page = text("docs/design.md");
    const tree = page.slice(page.indexOf("## Layout"), page.indexOf("## ", page.indexOf("## Layout") + 3));
    const block = tree.slice(tree.indexOf("```\n") + 4, tree.lastIndexOf("```"));
    const named = block
      .split("\n")
      .map((line) => line.split(/\s+/)[0] ?? "")
      .filter((first) => first !== "");
    assert.deepEqual(
      named.filter((p) => !existsSync(join(PROJECT_ROOT, p))),
      [],
    );
    const tools = readdirSync(join(PROJECT_ROOT, "tools")).map((t) => `tools/${t}/`);
    assert.deepEqual(
      tools.filter((t) => !named.includes(t)),
      [],
    );
  });

  test("every relative link and #anchor resolves", () => {
    const broken = occurrences(/\]\(([^)\s]+)\)/g).flatMap((o) => {
      const target = o.match[1] as string;
      if (/^(?:https?|mailto):/.test(target)) return [];
      const [file = "", anchor] = target.split("#");
      const page = file === "" ? o.page : normalize(join(dirname(o.page), file));
      if (!existsSync(join(PROJECT_ROOT, page))) return [`${o.page}:${o.line}: ${target} (no such file)`];
      if (anchor !== undefined && page.endsWith(".md") && !anchors(page).has(anchor)) {
        return [`${o.page}:${o.line}: ${target} (no such section)`];
      }
      return [];
    });
    assert.deepEqual(broken, []);
  });
});
