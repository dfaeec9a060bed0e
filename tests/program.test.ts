import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { MeshCluster } from "../components/cluster/cluster";
import { KIND_CLUSTER_SCRIPT } from "../components/cluster/kindConfig";
import { deployMesh } from "../components/mesh";
import { buildMeshSpec } from "../components/meshSpec";
import { devConfig, meshConfig } from "./support/configs";
import { devMeshRun } from "./support/devMeshRun";
import {
  FAKE_KUBECONFIG,
  MOCK_RANDOM_HEX,
  type MockRun,
  RANDOM_ID,
  type Registered,
  resolved,
  runWithMocks,
} from "./support/mockEngine";
import { T } from "./support/types";

/** The backends' objects, apart from what else (observability) lives in other namespaces. */
const inBackend = (r: Registered) => (r.inputs.metadata as { namespace?: string } | undefined)?.namespace === "backend";
const ISTIO_CHARTS = ["base", "istiod", "gateway"];

/** One mock run of the dev stack, shared by the tests that only read it (each run costs ~1 s of CPU). */
const devRun = devMeshRun;

describe("kind cluster", () => {
  test("one create step that makes or reuses this stack's cluster, and a delete step, fed through the environment", async () => {
    const run = await devRun();
    const kind = run.get(T.command, "kind-cluster");
    // The steps are kind-cluster.sh plus one call (tests/kindCluster.test.ts runs them against stub tools).
    assert.equal(kind.inputs.create, `${KIND_CLUSTER_SCRIPT}\nkind_cluster_create\n`);
    assert.equal(kind.inputs.delete, `${KIND_CLUSTER_SCRIPT}\nkind_cluster_delete\n`);
    // Mocks run as project istio-mesh, stack test.
    // The owner label's value is the state's RandomId, so another state with this stack name is refused.
    assert.deepEqual(kind.inputs.environment, {
      KIND_CLUSTER_NAME: "lab-cluster",
      KIND_CLUSTER_OWNER: `istio-mesh/owner=${MOCK_RANDOM_HEX}`,
      KIND_CLUSTER_STACK: "istio-mesh/stack=istio-mesh.test",
    });
    const owner = run.get(RANDOM_ID, "kind-cluster-owner");
    assert.equal(owner.inputs.byteLength, 8);
    assert.ok(run.dependsOn(kind, owner));
    assert.equal(kind.inputs.logging, "stderr", "stdout is the kubeconfig and must stay out of the log");
    const config = JSON.parse(String(kind.inputs.stdin));
    assert.deepEqual(config.nodes[0].extraPortMappings, [
      { containerPort: 30080, hostPort: 8080, listenAddress: "127.0.0.1", protocol: "TCP" },
      { containerPort: 30443, hostPort: 8443, listenAddress: "127.0.0.1", protocol: "TCP" },
    ]);
    assert.deepEqual(config.nodes[0].labels, {
      "istio-mesh/stack": "istio-mesh.test",
      "istio-mesh/owner": MOCK_RANDOM_HEX,
    });
    assert.match(config.nodes[0].image, /^kindest\/node:v[\d.]+@sha256:/);
    // A changed spec replaces the cluster; the id is left out, so the trigger is what older code fed.
    const trigger = JSON.parse(String((kind.inputs.triggers as unknown[])[0]));
    assert.deepEqual(trigger, {
      ...config,
      nodes: [{ ...config.nodes[0], labels: { "istio-mesh/stack": "istio-mesh.test" } }],
    });
  });

  test("the provider: the kubeconfig from the create step, and no deleteUnreachable", async () => {
    const run = await devRun();
    const provider = run.get(T.provider, "kind");
    assert.ok(run.dependsOn(provider, run.get(T.command, "kind-cluster")));
    assert.deepEqual(provider.inputs.kubeconfig, { [specialSigKey]: specialSecretSig, value: FAKE_KUBECONFIG });
    // Unset, so PULUMI_K8S_DELETE_UNREACHABLE decides: scripts/pulumi.sh sets it for one refresh once
    // kind confirms the cluster is gone. An explicit false would override that.
    assert.ok(!("deleteUnreachable" in provider.inputs), JSON.stringify(Object.keys(provider.inputs)));
    const outputs = run.result as ReturnType<typeof deployMesh>;
    assert.ok(outputs.kubeconfig, "kind mode outputs the cluster's kubeconfig");
    assert.equal(await pulumi.isSecret(outputs.kubeconfig), true);
    assert.equal(await resolved(outputs.kubeconfig), FAKE_KUBECONFIG);
    assert.equal(await resolved(outputs.clusterName), "lab-cluster");
    assert.deepEqual(outputs.gatewayUrls, { http: "http://localhost:8080", https: "https://localhost:8443" });
  });

  test("every Kubernetes object goes through the kind provider and is deleted with the cluster", async () => {
    const run = await devRun();
    const kind = run.get(T.command, "kind-cluster");
    const k8sObjects = run.resources.filter((r) => r.type.startsWith("kubernetes:"));
    assert.ok(k8sObjects.length > 15);
    for (const r of k8sObjects) {
      assert.match(r.provider, /pulumi:providers:kubernetes::kind::/, r.urn);
      assert.equal(r.deletedWith, kind.urn, `${r.urn} must be deleted with the cluster`);
    }
    const releases = run.ofType(T.release);
    assert.ok(releases.length >= 3);
    assert.deepEqual(
      releases.map((r) => r.deletedWith),
      releases.map(() => kind.urn),
      "Helm releases included: no uninstalls on destroy",
    );
    for (const r of run.resources.filter((x) => !x.type.startsWith("kubernetes:"))) {
      assert.equal(r.deletedWith, "", `${r.urn} does not live in the cluster`);
    }
  });

  test("a component given the cluster's options inherits deletedWith without code of its own", async () => {
    class FutureArea extends pulumi.ComponentResource {
      constructor(opts: pulumi.ComponentResourceOptions) {
        super("istio-mesh:future:FutureArea", "future", {}, opts);
        const nested = new pulumi.ComponentResource("istio-mesh:future:Nested", "nested", {}, { parent: this });
        new k8s.core.v1.ConfigMap("future-settings", { metadata: { name: "future-settings" } }, { parent: nested });
      }
    }
    const run = await runWithMocks(() => {
      const cluster = new MeshCluster("cluster", {
        cluster: devConfig().cluster,
        ...(buildMeshSpec(devConfig()).kindCluster && { kindSpec: buildMeshSpec(devConfig()).kindCluster }),
      });
      new FutureArea(cluster.inClusterOptions);
    });
    const configMap = run.get("kubernetes:core/v1:ConfigMap", "future-settings");
    assert.equal(configMap.deletedWith, run.get(T.command, "kind-cluster").urn);
    assert.match(configMap.provider, /::kind::/);
  });
});

