import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { commentMarker, formatMarkdown, formatText } from "../tools/diff/format";
import { type Io, main } from "../tools/diff/main";
import { diffSnapshots } from "../tools/diff/semanticDiff";
import { snapshotOf } from "../tools/diff/snapshot";
import { renderMesh } from "../tools/render/main";
import { devStackConfig, PROJECT_ROOT } from "./support/configs";

const header = { stack: "dev", baseRef: "main", baseCommit: "0123456789abcdef0123" };
const snapshot = (config: Record<string, unknown>) => snapshotOf(renderMesh(config));
const dev = devStackConfig();

/** The diff's lines without the header and the counts. */
function lines(base: Record<string, unknown>, head: Record<string, unknown>): string[] {
  return formatText(diffSnapshots(snapshot(base), snapshot(head)), header)
    .trim()
    .split("\n")
    .slice(1, -1);
}

describe("semantic diff of two configs", () => {
  test("a canary shift reads as weights per route, and nothing else changes", () => {
    assert.deepEqual(lines(dev, { ...dev, "istio-mesh:canaryWeights": { v1: 75, v2: 25 } }), [
      "~ VirtualService backend/app-routes: /users weights v1 90→75, v2 10→25",
      "~ VirtualService backend/user-service: user-service-canary weights v1 90→75, v2 10→25",
    ]);
  });

  test("faults, circuit breakers, an Istio upgrade and a dropped destination", () => {
    // Observability off on both sides: an upgrade also moves Grafana's dashboard URLs, which is noise here.
    const base = { ...dev, "istio-mesh:observability": { enabled: false } };
    const head = {
      ...base,
      "istio-mesh:canaryWeights": { v1: 0, v2: 100 },
      "istio-mesh:faults": { "product-service": { percent: 10, delay: "2s" } },
      "istio-mesh:circuitBreakers": { "user-service": { outlierDetection: { consecutive5xxErrors: 5 } } },
      "istio-mesh:istioVersion": "1.30.4",
    };
    assert.deepEqual(lines(base, head), [
      "~ HelmRelease istio-egress/istio-egressgateway: version: 1.30.3 → 1.30.4",
      "~ HelmRelease istio-ingress/istio-ingressgateway: version: 1.30.3 → 1.30.4",
      "~ HelmRelease istio-system/istio-base: version: 1.30.3 → 1.30.4",
      "~ HelmRelease istio-system/istiod: version: 1.30.3 → 1.30.4",
      "~ HelmRelease istio-system/istiod: values.global.tag: 1.30.3 → 1.30.4",
      "~ VirtualService backend/app-routes: /users weights v1 90→(none), v2 10→100",
      "~ VirtualService backend/app-routes: /products fault delay 5s 50% → delay 2s 10%",
      "~ VirtualService backend/app-routes: /orders fault abort 500 30% → none",
      "~ VirtualService backend/order-service: order-service fault abort 500 30% → none",
      "~ VirtualService backend/product-service: product-service fault delay 5s 50% → delay 2s 10%",
      "~ VirtualService backend/user-service: user-service-canary weights v1 90→(none), v2 10→100",
      "~ DestinationRule backend/user-service: spec.trafficPolicy.outlierDetection.consecutive5xxErrors: 3 → 5",
    ]);
  });

  test("objects that appear or go away are listed as added or removed", () => {
    const existing = { ...dev, "istio-mesh:clusterMode": "existing" };
    delete (existing as Record<string, unknown>)["istio-mesh:clusterName"];
    const changes = diffSnapshots(snapshot(dev), snapshot(existing));
    assert.deepEqual(
      changes.map((c) => [c.change, c.kind, c.id]),
      [["removed", "KindCluster", "lab-cluster"]],
    );
    assert.deepEqual(
      diffSnapshots(snapshot(existing), snapshot(dev)).map((c) => c.change),
      ["added"],
    );
  });

  test("file numbering and key order are no change; no change says so", () => {
    const files = renderMesh(dev);
    const renamed = files.map((f, i) => ({ ...f, path: f.path.replace(/^\d+-/, `${90 - i}-`) })).reverse();
    assert.deepEqual(diffSnapshots(snapshotOf(files), snapshotOf(renamed)), []);
    assert.equal(formatText([], header), "mesh diff, stack dev: main (0123456789ab) → working tree\nno mesh changes\n");
  });

  test("markdown for a PR comment: marker, counts and one table row per object, pipes escaped", () => {
    const changes = diffSnapshots(snapshot(dev), snapshot({ ...dev, "istio-mesh:canaryWeights": { v1: 75, v2: 25 } }));
    const md = formatMarkdown(
      [...changes, { change: "changed", kind: "ConfigMap", id: "a/b", details: ["x: a|b → c"] }],
      header,
    );
    assert.ok(md.startsWith(`${commentMarker("dev")}\n### Mesh diff: stack \`dev\``));
    assert.match(md, /`main` \(0123456789ab\) → this change: 3 changed, 0 added, 0 removed/);
    assert.match(md, /\| ~ \| VirtualService backend\/app-routes \| `\/users weights v1 90→75, v2 10→25` \|/);
    assert.match(md, /\| ~ \| ConfigMap a\/b \| `x: a\\\|b → c` \|/);
  });
});

