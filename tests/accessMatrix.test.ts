import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  type AccessCase,
  accessMatrix,
  accessMatrixMarkdown,
  securityPolicies,
} from "../components/security/accessMatrix";
import type { AuthorizationPolicySpec } from "../components/security/authorization";
import { decide, matchesPattern, type SecurityPolicies } from "../components/security/evaluator";
import { devConfig, meshConfig, PROJECT_ROOT } from "./support/configs";

type Row = Record<string, [number, number, number]>;

/** caller → target → statuses for no token, a valid token, an invalid token. */
function table(cases: readonly AccessCase[]): Record<string, Row> {
  const out: Record<string, Row> = {};
  for (const c of cases) {
    const row: Row = out[c.caller] ?? {};
    const cell = row[c.target] ?? [Number.NaN, Number.NaN, Number.NaN];
    cell[["none", "valid", "invalid"].indexOf(c.token)] = c.status;
    row[c.target] = cell;
    out[c.caller] = row;
  }
  return out;
}

const REFUSED = 0;

describe("access matrix", () => {
  test("defaults: gateway and mesh-client reach everything (user-service with a valid token), the call graph, nothing else", () => {
    assert.deepEqual(table(accessMatrix(meshConfig())), {
      "ingress-gateway": {
        "user-service": [403, 200, 401],
        "product-service": [200, 200, 200],
        "order-service": [200, 200, 200],
      },
      "mesh-client": {
        "user-service": [403, 200, 401],
        "product-service": [200, 200, 200],
        "order-service": [200, 200, 200],
      },
      "outside-client": {
        "user-service": [REFUSED, REFUSED, REFUSED],
        "product-service": [REFUSED, REFUSED, REFUSED],
        "order-service": [REFUSED, REFUSED, REFUSED],
      },
      "user-service": {
        "user-service": [403, 403, 401],
        "product-service": [200, 200, 200],
        "order-service": [403, 403, 403],
      },
      "product-service": {
        "user-service": [403, 403, 401],
        "product-service": [403, 403, 403],
        "order-service": [200, 200, 200],
      },
      "order-service": {
        "user-service": [403, 403, 401],
        "product-service": [403, 403, 403],
        "order-service": [403, 403, 403],
      },
    });
  });

  test("allowed is exactly status 200, and every case names a GUIDE caller", () => {
    const callers = [
      "ingress-gateway",
      "mesh-client",
      "outside-client",
      "user-service",
      "product-service",
      "order-service",
    ];
    const cases = accessMatrix(devConfig());
    assert.equal(cases.length, 6 * 3 * 3);
    for (const c of cases) {
      assert.equal(c.allowed, c.status === 200, JSON.stringify(c));
      assert.ok(callers.includes(c.caller));
    }
  });

  test("PERMISSIVE lets plaintext in, where authorization still refuses it (no principal)", () => {
    const t = table(accessMatrix(meshConfig({ mtlsMode: "PERMISSIVE" })));
    assert.deepEqual(t["outside-client"], {
      "user-service": [403, 403, 401],
      "product-service": [403, 403, 403],
      "order-service": [403, 403, 403],
    });
  });

  test("jwt.required false: no token is fine, a bad one is still 401", () => {
    const t = table(accessMatrix(meshConfig({ jwt: { required: false } })));
    assert.deepEqual(t["ingress-gateway"]?.["user-service"], [200, 200, 401]);
    assert.deepEqual(t["user-service"]?.["product-service"], [200, 200, 200]);
  });

  test("a token with a role outside jwt.roles is denied by authorization", () => {
    const t = table(accessMatrix(meshConfig({ jwt: { roles: ["auditor"] } })));
    // The demo token carries the first allowed role, so it still passes; flip it to see the claim checked.
    assert.deepEqual(t["ingress-gateway"]?.["user-service"], [403, 200, 401]);
    const cfg = meshConfig();
    const policies = securityPolicies(cfg);
    const call = (role: string) =>
      decide(
        policies,
        { namespace: "backend", labels: { app: "user-service", version: "v1" } },
        {
          sourcePrincipal: "cluster.local/ns/istio-ingress/sa/istio-ingressgateway",
          sourceNamespace: "istio-ingress",
          token: { claims: { iss: cfg.security.jwt.issuer, sub: "x", aud: ["istio-mesh"], role }, verifies: true },
          method: "GET",
          path: "/users",
        },
      );
    assert.equal(call("user").status, 200);
    assert.equal(call("guest").status, 403);
  });

  test("without probe clients the matrix has no probe callers", () => {
    const callers = new Set(accessMatrix(meshConfig({ probeClients: false })).map((c) => c.caller));
    assert.deepEqual([...callers], ["ingress-gateway", "user-service", "product-service", "order-service"]);
  });

  test("docs/security.md shows the same table, between its access-matrix markers", () => {
    const readme = readFileSync(join(PROJECT_ROOT, "docs/security.md"), "utf8");
    const match = /<!-- access-matrix:begin -->\n([\s\S]*?)\n<!-- access-matrix:end -->/.exec(readme);
    assert.ok(match, "docs/security.md has no access-matrix block");
    assert.equal(match[1], accessMatrixMarkdown(meshConfig()));
  });
});

