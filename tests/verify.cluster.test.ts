import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type AccessCase, accessMatrix } from "../components/security/accessMatrix";
import {
  accessMatrixCheck,
  controlPlaneCheck,
  egressCheck,
  mtlsCheck,
  observabilityCheck,
} from "../scripts/verify/checks/cluster";
import { HttpClient } from "../scripts/verify/http";
import type { Check, CheckRow, ClusterTransport, ExecResult, VerifyContext } from "../scripts/verify/types";
import { devConfig } from "./support/configs";

const cfg = devConfig();
const VALID = "valid.jwt.token";

/** What the security area's matrix says for the probe clients (STRICT, JWT required on user-service). */
const MATRIX: AccessCase[] = (["user-service", "product-service", "order-service"] as const).flatMap((target) =>
  (["none", "valid", "invalid"] as const).flatMap((token) => {
    // The RequestAuthentication selects user-service only: elsewhere a token is not checked at all.
    const mesh = target !== "user-service" ? 200 : token === "invalid" ? 401 : token === "none" ? 403 : 200;
    return [
      { caller: "mesh-client", target, token, allowed: mesh === 200, status: mesh },
      { caller: "outside-client", target, token, allowed: false, status: 0 },
    ];
  }),
);

interface FakeCluster {
  /** Status a curl from caller to url with token gets; 0 = connection reset. */
  curl?: (caller: string, url: string, token: string | undefined) => number;
  nativeSidecar?: boolean;
  missingSidecar?: boolean;
  egressCounts?: boolean;
  prometheus?: boolean;
  jaeger?: boolean;
}

/** An API server and pods, in memory: what the in-cluster checks read and exec into. */
function fakeCluster(f: FakeCluster = {}): ClusterTransport & { execs: string[][] } {
  const {
    curl = (caller, url, token) => {
      if (caller === "outside-client") return 0;
      if (url.startsWith("http://httpbin.org")) return 200;
      const target = /http:\/\/([a-z-]+)\./.exec(url)?.[1];
      return (
        MATRIX.find(
          (c) =>
            c.caller === caller &&
            c.target === target &&
            c.token === (token === undefined ? "none" : token === VALID ? "valid" : "invalid"),
        )?.status ?? 0
      );
    },
    nativeSidecar = true,
    missingSidecar = false,
    egressCounts = true,
    prometheus = true,
    jaeger = true,
  } = f;
  let egress = 5;
  const execs: string[][] = [];
  const pod = (name: string, ns: string, labels: Record<string, string>, app: string) => ({
    metadata: { name, namespace: ns, labels },
    spec: {
      containers: [{ name: app }, ...(!nativeSidecar && !missingSidecar ? [{ name: "istio-proxy" }] : [])],
      initContainers: nativeSidecar && !missingSidecar ? [{ name: "istio-proxy", restartPolicy: "Always" }] : [],
    },
    status: { conditions: [{ type: "Ready", status: "True" }] },
  });
  const backendPods = cfg.backend.services.flatMap((s) =>
    s.versions.flatMap((v) =>
      Array.from({ length: v.replicas }, (_, i) =>
        pod(`${s.name}-${v.version}-${i}`, "backend", { app: s.name, version: v.version }, s.name),
      ),
    ),
  );
  const json = (body: unknown) => ({ status: 200, body: JSON.stringify(body) });
  return {
    execs,
    async get(path) {
      if (path.startsWith("/apis/apps/v1/namespaces/istio-system/deployments/istiod"))
        return json({ status: { readyReplicas: 1 } });
      const selector = decodeURIComponent(/labelSelector=([^&]+)/.exec(path)?.[1] ?? "");
      if (path.startsWith("/api/v1/namespaces/backend/pods?")) {
        if (selector === "app=mesh-client")
          return json({ items: [pod("mesh-client-0", "backend", { app: "mesh-client" }, "curl")] });
        return json({ items: backendPods });
      }
      if (path.startsWith("/api/v1/namespaces/outside/pods?"))
        return json({ items: [pod("outside-client-0", "outside", {}, "curl")] });
      if (path.startsWith("/api/v1/namespaces/istio-egress/pods?") && selector === "istio=egressgateway") {
        return json({ items: [pod("istio-egressgateway-0", "istio-egress", {}, "istio-proxy")] });
      }
      if (path.includes("istio-egressgateway-0:15020/proxy/stats/prometheus")) {
        return {
          status: 200,
          body: `# TYPE istio_requests_total counter\nistio_requests_total{reporter="source",destination_service="httpbin.org",response_code="200"} ${egress}\nistio_requests_total{reporter="source",destination_service="other.org"} 9\n`,
        };
      }
      if (path.includes("services/prometheus:9090/proxy/api/v1/query")) {
        return json({ status: "success", data: { result: prometheus ? [{ value: [0, "1234"] }] : [] } });
      }
      if (path.includes("services/tracing:80/proxy/jaeger/api/services"))
        return json({ data: jaeger ? ["user-service.backend", "istio-ingressgateway.istio-ingress"] : [] });
      if (path.includes("services/tracing:80/proxy/jaeger/api/traces")) return json({ data: [{ traceID: "1" }] });
      return { status: 404, body: "not found" };
    },
    async exec(_ns, podName, container, command): Promise<ExecResult> {
      execs.push([podName, container, ...command]);
      const url = command.at(-1) ?? "";
      const auth = command.find((c) => c.startsWith("Authorization: Bearer "));
      const caller = podName.replace(/-0$/, "");
      const status = curl(caller, url, auth?.slice("Authorization: Bearer ".length));
      if (url.startsWith("http://httpbin.org") && egressCounts) egress++;
      return status === 0
        ? { stdout: "000", stderr: "curl: (56) Recv failure: Connection reset by peer", exitCode: 56 }
        : { stdout: String(status), stderr: "", exitCode: 0 };
    },
  };
}

