/**
 * `npm run analyze` end to end, in-process: the dev stack's findings (and docs/analyze.md's list of
 * them), the chart objects against `helm template` output, the code tables against Istio 1.30.3's
 * messages.yaml, the CLI's flags and exit codes, the policy-pack front end, and the comparison with
 * istioctl. The istioctl fixtures (tests/fixtures/analysis/istioctl-*.json) are constructed from
 * messages.yaml's templates in `istioctl analyze -o json`'s format (diag/message.go Unstructured),
 * not recorded from a run: no istioctl here.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import * as YAML from "yaml";
import { ANALYZERS } from "../analysis/all";
import { chartObjects } from "../analysis/chartObjects";
import { formatFindingsMarkdown } from "../analysis/format";
import { filesInput, stackInput } from "../analysis/input";
import { analyze } from "../analysis/run";
import { parseSuppression } from "../analysis/suppressions";
import { buildMeshSpec, helmReleases } from "../components/meshSpec";
import type { MeshConfig } from "../config/types";
import { analysisPolicies } from "../policies/analysis";
import { compare, main as compareMain, disagrees, type Message, parseDivergences } from "../tools/analyze/compare";
import { main as analyzeMain, type Io } from "../tools/analyze/main";
import { reportSections } from "../tools/diff/comment";
import { PLAIN } from "../tools/lib/style";
import { renderMesh } from "../tools/render/main";
import { devConfig, devStackConfig, meshConfig, PROJECT_ROOT } from "./support/configs";
import { devMeshRun } from "./support/devMeshRun";
import { fromRegistered, runPolicies } from "./support/policyHarness";

const fixture = (name: string) => join(PROJECT_ROOT, "tests", "fixtures", "analysis", name);
const DOCS = readFileSync(join(PROJECT_ROOT, "docs", "analyze.md"), "utf8");
const line = (f: { level: string; code: string; origin: string }) => `${f.level} ${f.code} ${f.origin}`;

const scratch = mkdtempSync(join(tmpdir(), "analyze-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** render's top-level files for the dev stack, written where `--files` reads them. */
function renderedDev(): string {
  const dir = join(scratch, "rendered-dev");
  mkdirSync(dir, { recursive: true });
  for (const f of renderMesh(devStackConfig())) if (!f.path.includes("/")) writeFileSync(join(dir, f.path), f.content);
  return dir;
}

function cli(argv: string[]) {
  let stdout = "";
  const io: Io = { stdout: (t) => (stdout += t), stderr: () => {}, style: PLAIN };
  try {
    return { code: analyzeMain(argv, PROJECT_ROOT, io), stdout };
  } catch (error) {
    return { code: (error as { exitCode?: number }).exitCode ?? -1, stdout, error: (error as Error).message };
  }
}

describe("the dev stack", () => {
  const result = analyze(stackInput(devConfig()));

  test("has no Error, and exactly the Warnings and Info docs/analyze.md lists with a reason", () => {
    assert.equal(result.counts.Error, 0);
    const section = DOCS.slice(DOCS.indexOf("## The dev stack's findings"), DOCS.indexOf("## Suppressions"));
    const documented = [...section.matchAll(/^\| (Warning|Info) (\S+) (\S+ \S+)\s+\| \S/gm)].map(
      (m) => `${m[1]} ${m[2]} ${m[3]}`,
    );
    assert.deepEqual(result.findings.map(line).sort(), documented.sort());
  });
});

/** Production mid-upgrade: two istiod revisions, prod-stable on 1.30.3, prod-canary on 1.30.4. */
const PRODUCTION_UPGRADING = {
  clusterMode: "existing",
  revisions: { upgradeTo: "1.30.4", canaryVersion: "1.30.4" },
};

describe("the charts' objects are what `helm template` renders", () => {
  for (const [name, cfg] of [
    ["dev", devConfig()],
    ["production", meshConfig(PRODUCTION_UPGRADING)],
  ] as const) {
    test(`for the ${name} values (tests/fixtures/analysis/chart-objects.${name}.json)`, () => {
      assertChartObjects(cfg, name);
    });
  }
});

