/** telemetry-metric-tags-bounded: the pack refuses what `observability.metricTags` refuses, on any Telemetry. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { meshTelemetry } from "../components/observability/telemetry";
import { BOUNDED_TAG_ATTRIBUTES } from "../config/metricTags";
import { telemetryMetricTagsBounded } from "../policies/observability";
import { policies } from "../policies/policies";
import { devConfig, PROJECT_ROOT } from "./support/configs";
import { kubernetesResource, runPolicies } from "./support/policyHarness";

type Tags = Record<string, { operation?: string; value?: string }>;

/** The mesh Telemetry with these tag overrides, as another program or a hand edit might set them. */
function telemetryWith(tagOverrides: Tags) {
  const telemetry = structuredClone(meshTelemetry(devConfig().observability, "istio-system")) as Record<string, any>;
  telemetry.spec.metrics = [
    { providers: [{ name: "prometheus" }], overrides: [{ match: { metric: "ALL_METRICS" }, tagOverrides }] },
  ];
  return telemetry;
}

async function violations(tagOverrides: Tags): Promise<string[]> {
  const run = await runPolicies(
    [telemetryMetricTagsBounded],
    [kubernetesResource(telemetryWith(tagOverrides) as never)],
  );
  return run.messages(telemetryMetricTagsBounded.name);
}

describe("telemetry-metric-tags-bounded", () => {
  test("is in the pack, mandatory", () => {
    const found = policies.find((p) => p.name === "telemetry-metric-tags-bounded");
    assert.equal(found?.enforcementLevel, "mandatory");
  });

  test("passes the dev stack's Telemetry and bounded tags; REMOVE is never a problem", async () => {
    const run = await runPolicies(
      [telemetryMetricTagsBounded],
      [kubernetesResource(meshTelemetry(devConfig().observability, "istio-system"))],
    );
    assert.deepEqual(run.diagnostics, []);
    assert.deepEqual(
      await violations({
        request_protocol: { operation: "UPSERT", value: "request.protocol" },
        mtls: { value: "connection.mtls" },
        request_host: { operation: "REMOVE" },
      }),
      [],
    );
  });

  test("refuses credential headers, unbounded attributes and the scrape's own label names", async () => {
    const found = await violations({
      token: { operation: "UPSERT", value: "request.headers['authorization']" },
      session: { value: "request.headers['cookie']" },
      user_agent: { value: "request.headers['user-agent']" },
      peer: { value: "source.address" },
      conn: { value: "connection.id" },
      path: { value: "request.url_path" },
      namespace: { value: "request.protocol" },
      app: { value: "request.protocol" },
    });
    const at = (name: string) => found.find((m) => m.includes(`tagOverrides.${name} =`)) ?? "";
    assert.equal(found.length, 8, found.join("\n"));
    assert.match(at("token"), /^Telemetry istio-system\/mesh-default metrics\[0\]\.overrides\[0\].*never a credential/);
    assert.match(at("session"), /never a credential/);
    for (const name of ["user_agent", "peer", "conn", "path"]) assert.match(at(name), /bounded attributes/, name);
    for (const name of ["namespace", "app"]) assert.match(at(name), /honor_labels/, name);
  });
});

describe("the documented list", () => {
  test("docs/observability.md lists exactly the bounded attributes the config and the pack accept", () => {
    const text = readFileSync(join(PROJECT_ROOT, "docs/observability.md"), "utf8");
    const listed = [...text.matchAll(/^ {2}\| `([a-z_.]+)` +\|/gm)].map((m) => m[1]);
    assert.deepEqual(listed, Object.keys(BOUNDED_TAG_ATTRIBUTES));
    assert.doesNotMatch(text, /count by \(user_agent\)/);
  });
});
