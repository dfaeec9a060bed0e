/**
 * istiod revisions and the revision tags: the config that turns them on, the releases and values passed
 * to Istio's charts, and the tag objects, compared with what the istiod chart's own revision-tags
 * templates render (tests/fixtures/istio-1.30.3-revision-tags.json, from chart-render: see its `source`).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  newestVersion,
  REVISION_TAGS,
  revisionName,
  revisionTagService,
  revisionTagWebhook,
} from "../components/controlPlane/revisions";
import { deployMesh } from "../components/mesh";
import { buildMeshSpec, helmReleases, installedControlPlane, ownedObjects } from "../components/meshSpec";
import { configKey } from "../config/readers";
import snapshot from "./fixtures/istio-1.30.3-chart-keys.json";
import chartTags from "./fixtures/istio-1.30.3-revision-tags.json";
import { isChartKey, leafPaths } from "./support/chartKeys";
import { meshConfig, rejected } from "./support/configs";
import { runWithMocks } from "./support/mockEngine";
import { T } from "./support/types";

const UPGRADING = { revisions: { enabled: true, upgradeTo: "1.30.4", canaryVersion: "1.30.4" } };

/** Labels Helm adds for its release; the program's objects carry its own ownership labels instead. */
const RELEASE_LABELS = [
  "app.kubernetes.io/instance",
  "app.kubernetes.io/managed-by",
  "app.kubernetes.io/part-of",
  "app.kubernetes.io/version",
  "helm.sh/chart",
  "release",
];
const withoutReleaseLabels = (o: unknown) => {
  const copy = structuredClone(o) as { metadata: { labels: Record<string, string> } };
  for (const l of RELEASE_LABELS) delete copy.metadata.labels[l];
  return copy;
};

describe("revisions config", () => {
  test("off by default: one istiod named istiod, namespaces injected by istio-injection", () => {
    const spec = buildMeshSpec(meshConfig());
    assert.equal(installedControlPlane(spec)?.revisions, undefined);
    assert.deepEqual(
      helmReleases(spec).map((r) => r.name),
      ["istio-base", "istiod", "istio-ingressgateway", "istio-egressgateway"],
    );
    assert.equal(spec.namespaces.backend.metadata.labels?.["istio-injection"], "enabled");
  });

  test("an upgrade target equal to istioVersion, a tag on a release not installed, fields while off", () => {
    const key = (field: string) => configKey(`revisions.${field}`);
    assert.deepEqual(
      rejected({ revisions: { enabled: true, upgradeTo: "1.30.3" } }).issues.map((i) => [i.key, i.allowed]),
      [[key("upgradeTo"), "a release other than istioVersion (1.30.3)"]],
    );
    assert.deepEqual(
      rejected({ revisions: { enabled: true, stableVersion: "1.30.4" } }).issues.map((i) => [i.key, i.allowed]),
      [[key("stableVersion"), 'an installed release: "1.30.3"']],
    );
    assert.deepEqual(
      rejected({ revisions: { upgradeTo: "1.30.4" } }).issues.map((i) => i.key),
      [key("upgradeTo")],
    );
  });

  test("ambient refuses revisions: ztunnel is upgraded in place", () => {
    const issue = rejected({ dataplane: "ambient", egressGateway: false, revisions: { enabled: true } }).issues[0];
    assert.equal(issue?.key, configKey("revisions.enabled"));
    assert.match(String(issue?.allowed), /ztunnel/);
  });
});