describe("npm run diff between two commits (a throwaway git repo)", () => {
  let repo: string;
  const git = (...args: string[]) => {
    const r = spawnSync("git", ["-c", "user.name=test", "-c", "user.email=test@example.invalid", ...args], {
      cwd: repo,
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  const run = (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { stdout: (t) => out.push(t), stderr: (t) => err.push(t) };
    return { code: main(argv, repo, io, {}), stdout: out.join(""), stderr: err.join("") };
  };
  const edit = (file: string, from: string | RegExp, to: string) => {
    const path = join(repo, file);
    const text = readFileSync(path, "utf8");
    const next = text.replace(from, to);
    assert.notEqual(next, text, `${file}: nothing to replace`);
    writeFileSync(path, next);
  };

  before(() => {
    repo = mkdtempSync(join(tmpdir(), "mesh-diff-test-"));
    for (const entry of [
      "config",
      "components",
      "tools",
      "package.json",
      "tsconfig.json",
      "Pulumi.yaml",
      "Pulumi.dev.yaml",
    ]) {
      cpSync(join(PROJECT_ROOT, entry), join(repo, entry), { recursive: true });
    }
    symlinkSync(join(PROJECT_ROOT, "node_modules"), join(repo, "node_modules"));
    writeFileSync(join(repo, ".gitignore"), "node_modules\n");
    git("init", "-q", "-b", "main");
    git("add", "-A");
    git("commit", "-q", "-m", "base");
    // The second commit changes the stack file and a builder: the base must be rendered by its own code.
    edit("Pulumi.dev.yaml", /v1: 90\n(\s+)v2: 10/, "v1: 75\n$1v2: 25");
    edit("components/traffic/gateway.ts", 'hosts: ["*"]', 'hosts: ["*.example.com"]');
    git("commit", "-q", "-am", "shift the canary, narrow the gateway");
  });
  after(() => rmSync(repo, { recursive: true, force: true }));

  test("shows the stack change and the builder change, each rendered by its own commit's code", () => {
    const { code, stdout, stderr } = run(["--base", "HEAD~1"]);
    assert.equal(code, 0, stderr);
    const base = git("rev-parse", "HEAD~1");
    assert.equal(
      stdout,
      [
        `mesh diff, stack dev: HEAD~1 (${base.slice(0, 12)}) → working tree`,
        '~ Gateway backend/app-gateway: spec.servers[http].hosts: ["*"] → ["*.example.com"]',
        "~ VirtualService backend/app-routes: /users weights v1 90→75, v2 10→25",
        "~ VirtualService backend/user-service: user-service-canary weights v1 90→75, v2 10→25",
        "3 changed, 0 added, 0 removed",
        "",
      ].join("\n"),
    );
  });

  test("--markdown against HEAD, a stack that is new since the base, and the errors", () => {
    const unchanged = run(["--base", "HEAD", "--markdown"]);
    assert.match(unchanged.stdout, /^<!-- istio-mesh:mesh-diff stack=dev -->\n/);
    assert.match(unchanged.stdout, /→ this change: \*\*no mesh changes\*\*/);
    cpSync(join(repo, "Pulumi.dev.yaml"), join(repo, "Pulumi.staging.yaml"));
    const added = run(["--base", "HEAD", "--stack", "staging"]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /Pulumi.staging.yaml is new since HEAD: every object is added/);
    assert.match(added.stdout, /^\+ VirtualService backend\/app-routes$/m);
    assert.deepEqual(run(["--base", "no-such-ref"]).code, 2);
    assert.match(run(["--base", "no-such-ref"]).stderr, /--base no-such-ref is not a commit/);
    assert.equal(run([]).code, 2);
    assert.equal(run(["--base", "HEAD", "--stack", "nope"]).code, 2);
  });
});