describe("existing cluster (profile lab; production: tests/production.test.ts)", () => {
  const existing = () =>
    deployMesh(
      meshConfig({
        clusterMode: "existing",
        profile: "lab",
        kubeconfig: "/etc/mesh/kubeconfig",
        kubeContext: "prod-east",
      }),
    );
  // One mock run serves the three tests that only read it.
  let existingRun: ReturnType<typeof runWithMocks<ReturnType<typeof existing>>> | undefined;
  const runExisting = () => (existingRun ??= runWithMocks(existing));

  test("builds only a provider: nothing creates or deletes a cluster", async () => {
    const run = await runExisting();
    assert.equal(run.ofType(T.command).length, 0);
    const provider = run.get(T.provider, "existing");
    assert.equal(provider.inputs.kubeconfig, "/etc/mesh/kubeconfig");
    assert.equal(provider.inputs.context, "prod-east");
    assert.ok(!("deleteUnreachable" in provider.inputs));
    // Explicit, so PULUMI_K8S_UPSERT_EXISTING_OBJECTS cannot make it adopt (and later delete) what exists.
    // Provider configuration reaches the engine as strings (the SDK JSON-encodes every non-string input).
    assert.equal(provider.inputs.upsertExistingObjects, "false");
    for (const r of run.resources.filter((x) => x.type.startsWith("kubernetes:"))) {
      assert.match(r.provider, /::existing::/);
    }
    const outputs = run.result as ReturnType<typeof existing>;
    assert.equal(await resolved(outputs.clusterName), "prod-east");
    assert.deepEqual(outputs.gatewayUrls, { http: "http://localhost:30080", https: "https://localhost:30443" });
  });

  test("no kubeconfig output: the stack keeps no copy of the user's kubeconfig, and no path posing as one", async () => {
    const run = await runExisting();
    const outputs = run.result as ReturnType<typeof existing>;
    // null, not undefined: an undefined export makes the engine warn on every update.
    assert.equal(outputs.kubeconfig, null);
  });

  test("destroy deletes what the stack created: nothing is deletedWith anything", async () => {
    const run = await runExisting();
    const k8sObjects = run.resources.filter((r) => r.type.startsWith("kubernetes:"));
    assert.ok(k8sObjects.length > 15);
    for (const r of run.resources) assert.equal(r.deletedWith, "", r.urn);
  });

  test("without a context or path the provider uses the ambient kubeconfig", async () => {
    const run = await runWithMocks(() => deployMesh(meshConfig({ clusterMode: "existing", profile: "lab" })));
    const provider = run.get(T.provider, "existing");
    assert.equal(provider.inputs.kubeconfig, undefined);
    assert.equal(provider.inputs.context, undefined);
  });
});