describe("revisions: what the charts get", () => {
  test("every release name, chart version, image tag and revision comes from one release", () => {
    const spec = buildMeshSpec(meshConfig(UPGRADING));
    const byName = Object.fromEntries(helmReleases(spec).map((r) => [r.name, r]));
    assert.deepEqual(Object.keys(byName), [
      "istio-base",
      "istiod-1-30-3",
      "istio-ingressgateway",
      "istiod-1-30-4",
      "istio-egressgateway",
    ]);
    for (const version of ["1.30.3", "1.30.4"]) {
      const r = byName[`istiod-${revisionName(version)}`];
      assert.equal(r?.version, version);
      assert.equal(r?.values.revision, revisionName(version));
      assert.equal((r?.values.global as { tag?: string } | undefined)?.tag, version);
      assert.equal(r?.values.revisionTags, undefined, "tags are the program's objects, not a release's");
    }
    // The CRDs follow the newest release; validation goes to prod-stable's revision, still 1-30-3.
    assert.equal(byName["istio-base"]?.version, "1.30.4");
    assert.equal(byName["istio-base"]?.values.defaultRevision, "1-30-3");
    assert.equal(byName["istio-ingressgateway"]?.values.revision, REVISION_TAGS.canary);
    // A gateway's chart follows its tag: it rolls when the tag moves, not when the old revision goes.
    assert.equal(byName["istio-ingressgateway"]?.version, "1.30.4");
    assert.equal(byName["istio-egressgateway"]?.version, "1.30.3");
    assert.equal(byName["istio-egressgateway"]?.values.revision, REVISION_TAGS.stable);
    assert.equal(spec.namespaces.backend.metadata.labels?.["istio.io/rev"], REVISION_TAGS.stable);
    assert.equal(spec.namespaces.backend.metadata.labels?.["istio-injection"], undefined);
  });

  test("every value passed is a key of that chart's values.yaml (1.30.3 snapshot)", () => {
    const open: Record<string, readonly string[]> = { istiod: ["meshConfig"], gateway: ["labels"], base: [] };
    for (const release of helmReleases(buildMeshSpec(meshConfig(UPGRADING)))) {
      const chart = release.chart as keyof typeof snapshot.charts;
      const unknown = leafPaths(release.values).filter(
        (p) => !isChartKey(snapshot.charts[chart], open[chart] ?? [], p),
      );
      assert.deepEqual(unknown, [], `${release.name} sets keys the ${chart} chart does not define`);
    }
  });

  test("the tags point at the versions the config names, and move as one object each", () => {
    const tags = (raw: Record<string, unknown>) =>
      (installedControlPlane(buildMeshSpec(meshConfig(raw)))?.revisions?.tags ?? [])
        .filter((o) => o.kind === "MutatingWebhookConfiguration")
        .map((o) => [o.metadata.name, o.metadata.labels?.["istio.io/rev"]]);
    assert.deepEqual(tags(UPGRADING), [
      ["istio-revision-tag-prod-stable", "1-30-3"],
      ["istio-revision-tag-prod-canary", "1-30-4"],
    ]);
    assert.deepEqual(tags({ revisions: { ...UPGRADING.revisions, stableVersion: "1.30.4" } }), [
      ["istio-revision-tag-prod-stable", "1-30-4"],
      ["istio-revision-tag-prod-canary", "1-30-4"],
    ]);
    const owned = ownedObjects(buildMeshSpec(meshConfig(UPGRADING))).map((o) => `${o.kind}/${o.metadata.name}`);
    assert.ok(owned.includes("Service/istiod-revision-tag-prod-canary"));
  });
});

describe("revision tags equal what Istio's istiod chart renders for them", () => {
  for (const rendered of chartTags.objects) {
    test(`${rendered.kind} ${rendered.metadata.name}`, () => {
      const tag = rendered.metadata.labels["istio.io/tag"] as (typeof REVISION_TAGS)["stable"];
      const revision = rendered.metadata.labels["istio.io/rev"];
      const ours = rendered.kind === "Service" ? revisionTagService(tag, revision) : revisionTagWebhook(tag, revision);
      assert.deepEqual(withoutReleaseLabels(ours), withoutReleaseLabels(rendered));
    });
  }
});

test("the newest release is chosen per numeric part, not as text", () => {
  assert.equal(newestVersion(["1.30.10", "1.30.9"]), "1.30.10");
  assert.equal(newestVersion(["1.30.3"]), "1.30.3");
});

describe("revisions under Pulumi's mocks", () => {
  const MWC = "kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration";
  const installed = { revisions: { enabled: true, upgradeTo: "1.30.4" } };
  // One mock run per config: the tests only read what it registered.
  const runs = new Map<string, ReturnType<typeof runWithMocks>>();
  const runOf = (raw: Record<string, unknown>) => {
    const key = JSON.stringify(raw);
    let found = runs.get(key);
    if (!found) {
      found = runWithMocks(() => deployMesh(meshConfig(raw)));
      runs.set(key, found);
    }
    return found;
  };

  test("moving prod-canary updates its webhook, its Service and the ingress gateway, nothing else", async () => {
    const inputs = async (raw: Record<string, unknown>) => {
      const run = await runOf(raw);
      return new Map(
        run.resources.map((r) => [r.urn, { label: `${r.type}::${r.name}`, inputs: JSON.stringify(r.inputs) }]),
      );
    };
    const before = await inputs(installed);
    const after = await inputs({ revisions: { ...installed.revisions, canaryVersion: "1.30.4" } });
    assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), "the same resources: an update in place");
    const changed = [...before]
      .filter(([urn, b]) => after.get(urn)?.inputs !== b.inputs)
      .map(([urn]) => before.get(urn)?.label);
    assert.deepEqual(changed.sort(), [
      `${MWC}::istio-revision-tag-prod-canary`,
      `${T.service}::istiod-revision-tag-prod-canary`,
      `${T.release}::istio-ingressgateway`,
    ]);
  });

  test("a tag's webhook waits for every revision; injected workloads and the gateways wait for the tags", async () => {
    const run = await runOf(installed);
    const stableTag = run.get(MWC, "istio-revision-tag-prod-stable");
    for (const istiod of ["istiod-1-30-3", "istiod-1-30-4"])
      assert.ok(run.dependsOn(stableTag, run.get(T.release, istiod)));
    for (const dependent of [
      run.get(T.deployment, "user-service-v1"),
      run.get(T.release, "istio-ingressgateway"),
      run.get(T.release, "istio-egressgateway"),
    ]) {
      assert.ok(run.dependsOn(dependent, stableTag), `${dependent.name} waits for the tag's webhook`);
    }
  });
});
