import { EGRESS_GATEWAY_SELECTOR } from "../../../components/egress/egressGateway";
import { HTTPBIN_HOST } from "../../../components/egress/externalServices";
import { EGRESS_NAMESPACE, ISTIO_NAMESPACE, serviceHost } from "../../../components/meta";
import {
  JAEGER_BASE_PATH,
  JAEGER_QUERY,
  OBSERVABILITY_NAMESPACE,
  PROMETHEUS,
} from "../../../components/observability/services";
import type { AccessCase } from "../../../components/security/accessMatrix";
import { MESH_CLIENT, OUTSIDE_CLIENT, OUTSIDE_NAMESPACE } from "../../../components/security/identities";
import { PROBE_CONTAINER } from "../../../components/security/probeClients";
import type { BackendServiceName, MeshConfig } from "../../../config/types";
import type { CheckRow, ClusterTransport, VerifyContext } from "../types";
import { refusedTokens } from "./gateway";

/**
 * Checks inside the cluster: curl in the probe clients (exec) and reads through the API server. Every
 * name here is the constant of the component that creates the object, so the two cannot drift.
 */

/** The probe clients (components/security/probeClients.ts): Deployments labelled `app: <name>`. */
export const PROBE_CLIENTS: Readonly<Record<string, { namespace: (cfg: MeshConfig) => string }>> = {
  [MESH_CLIENT]: { namespace: (cfg) => cfg.backend.namespace },
  [OUTSIDE_CLIENT]: { namespace: () => OUTSIDE_NAMESPACE },
};
export const EGRESS_URL = `http://${HTTPBIN_HOST}/get`;
const labelSelector = (labels: Readonly<Record<string, string>>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
/** The observability tools' Services, through the API server's service proxy. */
export const PROMETHEUS_PROXY = `/api/v1/namespaces/${OBSERVABILITY_NAMESPACE}/services/${PROMETHEUS.name}:${PROMETHEUS.port}/proxy`;
export const JAEGER_PROXY = `/api/v1/namespaces/${OBSERVABILITY_NAMESPACE}/services/${JAEGER_QUERY.name}:${JAEGER_QUERY.port}/proxy${JAEGER_BASE_PATH}`;
/** istiod's Deployment: the istiod chart's name without a revision. */
export const ISTIOD_DEPLOYMENT = "istiod";

interface Pod {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: {
    containers: { name: string }[];
    initContainers?: { name: string; restartPolicy?: string }[];
  };
  status?: { conditions?: { type: string; status: string }[] };
}

async function getJson<T>(cluster: ClusterTransport, path: string): Promise<T> {
  const r = await cluster.get(path);
  if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
  return JSON.parse(r.body) as T;
}

async function listPods(cluster: ClusterTransport, namespace: string | undefined, selector: string): Promise<Pod[]> {
  const base = namespace === undefined ? "/api/v1/pods" : `/api/v1/namespaces/${namespace}/pods`;
  const list = await getJson<{ items: Pod[] }>(cluster, `${base}?labelSelector=${encodeURIComponent(selector)}`);
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

const isReady = (pod: Pod): boolean =>
  pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** `kubectl exec` curl in a probe client; returns the HTTP status, 0 when no HTTP answer came. */
export async function curlFrom(
  ctx: VerifyContext,
  caller: string,
  url: string,
  { token, timeoutSeconds = 5 }: { token?: string; timeoutSeconds?: number } = {},
): Promise<{ status: number; detail: string }> {
  const cluster = ctx.cluster;
  const client = PROBE_CLIENTS[caller];
  if (!cluster || !client) return { status: -1, detail: `no probe client ${caller}` };
  const namespace = client.namespace(ctx.cfg);
  const [pod] = (await listPods(cluster, namespace, labelSelector({ app: caller }))).filter(isReady);
  if (!pod) return { status: -1, detail: `no ready ${caller} pod in ${namespace}` };
  const command = [
    "curl",
    "-sS",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "-m",
    String(timeoutSeconds),
    ...(token ? ["-H", `Authorization: Bearer ${token}`] : []),
    url,
  ];
  const r = await cluster.exec(namespace, pod.metadata.name, PROBE_CONTAINER, command);
  const status = Number.parseInt(r.stdout.trim(), 10);
  return {
    status: Number.isNaN(status) ? 0 : status,
    detail: r.exitCode === 0 ? "" : (r.stderr.trim().split("\n").pop() ?? `exit ${r.exitCode}`),
  };
}

const backendUrl = (cfg: MeshConfig, target: BackendServiceName): string => {
  const path = cfg.backend.services.find((s) => s.name === target)?.pathPrefix ?? "/";
  return `http://${serviceHost(target, cfg.backend.namespace)}${path}`;
};

export async function accessMatrixCheck(ctx: VerifyContext): Promise<CheckRow[]> {
  const cases = ctx.accessCases.filter((c) => PROBE_CLIENTS[c.caller] !== undefined);
  const refused = await refusedTokens(ctx.cfg);
  const tokenFor = (c: AccessCase): string | undefined | null =>
    c.token === "none" ? undefined : c.token === "invalid" ? refused["bad signature"] : (ctx.target.token ?? null);
  const rows: CheckRow[] = [];
  for (const [i, c] of cases.entries()) {
    const token = tokenFor(c);
    const subject = `${c.caller} → ${c.target} (${c.token} token)`;
    const expected = c.status === 0 ? "refused" : String(c.status);
    if (token === null) {
      rows.push({
        check: "access-matrix",
        subject,
        expected,
        observed: "no valid token: pass --token",
        verdict: "skip",
      });
      continue;
    }
    const r = await curlFrom(ctx, c.caller, backendUrl(ctx.cfg, c.target), token === undefined ? {} : { token });
    ctx.progress(i + 1, cases.length);
    rows.push({
      check: "access-matrix",
      subject,
      expected,
      observed:
        r.status === 0 ? `refused${r.detail ? ` (${r.detail})` : ""}` : r.status < 0 ? r.detail : String(r.status),
      verdict: r.status === c.status ? "pass" : "fail",
    });
  }
  return rows;
}

export async function mtlsCheck(ctx: VerifyContext): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  for (const [i, svc] of ctx.cfg.backend.services.entries()) {
    const r = await curlFrom(ctx, OUTSIDE_CLIENT, backendUrl(ctx.cfg, svc.name));
    ctx.progress(i + 1, ctx.cfg.backend.services.length);
    rows.push({
      check: "mtls",
      subject: `${OUTSIDE_CLIENT} → ${svc.name} plaintext`,
      expected: "refused (STRICT)",
      observed:
        r.status === 0 ? `refused${r.detail ? ` (${r.detail})` : ""}` : r.status < 0 ? r.detail : `HTTP ${r.status}`,
      verdict: r.status === 0 ? "pass" : "fail",
    });
  }
  return rows;
}

const HTTPBIN_DESTINATION = new RegExp(`destination_service(_name)?="${HTTPBIN_HOST.replaceAll(".", "\\.")}"`);

/** Sum of the egress gateway's istio_requests_total towards httpbin.org, read from each pod's merged stats. */
async function egressRequests(cluster: ClusterTransport): Promise<{ total: number; pods: number }> {
  const pods = (await listPods(cluster, EGRESS_NAMESPACE, labelSelector(EGRESS_GATEWAY_SELECTOR))).filter(isReady);
  let total = 0;
  for (const pod of pods) {
    const r = await cluster.get(
      `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}:15020/proxy/stats/prometheus`,
    );
    for (const line of r.body.split("\n")) {
      if (line.startsWith("istio_requests_total{") && HTTPBIN_DESTINATION.test(line)) {
        total += Number(line.slice(line.lastIndexOf(" ") + 1)) || 0;
      }
    }
  }
  return { total, pods: pods.length };
}

export async function egressCheck(ctx: VerifyContext): Promise<CheckRow[]> {
  const cluster = ctx.cluster;
  if (!cluster) return [];
  const before = await egressRequests(cluster);
  const r = await curlFrom(ctx, MESH_CLIENT, EGRESS_URL, { timeoutSeconds: 10 });
  const after = await egressRequests(cluster);
  const via = after.total - before.total;
  return [
    {
      check: "egress",
      subject: `${MESH_CLIENT} → ${EGRESS_URL}`,
      expected: "200, through the egress gateway",
      observed:
        `${r.status > 0 ? `HTTP ${r.status}` : r.detail || "refused"}; ` +
        (before.pods === 0 ? "no egress gateway pod" : `egress gateway counted ${via} request(s)`),
      verdict: r.status === 200 && via > 0 ? "pass" : "fail",
    },
  ];
}

export async function controlPlaneCheck(ctx: VerifyContext): Promise<CheckRow[]> {
  const cluster = ctx.cluster;
  if (!cluster) return [];
  const istioNs = ISTIO_NAMESPACE;
  const rows: CheckRow[] = [];
  const istiod = await cluster.get(`/apis/apps/v1/namespaces/${istioNs}/deployments/${ISTIOD_DEPLOYMENT}`);
  const ready =
    istiod.status === 200 ? ((JSON.parse(istiod.body).status?.readyReplicas as number | undefined) ?? 0) : 0;
  rows.push({
    check: "control-plane",
    subject: `${ISTIOD_DEPLOYMENT} in ${istioNs}`,
    expected: "≥ 1 ready replica",
    observed: istiod.status === 200 ? `${ready} ready` : `HTTP ${istiod.status}`,
    verdict: ready >= 1 ? "pass" : "fail",
  });
  const ns = ctx.cfg.backend.namespace;
  const names = ctx.cfg.backend.services.map((s) => s.name);
  const pods = await listPods(cluster, ns, `app in (${names.join(",")})`);
  for (const svc of ctx.cfg.backend.services) {
    for (const v of svc.versions) {
      const mine = pods.filter((p) => p.metadata.labels?.app === svc.name && p.metadata.labels?.version === v.version);
      const problems = mine.flatMap((p) => podProblems(p, svc.name));
      const readyCount = mine.filter(isReady).length;
      rows.push({
        check: "control-plane",
        subject: `${svc.name}-${v.version} pods`,
        expected: `${v.replicas} ready, each ${svc.name} + istio-proxy`,
        observed: `${readyCount}/${mine.length} ready${problems.length ? `; ${problems.join("; ")}` : ""}`,
        verdict: readyCount === v.replicas && mine.length === v.replicas && problems.length === 0 ? "pass" : "fail",
      });
    }
  }
  return rows;
}

/**
 * What is missing from a backend pod. Istio 1.30 on Kubernetes ≥ 1.33 injects istio-proxy as a native
 * sidecar (an init container with restartPolicy Always); older clusters get a regular container.
 */
export function podProblems(pod: Pod, app: string): string[] {
  const problems: string[] = [];
  if (!pod.spec.containers.some((c) => c.name === app)) problems.push(`${pod.metadata.name} has no ${app} container`);
  const sidecar =
    pod.spec.containers.some((c) => c.name === "istio-proxy") ||
    (pod.spec.initContainers ?? []).some((c) => c.name === "istio-proxy" && c.restartPolicy === "Always");
  if (!sidecar) problems.push(`${pod.metadata.name} has no istio-proxy`);
  return problems;
}

const OBSERVABILITY_ATTEMPTS = 6;
const OBSERVABILITY_WAIT_MS = 10_000;

/** Retries a probe a bounded number of times: scrapes and trace flushes lag the traffic. */
async function eventually(ctx: VerifyContext, probe: () => Promise<string | undefined>): Promise<string | undefined> {
  let last: string | undefined;
  for (let attempt = 1; attempt <= OBSERVABILITY_ATTEMPTS; attempt++) {
    last = await probe();
    if (last === undefined) return undefined;
    ctx.progress(attempt, OBSERVABILITY_ATTEMPTS);
    if (attempt < OBSERVABILITY_ATTEMPTS) await ctx.sleep(OBSERVABILITY_WAIT_MS);
  }
  return last;
}

export async function observabilityCheck(ctx: VerifyContext): Promise<CheckRow[]> {
  const cluster = ctx.cluster;
  if (!cluster) return [];
  const query = 'sum(istio_requests_total{destination_service_name="user-service"})';
  let series = 0;
  const promProblem = await eventually(ctx, async () => {
    const r = await cluster.get(`${PROMETHEUS_PROXY}/api/v1/query?query=${encodeURIComponent(query)}`);
    if (r.status !== 200) return `HTTP ${r.status}`;
    const result = (JSON.parse(r.body) as { data?: { result?: { value?: [number, string] }[] } }).data?.result ?? [];
    series = Number(result[0]?.value?.[1] ?? 0);
    return series > 0 ? undefined : "no samples yet";
  });
  let traces = 0;
  let jaegerService = "";
  const jaegerProblem = await eventually(ctx, async () => {
    const services = await cluster.get(`${JAEGER_PROXY}/api/services`);
    if (services.status !== 200) return `HTTP ${services.status}`;
    const names = (JSON.parse(services.body) as { data?: string[] }).data ?? [];
    jaegerService = names.find((n) => n.startsWith("user-service")) ?? "";
    if (!jaegerService) return "user-service not among traced services";
    const r = await cluster.get(
      `${JAEGER_PROXY}/api/traces?service=${encodeURIComponent(jaegerService)}&limit=20&lookback=1h`,
    );
    traces = ((JSON.parse(r.body) as { data?: unknown[] }).data ?? []).length;
    return traces > 0 ? undefined : "no traces yet";
  });
  return [
    {
      check: "observability",
      subject: "Prometheus istio_requests_total",
      expected: "samples for user-service",
      observed: promProblem ?? `${series} requests counted`,
      verdict: promProblem === undefined ? "pass" : "fail",
    },
    {
      check: "observability",
      subject: "Jaeger traces",
      expected: "traces for user-service",
      observed: jaegerProblem ?? `${traces} trace(s) for ${jaegerService}`,
      verdict: jaegerProblem === undefined ? "pass" : "fail",
    },
  ];
}