/** The analyzer's chart objects for `cfg` against a real helm's (scripts/dev/snapshot-chart-objects.ts). */
function assertChartObjects(cfg: MeshConfig, name: string) {
  const rendered = JSON.parse(readFileSync(fixture(`chart-objects.${name}.json`), "utf8")).objects as Record<
    string,
    any
  >[];
  const derived = chartObjects(helmReleases(buildMeshSpec(cfg)));
  const id = (o: { kind?: string; namespace?: string; name?: string }) => `${o.kind} ${o.namespace ?? ""}/${o.name}`;
  const helm = new Map(rendered.map((o) => [id(o), o]));
  for (const o of derived) {
    const h = helm.get(id(o));
    assert.ok(h, `${id(o)} is not in the chart's output`);
    const spec = (o.body.spec ?? {}) as Record<string, any>;
    if (o.kind === "Service") {
      assert.deepEqual(spec.selector, h.selector, id(o));
      const ports = (spec.ports as Record<string, unknown>[]).map(({ nodePort: _n, ...p }) => p);
      assert.deepEqual(ports, h.ports, id(o));
    }
    if (o.kind === "Deployment") {
      const template = spec.template;
      for (const [k, v] of Object.entries(template.metadata.labels))
        assert.equal(h.podLabels[k], v, `${id(o)} pod label ${k}`);
      assert.deepEqual(
        template.spec.containers.map((c: { name: string; image: string }) => [c.name, c.image]),
        h.containers.map((c: { name: string; image: string }) => [c.name, c.image]),
      );
      // An autoscaled chart leaves replicas to its HPA, which keeps at least its minimum.
      assert.equal(spec.replicas, h.replicas ?? h.hpaMinReplicas, id(o));
    }
    if (o.kind === "MutatingWebhookConfiguration") assert.deepEqual(o.body.webhooks, h.webhooks);
  }
  const ours = new Set(derived.map(id));
  const read = ["ServiceAccount", "Service", "Deployment", "MutatingWebhookConfiguration"];
  assert.deepEqual(rendered.filter((o) => read.includes(o.kind) && !ours.has(id(o))).map(id), []);
}

describe("a production stack with istiod revisions and tags", () => {
  const input = stackInput(meshConfig(PRODUCTION_UPGRADING));
  const result = analyze(input);

  test("findings name the revisions' istiods; the tag-injected backends are in the mesh (no IST0127)", () => {
    const lines = result.findings.map(line);
    assert.deepEqual(
      lines.filter((l) => l.includes("IST0175")),
      [
        "Warning IST0175 Deployment istio-system/istiod-1-30-3",
        "Warning IST0175 Deployment istio-system/istiod-1-30-4",
      ],
    );
    assert.deepEqual(
      lines.filter((l) => /IST0127|IST0146|IST0118/.test(l)),
      [],
    );
  });

  test("pods get the sidecar of the revision their tag points at; gateways keep their own", () => {
    const proxy = (ns: string, name: string) => {
      const d = input.resources.find((r) => r.kind === "Deployment" && r.namespace === ns && r.name === name);
      assert.ok(d, `${ns}/${name}`);
      const pod = (d.body.spec as Record<string, any>).template;
      return {
        images: pod.spec.containers.filter((c: { name: string }) => c.name === "istio-proxy").map((c: any) => c.image),
        status: pod.metadata.annotations?.["sidecar.istio.io/status"],
      };
    };
    // backend is labelled istio.io/rev=prod-stable, which points at 1-30-3 until the upgrade moves it.
    assert.deepEqual(proxy("backend", "user-service-v1"), {
      images: ["docker.io/istio/proxyv2:1.30.3"],
      status: '{"containers":["istio-proxy"],"revision":"1-30-3"}',
    });
    assert.deepEqual(proxy("istio-ingress", "istio-ingressgateway").images, ["auto"]);
    assert.deepEqual(proxy("istio-system", "istiod-1-30-4").images, []);
  });
});

