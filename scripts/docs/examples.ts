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
import { canary, closeGateways, world } from "../../tests/support/canaryWorld";
import { GOOD, makeTestKeys, type StandinBehaviour, startStandin } from "../../tests/support/standinGateway";
import { writeStubKubectl } from "../../tests/support/stubKubectl";
import { main as analyzeMain } from "../../tools/analyze/main";
import { main as benchMain } from "../../tools/bench/main";
import { formatReport } from "../../tools/bench/report";
import type { BenchReport } from "../../tools/bench/run";
import { diffDrawings } from "../../tools/diff/drawing";
import { formatText } from "../../tools/diff/format";
import { diffSnapshots } from "../../tools/diff/semanticDiff";
import { snapshotOf } from "../../tools/diff/snapshot";
import { meshGraph, meshTitle } from "../../tools/graph/graph";
import { toMermaid } from "../../tools/graph/mermaid";
import { toSvg } from "../../tools/graph/svg";
import { PLAIN } from "../../tools/lib/style";
import { main as policyMain } from "../../tools/policy/main";
import { main as renderMain, renderMesh } from "../../tools/render/main";
import { main as tokenMain } from "../../tools/token/main";
import { main as upgradeMain } from "../../tools/upgrade/main";
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
 * limit): the mesh diff's example and its drawing.
 */
function exampleChange(): { before: Record<string, unknown>; after: Record<string, unknown> } {
  const before = devStack();
  const { "istio-mesh:faults": faults, ...rest } = before;
  const { "order-service": _removed, ...otherFaults } = faults as Record<string, unknown>;
  const after = {
    ...rest,
    "istio-mesh:faults": otherFaults,
    "istio-mesh:canaryWeights": { v1: 75, v2: 25 },
    "istio-mesh:rateLimit": { requests: 200, per: "60s" },
  };
  return { before, after };
}

/**
 * The example change rendered and compared in-process, as `npm run diff` does for a commit and the
 * working tree; the base commit is therefore a placeholder.
 */
async function meshDiffExample(): Promise<string> {
  const { before, after } = exampleChange();
  const changes = diffSnapshots(snapshotOf(renderMesh(before)), snapshotOf(renderMesh(after)));
  const text = formatText(changes, { stack: "dev", baseRef: "HEAD", baseCommit: "000000000000" });
  return `$ npm run diff -- --base HEAD   # after a 75/25 shift, the /orders fault removed, rateLimit 200/60s\n${text.trimEnd()}`;
}

/** The upgrade's plan on the dev stack with revisions on, as `--dry-run` prints it from the stack file. */
async function upgradeExample(): Promise<string> {
  return withTempDir(async (dir) => {
    const file = path.join(dir, "Pulumi.dev.yaml");
    const config = { ...devStack(), "istio-mesh:revisions": { enabled: true } };
    writeFileSync(file, JSON.stringify({ config }));
    const run = collect();
    await upgradeMain(["--to", "1.30.4", "--dry-run", "--config", file], {
      projectRoot: PROJECT_ROOT,
      io: { ...run.io, progress: () => {}, isTTY: false },
    });
    return `$ npm run upgrade -- --to 1.30.4 --dry-run   # the dev stack with revisions.enabled\n${run.text()}`;
  });
}

/**
 * `npm run bench -- --in-cluster` against the stand-in kubectl (tests/support/stubKubectl.ts): it
 * answers as kubectl does and computes fortio's result from the Job's own flags, with these
 * per-path latencies and the proxies' usage as Prometheus would report it. The figures are the
 * stand-in's, not a cluster's: the page says so.
 */
