/**
 * Grafana's dashboards: fetched when the program runs, kept only at their pinned sha256, served from
 * ConfigMaps; with the network unreachable the program still evaluates (preview: computed; up: left
 * out with a warning) and never waits longer than the fetch timeout.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { deployMesh } from "../components/mesh";
import { loadPinnedDashboards } from "../components/observability/dashboardSource";
import {
  DASHBOARD_GROUPS,
  DASHBOARD_TAG,
  dashboardConfigMap,
  dashboardUrl,
  PINNED_DASHBOARDS,
} from "../components/observability/dashboards";
import { devConfig } from "./support/configs";
import { runWithMocks } from "./support/mockEngine";
import { T } from "./support/types";

const dirs: string[] = [];
const cacheDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "dashboards-"));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Stand-in dashboards are pinned by their own digest; Istio's real ones are in components/observability/dashboards.ts. */
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** fetch as Node's fails with no network: DNS does not resolve (undici: TypeError, cause ENOTFOUND). */
const unreachable: typeof fetch = async () => {
  throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ENOTFOUND" } });
};

describe("pins", () => {
  test("seven dashboards of Istio 1.30.3, each with a sha256 and its git blob, split as Istio's addon splits them", () => {
    assert.equal(DASHBOARD_TAG, "1.30.3");
    assert.equal(PINNED_DASHBOARDS.length, 7);
    for (const d of PINNED_DASHBOARDS) {
      assert.match(d.sha256, /^[0-9a-f]{64}$/, d.file);
      assert.match(d.gitBlob, /^[0-9a-f]{40}$/, d.file);
      assert.equal(
        dashboardUrl(d.file),
        `https://raw.githubusercontent.com/istio/istio/1.30.3/manifests/addons/dashboards/${d.file}`,
      );
    }
    assert.deepEqual(
      DASHBOARD_GROUPS.istio.dashboards.map((d) => d.file),
      ["istio-performance-dashboard.json", "pilot-dashboard.gen.json", "ztunnel-dashboard.gen.json"],
    );
  });
});

describe("loading", () => {
  test("network unreachable, nothing cached: every dashboard missing, no throw", async () => {
    const load = await loadPinnedDashboards({ fetch: unreachable, cacheDir: cacheDir() });
    assert.deepEqual(load.contents, {});
    assert.equal(load.missing.length, 7);
    assert.ok(load.missing.every((m) => m.reason === "ENOTFOUND"));
  });

  test("a body whose digest is not the pinned one is refused, never served or cached", async () => {
    const dir = cacheDir();
    const tampered: typeof fetch = async () => new Response('{"title":"not Istio\'s"}');
    const load = await loadPinnedDashboards({ fetch: tampered, cacheDir: dir });
    assert.deepEqual(load.contents, {});
    assert.match(load.missing[0]?.reason ?? "", /^sha256 [0-9a-f]{64}, pinned [0-9a-f]{64}: refused$/);
    assert.deepEqual(readdirSync(dir), []);
  });

  test("a server that never answers costs the timeout, no more", async () => {
    // An open socket that never answers keeps the process alive, as this timer does; only the abort ends it.
    const hanging: typeof fetch = (_url, init) =>
      new Promise((_, reject) => {
        const socket = setTimeout(() => {}, 60_000);
        init?.signal?.addEventListener("abort", () => {
          clearTimeout(socket);
          reject(init.signal?.reason);
        });
      });
    const load = await loadPinnedDashboards({ fetch: hanging, cacheDir: cacheDir(), timeoutMs: 50 });
    assert.ok(load.missing.every((m) => m.reason === "no answer in 50 ms"));
  });

  test("fetched once at its pinned digest, then served from the cache with the network gone", async () => {
    const dir = cacheDir();
    const body = '{"title":"stand-in"}';
    const pins = [{ file: "stand-in.json", sha256: sha256(body), gitBlob: "0".repeat(40) }];
    const urls: string[] = [];
    const github: typeof fetch = async (url) => {
      urls.push(String(url));
      return new Response(body);
    };
    assert.deepEqual((await loadPinnedDashboards({ fetch: github, cacheDir: dir, pins })).contents, {
      "stand-in.json": body,
    });
    assert.deepEqual(urls, [dashboardUrl("stand-in.json")]);
    assert.deepEqual(readdirSync(dir), [`${pins[0]?.sha256}.json`]);
    const again = await loadPinnedDashboards({ fetch: unreachable, cacheDir: dir, pins });
    assert.deepEqual(again, { contents: { "stand-in.json": body }, missing: [] });
    // A cache entry that no longer hashes to its name is not used.
    writeFileSync(join(dir, `${pins[0]?.sha256}.json`), "{}");
    const corrupted = await loadPinnedDashboards({ fetch: unreachable, cacheDir: dir, pins });
    assert.deepEqual(corrupted.missing, [{ file: "stand-in.json", reason: "ENOTFOUND" }]);
  });
});

describe("ConfigMaps", () => {
  test("one per provider in istio-system, minified JSON, with the digest of each file it holds", () => {
    const [pin] = DASHBOARD_GROUPS.istio.dashboards;
    const cm = dashboardConfigMap("istio", { [pin.file]: '{\n  "title": "x"\n}' });
    assert.equal(cm.metadata.name, "istio-grafana-dashboards");
    assert.equal(cm.metadata.namespace, "istio-system");
    assert.deepEqual(cm.data, { [pin.file]: '{"title":"x"}' });
    assert.deepEqual(cm.metadata.annotations, { [`istio-mesh/sha256.${pin.file}`]: pin.sha256 });
    const gen = dashboardConfigMap("istio", { "pilot-dashboard.gen.json": "{}" });
    assert.deepEqual(Object.keys(gen.data ?? {}), ["pilot-dashboard.json"], "Istio's addon drops .gen from the key");
  });
});

describe("the program with the network unreachable", () => {
  const offline = () => loadPinnedDashboards({ fetch: unreachable, cacheDir: cacheDir() });

  test("a preview evaluates: the ConfigMaps register with their data computed", async () => {
    const run = await runWithMocks(() => deployMesh(devConfig(), { dashboards: offline }), { preview: true });
    assert.equal(run.error, undefined);
    const maps = run.ofType(T.configMap).filter((r) => r.name.endsWith("grafana-dashboards"));
    assert.deepEqual(maps.map((m) => m.name).sort(), ["istio-grafana-dashboards", "istio-services-grafana-dashboards"]);
    const grafana = run.get(T.release, "grafana");
    for (const map of maps) assert.ok(run.dependsOn(grafana, map), `grafana waits for ${map.name}`);
  });

  test("an up evaluates too: the dashboards are left out, nothing throws", async () => {
    const run = await runWithMocks(() => deployMesh(devConfig(), { dashboards: offline }));
    assert.equal(run.error, undefined);
    const map = run.get(T.configMap, "istio-services-grafana-dashboards");
    assert.deepEqual(map.inputs.data, {});
  });

  test("with the dashboards at hand, up serves them", async () => {
    const [pin] = DASHBOARD_GROUPS.istio.dashboards;
    const loaded = async () => ({ contents: { [pin.file]: '{"title":"performance"}' }, missing: [] });
    const run = await runWithMocks(() => deployMesh(devConfig(), { dashboards: loaded }));
    assert.deepEqual(run.get(T.configMap, "istio-grafana-dashboards").inputs.data, {
      [pin.file]: '{"title":"performance"}',
    });
  });
});
