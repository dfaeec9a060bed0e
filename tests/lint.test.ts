/**
 * `npm run lint` (and npm test's lint): scripts/lint.sh runs Biome over the files git tracks only, so a
 * user's own untracked `Pulumi.<stack>.yaml` or a file git ignores never fails it (issue 15), and a file
 * is linted once it is `git add`ed. In a throwaway git repository holding the script, biome.json and a
 * link to this project's node_modules: one Biome run before the `git add`, one after.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { PROJECT_ROOT } from "./support/configs";
import { scratchDir } from "./support/scratchDir";

/** Malformed YAML: Biome (2.x parses YAML) reports a parse error, as it did on a user's stack file. */
const BAD_YAML = "config:\n  istio-mesh:canary: [1,\n    v2: {\n";
/** Valid TypeScript Biome's formatter rejects (no spaces in the object, no semicolon). */
const BAD_TS = "export const x = {a:1}\n";

describe("scripts/lint.sh lints what git tracks, nothing else", () => {
  const repo = scratchDir("lint-test-");
  const git = (...args: string[]) => {
    const r = spawnSync("git", args, { cwd: repo, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  };
  const lint = () => spawnSync("bash", [join(repo, "scripts", "lint.sh")], { cwd: repo, encoding: "utf8" });

  before(() => {
    mkdirSync(join(repo, "scripts"));
    copyFileSync(join(PROJECT_ROOT, "scripts", "lint.sh"), join(repo, "scripts", "lint.sh"));
    copyFileSync(join(PROJECT_ROOT, "biome.json"), join(repo, "biome.json"));
    symlinkSync(join(PROJECT_ROOT, "node_modules"), join(repo, "node_modules"));
    writeFileSync(join(repo, ".gitignore"), "node_modules\nscratch/\n");
    mkdirSync(join(repo, "scratch"));
    writeFileSync(join(repo, "scratch", "notes.ts"), BAD_TS);
    writeFileSync(join(repo, "Pulumi.mine.yaml"), BAD_YAML);
    // Untracked and not ignored: only lint.sh's own choice of files keeps it out (biome.json's
    // vcs.useIgnoreFile already keeps scratch/ out, whatever lint.sh passes).
    writeFileSync(join(repo, "draft.ts"), BAD_TS);
    git("init", "-q");
    git("add", ".gitignore", "biome.json", "scripts/lint.sh");
  });

  test("an untracked Pulumi.mine.yaml and draft.ts and an ignored file, all of which Biome would fail: exit 0", () => {
    const r = lint();
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test("once the stack file is `git add`ed it is linted and fails; the ignored file still is not", () => {
    git("add", "Pulumi.mine.yaml");
    const r = lint();
    const output = r.stdout + r.stderr;
    assert.notEqual(r.status, 0, output);
    assert.match(output, /Pulumi\.mine\.yaml/);
    assert.doesNotMatch(output, /notes\.ts/);
    assert.doesNotMatch(output, /draft\.ts/);
  });
});
