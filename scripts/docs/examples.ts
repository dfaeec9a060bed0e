/**
 * Every generated part of the docs, one entry each: which page, which marker, and how to produce
 * it by running the tool itself in-process (on the dev stack, or against the tests' stand-in
 * gateway where a tool needs a live mesh). `npm run docs:examples` writes them; the docs test
 * (tests/docsExamples.test.ts) fails when a page holds anything else.
 *
 * To add an example: put a `<!-- example:NAME:begin -->` / `<!-- example:NAME:end -->` pair in the
 * page and one entry below whose `produce` returns what the tool prints.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { readStackFile } from "../../config/stackFile";
import { GOOD, makeTestKeys, type StandinBehaviour, startStandin } from "../../tests/support/standinGateway";
import { formatText } from "../../tools/diff/format";
import { diffSnapshots } from "../../tools/diff/semanticDiff";
import { snapshotOf } from "../../tools/diff/snapshot";
import { meshGraph, meshTitle } from "../../tools/graph/graph";
import { toMermaid } from "../../tools/graph/mermaid";
import { toSvg } from "../../tools/graph/svg";
import { main as renderMain, renderMesh } from "../../tools/render/main";
import { main as tokenMain } from "../../tools/token/main";
import { main as verifyMain } from "../../tools/verify/main";
import { configReferenceMarkdown } from "./configReference";
import { productionValuesMarkdown } from "./production";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

export interface DocExample {
  /** The marker's name: `<!-- example:<name>:begin -->`. */
  readonly name: string;
  /** The page that holds it, relative to the project root. */
  readonly page: string;
  /** `text`: a fenced block of tool output; `markdown`: inserted as it is. */
  readonly format: "text" | "markdown";
  readonly produce: () => Promise<string>;
}

/** A whole generated file (the mesh picture), rather than a part of a page. */
export interface DocFile {
  readonly path: string;
  readonly produce: () => Promise<string>;
}

/** Collects what a tool's `io` receives. */
function collect() {
  const out: string[] = [];
  return {
    out,
    io: { stdout: (text: string) => out.push(text), stderr: (text: string) => out.push(text) },
    text: () => out.join("\n").replace(/\n+$/, ""),
  };
}

/**
 * What a tool writes with process.stdout.write while `run` runs (string writes only), uncoloured
 * even when `npm run docs:examples` runs on a terminal (NO_COLOR, as tools/lib/style.ts honours).
 */
async function captureStdout(run: () => Promise<unknown>): Promise<string> {
  const chunks: string[] = [];
  const write = process.stdout.write;
  const noColor = process.env.NO_COLOR;
  process.env.NO_COLOR = "1";
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === "string") {
      chunks.push(chunk);
      return true;
    }
    return (write as (...args: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    await run();
  } finally {
    process.stdout.write = write;
    if (noColor === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = noColor;
  }
  return chunks.join("").replace(/\n+$/, "");
}

const devStack = () => readStackFile(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"));

async function withTempDir<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), "docs-example-"));
  try {
    return await use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function renderExample(): Promise<string> {
  return withTempDir(async (dir) => {
    const out = path.join(dir, "dev");
    const run = collect();
    renderMain(["--stack", "dev", "--out", out], PROJECT_ROOT, run.io);
    // The temp dir stands in for the default output dir, so the line reads as a user sees it.
    return `$ npm run render -- --stack dev\n${run.text().replaceAll(out, "rendered/dev")}`;
  });
}

/** A throwaway key, so the example token is the same on every run; no stack uses it. */
const EXAMPLE_KEY = path.join(__dirname, "example-signing-key.pem");
const EXAMPLE_NOW = Date.UTC(2026, 0, 15, 9, 0, 0);

async function tokenExample(): Promise<string> {
  const run = collect();
  await tokenMain(
    // The stack file gives issuer and audiences without a Pulumi CLI; the key is the throwaway one.
    [
      ...["--sub", "alice", "--ttl", "1h", "--claim", "role=user"],
      ...["--config", path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), "--key-file", EXAMPLE_KEY],
    ],
    PROJECT_ROOT,
    run.io,
    { now: () => EXAMPLE_NOW },
  );
  const token = run.text();
  const [header = "", payload = ""] = token.split(".");
  const decode = (part: string) => JSON.stringify(JSON.parse(Buffer.from(part, "base64url").toString("utf8")));
  return [
    "$ npm run -s token -- --sub alice --ttl 1h --claim role=user",
    token,
    "",
    "# the same token's header and claims, base64url-decoded:",
    decode(header),
    decode(payload),
  ].join("\n");
}