describe("evaluator semantics (Istio's)", () => {
  const target = { namespace: "ns", labels: { app: "a" } };
  const call = { sourcePrincipal: "cluster.local/ns/ns/sa/caller", sourceNamespace: "ns", method: "GET", path: "/x" };
  const policy = (name: string, spec: AuthorizationPolicySpec["spec"], namespace = "ns"): AuthorizationPolicySpec => ({
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name, namespace },
    spec,
  });
  const policies = (...authorizationPolicies: AuthorizationPolicySpec[]): SecurityPolicies => ({
    rootNamespace: "istio-system",
    peerAuthentications: [],
    requestAuthentications: [],
    authorizationPolicies,
  });
  const byCaller = { rules: [{ from: [{ source: { principals: ["cluster.local/ns/ns/sa/caller"] } }] }] };

  test("no policy allows; an allow-nothing policy (spec {}) denies everything", () => {
    assert.equal(decide(policies(), target, call).status, 200);
    assert.equal(decide(policies(policy("nothing", {})), target, call).status, 403);
  });

  test("DENY is evaluated before ALLOW", () => {
    const p = policies(
      policy("allow", { action: "ALLOW", ...byCaller }),
      policy("deny", { action: "DENY", ...byCaller }),
    );
    assert.deepEqual(decide(p, target, call), { allowed: false, status: 403, reason: "denied by deny" });
  });

  test("once any ALLOW policy selects a workload, only what some rule matches gets in", () => {
    const p = policies(policy("allow", { action: "ALLOW", ...byCaller }));
    assert.equal(decide(p, target, call).status, 200);
    assert.equal(decide(p, target, { ...call, sourcePrincipal: "cluster.local/ns/ns/sa/other" }).status, 403);
    const elsewhere = policies(policy("allow", { selector: { matchLabels: { app: "b" } }, ...byCaller }));
    assert.equal(
      decide(elsewhere, target, { ...call, sourcePrincipal: "x" }).status,
      200,
      "a policy for b does not bind a",
    );
  });

  test("root-namespace policies apply mesh-wide", () => {
    assert.equal(decide(policies(policy("nothing", {}, "istio-system")), target, call).status, 403);
    assert.equal(decide(policies(policy("nothing", {}, "other")), target, call).status, 200);
  });

  test("the lab's user-service-policy: its lone `to` rule lets any GET through, from anyone", () => {
    const lab = policy("user-service-policy", {
      selector: { matchLabels: { app: "a" } },
      rules: [
        { from: [{ source: { principals: ["cluster.local/ns/frontend/sa/frontend-sa"] } }] },
        { to: [{ operation: { methods: ["GET", "POST"] } }] },
        { when: [{ key: "request.auth.claims[role]", values: ["admin", "user"] }] },
      ],
    });
    const stranger = { ...call, sourcePrincipal: "cluster.local/ns/evil/sa/anyone" };
    assert.equal(decide(policies(lab), target, stranger).status, 200);
    assert.equal(decide(policies(lab), target, { ...stranger, method: "DELETE" }).status, 403);
  });

  test("STRICT refuses plaintext; an invalid token is 401 only where a RequestAuthentication applies", () => {
    const cfg = meshConfig();
    const ours = securityPolicies(cfg);
    const plaintext = { method: "GET", path: "/" };
    const user = { namespace: "backend", labels: { app: "user-service", version: "v1" } };
    const order = { namespace: "backend", labels: { app: "order-service", version: "v1" } };
    assert.equal(decide(ours, user, plaintext).status, 0);
    const badToken = { claims: { iss: cfg.security.jwt.issuer, sub: "x" }, verifies: false };
    const gateway = {
      sourcePrincipal: "cluster.local/ns/istio-ingress/sa/istio-ingressgateway",
      sourceNamespace: "istio-ingress",
    };
    assert.equal(decide(ours, user, { ...plaintext, ...gateway, token: badToken }).status, 401);
    assert.equal(decide(ours, order, { ...plaintext, ...gateway, token: badToken }).status, 200);
  });

  test("string matching: exact, prefix*, *suffix, and * for any non-empty value", () => {
    assert.ok(matchesPattern("a/b", "a/b") && !matchesPattern("a/b", "a/bc"));
    assert.ok(matchesPattern("https://iss/*", "https://iss/alice"));
    assert.ok(matchesPattern("*/sa/x", "cluster.local/ns/y/sa/x"));
    assert.ok(matchesPattern("*", "x") && !matchesPattern("*", ""));
  });

  test("attributes it does not model are refused, not guessed", () => {
    const p = policies(policy("ip", { rules: [{ from: [{ source: { ipBlocks: ["10.0.0.0/8"] } }] }] }));
    assert.throws(() => decide(p, target, call), /ipBlocks are not modelled/);
    const h = policies(
      policy("hdr", { rules: [{ when: [{ key: "request.headers[x-user-role]", values: ["admin"] }] }] }),
    );
    assert.throws(() => decide(h, target, call), /request\.headers\[x-user-role\] is not modelled/);
  });
});
