import assert from "node:assert/strict";
import { test } from "node:test";
import { JAEGER_IMAGE } from "../components/observability/jaeger";
import { ADDON_CHARTS, ADDON_IMAGES, type AddonRelease } from "../components/observability/pins";
import { observabilitySpec } from "../components/observability/spec";
import snapshot from "./fixtures/observability-chart-keys.json";
import { devConfig } from "./support/configs";

/**
 * Maps the charts pass through rather than define: grafana.ini sections are Grafana's INI file,
 * labels are Kubernetes labels.
 */
const OPEN_MAPS: Record<AddonRelease["chart"], readonly string[]> = {
  prometheus: [],
  grafana: ["grafana.ini"],
  "kiali-server": [],
};

function leafPaths(value: unknown, prefix = ""): string[] {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

function isChartKey(chart: AddonRelease["chart"], path: string): boolean {
  const known = snapshot.charts[chart].keys;
  if (known.includes(path)) return true;
  const parents = path.split(".").map((_, i, parts) => parts.slice(0, i + 1).join("."));
  return parents.some((p) => known.includes(`${p}.*`) || OPEN_MAPS[chart].includes(p));
}

const releases = observabilitySpec(devConfig()).releases;

test("the key snapshot is of the chart versions we install", () => {
  for (const [chart, pinned] of Object.entries(ADDON_CHARTS)) {
    assert.equal(snapshot.charts[chart as AddonRelease["chart"]].version, pinned.version, chart);
  }
  for (const r of releases) assert.equal(r.version, ADDON_CHARTS[r.chart].version);
});

test("every value we pass Prometheus, Grafana and Kiali is a key their chart reads", () => {
  for (const r of releases) {
    const unknown = leafPaths(r.values).filter((p) => !isChartKey(r.chart, p));
    assert.deepEqual(unknown, [], `${r.name} (${r.chart}) sets keys the chart does not define`);
  }
});

test("the check catches keys the charts do not have", () => {
  assert.equal(isChartKey("grafana", "adminPasword"), false);
  assert.equal(isChartKey("prometheus", "server.service.port"), false, "the chart's key is servicePort");
  assert.equal(isChartKey("kiali-server", "external_services.tracing.in_cluster_url_typo"), false);
  assert.equal(isChartKey("kiali-server", "external_services.tracing.internal_url"), true);
  assert.equal(isChartKey("grafana", "grafana.ini.auth.anonymous.enabled"), true);
});

test("images are the ones Istio 1.30.3's addons run", () => {
  assert.deepEqual(ADDON_IMAGES, {
    prometheus: { repository: "docker.io/prom/prometheus", tag: "v3.10.0" },
    configReloader: { repository: "ghcr.io/prometheus-operator/prometheus-config-reloader", tag: "v0.89.0" },
    grafana: { registry: "docker.io", repository: "grafana/grafana", tag: "12.0.1" },
    kiali: { name: "quay.io/kiali/kiali", version: "v2.26.0" },
  });
  assert.equal(JAEGER_IMAGE, "docker.io/jaegertracing/jaeger:2.14.0");
});