async function benchInClusterExample(): Promise<string> {
  return withTempDir(async (dir) => {
    const kubectl = writeStubKubectl(dir);
    kubectl.behave({
      latencyMs: { baseline: [0.6, 1.0, 1.9, 4.1], mesh: [1.3, 2.4, 4.6, 9.8], ingress: [1.6, 2.9, 5.7, 12.3] },
      proxyUsage: { "fortio-mesh": [0.31, 58_000_000], "fortio-server-mesh": [0.27, 52_000_000] },
    });
    const run = collect();
    const code = await benchMain(
      ["--url", "http://127.0.0.1:1", "--in-cluster", "--rate", "1000", "--concurrency", "16", "--duration", "30s"],
      {
        projectRoot: PROJECT_ROOT,
        io: { ...run.io, progress: { isTTY: false, columns: 120, write: () => true } },
        pulumi: async () => {
          throw new Error("the Pulumi CLI does not run with --url");
        },
        kubectl: kubectl.bin,
        metricsLagMs: 0,
      },
    );
    if (code !== 0) throw new Error(`bench --in-cluster example: exit ${code}: ${run.text()}`);
    // The run's namespace is named from its start time.
    const text = run.text().replace(/mesh-bench-[a-z0-9]+/g, "mesh-bench-<run>");
    return `$ npm run bench -- --in-cluster --rate 1000 --concurrency 16 --duration 30s   # against the stand-in kubectl\n${text}`;
  });
}

/** `npm run diff -- --base HEAD --graph DIR`'s drawing of both sides of the example change. */
async function meshDiffDrawing(): Promise<string> {
  const { before, after } = exampleChange();
  const changes = diffDrawings("dev", "HEAD", before, after).find((d) => d.name.endsWith("-changes"));
  if (!changes) throw new Error("diffDrawings drew no changes picture");
  return toSvg(changes.graph, changes.title);
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

/** `npm run analyze` on the dev stack: the program's objects, no cluster, nothing that varies. */
async function analyzeExample(): Promise<string> {
  const run = collect();
  analyzeMain(["--stack", "dev"], PROJECT_ROOT, { ...run.io, style: PLAIN });
  return `$ npm run analyze -- --stack dev\n${run.text()}`;
}

/** `npm run policy` on the dev stack: the pack over the program's resources under Pulumi's mocks. */
async function policyExample(): Promise<string> {
  const run = collect();
  await policyMain(["--stack", "dev"], PROJECT_ROOT, { ...run.io, isTTY: false });
  return `$ npm run policy -- --stack dev\n${run.text()}`;
}

/**
 * What a bench run measured that differs on every run: throughput and every latency. The example
 * keeps the counts, statuses, drops and warnings (fixed by `--requests`, the stand-in's seed and
 * `--rate` × `--duration`) and shows each timing as `…`.
 */
function withoutTimings(report: BenchReport): BenchReport {
  const timingKeys = new Set(["requestsPerSecond", "achievedRate", "durationSeconds", "mean", "p50", "p90", "p99"]);
  const mask = (value: unknown, key = ""): unknown => {
    if (typeof value === "number") return timingKeys.has(key) || key === "p999" || key === "max" ? Number.NaN : value;
    if (Array.isArray(value)) return value.map((v) => mask(v));
    if (value && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, k)]));
    return value;
  };
  return mask(report) as BenchReport;
}

/** A masked figure keeps its width in the table ("NaNms" → "  …ms"), so columns stay aligned. */
const showMasked = (text: string) =>
  text
    .split("\n")
    .map((line) =>
      /^\S.*: (offered|warning)/.test(line)
        ? line.replaceAll("NaN", "…")
        : line.replaceAll("NaNms", "  …ms").replaceAll("NaN", "  …"),
    )
    .join("\n");

/**
 * `npm run bench` against the tests' stand-in gateway: /orders aborts 30% of requests (seeded), and
 * /users, with a valid token, meets a rate limit of 5 requests a minute per pod, so most answers are
 * 429 and the run says it measured the limit.
 */
