import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { deployMesh } from "../components/mesh";
import { devConfig, meshConfig } from "./support/configs";
import { FAKE_KUBECONFIG, resolved, runWithMocks } from "./support/mockEngine";
import { T } from "./support/types";

const deployDev = () => deployMesh(devConfig());

describe("kind cluster", () => {
  test("one idempotent create command that deletes the cluster on destroy", async () => {
    const run = await runWithMocks(deployDev);
    const kind = run.get(T.command, "kind-cluster");
    const create = String(kind.inputs.create);
    assert.match(create, /if ! kind get clusters .*grep -qx 'lab-cluster'; then/);
    assert.match(create, /kind create cluster --name 'lab-cluster' --config=-/);
    assert.match(create, /kind get kubeconfig --name 'lab-cluster'$/);
    assert.equal(kind.inputs.delete, "kind delete cluster --name 'lab-cluster'");
    assert.equal(kind.inputs.logging, "stderr", "stdout is the kubeconfig and must stay out of the log");
    const config = JSON.parse(String(kind.inputs.stdin));
    assert.deepEqual(config.nodes[0].extraPortMappings, [
      { containerPort: 30080, hostPort: 8080, listenAddress: "127.0.0.1", protocol: "TCP" },
      { containerPort: 30443, hostPort: 8443, listenAddress: "127.0.0.1", protocol: "TCP" },
    ]);
    assert.match(config.nodes[0].image, /^kindest\/node:v[\d.]+@sha256:/);
  });

  test("the kubeconfig feeds the provider and leaves the stack only as a secret", async () => {
    const run = await runWithMocks(deployDev);
    const provider = run.get(T.provider, "kind");
    assert.ok(run.dependsOn(provider, run.get(T.command, "kind-cluster")));
    const outputs = run.result as ReturnType<typeof deployDev>;
    assert.equal(await pulumi.isSecret(outputs.kubeconfig), true);
    assert.equal(await resolved(outputs.kubeconfig), FAKE_KUBECONFIG);
    assert.equal(await resolved(outputs.clusterName), "lab-cluster");
    assert.deepEqual(outputs.gatewayUrls, { http: "http://localhost:8080", https: "https://localhost:8443" });
  });

  test("every Kubernetes object goes through the kind provider", async () => {
    const run = await runWithMocks(deployDev);
    const k8sObjects = run.resources.filter((r) => r.type.startsWith("kubernetes:"));
    assert.ok(k8sObjects.length > 15);
    for (const r of k8sObjects) assert.match(r.provider, /pulumi:providers:kubernetes::kind::/, r.urn);
  });
});

describe("existing cluster", () => {
  const existing = () =>
    deployMesh(meshConfig({ clusterMode: "existing", kubeconfig: "/etc/mesh/kubeconfig", kubeContext: "prod-east" }));

  test("builds only a provider: nothing creates or deletes a cluster", async () => {
    const run = await runWithMocks(existing);
    assert.equal(run.ofType(T.command).length, 0);
    const provider = run.get(T.provider, "existing");
    assert.equal(provider.inputs.kubeconfig, "/etc/mesh/kubeconfig");
    assert.equal(provider.inputs.context, "prod-east");
    for (const r of run.resources.filter((x) => x.type.startsWith("kubernetes:"))) {
      assert.match(r.provider, /::existing::/);
    }
    const outputs = run.result as ReturnType<typeof existing>;
    assert.equal(await resolved(outputs.clusterName), "prod-east");
    assert.deepEqual(outputs.gatewayUrls, { http: "http://localhost:30080", https: "https://localhost:30443" });
  });

  test("without a context or path the provider uses the ambient kubeconfig", async () => {
    const run = await runWithMocks(() => deployMesh(meshConfig({ clusterMode: "existing" })));
    const provider = run.get(T.provider, "existing");
    assert.equal(provider.inputs.kubeconfig, undefined);
    assert.equal(provider.inputs.context, undefined);
  });
});

describe("Istio control plane", () => {
  test("installs base, istiod and the two gateways at the pinned version with stable release names", async () => {
    const run = await runWithMocks(deployDev);
    const releases = run.ofType(T.release);
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
    const run = await runWithMocks(deployDev);
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
    const run = await runWithMocks(deployDev);
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
    const run = await runWithMocks(deployDev);
    const values = run.get(T.release, "istiod").inputs.values as Record<string, any>;
    assert.equal(values.meshConfig.accessLogFile, "/dev/stdout");
    assert.deepEqual(values.resources.requests, { cpu: "10m", memory: "100Mi" });
    assert.deepEqual(values.global.proxy.resources.requests, { cpu: "10m", memory: "40Mi" });
    assert.equal(values.global.tag, "1.30.3");
    assert.equal(values.global.hub, "docker.io/istio");
  });
});

describe("backend services", () => {
  test("the backend namespace has sidecar injection on", async () => {
    const run = await runWithMocks(deployDev);
    const ns = run.get(T.namespace, "backend");
    assert.equal((ns.inputs.metadata as any).labels["istio-injection"], "enabled");
  });

  test("deploys user-service v1×3 and v2×1, product-service×2 and order-service×2", async () => {
    const run = await runWithMocks(deployDev);
    const deployments = run.ofType(T.deployment).map((d) => {
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
    const run = await runWithMocks(deployDev);
    const istiod = run.get(T.release, "istiod");
    const backendNs = run.get(T.namespace, "backend");
    for (const d of run.ofType(T.deployment)) {
      assert.ok(run.dependsOn(d, istiod), `${d.name} must depend on istiod`);
      assert.ok(run.dependsOn(d, backendNs), `${d.name} must depend on its namespace`);
    }
    for (const r of [...run.ofType(T.service), ...run.ofType(T.serviceAccount)]) {
      assert.ok(run.dependsOn(r, backendNs), `${r.name} must depend on its namespace`);
    }
  });

  test("Services listen on 80 and select every version of their app", async () => {
    const run = await runWithMocks(deployDev);
    const services = run.ofType(T.service).map((s) => {
      const spec = s.inputs.spec as any;
      return [s.name, spec.selector, spec.ports[0].port, spec.ports[0].targetPort];
    });
    assert.deepEqual(services.sort(), [
      ["order-service", { app: "order-service" }, 80, 8080],
      ["product-service", { app: "product-service" }, 80, 8080],
      ["user-service", { app: "user-service" }, 80, 8080],
    ]);
  });

  test("Istio objects wait for the CRDs, istiod's webhook and the backend namespace", async () => {
    const run = await runWithMocks(deployDev);
    const needs = [run.get(T.release, "istio-base"), run.get(T.release, "istiod"), run.get(T.namespace, "backend")];
    const istio = [...run.ofType(T.gateway), ...run.ofType(T.virtualService), ...run.ofType(T.destinationRule)].filter(
      (r) => r.parent.endsWith("TrafficManagement::traffic"),
    );
    assert.equal(istio.length, 1 + 2 + 3);
    for (const r of istio) for (const n of needs) assert.ok(run.dependsOn(r, n), `${r.urn} → ${n.name}`);
  });
});

describe("one Pulumi resource per object, with a stable explicit name", () => {
  test("each Kubernetes object's resource name is its metadata.name", async () => {
    const run = await runWithMocks(deployDev);
    const objects = run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.type !== T.release);
    for (const r of objects) assert.equal((r.inputs.metadata as any).name, r.name, r.urn);
    const urns = run.resources.map((r) => r.urn);
    assert.equal(new Set(urns).size, urns.length);
  });
});