describe("Istio control plane", () => {
  test("installs base, istiod and the two gateways at the pinned version with stable release names", async () => {
    const run = await devRun();
    const releases = run.ofType(T.release).filter((r) => ISTIO_CHARTS.includes(String(r.inputs.chart)));
    assert.deepEqual(
      releases.map((r) => [r.name, r.inputs.name, r.inputs.chart, r.inputs.version, r.inputs.namespace]).sort(),
      [
        ["istio-base", "istio-base", "base", "1.30.3", "istio-system"],
        ["istio-egressgateway", "istio-egressgateway", "gateway", "1.30.3", "istio-egress"],
        ["istio-ingressgateway", "istio-ingressgateway", "gateway", "1.30.3", "istio-ingress"],
        ["istiod", "istiod", "istiod", "1.30.3", "istio-system"],
      ],
    );
    for (const r of releases) {
      assert.deepEqual(r.inputs.repositoryOpts, { repo: "https://istio-release.storage.googleapis.com/charts" });
    }
  });

  test("orders CRDs, then istiod, then the gateway, each in its namespace", async () => {
    const run = await devRun();
    const base = run.get(T.release, "istio-base");
    const istiod = run.get(T.release, "istiod");
    const gateway = run.get(T.release, "istio-ingressgateway");
    const istioNs = run.get(T.namespace, "istio-system");
    const ingressNs = run.get(T.namespace, "istio-ingress");
    assert.ok(run.dependsOn(base, istioNs));
    assert.ok(run.dependsOn(istiod, base));
    assert.ok(run.dependsOn(istiod, istioNs));
    assert.ok(run.dependsOn(gateway, istiod));
    assert.ok(run.dependsOn(gateway, ingressNs));
    assert.ok(!run.dependsOn(base, istiod));
  });

  test("the gateway is a NodePort Service on 30080/30443 labelled istio=ingressgateway", async () => {
    const run = await devRun();
    const values = run.get(T.release, "istio-ingressgateway").inputs.values as Record<string, any>;
    assert.equal(values.labels.istio, "ingressgateway");
    assert.equal(values.service.type, "NodePort");
    assert.deepEqual(
      values.service.ports.map((p: any) => [p.name, p.port, p.targetPort, p.nodePort]),
      [
        ["status-port", 15021, 15021, undefined],
        ["http2", 80, 80, 30080],
        ["https", 443, 443, 30443],
      ],
    );
  });

  test("istiod logs access to stdout, requests the demo profile's resources and pins its images", async () => {
    const run = await devRun();
    const values = run.get(T.release, "istiod").inputs.values as Record<string, any>;
    assert.equal(values.meshConfig.accessLogFile, "/dev/stdout");
    assert.deepEqual(values.resources.requests, { cpu: "10m", memory: "100Mi" });
    assert.deepEqual(values.global.proxy.resources.requests, { cpu: "10m", memory: "40Mi" });
    assert.equal(values.global.tag, "1.30.3");
    assert.equal(values.global.hub, "docker.io/istio");
  });
});

