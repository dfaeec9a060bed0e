import assert from "node:assert/strict";
import { test } from "node:test";
import { buildMeshSpec, helmReleases } from "../components/meshSpec";
import snapshot from "./fixtures/istio-1.30.3-chart-keys.json";
import { isChartKey, leafPaths } from "./support/chartKeys";
import { meshConfig } from "./support/configs";

/**
 * Maps whose keys the chart passes through rather than defines, so any key is fine inside them:
 * meshConfig is Istio's MeshConfig API; labels are Kubernetes labels.
 */
const OPEN_MAPS: Record<string, readonly string[]> = {
  istiod: ["meshConfig"],
  gateway: ["labels"],
  base: [],
  cni: [],
  ztunnel: [],
};

const isKeyOf = (chart: keyof typeof snapshot.charts, path: string) =>
  isChartKey(snapshot.charts[chart], OPEN_MAPS[chart] ?? [], path);

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
    const unknown = leafPaths(release.values).filter((p) => !isKeyOf(release.chart, p));
    assert.deepEqual(unknown, [], `${release.name} (${release.chart}) sets keys the chart does not define`);
  }
});

test("in ambient, istio-cni and ztunnel join base and istiod, every value a key of its chart, all at one version", () => {
  const cfg = meshConfig({ dataplane: "ambient", egressGateway: false });
  const releases = helmReleases(buildMeshSpec(cfg));
  assert.deepEqual(
    releases.map((r) => `${r.name}:${r.chart}`),
    ["istio-base:base", "istiod:istiod", "istio-ingressgateway:gateway", "istio-cni:cni", "ztunnel:ztunnel"],
  );
  for (const release of releases) {
    const unknown = leafPaths(release.values).filter((p) => !isKeyOf(release.chart, p));
    assert.deepEqual(unknown, [], `${release.name} (${release.chart}) sets keys the chart does not define`);
    assert.equal(release.version, cfg.istio.version);
  }
  // Istio's Helm ambient guide: `profile=ambient` on istiod, istio-cni and ztunnel.
  const profiles = Object.fromEntries(releases.map((r) => [r.name, r.values.profile]));
  assert.deepEqual(profiles, {
    "istio-base": undefined,
    istiod: "ambient",
    "istio-ingressgateway": undefined,
    "istio-cni": "ambient",
    ztunnel: "ambient",
  });
});

test("the sidecar cells set no profile", () => {
  for (const release of helmReleases(buildMeshSpec(meshConfig()))) assert.equal(release.values.profile, undefined);
});

test("the check catches a key the chart does not have (the lab's pilot.traceSampling)", () => {
  assert.equal(isKeyOf("istiod", "pilot.traceSampling"), false);
  assert.equal(isKeyOf("istiod", "traceSampling"), true);
  assert.equal(isKeyOf("gateway", "service.ports"), true);
});