async function benchExample(): Promise<string> {
  const keys = await makeTestKeys();
  const standin = await startStandin({ seed: 7, ...GOOD, rateLimit: { perPod: 5, perMs: 60_000, header: true } }, keys);
  try {
    return await withTempDir(async (dir) => {
      const stackFile = path.join(dir, "Pulumi.standin.yaml");
      writeFileSync(stackFile, STANDIN_STACK);
      const runs = [
        ["--requests", "400", "--concurrency", "4", "--path", "/orders", "--path", "/users"],
        // Connections to spare, so no request waits for one however slow this machine is: the counts
        // (0 dropped, the seeded stand-in's 500s) are the same on every run.
        ["--rate", "200", "--duration", "1s", "--concurrency", "100", "--path", "/orders"],
      ];
      const shown: string[] = [];
      for (const args of runs) {
        const run = collect();
        const target = ["--config", stackFile, "--url", standin.httpUrl, "--token", keys.validToken];
        const code = await benchMain([...target, ...args, "--json"], {
          projectRoot: PROJECT_ROOT,
          io: { ...run.io, progress: { isTTY: false, columns: 120, write: () => true } },
        });
        if (code !== 0) throw new Error(`bench example: exit ${code}: ${run.text()}`);
        const report = withoutTimings(JSON.parse(run.text()) as BenchReport);
        const text = showMasked(formatReport(report)).replaceAll(standin.httpUrl, "http://127.0.0.1:<port>");
        shown.push(`$ npm run bench -- --url http://127.0.0.1:<port> ${args.join(" ")}\n${text}`);
      }
      return shown.join("\n\n");
    });
  } finally {
    await standin.close();
  }
}

/**
 * The latency figures of a canary's gates: they differ on every run, so the example shows them as `…`.
 * Counts, weights, split figures and the detectable effects (from the sample sizes) stay.
 */
const withoutLatencies = (text: string) =>
  text
    .replace(/observed \d+(\.\d+)? ms/g, "observed … ms")
    .replace(/median canary \d+ ms vs stable \d+ ms \(×[\d.]+\)/g, "median canary … ms vs stable … ms (×…)")
    .replace(/P\(canary slower\) [\d.]+, Mann–Whitney p = [\d.e+-]+/g, "P(canary slower) …, Mann–Whitney p = …");

/**
 * `npm run canary` as its own process, through the Pulumi CLI, against the tests' strict stub
 * `pulumi` and a gateway answering with exactly the deployed split (tests/support/canaryWorld.ts).
 * Both versions answer alike on a loaded machine, so the latency gates are set where timing cannot
 * decide them; the weights and the split verdicts are exact.
 */
async function canaryExample(): Promise<string> {
  const stack = await world();
  try {
    const args = ["--steps", "20,50", "--pause", "100ms", "--requests", "200", "--max-error-rate", "none"];
    const loose = ["--max-p99", "60s", "--min-slowdown", "1000%"];
    const { code, stdout, stderr } = await canary(stack, [...args, ...loose]).done;
    if (code !== 0) throw new Error(`canary example: exit ${code}: ${stderr}`);
    return `$ npm run canary -- ${[...args, ...loose].join(" ")}\n${withoutLatencies(stdout).trimEnd()}`;
  } finally {
    closeGateways();
    rmSync(path.dirname(stack.project), { recursive: true, force: true });
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
  { name: "upgrade-plan", page: "docs/upgrade.md", format: "text", produce: upgradeExample },
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
  { name: "analyze", page: "docs/analyze.md", format: "text", produce: analyzeExample },
  { name: "policy", page: "docs/guardrails-and-ci.md", format: "text", produce: policyExample },
  { name: "bench", page: "docs/bench.md", format: "text", produce: benchExample },
  { name: "bench-in-cluster", page: "docs/bench.md", format: "text", produce: benchInClusterExample },
  { name: "canary", page: "docs/canary.md", format: "text", produce: canaryExample },
  {
    name: "graph-mermaid",
    page: "docs/graph.md",
    format: "markdown",
    produce: async () => `\`\`\`mermaid\n${toMermaid(meshGraph(devStack()))}\n\`\`\``,
  },
];

export const DOC_FILES: readonly DocFile[] = [
  { path: "docs/mesh-dev.svg", produce: async () => toSvg(meshGraph(devStack()), meshTitle("dev")) },
  { path: "docs/mesh-dev-diff.svg", produce: meshDiffDrawing },
];

/** The text an example stands for between its markers. */
export async function exampleBlock(example: DocExample): Promise<string> {
  const content = await example.produce();
  return example.format === "text" ? `\`\`\`text\n${content}\n\`\`\`` : content;
}

export const readPage = (page: string) => readFileSync(path.join(PROJECT_ROOT, page), "utf8");
