import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { stackFileConfig } from "../config/stackFile";
import { criticalPath, stackCriticalPath, typicalSeconds } from "../scripts/dev/critical-path";
import { PROJECT_ROOT } from "./support/configs";
import type { Registered } from "./support/mockEngine";
import { T } from "./support/types";

const node = (name: string, type: string, dependencies: string[] = [], provider = ""): Registered => ({
  urn: name,
  type,
  name,
  inputs: {},
  outputs: {},
  parent: "",
  provider,
  dependencies,
  deletedWith: "",
  options: { protect: false, ignoreChanges: [], additionalSecretOutputs: [], aliases: [] },
});

test("the critical path follows the slowest chain of waits, providers included", () => {
  const resources = [
    node("cluster", "command:local:Command"),
    node("provider", "pulumi:providers:kubernetes", ["cluster"]),
    node("ns", "kubernetes:core/v1:Namespace", [], "provider::id"),
    node("istiod", "kubernetes:helm.sh/v3:Release", ["ns"], "provider::id"),
    node("app", "kubernetes:apps/v1:Deployment", ["istiod"], "provider::id"),
    node("route", "kubernetes:networking.istio.io/v1:VirtualService", ["istiod"], "provider::id"),
  ];
  const chain = criticalPath(resources, (r) => typicalSeconds(r.type));
  assert.deepEqual(
    chain.resources.map((r) => r.name),
    ["cluster", "provider", "ns", "istiod", "app"],
  );
  assert.equal(chain.seconds, 45 + 0 + 1 + 30 + 25);
});

describe("the dev stack's critical path (the program under mocks)", () => {
  const dev = stackCriticalPath(stackFileConfig(PROJECT_ROOT, "dev"));
  const isIstioObject = (r: Registered) => /^kubernetes:[\w.]*istio\.io\//.test(r.type);
  const isGatewayRelease = (r: Registered) => r.type === T.release && r.inputs.chart === "gateway";

  test("owner id → kind cluster → kind provider → istio-system → istio-base → istiod → a gateway release, and nothing else", async () => {
    const { chain } = await dev;
    const steps = chain.resources.map((r) => `${r.type} ${r.name}`);
    assert.deepEqual(steps.slice(0, 6), [
      // The state's id that labels the cluster as this state's (components/cluster/cluster.ts).
      "random:index/randomId:RandomId kind-cluster-owner",
      `${T.command} kind-cluster`,
      `${T.provider} kind`,
      `${T.namespace} istio-system`,
      `${T.release} istio-base`,
      `${T.release} istiod`,
    ]);
    const last = chain.resources.at(-1);
    assert.ok(last && isGatewayRelease(last), `ends at a gateway release, not ${steps.at(-1)}`);
    assert.equal(chain.resources.length, 7, steps.join("\n"));
    for (const r of chain.resources) {
      assert.ok(r.type !== T.deployment, `no backend Deployment on the path: ${r.name}`);
      assert.ok(!isIstioObject(r), `no Istio custom resource on the path: ${r.name}`);
      assert.ok(
        !(r.type === T.release && ["prometheus", "grafana", "kiali-server"].includes(String(r.inputs.chart))),
        `no observability release on the path: ${r.name}`,
      );
    }
  });

  test("no Istio custom resource waits for another one or for a gateway release", async () => {
    const { resources } = await dev;
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const istioObjects = resources.filter(isIstioObject);
    // Traffic, security, egress and the Telemetry: every area registers some.
    assert.ok(istioObjects.length >= 15, `${istioObjects.length} Istio objects`);
    const needless = istioObjects.flatMap((r) =>
      r.dependencies
        .map((urn) => byUrn.get(urn))
        .filter((d): d is Registered => d !== undefined && (isIstioObject(d) || isGatewayRelease(d)))
        .map((d) => `${r.type} ${r.name} waits for ${d.type} ${d.name}`),
    );
    assert.deepEqual(needless, []);
    // Each still waits for what it needs: the CRDs and istiod's webhook.
    const base = resources.find((r) => r.type === T.release && r.name === "istio-base");
    const istiod = resources.find((r) => r.type === T.release && r.name === "istiod");
    assert.ok(base && istiod);
    for (const r of istioObjects) {
      assert.ok(
        r.dependencies.includes(base.urn) && r.dependencies.includes(istiod.urn),
        `${r.name} waits for base and istiod`,
      );
    }
  });
});
