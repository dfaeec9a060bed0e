import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { asPulumiConfig, devStackConfig, PROJECT_ROOT } from "./support/configs";
import { loadIndex } from "./support/indexProgram";
import { runWithMocks } from "./support/mockEngine";
import { runLikePulumiHost } from "./support/pulumiHost";
import { T } from "./support/types";

describe("index.ts under mocks", () => {
  test("a fresh stack previews with the cluster (and so the kubeconfig) still unknown", async () => {
    const run = await runWithMocks(loadIndex, {
      config: asPulumiConfig(devStackConfig()),
      preview: true,
      unknownCommandOutputs: true,
    });
    assert.equal(run.error, undefined);
    const provider = run.get(T.provider, "kind");
    assert.ok(run.dependsOn(provider, run.get(T.command, "kind-cluster")));
    // Every object still registers against that provider, so preview lists the whole mesh.
    // Istio's charts and the egress gateway; Prometheus, Grafana, Kiali.
    assert.equal(run.ofType(T.release).length, 7);
    assert.equal(run.ofType(T.deployment).length, 4 + 2 + 1, "backends, the two probe clients and Jaeger");
    // app-routes, a mesh VirtualService per backend, and the egress route.
    assert.equal(run.ofType(T.virtualService).length, 5);
    // helm.v4.Chart would need to render against the unknown provider; Release previews without it.
    assert.equal(run.resources.filter((r) => r.type.startsWith("kubernetes:helm.sh/v4")).length, 0);
    // Security objects register too, the JWKS-bearing RequestAuthentication with its spec still unknown.
    assert.equal(run.ofType(T.requestAuthentication).length, 1);
    // allow-nothing and one per backend in backend, and the egress gateway's.
    assert.equal(run.ofType(T.authorizationPolicy).length, 5);
    const outputs = run.result as { kubeconfig: pulumi.Output<string>; demoToken: pulumi.Output<string> };
    assert.equal(await pulumi.isSecret(outputs.kubeconfig), true);
    assert.equal(await pulumi.isSecret(outputs.demoToken), true);
  });

  const invalid: [string, Record<string, string>, RegExp][] = [
    [
      "canaryWeights",
      { "istio-mesh:canaryWeights": '{"v1":90,"v2":20}' },
      /istio-mesh:canaryWeights = \{"v1":90,"v2":20\}: integer percents that sum to 100/,
    ],
    [
      "faults",
      { "istio-mesh:faults": '{"order-service":{"percent":30}}' },
      /istio-mesh:faults\.order-service = .*"delay".*"status"/,
    ],
    [
      "clusterMode",
      { "istio-mesh:clusterMode": "minikube" },
      /istio-mesh:clusterMode = "minikube": one of "kind", "existing"/,
    ],
  ];
  for (const [key, config, message] of invalid) {
    test(`an invalid ${key} stops the program with a RunError before any resource`, async () => {
      const run = await runWithMocks(loadIndex, { config });
      assert.ok(pulumi.RunError.isInstance(run.error), `expected RunError, got ${String(run.error)}`);
      assert.match((run.error as Error).message, message);
      assert.equal(run.resources.length, 0);
    });
  }
});

describe("loaded the way `pulumi preview` loads it", () => {
  test("Pulumi's nodejs entry point compiles index.ts with ts-node and this tsconfig, and runs it", async () => {
    const run = await runLikePulumiHost(PROJECT_ROOT, { config: asPulumiConfig(devStackConfig()) });
    assert.equal(run.code, 0, run.stderr);
    const types = new Set(run.resources.map((r) => r.type));
    for (const type of [T.command, T.release, T.deployment, T.gateway, T.virtualService, T.destinationRule]) {
      assert.ok(types.has(type), `${type} was not registered`);
    }
    assert.ok(types.has("pulumi:pulumi:Stack"));
    // jose is ESM-only; the JWKS proves the program's import() of it works under this CommonJS host.
    const auth = run.resources.find((r) => r.type === T.requestAuthentication);
    assert.ok(auth, "no RequestAuthentication registered");
    const jwks = JSON.parse((auth.inputs.spec as { jwtRules: { jwks: string }[] }).jwtRules[0]?.jwks ?? "{}");
    assert.equal(jwks.keys?.[0]?.kty, "RSA");
  });

  test("the same loader type-checks: a program with a type error is refused", async () => {
    const run = await runLikePulumiHost(`${PROJECT_ROOT}/tests/fixtures/type-error-program`);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr + run.stdout, /TS2322: Type 'string' is not assignable to type 'number'/);
  });

  // The two tests above prove this loader type-checks, and that this program passes; this one is
  // about how a bad value ends the run, so it skips the type check (the program's slowest part here).
  test("a bad config value ends the run with the message alone, and only the stack registered", async () => {
    const run = await runLikePulumiHost(PROJECT_ROOT, {
      config: { "istio-mesh:canaryWeights": '{"v1":90,"v3":10}' },
      transpileOnly: true,
    });
    assert.notEqual(run.code, 0);
    const output = run.stderr + run.stdout;
    assert.match(output, /istio-mesh:canaryWeights\.v3 = 10: not a deployed user-service version; allowed: v1, v2/);
    assert.doesNotMatch(output, /\n\s+at .*\.ts:\d+/, "no stack trace");
    assert.deepEqual(
      run.resources.map((r) => r.type),
      ["pulumi:pulumi:Stack"],
    );
  });
});