async function run(
  check: Check,
  cluster: ClusterTransport,
  accessCases: readonly AccessCase[] = accessMatrix(cfg),
): Promise<CheckRow[]> {
  const ctx: VerifyContext = {
    cfg,
    target: { url: "http://127.0.0.1:9", httpsUrl: "https://127.0.0.1:9", token: VALID },
    options: { requests: 10, concurrency: 1, seed: 1, offline: false, alpha: 0.001 },
    http: new HttpClient(1),
    cluster,
    accessCases,
    progress: () => {},
    sleep: async () => {},
    random: () => 0.5,
  };
  return check(ctx);
}

const failed = (rows: CheckRow[]) => rows.filter((r) => r.verdict === "fail").map((r) => r.subject);
const passedAll = (rows: CheckRow[]) => {
  assert.ok(rows.length > 0);
  assert.deepEqual(failed(rows), [], rows.map((r) => `${r.subject}: ${r.observed}`).join("\n"));
};

describe("verify inside the cluster, through injected exec and API transports", () => {
  it("access matrix: every probe-client case as the matrix says; a leak fails", async () => {
    const cluster = fakeCluster();
    // The fake cluster answers as MATRIX says; the check expects what the security area's matrix says.
    const key = (c: AccessCase) => `${c.caller} ${c.target} ${c.token} ${c.status}`;
    const probeCases = accessMatrix(cfg).filter((c) => c.caller === "mesh-client" || c.caller === "outside-client");
    assert.deepEqual(probeCases.map(key).sort(), MATRIX.map(key).sort());
    const rows = await run(accessMatrixCheck, cluster);
    assert.equal(rows.length, MATRIX.length);
    passedAll(rows);
    const validCall = cluster.execs.find((e) => e.includes(`Authorization: Bearer ${VALID}`));
    assert.ok(validCall?.includes("http://user-service.backend.svc.cluster.local/users"));
    assert.equal(validCall?.[1], "curl");
    const leaky = fakeCluster({
      curl: (caller) => (caller === "outside-client" ? 0 : 200),
    });
    assert.deepEqual(failed(await run(accessMatrixCheck, leaky)), [
      "mesh-client → user-service (none token)",
      "mesh-client → user-service (invalid token)",
    ]);
  });

  it("mTLS: plaintext from outside-client is refused; PERMISSIVE-like answers fail", async () => {
    passedAll(await run(mtlsCheck, fakeCluster()));
    const open = await run(mtlsCheck, fakeCluster({ curl: () => 403 }));
    assert.equal(failed(open).length, 3);
  });

  it("egress: 200 from httpbin.org and the egress gateway's counter moved", async () => {
    passedAll(await run(egressCheck, fakeCluster()));
    const bypass = await run(egressCheck, fakeCluster({ egressCounts: false }));
    assert.match(bypass[0]?.observed ?? "", /counted 0 request/);
    assert.equal(bypass[0]?.verdict, "fail");
  });

  it("control plane: istiod ready, every backend pod has its app and istio-proxy (native or classic sidecar)", async () => {
    const rows = await run(controlPlaneCheck, fakeCluster());
    assert.equal(rows.length, 1 + 4);
    passedAll(rows);
    passedAll(await run(controlPlaneCheck, fakeCluster({ nativeSidecar: false })));
    const bare = await run(controlPlaneCheck, fakeCluster({ missingSidecar: true }));
    assert.equal(failed(bare).length, 4);
    assert.match(bare[1]?.observed ?? "", /has no istio-proxy/);
  });

  it("observability: Prometheus samples and Jaeger traces for user-service; empty backends fail", async () => {
    passedAll(await run(observabilityCheck, fakeCluster()));
    assert.deepEqual(failed(await run(observabilityCheck, fakeCluster({ prometheus: false, jaeger: false }))), [
      "Prometheus istio_requests_total",
      "Jaeger traces",
    ]);
  });
});
