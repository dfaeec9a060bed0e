import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import * as YAML from "yaml";
import { buildMeshSpec, helmReleases, ownedObjects } from "../components/meshSpec";
import { parseMeshConfig } from "../config/parse";
import { projectConfig } from "../config/readers";
import { type Io, main, RenderError, renderMesh } from "../tools/render/main";

// Real YAML types, as a stack file holds them (Pulumi itself would hand over JSON strings).
const STACK_CONFIG = {
  "istio-mesh:canaryWeights": { v1: 90, v2: 10 },
  "istio-mesh:faults": { "product-service": { percent: 50, delay: "5s" } },
  "kubernetes:context": "not this project's key",
};

const expectedSpec = (config: Record<string, unknown>) => buildMeshSpec(parseMeshConfig(projectConfig(config)));

describe("renderMesh", () => {
  const files = renderMesh(STACK_CONFIG);
  const spec = expectedSpec(STACK_CONFIG);
  const objects = ownedObjects(spec);
  const objectFiles = files.filter((f) => !f.path.includes("/"));

  test("writes every owned object once, in order, and each file parses back to that object", () => {
    assert.equal(objectFiles.length, objects.length);
    // Each file parsed once (the Gateway API CRDs alone are megabytes of YAML).
    const parsed = objectFiles.map((f) => YAML.parse(f.content));
    for (const o of objects) {
      const named = parsed.filter(
        (p) =>
          p.kind === o.kind && p.metadata.name === o.metadata.name && p.metadata.namespace === o.metadata.namespace,
      );
      assert.equal(named.length, 1, `${o.kind} ${o.metadata.name}`);
    }
    for (const [i, f] of objectFiles.entries()) assert.deepEqual(parsed[i], objects[i], f.path);
  });

  test("file names sort namespaces first, in ownedObjects order (kubectl applies a dir sorted by name)", () => {
    const names = objectFiles.map((f) => f.path);
    assert.deepEqual([...names].sort(), names);
    assert.deepEqual(names.slice(0, 5), [
      "00-namespace-cluster-istio-system.yaml",
      "01-namespace-cluster-istio-ingress.yaml",
      "02-namespace-cluster-backend.yaml",
      "03-namespace-cluster-istio-egress.yaml",
      "04-namespace-cluster-outside.yaml",
    ]);
    assert.ok(names.slice(5).every((n) => !n.includes("-namespace-")));
  });

  test("helm values round-trip, with a header naming chart, version, repo and namespace", () => {
    const releases = helmReleases(spec);
    assert.equal(releases.length, 4);
    for (const r of releases) {
      const file = files.find((f) => f.path === `helm/${r.name}.values.yaml`);
      assert.ok(file, r.name);
      const header = file.content.split("\n")[0] ?? "";
      for (const part of [r.chart, r.version, r.repo, r.namespace])
        assert.ok(header.startsWith("#") && header.includes(part), header);
      assert.deepEqual(YAML.parse(file.content), r.values);
    }
  });

  test("the 90/10 canary split is in the ingress VirtualService", () => {
    const file = objectFiles.find((f) => f.path.endsWith("-virtualservice-backend-app-routes.yaml"));
    assert.ok(file);
    const canary = YAML.parse(file.content).spec.http.find((r: { name: string }) => r.name === "user-service-canary");
    assert.deepEqual(
      canary.route.map((d: { destination: { subset: string }; weight: number }) => [d.destination.subset, d.weight]),
      [
        ["v1", 90],
        ["v2", 10],
      ],
    );
  });

  test("kind/cluster.yaml only when the stack creates a kind cluster", () => {
    const kind = files.find((f) => f.path === "kind/cluster.yaml");
    assert.ok(kind);
    assert.deepEqual(YAML.parse(kind.content), spec.kindCluster);
    const existing = renderMesh({ "istio-mesh:clusterMode": "existing" });
    assert.ok(!existing.some((f) => f.path.startsWith("kind/")));
  });

  test("strings YAML 1.1 would misread stay strings", () => {
    const content = renderMesh({ "istio-mesh:clusterName": "yes" }).find(
      (f) => f.path === "kind/cluster.yaml",
    )?.content;
    assert.match(content ?? "", /^name: "yes"$/m);
  });

  test("objects the builders share are written out in full, with no YAML anchors", () => {
    const routes = files.find((f) => f.path.endsWith("-virtualservice-backend-app-routes.yaml"))?.content ?? "";
    // Both /users rules share one match object in memory; aliases would hide that in review.
    assert.equal(routes.match(/prefix: \/users$/gm)?.length, 2);
    assert.doesNotMatch(routes, /[&*]a\d/);
  });

  test("secure values are refused, naming the key", () => {
    assert.throws(
      () => renderMesh({ ...STACK_CONFIG, "istio-mesh:kubeContext": { secure: "v1:abc" } }),
      (e: unknown) =>
        e instanceof RenderError && e.message.includes("istio-mesh:kubeContext") && e.message.includes("decrypt"),
    );
  });
});

