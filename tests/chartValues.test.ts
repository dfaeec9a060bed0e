import assert from "node:assert/strict";
import { test } from "node:test";
import { buildMeshSpec, helmReleases } from "../components/meshSpec";
import snapshot from "./fixtures/istio-1.30.3-chart-keys.json";
import { meshConfig } from "./support/configs";

/**
 * Maps whose keys the chart passes through rather than defines, so any key is fine inside them:
 * meshConfig is Istio's MeshConfig API; labels are Kubernetes labels.
 */
const OPEN_MAPS: Record<string, readonly string[]> = { istiod: ["meshConfig"], gateway: ["labels"], base: [] };

function leafPaths(value: unknown, prefix = ""): string[] {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

function isChartKey(chart: keyof typeof snapshot.charts, path: string): boolean {
  const known = snapshot.charts[chart];
  if (known.includes(path)) return true;
  const parents = path.split(".").map((_, i, parts) => parts.slice(0, i + 1).join("."));
  return parents.some((p) => known.includes(`${p}.*`) || (OPEN_MAPS[chart] ?? []).includes(p));
}

test("the snapshot is of the Istio release we install", () => {
  assert.equal(snapshot.istioVersion, meshConfig().istio.version);
});

test("every Helm value we pass is a key of that chart's values.yaml", () => {
  const releases = helmReleases(buildMeshSpec(meshConfig()));
  assert.deepEqual(
    releases.map((r) => r.name),
    ["istio-base", "istiod", "istio-ingressgateway", "istio-egressgateway"],
  );
  for (const release of releases) {
    const unknown = leafPaths(release.values).filter((p) => !isChartKey(release.chart, p));
    assert.deepEqual(unknown, [], `${release.name} (${release.chart}) sets keys the chart does not define`);
  }
});

test("the check catches a key the chart does not have (the lab's pilot.traceSampling)", () => {
  assert.equal(isChartKey("istiod", "pilot.traceSampling"), false);
  assert.equal(isChartKey("istiod", "traceSampling"), true);
  assert.equal(isChartKey("gateway", "service.ports"), true);
});