describe("docs/analyze.md's code tables", () => {
  const tableRows = (prefix: string) =>
    [...DOCS.matchAll(new RegExp(`^\\| (${prefix}\\d{4}) +\\|(.*)\\|\\s*$`, "gm"))].map((m) => ({
      code: m[1] ?? "",
      last: (m[2] ?? "").split("|").pop()?.trim() ?? "",
    }));

  test("map exactly the codes of Istio 1.30.3's messages.yaml, each to an analyzer that reports it or to a reason", () => {
    const codes = readFileSync(fixture("istio-1.30.3-messages.txt"), "utf8")
      .split("\n")
      .filter((l) => /^IST\d{4} /.test(l))
      .map((l) => l.split(" ")[0]);
    const rows = tableRows("IST");
    assert.deepEqual(rows.map((r) => r.code).sort(), [...codes].sort());
    for (const { code, last } of rows) {
      if (last.startsWith("not applicable:")) continue;
      const named = ANALYZERS.filter((a) => last.includes(a.name));
      assert.ok(named.length > 0, `${code}: "${last}" names no analyzer`);
      for (const a of named) assert.ok(a.codes.includes(code), `${code}: ${a.name} does not report it`);
    }
  });

  test("every code an analyzer reports is in a table (IST, KIA or the checks beyond both)", () => {
    const listed = new Set([...DOCS.matchAll(/^\| ((?:IST|KIA|MESH)\d{4}) /gm)].map((m) => m[1]));
    assert.deepEqual(
      [...new Set(ANALYZERS.flatMap((a) => a.codes))].filter((c) => !listed.has(c)),
      [],
    );
  });
});