describe("main", () => {
  const root = mkdtempSync(path.join(tmpdir(), "render-test-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  const out = path.join(root, "out");

  const run = (argv: string[]) => {
    const lines = { stdout: [] as string[], stderr: [] as string[] };
    const io: Io = { stdout: (l) => lines.stdout.push(l), stderr: (l) => lines.stderr.push(l) };
    return { code: main(argv, root, io, {}), ...lines };
  };
  const writeStack = (stack: string, body: string) => writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), body);

  test("writes the rendered files and clears stale ones on the next run", () => {
    writeStack("ci", YAML.stringify({ config: STACK_CONFIG }));
    const first = run(["--stack", "ci", "--out", out]);
    assert.equal(first.code, 0, first.stderr.join("\n"));
    const expected = renderMesh(STACK_CONFIG);
    for (const f of expected) assert.equal(readFileSync(path.join(out, f.path), "utf8"), f.content, f.path);
    assert.equal(first.stdout.length, 1);
    assert.match(first.stdout[0] ?? "", new RegExp(`wrote ${expected.length} files`));

    writeFileSync(path.join(out, "99-configmap-backend-gone.yaml"), "stale");
    writeFileSync(path.join(out, "helm", "old.values.yaml"), "stale");
    assert.equal(run(["--stack", "ci", "--out", out]).code, 0);
    assert.ok(!existsSync(path.join(out, "99-configmap-backend-gone.yaml")));
    assert.ok(!existsSync(path.join(out, "helm", "old.values.yaml")));
    const folders = new Set(expected.filter((f) => f.path.includes("/")).map((f) => f.path.split("/")[0]));
    assert.deepEqual([...folders].sort(), ["generated", "helm", "kind"]);
    assert.equal(readdirSync(out).length, expected.filter((f) => !f.path.includes("/")).length + folders.size);
    // Shells of what `up` generates: for the diff, kept out of `kubectl apply -f <out>/`, and nothing secret in them.
    const shells = readdirSync(path.join(out, "generated")).map((f) =>
      readFileSync(path.join(out, "generated", f), "utf8"),
    );
    assert.ok(shells.some((s) => /kind: RequestAuthentication/.test(s)));
    for (const shell of shells) assert.doesNotMatch(shell, /stringData|BEGIN .*KEY|"kty"/);
  });

  test("an invalid value exits 2, names the key and leaves the previous output alone", () => {
    writeStack("bad", "config:\n  istio-mesh:canaryWeights: {v1: 50}\n");
    const before = readdirSync(out);
    const result = run(["--stack", "bad", "--out", out]);
    assert.equal(result.code, 2);
    assert.match(result.stderr.join("\n"), /istio-mesh:canaryWeights/);
    assert.doesNotMatch(result.stderr.join("\n"), /\bat .*\.ts:\d+/); // no stack trace
    assert.deepEqual(readdirSync(out), before);
  });

  test("a missing stack file exits 2 and names the file", () => {
    const result = run(["--stack", "nope", "--out", out]);
    assert.equal(result.code, 2);
    assert.match(result.stderr.join("\n"), /Pulumi\.nope\.yaml/);
  });

  test("refuses to clear a dir holding files it did not write", () => {
    const foreign = path.join(root, "foreign");
    mkdirSync(foreign);
    writeFileSync(path.join(foreign, "notes.txt"), "mine");
    const result = run(["--stack", "ci", "--out", foreign]);
    assert.equal(result.code, 2);
    assert.ok(existsSync(path.join(foreign, "notes.txt")));
  });

  test("an unknown option exits 2 with one line pointing at --help", () => {
    const result = run(["--stak", "ci"]);
    assert.equal(result.code, 2);
    assert.deepEqual(result.stderr, ["render: Unknown option '--stak' (see npm run render -- --help)"]);
  });

  test("STACK picks the stack file when --stack is absent; --stack wins over it", () => {
    writeStack("ci", YAML.stringify({ config: STACK_CONFIG }));
    const fromEnv = main(["--out", out], root, { stdout: () => {}, stderr: () => {} }, { STACK: "ci" });
    assert.equal(fromEnv, 0);
    const lines: string[] = [];
    const io: Io = { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) };
    assert.equal(main(["--stack", "nope", "--out", out], root, io, { STACK: "ci" }), 2);
    assert.match(lines.join("\n"), /Pulumi\.nope\.yaml/);
  });
});
