import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseMeshConfig, type RawConfig } from "../config/parse";
import { projectConfig } from "../config/readers";
import { asPulumiConfig, devConfig, devStackConfig, rejected } from "./support/configs";

const rejectedKeys = (raw: RawConfig): string[] => rejected(raw).issues.map((i) => i.key);
const rejectionMessage = (raw: RawConfig): string => rejected(raw).message;

describe("defaults", () => {
  test("an empty stack gets the lab's cluster, pinned versions and all traffic on v1", () => {
    const cfg = parseMeshConfig({});
    assert.deepEqual(cfg.cluster, {
      mode: "kind",
      name: "lab-cluster",
      nodeImage: cfg.cluster.mode === "kind" ? cfg.cluster.nodeImage : "",
      hostHttpPort: 8080,
      hostHttpsPort: 8443,
    });
    assert.match(
      cfg.cluster.mode === "kind" ? cfg.cluster.nodeImage : "",
      /^kindest\/node:v1\.\d+\.\d+@sha256:[a-f0-9]{64}$/,
    );
    assert.equal(cfg.istio.version, "1.30.3");
    assert.equal(cfg.backend.image, "hashicorp/http-echo:1.0.0");
    assert.deepEqual(cfg.canaryWeights, { v1: 100, v2: 0 });
    assert.deepEqual(cfg.faults, {});
    assert.deepEqual(cfg.userServiceRetries, { attempts: 3, perTryTimeout: "2s", retryOn: "5xx", timeout: "10s" });
  });

  test("circuit breakers default to the lab's pools, with consecutive5xxErrors", () => {
    const cfg = parseMeshConfig({});
    assert.deepEqual(cfg.circuitBreakers["user-service"]?.connectionPool, {
      maxConnections: 10,
      http1MaxPendingRequests: 10,
      maxRequestsPerConnection: 2,
    });
    assert.deepEqual(cfg.circuitBreakers["product-service"], {
      connectionPool: { maxConnections: 1, http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 },
      outlierDetection: { consecutive5xxErrors: 1, interval: "1s", baseEjectionTime: "3m", maxEjectionPercent: 100 },
    });
    assert.equal(cfg.circuitBreakers["order-service"], undefined);
  });
});

describe("the dev stack (Pulumi.dev.yaml)", () => {
  test("carries the lab's canary and fault experiments", () => {
    const cfg = devConfig();
    assert.deepEqual(cfg.canaryWeights, { v1: 90, v2: 10 });
    assert.deepEqual(cfg.faults, {
      "product-service": { percent: 50, delay: "5s" },
      "order-service": { percent: 30, status: 500 },
    });
  });

  test("parses the same from Pulumi's string-encoded config as from YAML values", () => {
    const fromYaml = devConfig();
    const fromPulumi = parseMeshConfig(projectConfig(asPulumiConfig(devStackConfig())));
    assert.deepEqual(fromPulumi, fromYaml);
  });
});

describe("overrides", () => {
  test("a --path edit of one field keeps the other defaults", () => {
    const cfg = parseMeshConfig({
      circuitBreakers: '{"product-service":{"connectionPool":{"maxConnections":5}}}',
      userServiceRetries: { attempts: 5 },
    });
    assert.deepEqual(cfg.circuitBreakers["product-service"]?.connectionPool, {
      maxConnections: 5,
      http1MaxPendingRequests: 1,
      maxRequestsPerConnection: 1,
    });
    assert.equal(cfg.circuitBreakers["product-service"]?.outlierDetection?.consecutive5xxErrors, 1);
    assert.deepEqual(cfg.userServiceRetries, { attempts: 5, perTryTimeout: "2s", retryOn: "5xx", timeout: "10s" });
  });

  test("existing-cluster mode takes a kubeconfig path and context", () => {
    const cfg = parseMeshConfig({
      clusterMode: "existing",
      kubeconfig: "/home/me/.kube/config",
      kubeContext: "staging",
    });
    assert.deepEqual(cfg.cluster, {
      mode: "existing",
      kubeconfig: "/home/me/.kube/config",
      context: "staging",
      allowUnsupportedKubernetes: false,
    });
    const allowing = parseMeshConfig({ clusterMode: "existing", allowUnsupportedKubernetes: "true" });
    assert.equal(allowing.cluster.mode === "existing" && allowing.cluster.allowUnsupportedKubernetes, true);
  });

  test("numbers arrive as strings from `pulumi config set` and are accepted", () => {
    const cfg = parseMeshConfig({ hostHttpPort: "9080", canaryWeights: '{"v1":"75","v2":25}' });
    assert.equal(cfg.cluster.mode === "kind" && cfg.cluster.hostHttpPort, 9080);
    assert.deepEqual(cfg.canaryWeights, { v1: 75, v2: 25 });
  });
});

