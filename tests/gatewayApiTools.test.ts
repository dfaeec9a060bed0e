/**
 * The tools in the gateway-api cell: the policy pack checks HTTPRoute references, the mesh diff reads a
 * canary shift as backend weights, the graph draws HTTPRoutes, and the analyzer knows a version Service
 * (bench --in-cluster in this cell: tests/benchInCluster.test.ts).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { canaryReplicas } from "../analysis/analyzers/stack/canaryReplicas";
import { stackInput } from "../analysis/input";
import { analyze } from "../analysis/run";
import { buildMeshSpec, ownedObjects } from "../components/meshSpec";
import { routeBackendsExist } from "../policies/traffic";
import { formatText } from "../tools/diff/format";
import { diffSnapshots } from "../tools/diff/semanticDiff";
import { snapshotOf } from "../tools/diff/snapshot";
import { meshGraph } from "../tools/graph/graph";
import { renderMesh } from "../tools/render/main";
import { devGatewayApiRaw } from "./support/cells";
import { meshConfig } from "./support/configs";
import { kubernetesResource, runPolicies } from "./support/policyHarness";

/** The dev stack in the cell, as a stack file's `istio-mesh:`-prefixed config. */
const stackConfig = (extra: Record<string, unknown> = {}) =>
  Object.fromEntries(Object.entries({ ...devGatewayApiRaw(), ...extra }).map(([k, v]) => [`istio-mesh:${k}`, v]));
const cellObjects = () => ownedObjects(buildMeshSpec(meshConfig(devGatewayApiRaw())));

describe("route-backends-exist", () => {
  const check = async (objects: readonly object[]) =>
    (
      await runPolicies(
        [routeBackendsExist],
        objects.map((o) => kubernetesResource(o as never)),
      )
    ).messages(routeBackendsExist.name);

  test("passes for every object of the cell", async () => {
    assert.deepEqual(await check(cellObjects()), []);
  });

  test("names a backendRef to a missing Service, a port the Service lacks and a missing parent", async () => {
    const objects = structuredClone(cellObjects()) as unknown as {
      kind: string;
      metadata: { name: string };
      spec: any;
    }[];
    const ingress = objects.find((o) => o.kind === "HTTPRoute" && o.metadata.name === "app-routes");
    assert.ok(ingress);
    ingress.spec.rules[1].backendRefs[1].name = "user-service-v3";
    ingress.spec.rules[2].backendRefs[0].port = 8080;
    const mesh = objects.find((o) => o.kind === "HTTPRoute" && o.metadata.name === "order-service");
    assert.ok(mesh);
    mesh.spec.parentRefs[0].name = "orders";
    assert.deepEqual(await check(objects), [
      "HTTPRoute backend/app-routes rule user-service-canary: backendRef Service/backend/user-service-v3 is not in this stack",
      "HTTPRoute backend/app-routes rule product-service: Service/backend/product-service exposes no port 8080",
      "HTTPRoute backend/order-service: parentRef Service/backend/orders is not in this stack",
    ]);
  });
});

describe("the mesh diff", () => {
  test("a canary shift reads as backend weights per rule, and nothing else changes", () => {
    const snapshot = (config: Record<string, unknown>) => snapshotOf(renderMesh(config));
    const header = { stack: "dev", baseRef: "main", baseCommit: "0123456789abcdef0123" };
    const text = formatText(
      diffSnapshots(snapshot(stackConfig()), snapshot(stackConfig({ canaryWeights: { v1: 75, v2: 25 } }))),
      header,
    );
    assert.deepEqual(text.trim().split("\n").slice(1, -1), [
      "~ HTTPRoute backend/app-routes: user-service-canary weights user-service-v1 90→75, user-service-v2 10→25",
      "~ HTTPRoute backend/user-service: user-service-canary weights user-service-v1 90→75, user-service-v2 10→25",
    ]);
  });
});

describe("npm run graph", () => {
  test("draws the Gateway API Gateway's listeners and the HTTPRoutes' splits, versions folded into services", () => {
    const graph = meshGraph(stackConfig());
    const gateway = graph.nodes.find((n) => n.id === "ingress-gateway");
    assert.deepEqual(gateway?.lines.slice(1), [
      "Gateway API Gateway app-gateway",
      "HTTP :80 *",
      "HTTPS :443 api.example.com (TLS Terminate)",
    ]);
    const users = graph.edges
      .filter((e) => e.from === "ingress-gateway" && e.to === "user-service")
      .map((e) => e.lines.join(" / "));
    assert.deepEqual(users, [
      "/users [x-user-type: beta] / → v2 only / retries 3×2s on 500,501,502,503,504,505,506,507,508,510,511, timeout 10s / breaker: 10 conn, 10 pending; eject after 3×5xx for 30s / allowed: mTLS identity, JWT role ∈ admin|user",
      "/users / v1 90% · v2 10% / retries 3×2s on 500,501,502,503,504,505,506,507,508,510,511, timeout 10s / breaker: 10 conn, 10 pending; eject after 3×5xx for 30s",
    ]);
    assert.ok(!graph.nodes.some((n) => n.id.startsWith("user-service-v")));
  });
});

describe("the analyzer", () => {
  test("MESH0001 names an HTTPRoute whose weighted version Service has no running replicas", () => {
    const input = stackInput(meshConfig(devGatewayApiRaw()));
    const v2 = input.resources.find((r) => r.kind === "Deployment" && r.name === "user-service-v2");
    assert.ok(v2);
    (v2.body.spec as { replicas: number }).replicas = 0;
    const messages = analyze(input, [], [canaryReplicas]).findings.map((f) => `${f.origin} ${f.message}`);
    assert.deepEqual(messages, [
      'HTTPRoute backend/app-routes Route "user-service-beta" sends 100% of its traffic to subset "user-service-v2", whose workloads run 0 replicas: those requests fail 503',
      'HTTPRoute backend/app-routes Route "user-service-canary" sends 10% of its traffic to subset "user-service-v2", whose workloads run 0 replicas: those requests fail 503',
      'HTTPRoute backend/user-service Route "user-service-beta" sends 100% of its traffic to subset "user-service-v2", whose workloads run 0 replicas: those requests fail 503',
      'HTTPRoute backend/user-service Route "user-service-canary" sends 10% of its traffic to subset "user-service-v2", whose workloads run 0 replicas: those requests fail 503',
    ]);
  });
});
