/**
 * The Gateway API CRDs: pinned to kubernetes-sigs/gateway-api v1.5.1's experimental channel, kept only
 * at their sha256, and a run without them stops with one message naming every file and why.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { loadGatewayApiCrds } from "../components/gatewayApi/crdSource";
import { crdName, crdObjects, crdShellLoad, crdUrl, GATEWAY_API_CRDS, usedCrds } from "../components/gatewayApi/crds";
import { loadedCrd } from "../components/gatewayApi/gatewayApiCrds";
import { buildMeshSpec, ownedObjects } from "../components/meshSpec";
import { loadPinnedFiles, sha256 } from "../components/pinnedFiles";
import { meshConfig } from "./support/configs";

const dirs: string[] = [];
const cacheDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "gateway-api-crds-"));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("pins", () => {
  test("twelve CRDs of the experimental channel at tag v1.5.1, each with a sha256", () => {
    assert.equal(GATEWAY_API_CRDS.length, 12);
    for (const pin of GATEWAY_API_CRDS) {
      assert.match(pin.sha256, /^[0-9a-f]{64}$/);
      assert.equal(
        pin.url,
        `https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/v1.5.1/config/crd/experimental/${pin.file}`,
      );
    }
    assert.equal(crdName("gateway.networking.k8s.io_httproutes.yaml"), "httproutes.gateway.networking.k8s.io");
    assert.equal(crdUrl("x.yaml").endsWith("/v1.5.1/config/crd/experimental/x.yaml"), true);
  });
});

describe("with the cluster's Istio", () => {
  test("existingIstio renders no CRDs in any Gateway API cell; the cluster's are what the objects use", () => {
    for (const [dataplane, trafficApi] of [
      ["ambient", "istio"],
      ["sidecar", "gateway-api"],
      ["ambient", "gateway-api"],
    ] as const) {
      const own = buildMeshSpec(meshConfig({ dataplane, trafficApi }));
      assert.equal(own.gatewayApiCrds?.length, 12);
      const spec = buildMeshSpec(
        meshConfig({ dataplane, trafficApi, clusterMode: "existing", existingIstio: { revision: "default" } }),
      );
      assert.equal(spec.gatewayApiCrds, undefined, `${dataplane}/${trafficApi}`);
      const objects = ownedObjects(spec);
      assert.equal(objects.filter((o) => o.kind === "CustomResourceDefinition").length, 0);
      const used = usedCrds(objects);
      const route = used.find((u) => u.name === "httproutes.gateway.networking.k8s.io");
      assert.deepEqual(
        used.map((u) => u.name).filter((n) => n !== route?.name),
        ["gatewayclasses.gateway.networking.k8s.io", "gateways.gateway.networking.k8s.io"],
      );
      assert.equal(route === undefined, trafficApi === "istio");
      if (route) assert.match(route.experimental ?? "", /HTTPRoute rules\[\].retry \(GEP-1731\)/);
    }
  });
});

describe("loading", () => {
  test("a body whose digest is not the pinned one is refused, never parsed or cached", async () => {
    const dir = cacheDir();
    const tampered: typeof fetch = async () => new Response("kind: CustomResourceDefinition\n");
    const load = await loadGatewayApiCrds({ fetch: tampered, cacheDir: dir });
    assert.equal(load.missing.length, 12);
    assert.deepEqual(readdirSync(dir), []);
    const error = crdObjects(load);
    assert.ok(error instanceof Error);
    assert.match(
      error.message,
      /^Gateway API v1\.5\.1 CRDs unavailable .*httproutes\.yaml: sha256 [0-9a-f]{64}, pinned 9012253c/,
    );
  });

  test("fetched once at the pinned URL, then served from the cache by digest", async () => {
    const dir = cacheDir();
    const shells = await crdShellLoad();
    // A stand-in for GitHub whose bodies are the shells, pinned at their own digests.
    const pins = GATEWAY_API_CRDS.slice(0, 1).map((p) => ({ ...p, sha256: sha256(shells.contents[p.file] ?? "") }));
    const urls: string[] = [];
    const github: typeof fetch = async (url) => {
      urls.push(String(url));
      return new Response(shells.contents[pins[0]?.file ?? ""]);
    };
    assert.equal(Object.keys((await loadPinnedFiles(pins, { fetch: github, cacheDir: dir })).contents).length, 1);
    assert.deepEqual(urls, [pins[0]?.url]);
    assert.deepEqual(readdirSync(dir), [`${pins[0]?.sha256}.yaml`]);
    const offline: typeof fetch = async () => {
      throw new TypeError("fetch failed", { cause: { code: "ENOTFOUND" } });
    };
    assert.deepEqual((await loadPinnedFiles(pins, { fetch: offline, cacheDir: dir })).missing, []);
  });

  test("a file that is not the CRD its name says is refused", () => {
    const [first] = GATEWAY_API_CRDS;
    assert.ok(first);
    const error = crdObjects({ contents: { [first.file]: "kind: ConfigMap\nmetadata: {name: x}\n" }, missing: [] });
    assert.ok(error instanceof Error);
    assert.match(error.message, /backendtlspolicies\.yaml: not the CustomResourceDefinition backendtlspolicies\./);
  });
});

describe("the component", () => {
  test("without the CRDs each one fails with the loader's reasons, as a RunError (no stack trace)", () => {
    const offline = { contents: {}, missing: GATEWAY_API_CRDS.map((p) => ({ file: p.file, reason: "ENOTFOUND" })) };
    const [first] = GATEWAY_API_CRDS;
    assert.ok(first);
    assert.throws(
      () => loadedCrd(crdObjects(offline), first.file),
      (e: Error) =>
        e instanceof pulumi.RunError &&
        /^Gateway API v1\.5\.1 CRDs unavailable \(needed by trafficApi=gateway-api and dataplane=ambient\): .*_gateways\.yaml: ENOTFOUND/.test(
          e.message,
        ),
    );
  });
});