/** The lab's services (the probe clients are covered in security.test.ts). */
const backendDeployments = (run: MockRun) =>
  run.ofType(T.deployment).filter((d) => (d.inputs.spec as any).template.metadata.labels.version !== undefined);

describe("backend services", () => {
  test("the backend namespace has sidecar injection on", async () => {
    const run = await devRun();
    const ns = run.get(T.namespace, "backend");
    assert.equal((ns.inputs.metadata as any).labels["istio-injection"], "enabled");
  });

  test("deploys user-service v1×3 and v2×1, product-service×2 and order-service×2", async () => {
    const run = await devRun();
    const deployments = backendDeployments(run).map((d) => {
      const spec = d.inputs.spec as any;
      return [d.name, spec.replicas, spec.template.metadata.labels.app, spec.template.metadata.labels.version];
    });
    assert.deepEqual(deployments.sort(), [
      ["order-service-v1", 2, "order-service", "v1"],
      ["product-service-v1", 2, "product-service", "v1"],
      ["user-service-v1", 3, "user-service", "v1"],
      ["user-service-v2", 1, "user-service", "v2"],
    ]);
  });

  test("every backend pod waits for istiod, so its sidecar is injected at creation", async () => {
    const run = await devRun();
    const istiod = run.get(T.release, "istiod");
    const backendNs = run.get(T.namespace, "backend");
    for (const d of backendDeployments(run)) {
      assert.ok(run.dependsOn(d, istiod), `${d.name} must depend on istiod`);
      assert.ok(run.dependsOn(d, backendNs), `${d.name} must depend on its namespace`);
    }
    for (const r of [...run.ofType(T.service), ...run.ofType(T.serviceAccount)].filter(inBackend)) {
      assert.ok(run.dependsOn(r, backendNs), `${r.name} must depend on its namespace`);
    }
  });

  test("Services listen on 80 and select every version of their app", async () => {
    const run = await devRun();
    const services = run
      .ofType(T.service)
      .filter(inBackend)
      .map((s) => {
        const spec = s.inputs.spec as any;
        return [s.name, spec.selector, spec.ports[0].port, spec.ports[0].targetPort];
      });
    assert.deepEqual(services.sort(), [
      ["order-service", { app: "order-service" }, 80, 8080],
      ["product-service", { app: "product-service" }, 80, 8080],
      ["user-service", { app: "user-service" }, 80, 8080],
    ]);
  });

  test("Istio objects wait for the CRDs, istiod's webhook and the backend namespace, and nothing else", async () => {
    const run = await devRun();
    const needs = [run.get(T.release, "istio-base"), run.get(T.release, "istiod"), run.get(T.namespace, "backend")];
    const istio = [...run.ofType(T.gateway), ...run.ofType(T.virtualService), ...run.ofType(T.destinationRule)].filter(
      (r) => r.parent.endsWith("TrafficManagement::traffic"),
    );
    assert.equal(istio.length, 1 + 4 + 3);
    for (const r of istio) {
      assert.deepEqual([...r.dependencies].sort(), needs.map((n) => n.urn).sort(), `${r.urn} waits for exactly these`);
    }
  });
});

describe("one Pulumi resource per object, with a stable explicit name", () => {
  test("each Kubernetes object's resource name is its metadata.name", async () => {
    const run = await devRun();
    const objects = run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.type !== T.release);
    for (const r of objects) assert.equal((r.inputs.metadata as any).name, r.name, r.urn);
    const urns = run.resources.map((r) => r.urn);
    assert.equal(new Set(urns).size, urns.length);
  });
});
