import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { jwksFromPublicKey } from "../components/security/jwt";
import { main } from "../tools/token/main";
import { PROJECT_ROOT } from "./support/configs";
import { freshClone, PulumiStub } from "./support/stubPulumi";

const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const dir = mkdtempSync(join(tmpdir(), "token-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const keyFile = join(dir, "key.pem");
writeFileSync(keyFile, privatePem);
const devFile = join(PROJECT_ROOT, "Pulumi.dev.yaml");
const NOW = Date.UTC(2026, 5, 1, 8);
const PASSPHRASE = "token-test";

// A fresh clone with a deployed dev stack, locked with PASSPHRASE, behind the strict stub pulumi.
const stub = new PulumiStub(join(dir, "pulumi"));
const project = freshClone(join(dir, "clone"), ["Pulumi."]);
mkdirSync(join(project, ".pulumi-state"), { recursive: true });
stub.seedStack(project, "dev", { passphrase: PASSPHRASE, outputs: { jwtSigningKey: privatePem } });
const noPulumi = join(dir, "empty-bin");
mkdirSync(noPulumi);
const stubEnv = (extra: Record<string, string> = {}) => ({
  PATH: `${stub.bin}:${process.env.PATH}`,
  HOME: dir,
  PULUMI_HOME: join(dir, ".pulumi"),
  ...extra,
});

async function run(argv: string[], { root = PROJECT_ROOT, env = {} as NodeJS.ProcessEnv } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    root,
    { stdout: (l) => out.push(l), stderr: (l) => err.push(l) },
    {
      now: () => NOW,
      env,
    },
  );
  return { code, out: out.join("\n"), err };
}

async function verify(token: string) {
  const { createLocalJWKSet, jwtVerify } = await import("jose");
  const jwks = JSON.parse(await jwksFromPublicKey(publicKey.export({ type: "spki", format: "pem" }).toString()));
  return jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: "https://auth.istio-mesh.local",
    audience: "istio-mesh",
    currentDate: new Date(NOW),
  });
}

describe("npm run token", () => {
  test("--config and --key-file, no Pulumi CLI: --sub, --ttl and --claim in a token the stack's JWKS accepts", async () => {
    const argv = ["--sub", "alice", "--ttl", "2h", "--claim", "role=user", "--claim", "team=a=b"];
    const { code, out, err } = await run([...argv, "--config", devFile, "--key-file", keyFile], {
      env: { PATH: noPulumi },
    });
    assert.equal(code, 0, err.join("\n"));
    const { payload } = await verify(out);
    assert.equal(payload.sub, "alice");
    assert.equal(payload.role, "user");
    assert.equal(payload.team, "a=b");
    assert.equal(payload.iat, NOW / 1000);
    assert.equal(payload.exp, NOW / 1000 + 7200);
  });

  test("STACK (or --stack) through the Pulumi CLI: its config and jwtSigningKey output; role defaults to the first allowed", async () => {
    const { code, out, err } = await run(["--sub", "bob"], {
      root: project,
      env: stubEnv({ STACK: "dev", PULUMI_CONFIG_PASSPHRASE: PASSPHRASE }),
    });
    assert.equal(code, 0, err.join("\n"));
    const { payload } = await verify(out);
    assert.equal(payload.role, "admin");
    assert.equal(payload.exp, NOW / 1000 + 3600, "--ttl defaults to 1h");
    assert.ok(stub.commands().some((c) => c === "stack output --json --show-secrets --stack dev"));
  });

  test("a passphrase-protected stack without PULUMI_CONFIG_PASSPHRASE is named before any Pulumi CLI call", async () => {
    const calls = stub.calls().length;
    const named = await run(["--sub", "bob", "--stack", "dev"], { root: project, env: stubEnv() });
    assert.equal(named.code, 2);
    assert.deepEqual(named.err, [
      "token: stack dev keeps its secrets under a passphrase: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) and run again",
    ]);
    assert.equal(stub.calls().length, calls, "no pulumi call, so no prompt");

    // The selected stack has no name to look up first: the CLI's own refusal, in one line.
    const select = spawnSync("pulumi", ["stack", "select", "dev"], { cwd: project, env: stubEnv(), encoding: "utf8" });
    assert.equal(select.status, 0, select.stderr);
    const selected = await run(["--sub", "bob"], { root: project, env: stubEnv() });
    assert.equal(selected.code, 2);
    assert.deepEqual(selected.err, [
      "token: the selected stack keeps its secrets under a passphrase: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) and run again",
    ]);

    const wrong = await run(["--sub", "bob", "--stack", "dev"], {
      root: project,
      env: stubEnv({ PULUMI_CONFIG_PASSPHRASE: "not-it" }),
    });
    assert.equal(wrong.code, 2);
    assert.deepEqual(wrong.err, [
      "token: PULUMI_CONFIG_PASSPHRASE is not the passphrase of stack dev (pulumi: incorrect passphrase)",
    ]);
  });

  const bad: [string, string[], NodeJS.ProcessEnv, string][] = [
    ["no --sub", ["--key-file", keyFile], {}, "token: --sub is required (see npm run token -- --help)"],
    [
      "a bad --ttl",
      ["--sub", "a", "--ttl", "forever"],
      {},
      "token: --ttl forever: a duration up to 720h, e.g. 30m, 1h",
    ],
    [
      "a --ttl over 720h",
      ["--sub", "a", "--ttl", "800h"],
      {},
      "token: --ttl 800h: a duration up to 720h, e.g. 30m, 1h",
    ],
    [
      "a reserved claim",
      ["--sub", "a", "--claim", "iss=me"],
      {},
      "token: --claim iss: set from the stack's config or --sub/--ttl",
    ],
    ["a claim without =", ["--sub", "a", "--claim", "role"], {}, "token: --claim role: expected key=value"],
    [
      "an unknown option",
      ["--sub", "a", "--subject", "b"],
      {},
      "token: Unknown option '--subject' (see npm run token -- --help)",
    ],
    [
      "--config without --key-file",
      ["--sub", "a", "--config", devFile],
      {},
      "token: --config reads no stack outputs, so no jwtSigningKey: pass --key-file too",
    ],
    [
      "a missing key file",
      ["--sub", "a", "--config", devFile, "--key-file", join(dir, "nope.pem")],
      {},
      `token: cannot read --key-file ${join(dir, "nope.pem")}: ENOENT`,
    ],
    [
      "a stack file that is not there",
      ["--sub", "a", "--config", join(dir, "Pulumi.nope.yaml"), "--key-file", keyFile],
      {},
      `token: stack file not found: ${join(dir, "Pulumi.nope.yaml")}`,
    ],
    [
      "no Pulumi CLI",
      ["--sub", "a", "--stack", "dev"],
      { PATH: noPulumi },
      "token: the Pulumi CLI is not installed: pass --config Pulumi.<stack>.yaml instead",
    ],
  ];
  for (const [what, argv, env, line] of bad) {
    test(`${what}: exit 2, one line, no token`, async () => {
      const { code, out, err } = await run(argv, { env });
      assert.equal(code, 2);
      assert.equal(out, "");
      assert.deepEqual(err, [line]);
    });
  }
});
