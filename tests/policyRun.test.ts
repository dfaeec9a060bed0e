/** `npm run policy`: the pack over the program's resources for a stack, with no engine, state or cluster. */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { policies } from "../policies/policies";
import { FAULT_INJECTION } from "../policies/traffic";
import { type Io, main } from "../tools/policy/main";
import { formatMarkdown, type PolicyReport } from "../tools/policy/report";
import { PROJECT_ROOT } from "./support/configs";

async function run(argv: string[], root = PROJECT_ROOT) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdout: (t) => out.push(t), stderr: (t) => err.push(t) };
  const code = await main(argv, root, io);
  return { code, stdout: out.join(""), stderr: err.join("") };
}

// A project with the dev stack's file under another name and no policy config: the pack's defaults.
const scratch = mkdtempSync(join(tmpdir(), "policy-run-"));
copyFileSync(join(PROJECT_ROOT, "Pulumi.dev.yaml"), join(scratch, "Pulumi.strict.yaml"));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe("npm run policy", () => {
  const dev = run(["--stack", "dev", "--json"]);

  test("the dev stack passes; every policy of the pack has a verdict, so a new policy shows up by itself", async () => {
    const { code, stdout, stderr } = await dev;
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout) as PolicyReport;
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.policies?.map((p) => p.name),
      policies.map((p) => p.name),
    );
    const verdicts = Object.fromEntries(report.policies?.map((p) => [p.name, p.verdict]) ?? []);
    assert.equal(verdicts[FAULT_INJECTION], "warn");
    assert.deepEqual(
      Object.entries(verdicts).filter(([name, v]) => name !== FAULT_INJECTION && v !== "pass"),
      [],
    );
    // The stack policy checked the routes: the run sees what `up` would write, not empty outputs.
    assert.equal(report.policies?.find((p) => p.name === "route-subsets-exist")?.violations.length, 0);
  });

  test("a stack without a policy config gets the pack's defaults: its faults fail it, exit 1", async () => {
    const text = await run(["--stack", "strict"], scratch);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /^✗ mandatory fault-injection: VirtualService backend\/app-routes/m);
    // Without dev.json nothing suppresses the analyzer's Warnings: that policy warns, every other passes.
    const passed = policies.length - 2;
    assert.match(
      text.stdout,
      new RegExp(`${policies.length} policies: ${passed} passed, 1 failed, 1 with warnings\\n$`),
    );
    assert.ok(!text.stdout.includes("\u001b["), "no colour in a pipe");
  });

  test("could not run: exit 2, one line, JSON with the error, no stack trace", async () => {
    const missing = await run(["--stack", "nope", "--json"], scratch);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^policy: stack file not found: .*Pulumi\.nope\.yaml\n$/);
    assert.deepEqual(Object.keys(JSON.parse(missing.stdout)), ["stack", "ok", "error"]);
    const flag = await run(["--bogus"]);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /^policy: .*--bogus.*\(see npm run policy -- --help\)\n$/);
    mkdirSync(join(scratch, "policies", "config"), { recursive: true });
    writeFileSync(join(scratch, "policies", "config", "strict.json"), '{ "fault-injections": "advisory" }');
    const config = await run(["--stack", "strict"], scratch);
    rmSync(join(scratch, "policies"), { recursive: true });
    assert.equal(config.code, 2);
    assert.match(config.stderr, /fault-injections: no such policy in this pack/);
    for (const r of [missing, flag, config]) assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  test("--help documents the flags and exit codes", async () => {
    const help = await run(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--stack <name>/);
    assert.match(help.stdout, /1 a mandatory policy failed/);
  });
});

describe("the PR comment's policy section", () => {
  test("the verdict first, then one row per violation; a run that could not run says so", () => {
    const report: PolicyReport = {
      stack: "dev",
      ok: false,
      policies: [
        { name: "images-pinned", enforcementLevel: "mandatory", verdict: "pass", violations: [] },
        {
          name: "route-subsets-exist",
          enforcementLevel: "mandatory",
          verdict: "fail",
          violations: [{ enforcementLevel: "mandatory", message: "VirtualService a|b sends traffic to v3" }],
        },
      ],
    };
    const md = formatMarkdown(report);
    assert.match(md, /:x: \*\*1 mandatory policy fails\*\* \(`route-subsets-exist`\): `pulumi up` would stop/);
    assert.match(md, /\| :x: \| `route-subsets-exist` \| VirtualService a\\\|b sends traffic to v3 \|/);
    assert.match(formatMarkdown({ stack: "dev", ok: false, error: "stack file not found" }), /could not run/);
  });
});