describe("npm run analyze", () => {
  test("--help prints usage and exits 0", () => {
    const run = cli(["--help"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /--suppress <rule>/);
  });

  test("the dev stack: istioctl-style lines, a summary, exit 0; --strict fails on its Warnings", () => {
    const run = cli(["--stack", "dev"]);
    assert.equal(run.code, 0);
    assert.match(
      run.stdout,
      /^Warning \[IST0134\] \(ServiceEntry backend\/external-database\) ServiceEntry addresses/m,
    );
    assert.match(run.stdout, /^analyze: stack dev, \d+ objects: 0 errors, 3 warnings, 2 info$/m);
    assert.equal(cli(["--stack", "dev", "--strict"]).code, 1);
  });

  test("--json carries istioctl's fields; suppressions need a reason and are listed with it", () => {
    const run = cli(["--json", "--suppress", "IST0102=Namespace istio-* # gateways are injected by pod label"]);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.stack, "dev");
    assert.deepEqual(Object.keys(doc.findings[0]).sort(), [
      "analyzer",
      "code",
      "documentationUrl",
      "level",
      "message",
      "origin",
      "resource",
    ]);
    assert.deepEqual(
      doc.suppressed.map((s: { origin: string; reason: string }) => `${s.origin}: ${s.reason}`),
      [
        "Namespace istio-egress: gateways are injected by pod label",
        "Namespace istio-ingress: gateways are injected by pod label",
      ],
    );
    const bare = cli(["--suppress", "IST0102=Namespace istio-egress"]);
    assert.equal(bare.code, 2);
    assert.match(bare.error ?? "", /has no reason/);
  });

  test("a suppressions file", () => {
    const file = join(scratch, "suppressions.yaml");
    writeFileSync(
      file,
      "suppressions:\n  - { code: MESH0004, resource: DestinationRule backend/product-service, reason: lab experiment }\n",
    );
    assert.match(cli(["--suppressions", file]).stdout, /2 warnings, 2 info \(1 suppressed\)/);
    writeFileSync(file, "suppressions:\n  - { code: MESH0004, resource: DestinationRule backend/product-service }\n");
    assert.equal(cli(["--suppressions", file]).code, 2);
  });

  test("--files over render's output reports what the files lack, and exits 1 on its Errors", () => {
    const run = cli(["--files", renderedDev()]);
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /^Error \[IST0101\] \(Gateway backend\/app-gateway\) Referenced selector not found: "istio=ingressgateway"$/m,
    );
    assert.match(run.stdout, /^Error \[KIA0106\] .*"cluster\.local\/ns\/istio-ingress\/sa\/istio-ingressgateway"$/m);
    assert.match(
      run.stdout,
      /^Info \[MESH0006\] \(Input files\) Not in the analyzed files, so not checked: no MutatingWebhookConfiguration/m,
    );
  });

  test("exits 2 with one line on a bad flag, an unknown stack, a missing folder, or both inputs", () => {
    for (const argv of [
      ["--bogus"],
      ["--stack", "nope"],
      ["--files", join(scratch, "missing")],
      ["--stack", "dev", "--files", scratch],
    ]) {
      const run = cli(argv);
      assert.equal(run.code, 2, argv.join(" "));
      assert.ok(run.error && !run.error.includes("\n    at "), argv.join(" "));
    }
  });

  test("--markdown is a section for the pull request comment", () => {
    const result = analyze(stackInput(devConfig()), [parseSuppression("IST0102=* # injected by label")]);
    const md = formatFindingsMarkdown(result, "dev");
    assert.match(md, /^### Mesh analysis \(stack dev\)$/m);
    assert.match(md, /^\| Warning \| IST0134 \| ServiceEntry backend\/external-database \| ServiceEntry addresses/m);
    assert.match(md, /^- IST0102 Namespace istio-egress: injected by label$/m);
  });

  test("sorts as istioctl: Errors first, then code, then Kind/name/namespace", () => {
    const run = cli(["--files", renderedDev()]);
    const codes = run.stdout
      .split("\n")
      .filter((l) => /^\w+ \[/.test(l))
      .map((l) => l.split(" ").slice(0, 2).join(" "));
    const levels = codes.map((c) => ["Error", "Warning", "Info"].indexOf(c.split(" ")[0] ?? ""));
    assert.deepEqual(
      levels,
      [...levels].sort((a, b) => a - b),
    );
    assert.equal(codes[0], "Error [IST0101]");
  });
});

describe("the policy pack front end", () => {
  test("reports the stack's Errors and Warnings, the same findings as npm run analyze --stack", async () => {
    const mesh = await devMeshRun();
    const run = await runPolicies([...analysisPolicies], fromRegistered(mesh.resources));
    const stack = analyze(stackInput(devConfig())).findings.filter((f) => f.level !== "Info");
    assert.deepEqual(
      run.diagnostics.map((d) => `${d.enforcementLevel} ${d.message}`).sort(),
      stack.map((f) => `${f.level === "Error" ? "mandatory" : "advisory"} ${f.code} (${f.origin}) ${f.message}`).sort(),
    );
    assert.ok(run.diagnostics.every((d) => d.urn?.startsWith("urn:pulumi:")));
  });
});

describe("npm run analyze:compare", () => {
  const divergences = parseDivergences(
    readFileSync(join(PROJECT_ROOT, "tools", "analyze", "istioctl-divergences.yaml"), "utf8"),
    "istioctl-divergences.yaml",
  );
  const istioctl = (name: string): Message[] => JSON.parse(readFileSync(fixture(name), "utf8"));

  test("render's files: ours agrees with istioctl up to the listed divergences", () => {
    const ours = analyze(filesInput(renderedDev())).findings;
    const result = compare(ours, istioctl("istioctl-files-dev.json"), "files", divergences);
    assert.equal(disagrees(result), false, JSON.stringify(result, null, 2));
    assert.ok(result.agreed >= 8);
    assert.deepEqual([...new Set(result.explained.map((e) => e.message.code))].sort(), ["IST0127", "IST0173"]);
  });

  test("the live cluster: ours (the stack with its charts) agrees with istioctl", () => {
    const ours = analyze(stackInput(devConfig())).findings;
    const result = compare(ours, istioctl("istioctl-live-dev.json"), "live", divergences);
    assert.equal(disagrees(result), false, JSON.stringify(result, null, 2));
    assert.equal(result.explained.length, 3);
  });

  test("fails on a finding ours lacks, one istioctl contradicts, and the same finding with other text", () => {
    const theirs: Message[] = [
      {
        code: "IST0118",
        level: "Info",
        origin: "Service backend/web",
        message: "Port name web (port: 80, targetPort: 8080) doesn't follow the naming convention of Istio port.",
      },
      {
        code: "IST0134",
        level: "Warning",
        origin: "ServiceEntry backend/db",
        message: "ServiceEntry addresses are required for this protocol.",
      },
    ];
    const ours: Message[] = [
      {
        code: "IST0134",
        level: "Warning",
        origin: "ServiceEntry backend/db",
        message: "ServiceEntry addresses are required.",
      },
      { code: "IST0102", level: "Info", origin: "Namespace backend", message: "…" },
      {
        code: "MESH0004",
        level: "Warning",
        origin: "DestinationRule backend/web",
        message: "ours only, not istioctl's",
      },
    ];
    const result = compare(ours, theirs, "files", divergences);
    assert.deepEqual(
      result.missing.map((m) => m.code),
      ["IST0118"],
    );
    assert.deepEqual(
      result.contradicted.map((m) => m.code),
      ["IST0102"],
    );
    assert.deepEqual(
      result.differing.map((d) => d.istioctl.code),
      ["IST0134"],
    );
    assert.equal(disagrees(result), true);
  });

  test("the CLI: exit 0 when they agree, 1 when they do not, 2 on a missing file or mode", () => {
    const ours = join(scratch, "ours.json");
    writeFileSync(ours, JSON.stringify({ findings: analyze(stackInput(devConfig())).findings }));
    let out = "";
    const io = { stdout: (t: string) => (out += t) };
    assert.equal(
      compareMain(["--ours", ours, "--istioctl", fixture("istioctl-live-dev.json"), "--mode", "live"], io),
      0,
    );
    assert.match(out, /agree: 3 agreed, 0 missing, 0 contradicted, 0 differing, 3 explained/);
    assert.equal(
      compareMain(["--ours", ours, "--istioctl", fixture("istioctl-files-dev.json"), "--mode", "files"], io),
      1,
    );
    assert.throws(
      () => compareMain(["--ours", ours, "--istioctl", join(scratch, "none.json"), "--mode", "live"], io),
      /no such file/,
    );
    assert.throws(() => compareMain(["--ours", ours, "--istioctl", ours], io), /--mode must be files or live/);
  });
});

describe("the workflows run the analyzer", () => {
  const workflow = (file: string) =>
    YAML.parse(readFileSync(join(PROJECT_ROOT, ".github", "workflows", file), "utf8")) as {
      env: Record<string, string>;
      jobs: Record<string, { steps: { run?: string; if?: string }[] }>;
    };
  const runs = (file: string, job: string) =>
    (workflow(file).jobs[job]?.steps ?? []).map((s) => s.run ?? "").join("\n");

  test("e2e: pinned, checksum-verified istioctl compared with ours over render's output and live", () => {
    const install = readFileSync(join(PROJECT_ROOT, "scripts", "install-istioctl.sh"), "utf8");
    assert.match(install, /sha256sum -c "\$asset\.sha256"/);
    const offline = runs("e2e.yml", "analyze-vs-istioctl");
    assert.match(offline, /install-istioctl\.sh "\$ISTIO_VERSION"/);
    assert.match(offline, /istioctl" analyze --use-kube=false --all-namespaces -o json rendered/);
    assert.match(offline, /analyze:compare -- .*--mode files/);
    const live = runs("e2e.yml", "kind");
    assert.match(live, /istioctl analyze --all-namespaces -o json/);
    assert.match(live, /analyze:compare -- .*--mode live/);
  });

  test("pull requests: an Error fails the analyze job; the findings go to the summary", () => {
    const steps = workflow("pull-request.yml").jobs.analyze?.steps ?? [];
    assert.ok(steps.some((s) => s.run === "npm run -s analyze -- --stack dev" && s.if === undefined));
    assert.ok(steps.some((s) => /--markdown >> "\$GITHUB_STEP_SUMMARY"/.test(s.run ?? "") && s.if === "always()"));
  });
});

describe("the pull request comment", () => {
  test("npm run diff's --analysis-report section is the analyzer's Markdown for the same JSON", () => {
    const dir = mkdtempSync(join(tmpdir(), "analysis-report-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const json = cli(["--stack", "dev", "--json"]);
    const markdown = cli(["--stack", "dev", "--markdown"]);
    const file = join(dir, "analysis.json");
    writeFileSync(file, json.stdout);
    assert.deepEqual(reportSections({ analysis: file }), [markdown.stdout]);
    assert.match(markdown.stdout, /MESH0004/);
    writeFileSync(file, JSON.stringify({ error: "stack file not found" }));
    assert.throws(
      () => reportSections({ analysis: file }),
      /--analysis-report .*analysis\.json: not `npm run analyze -- --json` output/,
    );
  });
});
