/**
 * `npm run bench -- --in-cluster`: the manifests (pure), --dry-run (prints, applies nothing), and
 * whole runs against a stub kubectl that keeps state and fails as kubectl does
 * (tests/support/stubKubectl.ts): the report's figures, and the namespace removed after a run, after
 * a failure and after Ctrl-C. In the gateway-api cell the ingress route is an HTTPRoute in the backend
 * namespace, deleted after the run too.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { injectionLabels } from "../components/controlPlane/revisions";
import { HTTP_LISTENER, kubeIngressGateway } from "../components/traffic/gatewayApi/gateway";
import { parseBenchArgs } from "../tools/bench/args";
import { benchInCluster, inClusterPlan } from "../tools/bench/inCluster/main";
import {
  BENCH_PATHS,
  cleanupCalls,
  FORTIO_IMAGE,
  type InClusterPlan,
  ingressHost,
  loadJob,
  PAYLOAD_BYTES,
  serverManifests,
} from "../tools/bench/inCluster/manifests";
import type { InClusterReport } from "../tools/bench/inCluster/run";
import { prometheusQueryPath, proxyQueries } from "../tools/bench/inCluster/run";
import { type BenchIo, main } from "../tools/bench/main";
import { KubectlError, kubectlSession } from "../tools/lib/kubectl";
import type { Target } from "../tools/lib/target";
import { devGatewayApiRaw } from "./support/cells";
import { meshConfig } from "./support/configs";
import { gatewayApiModels } from "./support/gatewayApiSchemas";
import { type StubKubectl, writeStubKubectl } from "./support/stubKubectl";

const PLAN: InClusterPlan = {
  namespace: "mesh-bench-test",
  gatewayNamespace: "backend",
  trafficApi: "istio",
  rate: 1000,
  connections: 16,
  durationSeconds: 30,
  image: FORTIO_IMAGE,
  dataplane: "sidecar",
  injection: { "istio-injection": "enabled" },
};

type Obj = {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
};

describe("in-cluster manifests", () => {
  test("fortio is pinned to a release, never :latest", () => {
    assert.match(FORTIO_IMAGE, /^fortio\/fortio:\d+\.\d+\.\d+$/);
  });

  test("with revisions the namespace asks the stack's prod-stable tag for sidecars, as the backend does", () => {
    const cfg = meshConfig({ revisions: { enabled: true } });
    const [namespace] = serverManifests({ ...PLAN, injection: injectionLabels(cfg) }) as Obj[];
    // A revisioned istiod renders no webhook for istio-injection=enabled: that label would get no proxy.
    assert.deepEqual(namespace?.metadata.labels?.["istio.io/rev"], "prod-stable");
    assert.equal(namespace?.metadata.labels?.["istio-injection"], undefined);
  });

  test("a namespace of its own, a server without a sidecar, one with, STRICT mTLS and the ingress route", () => {
    const objects = serverManifests(PLAN) as Obj[];
    assert.deepEqual(
      objects.map((o) => `${o.kind}/${o.metadata.name}`),
      [
        "Namespace/mesh-bench-test",
        "Deployment/fortio-server-plain",
        "Service/fortio-server-plain",
        "Deployment/fortio-server-mesh",
        "Service/fortio-server-mesh",
        "PeerAuthentication/fortio-server-mesh",
        "VirtualService/fortio-ingress",
      ],
    );
    for (const o of objects.slice(1)) assert.equal(o.metadata.namespace, PLAN.namespace);
    const deployment = (name: string) => objects.find((o) => o.kind === "Deployment" && o.metadata.name === name);
    const podLabels = (name: string) => deployment(name)?.spec.template.metadata.labels;
    assert.equal(podLabels("fortio-server-plain")["sidecar.istio.io/inject"], "false");
    assert.equal(podLabels("fortio-server-mesh")["sidecar.istio.io/inject"], "true");
    const pa = objects.find((o) => o.kind === "PeerAuthentication");
    assert.deepEqual(pa?.spec, { selector: { matchLabels: { app: "fortio-server-mesh" } }, mtls: { mode: "STRICT" } });
    const vs = objects.find((o) => o.kind === "VirtualService");
    assert.deepEqual(vs?.spec.gateways, ["backend/app-gateway"]);
    assert.deepEqual(vs?.spec.hosts, [ingressHost(PLAN)]);
    assert.equal(vs?.spec.http[0].route[0].destination.host, "fortio-server-mesh.mesh-bench-test.svc.cluster.local");
  });

  test("gateway-api cell: the ingress route is an HTTPRoute in the backend namespace, with a ReferenceGrant to the mesh server", async () => {
    const cfg = meshConfig(devGatewayApiRaw());
    const target = { source: "test", url: "http://127.0.0.1:1", config: cfg, cluster: {} } as Target;
    const plan = inClusterPlan(parseBenchArgs(["--in-cluster"]), target, 0);
    assert.equal(plan.trafficApi, "gateway-api");
    const objects = serverManifests(plan) as Obj[];
    assert.deepEqual(
      objects.slice(-2).map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`),
      [`ReferenceGrant ${plan.namespace}/fortio-server-mesh`, `HTTPRoute ${cfg.backend.namespace}/${plan.namespace}`],
    );
    assert.ok(!objects.some((o) => o.kind === "VirtualService"), "no Istio route in this cell");
    const [grant, route] = objects.slice(-2);
    assert.deepEqual(grant?.spec, {
      from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: cfg.backend.namespace }],
      to: [{ group: "", kind: "Service", name: "fortio-server-mesh" }],
    });
    assert.deepEqual(route?.spec, {
      parentRefs: [
        {
          group: "gateway.networking.k8s.io",
          kind: "Gateway",
          name: "app-gateway",
          namespace: "istio-ingress",
          sectionName: "http",
        },
      ],
      hostnames: [ingressHost(plan)],
      rules: [
        {
          backendRefs: [
            { group: "", kind: "Service", name: "fortio-server-mesh", namespace: plan.namespace, port: 8080 },
          ],
        },
      ],
    });
    // The Gateway admits it: the listener it names has no hostname of its own, and admits routes from
    // the namespace the route is in.
    const gateway = kubeIngressGateway(cfg);
    assert.deepEqual([gateway.metadata.name, gateway.metadata.namespace], ["app-gateway", "istio-ingress"]);
    const listener = gateway.spec.listeners.find((l) => l.name === HTTP_LISTENER);
    assert.equal(listener?.hostname, undefined);
    assert.deepEqual(listener?.allowedRoutes?.namespaces?.selector?.matchLabels, {
      "kubernetes.io/metadata.name": route?.metadata.namespace,
    });
    const { HTTPRoute, ReferenceGrant } = await gatewayApiModels();
    assert.doesNotThrow(() => new HTTPRoute(route as never).validate());
    assert.doesNotThrow(() => new ReferenceGrant(grant as never).validate());
    // The ingress path's client is the same in both cells: the gateway's Service, the run's host.
    assert.deepEqual(loadJob(plan, "ingress"), loadJob({ ...plan, trafficApi: "istio" }, "ingress"));
  });

  test("clean-up: the namespace; in the gateway-api cell the HTTPRoute outside it first", () => {
    assert.deepEqual(cleanupCalls(PLAN), [
      ["delete", "namespace", "mesh-bench-test", "--ignore-not-found", "--wait=false"],
    ]);
    assert.deepEqual(cleanupCalls({ ...PLAN, trafficApi: "gateway-api" }), [
      ["delete", "httproute", "mesh-bench-test", "--namespace", "backend", "--ignore-not-found"],
      ["delete", "namespace", "mesh-bench-test", "--ignore-not-found", "--wait=false"],
    ]);
  });

  test("in ambient the mesh path is ztunnel → ztunnel: only its client and server opt into ambient, nothing is injected", () => {
    const ambient: InClusterPlan = { ...PLAN, dataplane: "ambient" };
    const objects = [...serverManifests(ambient), ...BENCH_PATHS.map((p) => loadJob(ambient, p))] as Obj[];
    const podMeta = (o: Obj) => (o.kind === "Namespace" ? o.metadata : o.spec?.template?.metadata) ?? {};
    const inAmbient = objects
      .filter((o) => podMeta(o).labels?.["istio.io/dataplane-mode"] === "ambient")
      .map((o) => `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(inAmbient, ["Deployment/fortio-server-mesh", "Job/fortio-mesh"]);
    for (const o of objects) {
      const { labels = {}, annotations = {} } = podMeta(o) as { labels?: object; annotations?: object };
      assert.doesNotMatch(
        JSON.stringify({ labels, annotations }),
        /sidecar\.istio\.io|istio-injection/,
        o.metadata.name,
      );
    }
  });

  test("three Jobs at the same rate, connections, duration and 1 kB payload; only the mesh client has a sidecar", () => {
    const jobs = BENCH_PATHS.map((p) => loadJob(PLAN, p));
    const args = jobs.map((j) => j.spec?.template.spec?.containers[0]?.args ?? []);
    for (const a of args) {
      const value = (f: string) => a[a.indexOf(f) + 1];
      assert.deepEqual(
        [value("-qps"), value("-c"), value("-t"), value("-payload-size")],
        ["1000", "16", "30s", "1024"],
      );
      assert.equal(value("-json"), "-");
    }
    assert.equal(PAYLOAD_BYTES, 1024);
    assert.deepEqual(
      args.map((a) => a.at(-1)),
      [
        "http://fortio-server-plain.mesh-bench-test.svc.cluster.local:8080/echo",
        "http://fortio-server-mesh.mesh-bench-test.svc.cluster.local:8080/echo",
        "http://istio-ingressgateway.istio-ingress.svc.cluster.local:80/echo",
      ],
    );
    assert.equal(args[2]?.[args[2].indexOf("-H") + 1], `Host: ${ingressHost(PLAN)}`);
    assert.deepEqual(
      jobs.map((j) => j.spec?.template.metadata?.labels?.["sidecar.istio.io/inject"]),
      ["false", "true", "false"],
    );
    // The mesh client's proxy must stop when fortio does, or the Job never completes.
    assert.equal(jobs[1]?.spec?.template.metadata?.annotations?.["sidecar.istio.io/nativeSidecar"], "true");
    for (const j of jobs) {
      assert.equal(j.spec?.backoffLimit, 0);
      assert.equal(j.spec?.template.spec?.restartPolicy, "Never");
    }
  });

  test("Prometheus is asked through the API server's service proxy, over the run window", () => {
    const q = proxyQueries("ns1", "fortio-mesh", 30);
    assert.equal(
      q.cpu,
      'sum(rate(container_cpu_usage_seconds_total{namespace="ns1",pod=~"fortio-mesh-.*",container="istio-proxy"}[30s]))',
    );
    assert.match(q.memory, /^max\(max_over_time\(container_memory_working_set_bytes\{.*\}\[30s\]\)\)$/);
    const url = new URL(`http://api${prometheusQueryPath(q.cpu, "2026-12-02T00:00:30Z")}`);
    assert.equal(url.pathname, "/api/v1/namespaces/istio-system/services/prometheus:9090/proxy/api/v1/query");
    assert.equal(url.searchParams.get("query"), q.cpu);
    assert.equal(url.searchParams.get("time"), "2026-12-02T00:00:30Z");
  });
});

describe("npm run bench -- --in-cluster, against a stub kubectl", () => {
  let dir: string;
  let kubectl: StubKubectl;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "bench-in-cluster-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  let run = 0;
  const fresh = () => {
    kubectl = writeStubKubectl(path.join(dir, String(run++)));
    return kubectl;
  };

  async function bench(argv: string[], signal?: AbortSignal) {
    const out: string[] = [];
    const err: string[] = [];
    const io: BenchIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), progress: { write: () => true } };
    const code = await main(["--url", "http://127.0.0.1:1", "--in-cluster", ...argv], {
      projectRoot: "/nonexistent",
      io,
      pulumi: async () => assert.fail("the Pulumi CLI must not run with --url"),
      kubectl: kubectl.bin,
      metricsLagMs: 0,
      ...(signal && { signal }),
    });
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  }

  test("--dry-run prints every manifest in apply order and runs no kubectl at all", async () => {
    fresh();
    const { code, stdout } = await bench(["--dry-run"]);
    assert.equal(code, 0);
    const docs = parseAllDocuments(stdout).map((d) => d.toJS() as Obj);
    assert.deepEqual(
      docs.map((d) => d.kind),
      [
        "Namespace",
        "Deployment",
        "Service",
        "Deployment",
        "Service",
        "PeerAuthentication",
        "VirtualService",
        "Job",
        "Job",
        "Job",
      ],
    );
    const job = docs.at(-1);
    assert.ok(job?.spec.template.spec.containers[0].args.includes("1000"), "Istio's 1000 req/s by default");
    assert.deepEqual(kubectl.calls(), []);
  });

  test("a run: each path's figures, the latency the mesh adds, istio-proxy per 1000 req/s; the namespace goes", async () => {
    fresh().behave({
      latencyMs: { baseline: [0.5, 0.9, 1.5, 3], mesh: [1.1, 2.0, 3.5, 6], ingress: [1.4, 2.5, 4.0, 8] },
      proxyUsage: { "fortio-mesh": [0.1, 52_000_000], "fortio-server-mesh": [0.08, 48_000_000] },
    });
    const { code, stdout, stderr } = await bench(["--rate", "200", "--concurrency", "4", "--duration", "5s", "--json"]);
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout) as InClusterReport;
    assert.deepEqual(report.load, { rate: 200, connections: 4, durationSeconds: 5, payloadBytes: 1024 });
    assert.deepEqual(report.paths.mesh.latencyMs, { mean: 1.1, p50: 1.1, p90: 2, p99: 3.5, p999: 6, max: 12 });
    assert.equal(report.paths.baseline.achievedRate, 199.8);
    assert.deepEqual(report.paths.baseline.statuses, { 200: 1000 });
    assert.deepEqual(report.added.mesh, { p50Ms: 0.6, p90Ms: 1.1, p99Ms: 2 });
    assert.deepEqual(report.added.ingress, { p50Ms: 0.9, p90Ms: 1.6, p99Ms: 2.5 });
    assert.ok(!("unavailable" in report.proxies));
    if (!("unavailable" in report.proxies)) {
      // 0.1 cores at 199.8 req/s: 0.5 cores per 1000 req/s.
      assert.deepEqual(report.proxies.client, {
        vcpu: 0.1,
        memoryMb: 52,
        vcpuPer1000Rps: 0.501,
        memoryMbPer1000Rps: 260.3,
      });
      assert.equal(report.proxies.server.vcpu, 0.08);
      assert.equal(report.proxies.windowEnd, "2026-12-02T00:00:30Z");
    }
    assert.equal(report.published.sidecarVcpuPer1000Rps, 0.2);
    assert.deepEqual(report.warnings, []);
    const verbs = kubectl.calls().map((c) => c.slice(0, 2).join(" "));
    assert.deepEqual(verbs, [
      "apply -f",
      "wait --namespace",
      ...["apply -f", "wait --namespace", "logs --namespace"],
      ...["apply -f", "wait --namespace", "logs --namespace", "get job"],
      ...["apply -f", "wait --namespace", "logs --namespace"],
      ...["get --raw", "get --raw", "get --raw", "get --raw"],
      "delete namespace",
    ]);
    assert.deepEqual(kubectl.namespaces(), [], "the namespace is deleted after the run");
  });

  test("the table: paths, the added latency beside Istio's, the proxies beside Istio's", async () => {
    fresh().behave({ proxyUsage: { "fortio-mesh": [0.2, 60_000_000], "fortio-server-mesh": [0.2, 60_000_000] } });
    const { code, stdout } = await bench(["--duration", "10s"]);
    assert.equal(code, 0);
    assert.match(
      stdout,
      /^in-cluster bench: fortio\/fortio:1\.75\.2, 1000 req\/s, 16 connections, 10s per path, 1 kB payload/,
    );
    assert.match(stdout, /^mesh: 2 sidecars, STRICT mTLS\s+\+0\.00ms\s+\+0\.00ms\s+\+0\.00ms$/m);
    assert.match(stdout, /^Istio 1\.12\.3 published \(2 sidecars\)\s+\+1\.70ms\s+\+2\.70ms$/m);
    assert.match(stdout, /^client sidecar\s+0\.200\s+60\.0\s+0\.200\s+60\.1$/m);
    assert.match(stdout, /^Istio 1\.24 published, per sidecar\s+0\.2\s+60$/m);
    assert.match(stdout, /istio\.io\/latest\/docs\/ops\/deployment\/performance-and-scalability/);
  });

  test("no Prometheus: the latency is reported, the proxies' cost says why it is missing", async () => {
    fresh().behave({ noPrometheus: true });
    const { code, stdout } = await bench(["--json"]);
    assert.equal(code, 0);
    const report = JSON.parse(stdout) as InClusterReport;
    assert.ok("unavailable" in report.proxies);
    assert.match(JSON.stringify(report.proxies), /services \\"prometheus\\" not found/);
    assert.deepEqual(kubectl.namespaces(), []);
  });

  test("a Job that fails: kubectl's message, exit 1, and the namespace still deleted", async () => {
    fresh().behave({ failJob: "fortio-mesh" });
    const { code, stderr, stdout } = await bench([]);
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.match(stderr, /timed out waiting for the condition on jobs\/fortio-mesh/);
    assert.match(stderr, /namespace mesh-bench-[a-z0-9]+ deleted/);
    assert.deepEqual(kubectl.namespaces(), []);
    const verbs = kubectl.calls().map((c) => c.slice(0, 2).join(" "));
    assert.equal(verbs.filter((v) => v === "logs --namespace").length, 1, "the ingress path never ran");
    assert.equal(verbs.at(-1), "delete namespace");
  });

  describe("gateway-api cell", () => {
    const cfg = meshConfig(devGatewayApiRaw());
    const backend = cfg.backend.namespace;
    async function benchCell(argv: string[], signal?: AbortSignal) {
      const out: string[] = [];
      const err: string[] = [];
      const target = { source: "test", url: "http://127.0.0.1:1", config: cfg, cluster: {} } as Target;
      const code = await benchInCluster(parseBenchArgs(["--in-cluster", ...argv]), target, {
        io: { stdout: (t) => out.push(t), stderr: (t) => err.push(t), progressIsTTY: false },
        kubectl: kubectl.bin,
        metricsLagMs: 0,
        ...(signal && { signal }),
      });
      return { code, stdout: out.join("\n"), stderr: err.join("\n") };
    }

    test("--dry-run prints the ReferenceGrant and the HTTPRoute in apply order, no VirtualService", async () => {
      fresh();
      const { code, stdout } = await benchCell(["--dry-run"]);
      assert.equal(code, 0);
      const docs = parseAllDocuments(stdout).map((d) => d.toJS() as Obj);
      assert.deepEqual(
        docs.map((d) => d.kind),
        [
          "Namespace",
          ...["Deployment", "Service", "Deployment", "Service"],
          "PeerAuthentication",
          "ReferenceGrant",
          "HTTPRoute",
          ...["Job", "Job", "Job"],
        ],
      );
      assert.deepEqual(kubectl.calls(), []);
    });

    test("a run applies the HTTPRoute in the backend namespace and deletes it afterwards, with the namespace", async () => {
      fresh().seed([backend]);
      const { code, stdout, stderr } = await benchCell(["--duration", "5s", "--json"]);
      assert.equal(code, 0, stderr);
      const report = JSON.parse(stdout) as InClusterReport;
      assert.deepEqual(report.paths.ingress.statuses, { 200: 5000 });
      assert.ok(kubectl.applied().includes(`HTTPRoute ${backend}/${report.namespace}`));
      assert.ok(kubectl.applied().includes(`ReferenceGrant ${report.namespace}/fortio-server-mesh`));
      assert.deepEqual(kubectl.calls().slice(-2), [
        ["delete", "httproute", report.namespace, "--namespace", backend, "--ignore-not-found"],
        ["delete", "namespace", report.namespace, "--ignore-not-found", "--wait=false"],
      ]);
      assert.deepEqual(kubectl.namespaces(), [backend], "the run's namespace is gone, the backend's stays");
      assert.deepEqual(kubectl.objects(), [], "the HTTPRoute is gone from the backend namespace");
    });

    test("a Job that fails: the HTTPRoute is deleted too, and the message says so", async () => {
      fresh().seed([backend]);
      kubectl.behave({ failJob: "fortio-ingress" });
      const { code, stderr } = await benchCell([]);
      assert.equal(code, 1);
      assert.match(stderr, /timed out waiting for the condition on jobs\/fortio-ingress/);
      assert.match(stderr, /\(namespace (mesh-bench-[a-z0-9]+) and HTTPRoute backend\/\1 deleted\)$/);
      assert.deepEqual(kubectl.objects(), []);
      assert.deepEqual(kubectl.namespaces(), [backend]);
    });

    test("Ctrl-C: the HTTPRoute and the namespace are deleted, exit 130", async () => {
      fresh().seed([backend]);
      kubectl.behave({ hangOnJob: "fortio-baseline" });
      const controller = new AbortController();
      const waiting = setInterval(() => {
        if (kubectl.calls().some((c) => c.includes("job/fortio-baseline") && c[0] === "wait")) controller.abort();
      }, 50);
      const { code, stderr } = await benchCell([], controller.signal);
      clearInterval(waiting);
      assert.equal(code, 130);
      assert.match(
        stderr,
        /interrupted; namespace mesh-bench-[a-z0-9]+ and HTTPRoute backend\/mesh-bench-[a-z0-9]+ deleted/,
      );
      assert.deepEqual(kubectl.objects(), []);
      assert.deepEqual(kubectl.namespaces(), [backend]);
    });

    test("the stub deletes an HTTPRoute as kubectl 1.35 does: the namespace named, NotFound without --ignore-not-found", () => {
      fresh().seed(
        [backend],
        [
          {
            apiVersion: "gateway.networking.k8s.io/v1",
            kind: "HTTPRoute",
            metadata: { name: "r", namespace: backend },
          },
        ],
      );
      const run = (...args: string[]) => execFileSync(kubectl.bin, args, { encoding: "utf8", stdio: "pipe" });
      assert.equal(
        run("delete", "httproute", "r", "-n", backend, "--ignore-not-found"),
        `httproute.gateway.networking.k8s.io "r" deleted from ${backend} namespace\n`,
      );
      assert.equal(run("delete", "httproute", "r", "-n", backend, "--ignore-not-found"), "");
      assert.throws(
        () => run("delete", "httproute", "r", "-n", backend),
        (e: { stderr: string; status: number }) =>
          e.status === 1 &&
          e.stderr === 'Error from server (NotFound): httproutes.gateway.networking.k8s.io "r" not found\n',
      );
    });
  });

  test("a kubectl that stops before reading its stdin: its own message, not a crash on the write's EPIPE", async () => {
    const bin = path.join(dir, "kubectl-stops-early");
    writeFileSync(bin, "#!/bin/sh\necho 'error: error loading config file \"/nope\"' >&2\nexit 1\n", { mode: 0o755 });
    // Far more than a pipe holds, so the write is still going when kubectl has exited.
    const applied = kubectlSession({}, bin).run(["apply", "-f", "-"], { stdin: "x".repeat(4 * 1024 * 1024) });
    await assert.rejects(
      applied,
      (e: unknown) =>
        e instanceof KubectlError && e.message === 'kubectl apply -f: error: error loading config file "/nope"',
    );
  });

  test("Ctrl-C during a run: kubectl is stopped, the namespace deleted, exit 130", async () => {
    fresh().behave({ hangOnJob: "fortio-baseline" });
    const controller = new AbortController();
    const waiting = setInterval(() => {
      if (kubectl.calls().some((c) => c.includes("job/fortio-baseline") && c[0] === "wait")) controller.abort();
    }, 50);
    const { code, stderr } = await bench([], controller.signal);
    clearInterval(waiting);
    assert.equal(code, 130);
    assert.match(stderr, /interrupted; namespace mesh-bench-[a-z0-9]+ deleted/);
    assert.deepEqual(kubectl.namespaces(), []);
  });
});
