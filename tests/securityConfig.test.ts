import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_JWT } from "../config/defaults";
import type { RawConfig } from "../config/parse";
import { meshConfig, rejected } from "./support/configs";
import { loadIndex } from "./support/indexProgram";
import { runWithMocks } from "./support/mockEngine";

describe("security config: defaults and overrides", () => {
  test("an empty stack: STRICT mTLS, the lab's JWT and 100 requests a minute, api.example.com, probe clients", () => {
    assert.deepEqual(meshConfig().security, {
      mtlsMode: "STRICT",
      jwt: DEFAULT_JWT,
      rateLimit: { requests: 100, per: "60s" },
      httpsHost: "api.example.com",
      probeClients: true,
    });
    assert.equal(DEFAULT_JWT.required, true, "the lab requires a token");
  });

  test("jwt fields override the defaults one by one; strings from `pulumi config set` are accepted", () => {
    const { jwt } = meshConfig({ jwt: '{"required":"false","roles":["admin"]}' }).security;
    assert.deepEqual(jwt, { ...DEFAULT_JWT, required: false, roles: ["admin"] });
  });

  test("rateLimit false (or the string Pulumi hands over) turns the limit off; mtlsMode PERMISSIVE and probeClients false", () => {
    assert.equal(meshConfig({ rateLimit: false }).security.rateLimit, false);
    assert.equal(meshConfig({ rateLimit: "false" }).security.rateLimit, false);
    assert.deepEqual(meshConfig({ rateLimit: '{"requests":"5","per":"1s"}' }).security.rateLimit, {
      requests: 5,
      per: "1s",
    });
    assert.equal(meshConfig({ mtlsMode: "PERMISSIVE" }).security.mtlsMode, "PERMISSIVE");
    assert.equal(meshConfig({ probeClients: "false" }).security.probeClients, false);
    assert.equal(meshConfig({ httpsHost: "shop.lab.test" }).security.httpsHost, "shop.lab.test");
  });
});

describe("security config: invalid values are rejected, naming the key", () => {
  const cases: [string, RawConfig, string][] = [
    ["mTLS mode DISABLE", { mtlsMode: "DISABLE" }, "istio-mesh:mtlsMode"],
    ["a lowercase mTLS mode", { mtlsMode: "strict" }, "istio-mesh:mtlsMode"],
    ["jwt that is not an object", { jwt: "on" }, "istio-mesh:jwt"],
    ["an unknown jwt field", { jwt: { jwksUri: "https://x" } }, "istio-mesh:jwt.jwksUri"],
    ["jwt.required not a boolean", { jwt: { required: "yes" } }, "istio-mesh:jwt.required"],
    ["an issuer with a space", { jwt: { issuer: "my issuer" } }, "istio-mesh:jwt.issuer"],
    ["no audiences", { jwt: { audiences: [] } }, "istio-mesh:jwt.audiences"],
    ["a role claim name with a bracket", { jwt: { roleClaim: "role]" } }, "istio-mesh:jwt.roleClaim"],
    // mintToken sets these itself, so a role there never reaches authorization (every call 403).
    ...["iss", "sub", "aud", "exp", "nbf", "iat", "jti"].map((claim): [string, RawConfig, string] => [
      `the registered claim ${claim} as the role claim`,
      { jwt: { roleClaim: claim } },
      "istio-mesh:jwt.roleClaim",
    ]),
    ["roles that are not a list", { jwt: { roles: "admin" } }, "istio-mesh:jwt.roles"],
    ["a demo token TTL under a minute", { jwt: { demoTokenTtl: "30s" } }, "istio-mesh:jwt.demoTokenTtl"],
    ["a demo token TTL over 720h", { jwt: { demoTokenTtl: "721h" } }, "istio-mesh:jwt.demoTokenTtl"],
    ["a malformed demo token TTL", { jwt: { demoTokenTtl: "1 day" } }, "istio-mesh:jwt.demoTokenTtl"],
    ["rateLimit as a word", { rateLimit: "off" }, "istio-mesh:rateLimit"],
    ["zero requests", { rateLimit: { requests: 0, per: "60s" } }, "istio-mesh:rateLimit.requests"],
    ["a rate limit without per", { rateLimit: { requests: 100 } }, "istio-mesh:rateLimit.per"],
    ["a fill interval under Envoy's 50ms", { rateLimit: { requests: 1, per: "10ms" } }, "istio-mesh:rateLimit.per"],
    ["an unknown rateLimit field", { rateLimit: { requests: 1, per: "1s", burst: 2 } }, "istio-mesh:rateLimit.burst"],
    ["an uppercase HTTPS host", { httpsHost: "API.example.com" }, "istio-mesh:httpsHost"],
    ["an HTTPS host without a dot", { httpsHost: "localhost" }, "istio-mesh:httpsHost"],
    ["a wildcard HTTPS host", { httpsHost: "*.example.com" }, "istio-mesh:httpsHost"],
    ["probeClients not a boolean", { probeClients: "maybe" }, "istio-mesh:probeClients"],
  ];
  for (const [what, raw, key] of cases) {
    test(what, () =>
      assert.deepEqual(
        rejected(raw).issues.map((i) => i.key),
        [key],
      ),
    );
  }

  test("the message names the key, the value and what is allowed", () => {
    assert.match(
      rejected({ mtlsMode: "DISABLE" }).message,
      /istio-mesh:mtlsMode = "DISABLE": one of "STRICT", "PERMISSIVE"/,
    );
    assert.match(
      rejected({ jwt: { demoTokenTtl: "30s" } }).message,
      /istio-mesh:jwt\.demoTokenTtl = "30s": a duration from 1m to 720h/,
    );
    assert.match(
      rejected({ rateLimit: { requests: 1, per: "10ms" } }).message,
      /istio-mesh:rateLimit\.per = "10ms": .*50ms/,
    );
  });

  test("through index.ts a bad security value stops the program with a RunError before any resource", async () => {
    const run = await runWithMocks(loadIndex, {
      config: { "istio-mesh:mtlsMode": "DISABLE", "istio-mesh:probeClients": "maybe" },
    });
    assert.ok(pulumi.RunError.isInstance(run.error), `expected RunError, got ${String(run.error)}`);
    assert.match((run.error as Error).message, /istio-mesh:mtlsMode = "DISABLE"/);
    assert.match((run.error as Error).message, /istio-mesh:probeClients = "maybe"/);
    assert.equal(run.resources.length, 0);
  });
});