describe("invalid values are rejected, naming the key", () => {
  const cases: [string, RawConfig, string][] = [
    ["weights not summing to 100", { canaryWeights: { v1: 90, v2: 20 } }, "istio-mesh:canaryWeights"],
    ["a version that is not deployed", { canaryWeights: { v1: 90, v3: 10 } }, "istio-mesh:canaryWeights.v3"],
    ["a fractional weight", { canaryWeights: { v1: 89.5, v2: 10 } }, "istio-mesh:canaryWeights.v1"],
    ["a negative weight", { canaryWeights: { v1: 100, v2: -5 } }, "istio-mesh:canaryWeights.v2"],
    ["weights that are not an object", { canaryWeights: "90/10" }, "istio-mesh:canaryWeights"],
    [
      "a fault on an unknown service",
      { faults: { "cart-service": { percent: 10, status: 500 } } },
      "istio-mesh:faults.cart-service",
    ],
    [
      "a fault with neither delay nor status",
      { faults: { "order-service": { percent: 30 } } },
      "istio-mesh:faults.order-service",
    ],
    [
      "a fault without percent",
      { faults: { "order-service": { status: 500 } } },
      "istio-mesh:faults.order-service.percent",
    ],
    [
      "a fault percent above 100",
      { faults: { "order-service": { percent: 130, status: 500 } } },
      "istio-mesh:faults.order-service.percent",
    ],
    [
      "a zero fault percent",
      { faults: { "order-service": { percent: 0, status: 500 } } },
      "istio-mesh:faults.order-service.percent",
    ],
    [
      "a malformed delay",
      { faults: { "product-service": { percent: 50, delay: "five seconds" } } },
      "istio-mesh:faults.product-service.delay",
    ],
    [
      "an abort status out of range",
      { faults: { "order-service": { percent: 30, status: 700 } } },
      "istio-mesh:faults.order-service.status",
    ],
    [
      "the deprecated consecutiveErrors",
      { circuitBreakers: { "user-service": { outlierDetection: { consecutiveErrors: 3 } } } },
      "istio-mesh:circuitBreakers.user-service.outlierDetection.consecutiveErrors",
    ],
    [
      "a zero connection limit",
      { circuitBreakers: { "product-service": { connectionPool: { maxConnections: 0 } } } },
      "istio-mesh:circuitBreakers.product-service.connectionPool.maxConnections",
    ],
    [
      "a per-try timeout beyond the overall one",
      { userServiceRetries: { perTryTimeout: "20s" } },
      "istio-mesh:userServiceRetries.perTryTimeout",
    ],
    ["an unpinned image", { echoImage: "hashicorp/http-echo:latest" }, "istio-mesh:echoImage"],
    ["an untagged image", { kindNodeImage: "kindest/node" }, "istio-mesh:kindNodeImage"],
    ["an Istio version range", { istioVersion: "1.30" }, "istio-mesh:istioVersion"],
    ["an unknown cluster mode", { clusterMode: "eks" }, "istio-mesh:clusterMode"],
    ["a port out of range", { hostHttpPort: 70000 }, "istio-mesh:hostHttpPort"],
    ["the same port twice", { hostHttpPort: 8080, hostHttpsPort: 8080 }, "istio-mesh:hostHttpsPort"],
    ["a cluster name kind would reject", { clusterName: "Lab_Cluster" }, "istio-mesh:clusterName"],
    ["a kind key in existing mode", { clusterMode: "existing", clusterName: "x" }, "istio-mesh:clusterName"],
    ["a kubeconfig in kind mode", { kubeconfig: "/tmp/kc" }, "istio-mesh:kubeconfig"],
    ["an ingressHost in kind mode (kind listens on 127.0.0.1)", { ingressHost: "10.0.0.5" }, "istio-mesh:ingressHost"],
    ["a misspelt key", { canaryWeight: { v1: 100 } }, "istio-mesh:canaryWeight"],
  ];
  for (const [what, raw, key] of cases) {
    test(what, () => assert.deepEqual(rejectedKeys(raw), [key]));
  }

  test("a misspelt fault field is named once, not again as the field it leaves missing", () => {
    assert.deepEqual(rejectedKeys({ faults: { "order-service": { percent: 30, httpStatus: 500 } } }), [
      "istio-mesh:faults.order-service.httpStatus",
    ]);
  });

  test("the message names the key, the value and what is allowed", () => {
    const message = rejectionMessage({ canaryWeights: { v1: 90, v3: 10 } });
    assert.match(message, /istio-mesh:canaryWeights\.v3 = 10: not a deployed user-service version; allowed: v1, v2/);
    assert.match(rejectionMessage({ canaryWeights: { v1: 60, v2: 30 } }), /sum to 100 \(these sum to 90\)/);
    assert.match(
      rejectionMessage({ echoImage: "hashicorp/http-echo:latest" }),
      /istio-mesh:echoImage = "hashicorp\/http-echo:latest": an image pinned to a version tag or sha256 digest/,
    );
  });

  test("every problem is reported at once", () => {
    const keys = rejectedKeys({
      canaryWeights: { v1: 50 },
      faults: { "order-service": { percent: 200, status: 500 } },
      istioVersion: "latest",
      hostHttpPort: "http",
    });
    assert.deepEqual(keys.sort(), [
      "istio-mesh:canaryWeights",
      "istio-mesh:faults.order-service.percent",
      "istio-mesh:hostHttpPort",
      "istio-mesh:istioVersion",
    ]);
  });
});
