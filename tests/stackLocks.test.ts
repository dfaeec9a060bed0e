import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { diyStateRoot, preflightStack, pulumiBackendUrl } from "../tools/lib/stackChecks";
import { scratchDir } from "./support/scratchDir";

/**
 * The canary's and the upgrade's pre-check of a file backend's lock (tools/lib/stackChecks.ts) finds the
 * state the Pulumi CLI would open: its backend URL order and its reading of a file:// URL.
 */
const scratch = scratchDir("stack-locks-");
let projects = 0;

/** A project whose Pulumi.yaml has `backendLine` (or no backend block), and a lock held on stack dev under `stateDir`. */
function project(backendLine: string | undefined, stateDir?: (root: string) => string) {
  const root = join(scratch, `project-${projects++}`);
  mkdirSync(root, { recursive: true });
  writeFileSync(
    join(root, "Pulumi.yaml"),
    `name: istio-mesh\nruntime: nodejs\n${backendLine === undefined ? "" : `backend:\n  url: ${backendLine}\n`}`,
  );
  if (stateDir) {
    // pkg/backend/diy/lock.go: .pulumi/locks/<org>/<project>/<stack>/<lock id>.json
    const locks = join(stateDir(root), ".pulumi", "locks", "organization", "istio-mesh", "dev");
    mkdirSync(locks, { recursive: true });
    writeFileSync(join(locks, "1a2b.json"), JSON.stringify({ pid: 7, username: "ci", hostname: "runner" }));
  }
  return root;
}

const refusal = /stack dev is locked by another update \(.*1a2b\.json\)/;

describe("which backend the lock pre-check reads (the CLI's order)", () => {
  test("Pulumi.yaml's file:// URL, its ?no_tmp_dir query dropped as the DIY backend drops it", async () => {
    const root = project("file://./.pulumi-state?no_tmp_dir=true", (r) => join(r, ".pulumi-state"));
    await assert.rejects(preflightStack(root, "dev", {}), refusal);
  });

  test("an empty PULUMI_BACKEND_URL is unset, as the CLI reads it: Pulumi.yaml's backend is the one", async () => {
    const root = project("file://./.pulumi-state", (r) => join(r, ".pulumi-state"));
    assert.equal(pulumiBackendUrl(root, { PULUMI_BACKEND_URL: "" }), "file://./.pulumi-state");
    await assert.rejects(preflightStack(root, "dev", { PULUMI_BACKEND_URL: "" }), refusal);
  });

  test("a set PULUMI_BACKEND_URL wins over Pulumi.yaml", async () => {
    const elsewhere = join(scratch, "env-state");
    const root = project("file://./.pulumi-state", () => elsewhere);
    await preflightStack(root, "dev", {}); // Pulumi.yaml's directory holds no lock
    await assert.rejects(preflightStack(root, "dev", { PULUMI_BACKEND_URL: `file://${elsewhere}` }), refusal);
  });

  test("without a backend block: the last `pulumi login`, from credentials.json under PULUMI_HOME", async () => {
    const state = join(scratch, "login-state");
    const root = project(undefined, () => state);
    const home = join(scratch, "pulumi-home");
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, "credentials.json"), JSON.stringify({ current: `file://${state}`, accounts: {} }));
    await assert.rejects(preflightStack(root, "dev", { PULUMI_HOME: home }), refusal);
    // PULUMI_CREDENTIALS_PATH comes before PULUMI_HOME (sdk/go/common/workspace/creds.go getCredsFilePath).
    const other = join(scratch, "other-credentials");
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, "credentials.json"), JSON.stringify({ current: "s3://team-state" }));
    assert.equal(pulumiBackendUrl(root, { PULUMI_HOME: home, PULUMI_CREDENTIALS_PATH: other }), "s3://team-state");
    // A backend that is not a directory refuses a concurrent update itself: nothing to read here.
    await preflightStack(root, "dev", { PULUMI_HOME: home, PULUMI_CREDENTIALS_PATH: other });
  });

  test("a fully qualified stack name reads the same lock as its short name", async () => {
    const root = project("file://./.pulumi-state", (r) => join(r, ".pulumi-state"));
    await assert.rejects(preflightStack(root, "organization/istio-mesh/dev", {}), /locked by another update/);
  });

  test("no backend anywhere: nothing to check (the CLI asks for a login)", async () => {
    const root = project(undefined);
    assert.equal(pulumiBackendUrl(root, { PULUMI_HOME: join(scratch, "no-such-home") }), undefined);
    await preflightStack(root, "dev", { PULUMI_HOME: join(scratch, "no-such-home") });
  });
});

describe("a file:// URL's directory, as massageBlobPath reads it", () => {
  const home = userInfo().homedir;
  test("relative to the project (the CLI's working directory), absolute as it is", () => {
    assert.equal(diyStateRoot("file://./.pulumi-state", "/p", {}), "/p/.pulumi-state");
    assert.equal(diyStateRoot("file://state", "/p", {}), "/p/state");
    assert.equal(diyStateRoot("file:///var/pulumi?no_tmp_dir=false", "/p", {}), "/var/pulumi");
  });
  test("~ is the user's home directory, alone or as a prefix", () => {
    assert.equal(diyStateRoot("file://~", "/p", {}), home);
    assert.equal(diyStateRoot("file://~/pulumi-state?no_tmp_dir=true", "/p", {}), join(home, "pulumi-state"));
  });
  test("percent-escapes decoded as gocloud's fileblob decodes the path; a bad one opens nothing", () => {
    assert.equal(diyStateRoot("file:///tmp/my%20state", "/p", {}), "/tmp/my state");
    assert.equal(diyStateRoot("file:///tmp/100%", "/p", {}), undefined);
  });
});
