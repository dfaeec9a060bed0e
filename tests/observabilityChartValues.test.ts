import assert from "node:assert/strict";
import { test } from "node:test";
import { JAEGER_IMAGE } from "../components/observability/jaeger";
import { ADDON_CHARTS, ADDON_IMAGES, type AddonRelease } from "../components/observability/pins";
import { observabilitySpec } from "../components/observability/spec";
import snapshot from "./fixtures/observability-chart-keys.json";
import { isChartKey, leafPaths } from "./support/chartKeys";
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

const isKeyOf = (chart: AddonRelease["chart"], path: string) =>
  isChartKey(snapshot.charts[chart].keys, OPEN_MAPS[chart], path);

const releases = observabilitySpec(devConfig()).releases;

test("the key snapshot is of the chart versions we install", () => {
  for (const [chart, pinned] of Object.entries(ADDON_CHARTS)) {
    assert.equal(snapshot.charts[chart as AddonRelease["chart"]].version, pinned.version, chart);
  }
  for (const r of releases) assert.equal(r.version, ADDON_CHARTS[r.chart].version);
});

test("every value we pass Prometheus, Grafana and Kiali is a key their chart reads", () => {
  for (const r of releases) {
    const unknown = leafPaths(r.values).filter((p) => !isKeyOf(r.chart, p));
    assert.deepEqual(unknown, [], `${r.name} (${r.chart}) sets keys the chart does not define`);
  }
});

test("the check catches keys the charts do not have", () => {
  assert.equal(isKeyOf("grafana", "adminPasword"), false);
  assert.equal(isKeyOf("prometheus", "server.service.port"), false, "the chart's key is servicePort");
  assert.equal(isKeyOf("kiali-server", "external_services.tracing.in_cluster_url_typo"), false);
  assert.equal(isKeyOf("kiali-server", "external_services.tracing.internal_url"), true);
  assert.equal(isKeyOf("grafana", "grafana.ini.auth.anonymous.enabled"), true);
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
