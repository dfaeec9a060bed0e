import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { jwksFromPublicKey } from "../components/security/jwt";
import { main } from "../tools/token/main";
import { PROJECT_ROOT } from "./support/configs";

const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const dir = mkdtempSync(join(tmpdir(), "token-test-"));
const keyFile = join(dir, "key.pem");
writeFileSync(keyFile, privatePem);
const NOW = Date.UTC(2026, 5, 1, 8);

async function run(
  argv: string[],
  stackOutput = (_name: string, _stack: string): string => assert.fail("no stack output expected"),
) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    PROJECT_ROOT,
    { stdout: (l) => out.push(l), stderr: (l) => err.push(l) },
    {
      stackOutput,
      now: () => NOW,
    },
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
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
  test("--sub, --ttl and --claim with --key-file: a token the stack's JWKS accepts", async () => {
    const { code, out, err } = await run([
      "--sub",
      "alice",
      "--ttl",
      "2h",
      "--claim",
      "role=user",
      "--claim",
      "team=a=b",
      "--key-file",
      keyFile,
    ]);
    assert.equal(code, 0, err);
    const { payload } = await verify(out);
    assert.equal(payload.sub, "alice");
    assert.equal(payload.role, "user");
    assert.equal(payload.team, "a=b");
    assert.equal(payload.iat, NOW / 1000);
    assert.equal(payload.exp, NOW / 1000 + 7200);
  });

  test("without --key-file it reads the stack's jwtSigningKey output; the role defaults to the first allowed", async () => {
    const asked: string[] = [];
    const { code, out } = await run(["--sub", "bob", "--stack", "dev"], (name, stack) => {
      asked.push(`${name}@${stack}`);
      return privatePem;
    });
    assert.equal(code, 0);
    assert.deepEqual(asked, ["jwtSigningKey@dev"]);
    const { payload } = await verify(out);
    assert.equal(payload.role, "admin");
    assert.equal(payload.exp, NOW / 1000 + 3600, "--ttl defaults to 1h");
  });

  const bad: [string, string[], RegExp][] = [
    ["no --sub", ["--key-file", keyFile], /--sub is required/],
    ["a bad --ttl", ["--sub", "a", "--ttl", "forever", "--key-file", keyFile], /--ttl forever/],
    ["a --ttl over 720h", ["--sub", "a", "--ttl", "800h", "--key-file", keyFile], /--ttl 800h/],
    ["a reserved claim", ["--sub", "a", "--claim", "iss=me", "--key-file", keyFile], /--claim iss: set from the stack/],
    ["a claim without =", ["--sub", "a", "--claim", "role", "--key-file", keyFile], /--claim role: expected key=value/],
    ["an unknown option", ["--sub", "a", "--subject", "b"], /Unknown option '--subject'/],
    ["a stack with no file", ["--sub", "a", "--stack", "nope", "--key-file", keyFile], /stack file not found/],
  ];
  for (const [what, argv, message] of bad) {
    test(`${what}: exit 1 with the message, no token`, async () => {
      const { code, out, err } = await run(argv);
      assert.equal(code, 1);
      assert.equal(out, "");
      assert.match(err, message);
    });
  }
});