/**
 * The dev stack before and after a change (75/25 split, the /orders fault removed, a higher rate
 * limit), rendered and compared in-process as `npm run diff` does for a commit and the working
 * tree; the base commit is therefore a placeholder.
 */
async function meshDiffExample(): Promise<string> {
  const before = devStack();
  const { "istio-mesh:faults": faults, ...rest } = before;
  const { "order-service": _removed, ...otherFaults } = faults as Record<string, unknown>;
  const after = {
    ...rest,
    "istio-mesh:faults": otherFaults,
    "istio-mesh:canaryWeights": { v1: 75, v2: 25 },
    "istio-mesh:rateLimit": { requests: 200, per: "60s" },
  };
  const changes = diffSnapshots(snapshotOf(renderMesh(before)), snapshotOf(renderMesh(after)));
  const text = formatText(changes, { stack: "dev", baseRef: "HEAD", baseCommit: "000000000000" });
  return `$ npm run diff -- --base HEAD   # after a 75/25 shift, the /orders fault removed, rateLimit 200/60s\n${text.trimEnd()}`;
}

/** The stand-in's config: the dev stack's shape with the rate-limit window shortened. */
const STANDIN_STACK = `config:
  istio-mesh:canaryWeights: { v1: 90, v2: 10 }
  istio-mesh:rateLimit: { requests: 400, per: 1s }
`;

/** `npm run verify` against the stand-in, with `change` made to its good behaviour. */
async function verifyExample(args: readonly string[], change: Partial<StandinBehaviour> = {}): Promise<string> {
  const keys = await makeTestKeys();
  const standin = await startStandin({ seed: 7, ...GOOD, ...change }, keys);
  try {
    return await withTempDir(async (dir) => {
      writeFileSync(path.join(dir, "Pulumi.standin.yaml"), STANDIN_STACK);
      writeFileSync(path.join(dir, "ca.pem"), keys.ca.cert);
      const output = await captureStdout(() =>
        verifyMain([
          "--config",
          path.join(dir, "Pulumi.standin.yaml"),
          "--url",
          standin.httpUrl,
          "--https-url",
          standin.httpsUrl,
          "--token",
          keys.validToken,
          "--ca-cert",
          path.join(dir, "ca.pem"),
          ...args,
          "--seed",
          "42",
        ]),
      );
      // The stand-in listens on a free port, different on every run.
      return `$ npm run verify -- ${args.join(" ")}\n${output.replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>")}`;
    });
  } finally {
    await standin.close();
  }
}

export const DOC_EXAMPLES: readonly DocExample[] = [
  {
    name: "config-reference",
    page: "docs/configuration.md",
    format: "markdown",
    produce: async () => configReferenceMarkdown(),
  },
  {
    name: "production-values",
    page: "docs/production.md",
    format: "markdown",
    produce: async () => productionValuesMarkdown(),
  },
  { name: "render", page: "docs/render.md", format: "text", produce: renderExample },
  { name: "token", page: "docs/security.md", format: "text", produce: tokenExample },
  { name: "mesh-diff", page: "docs/guardrails-and-ci.md", format: "text", produce: meshDiffExample },
  {
    name: "verify",
    page: "docs/verify.md",
    format: "text",
    produce: () => verifyExample(["--only", "https,canary-split,beta-header,jwt", "--requests", "300"]),
  },
  {
    name: "verify-faulty",
    page: "docs/verify.md",
    format: "text",
    // Skewed to 80/20 and without the rate-limit header.
    produce: () =>
      verifyExample(["--only", "canary-split", "--requests", "300"], {
        v2Share: 0.2,
        rateLimit: { perPod: 400, header: false },
      }),
  },
  {
    name: "graph-mermaid",
    page: "docs/graph.md",
    format: "markdown",
    produce: async () => `\`\`\`mermaid\n${toMermaid(meshGraph(devStack()))}\n\`\`\``,
  },
];

export const DOC_FILES: readonly DocFile[] = [
  { path: "docs/mesh-dev.svg", produce: async () => toSvg(meshGraph(devStack()), meshTitle("dev")) },
];

/** The text an example stands for between its markers. */
export async function exampleBlock(example: DocExample): Promise<string> {
  const content = await example.produce();
  return example.format === "text" ? `\`\`\`text\n${content}\n\`\`\`` : content;
}

export const readPage = (page: string) => readFileSync(path.join(PROJECT_ROOT, page), "utf8");
