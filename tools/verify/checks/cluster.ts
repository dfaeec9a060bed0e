import {
  AMBIENT_REDIRECTION_ANNOTATION,
  AMBIENT_REDIRECTION_ENABLED,
  GATEWAY_NAME_POD_LABEL,
  HBONE_LISTENER,
  WAYPOINT_NAME,
} from "../../../components/ambient/labels";
import { installedVersions, revisionName } from "../../../components/controlPlane/revisions";
import {
  EGRESS_GATEWAY_PORTS,
  EGRESS_GATEWAY_SELECTOR,
  egressGatewayHost,
} from "../../../components/egress/egressGateway";
import { HTTPBIN_HOST } from "../../../components/egress/externalServices";
import { EGRESS_NAMESPACE, ISTIO_NAMESPACE, serviceHost } from "../../../components/meta";
import {
  JAEGER_BASE_PATH,
  JAEGER_QUERY,
  OBSERVABILITY_NAMESPACE,
  PROMETHEUS,
} from "../../../components/observability/services";
import type { AccessCase } from "../../../components/security/accessMatrix";
import { MESH_CLIENT, OUTSIDE_CLIENT } from "../../../components/security/identities";
import type { BackendServiceName, MeshConfig } from "../../../config/types";
import { type ListedIstioObject, servingIstiods } from "../../lib/istiodRevision";
import type { CheckRow, ClusterTransport, VerifyContext } from "../types";
import { getJson, isReady, listPods, type Pod } from "./api";
import { refusedTokens } from "./gateway";
import {
  type CurlAnswer,
  curlFrom,
  describeAnswer,
  type FaultPlan,
  faultPlan,
  faultTimeout,
  labelSelector,
  probeClient,
  RESET_EXITS,
} from "./probe";

/**
 * Checks inside the cluster: curl in the probe clients (exec) and reads through the API server. Every
 * name here is the constant of the component that creates the object, so the two cannot drift.
 */

export const EGRESS_URL = `http://${HTTPBIN_HOST}/get`;
/** The observability tools' Services, through the API server's service proxy. */
export const PROMETHEUS_PROXY = `/api/v1/namespaces/${OBSERVABILITY_NAMESPACE}/services/${PROMETHEUS.name}:${PROMETHEUS.port}/proxy`;
export const JAEGER_PROXY = `/api/v1/namespaces/${OBSERVABILITY_NAMESPACE}/services/${JAEGER_QUERY.name}:${JAEGER_QUERY.port}/proxy${JAEGER_BASE_PATH}`;
/**
 * The istiod Deployments the stack runs: `istiod`, or with revisions `istiod-<revision>` for each
 * installed release (the istiod chart's templates/deployment.yaml appends `-<revision>` when set).
 */
export function istiodDeployments(cfg: MeshConfig): readonly string[] {
  return cfg.revisions.enabled ? installedVersions(cfg).map((v) => `istiod-${revisionName(v)}`) : ["istiod"];
}

const backendUrl = (cfg: MeshConfig, target: BackendServiceName): string => {
  const path = cfg.backend.services.find((s) => s.name === target)?.pathPrefix ?? "/";
  return `http://${serviceHost(target, cfg.backend.namespace)}${path}`;
};

/** Whether an answer is what a cell expects: a status, or (0) the server closing the connection. */
const meets = (a: CurlAnswer, expected: number): boolean =>
  expected === 0 ? a.outcome === "reset" : a.outcome === "http" && a.status === expected;

/** Probes a cell as its target's fault plan says: the delay waited out, the abort status retried. */
async function probeCell(
  ctx: VerifyContext,
  c: AccessCase,
  plan: Exclude<FaultPlan, { skip: string }>,
  token: string | undefined,
): Promise<{ answer: CurlAnswer; attempts: number }> {
  const url = backendUrl(ctx.cfg, c.target);
  let answer = await curlFrom(ctx, c.caller, url, { timeoutSeconds: plan.timeoutSeconds, ...(token && { token }) });
  let attempts = 1;
  while (attempts < plan.attempts && answer.outcome === "http" && answer.status === plan.retryStatus) {
    answer = await curlFrom(ctx, c.caller, url, { timeoutSeconds: plan.timeoutSeconds, ...(token && { token }) });
    attempts++;
  }
  return { answer, attempts };
}

export async function accessMatrixCheck(ctx: VerifyContext): Promise<CheckRow[]> {
  const cases = ctx.accessCases.filter((c) => probeClient(ctx.cfg, c.caller) !== undefined);
  const offline = ctx.accessCases.filter((c) => probeClient(ctx.cfg, c.caller) === undefined);
  const refused = await refusedTokens(ctx.cfg);
  const tokenFor = (c: AccessCase): string | undefined | null =>
    c.token === "none" ? undefined : c.token === "invalid" ? refused["bad signature"] : (ctx.target.token ?? null);
  const rows: CheckRow[] = [];
  for (const [i, c] of cases.entries()) {
    const token = tokenFor(c);
    const subject = `${c.caller} → ${c.target} (${c.token} token)`;
    const expected = c.status === 0 ? "refused (reset by the server)" : String(c.status);
    const plan = faultPlan(ctx.cfg.faults[c.target], c.status);
    if (token === null || "skip" in plan) {
      const observed = token === null ? "no valid token: pass --token" : "skip" in plan ? plan.skip : "";
      rows.push({ check: "access-matrix", subject, expected, observed, verdict: "skip" });
      continue;
    }
    const { answer, attempts } = await probeCell(ctx, c, plan, token);
    ctx.progress(i + 1, cases.length);
    const retried = attempts > 1 ? `; ${attempts} attempts, ${plan.retryStatus} is the configured abort` : "";
    rows.push({
      check: "access-matrix",
      subject,
      expected,
      observed: `${describeAnswer(answer)}${retried}`,
      verdict: meets(answer, c.status) ? "pass" : "fail",
    });
  }
  if (offline.length > 0) {
    const callers = [...new Set(offline.map((c) => c.caller))];
    rows.push({
      check: "access-matrix",
      subject: `${callers.join(", ")} → backends`,
      expected: `${offline.length} cells as the matrix says`,
      observed: "not probed live: verify can exec curl only in the probe clients; the evaluator checks these offline",
      verdict: "skip",
    });
  }
  return rows;
}

/**
 * Plaintext from the sidecar-less client must be closed by the server's STRICT sidecar (in ambient:
 * by the server pod's ztunnel, which takes the pod's inbound traffic and refuses plaintext under
 * STRICT; curl sees the same reset). The same URL from mesh-client must answer HTTP (any status):
 * that proves the Service exists and resolves, so the reset is mTLS's doing and not a missing Service.
 */
export async function mtlsCheck(ctx: VerifyContext): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  for (const [i, svc] of ctx.cfg.backend.services.entries()) {
    const url = backendUrl(ctx.cfg, svc.name);
    const timeoutSeconds = faultTimeout(ctx.cfg.faults[svc.name]);
    const plain = await curlFrom(ctx, OUTSIDE_CLIENT, url, { timeoutSeconds });
    const control = await curlFrom(ctx, MESH_CLIENT, url, { timeoutSeconds });
    ctx.progress(i + 1, ctx.cfg.backend.services.length);
    const controlText = control.outcome === "http" ? `HTTP ${control.status}` : describeAnswer(control);
    rows.push({
      check: "mtls",
      subject: `${OUTSIDE_CLIENT} → ${svc.name} plaintext`,
      expected: `reset by the STRICT ${enforcer(ctx.cfg)} (curl exit ${[...RESET_EXITS].join("/")}); ${MESH_CLIENT} gets HTTP`,
      observed: `${plain.outcome === "http" ? `HTTP ${plain.status}` : describeAnswer(plain)}; ${MESH_CLIENT}: ${controlText}`,
      verdict: plain.outcome === "reset" && control.outcome === "http" ? "pass" : "fail",
    });
  }
  return rows;
}

/** What takes a backend pod's inbound traffic and enforces its PeerAuthentication. */
const enforcer = (cfg: MeshConfig): string => (cfg.cell.dataplane === "ambient" ? "ztunnel" : "sidecar");

const HTTPBIN_DESTINATION = new RegExp(`destination_service(_name)?="${HTTPBIN_HOST.replaceAll(".", "\\.")}"`);

/**
 * Where mesh traffic to httpbin.org leaves the mesh, and what verify checks there. sidecar cells: the
 * egress gateway's pods, and its `http2` port, whose servers take Istio mTLS only. ambient cells: the
 * egress waypoint's pods (istiod labels them with their Gateway's name, waypoint.yaml @ 1.30.3), and
 * its HBONE port, the only traffic port of its Service, which takes mTLS tunnels only.
 */
export interface EgressExit {
  readonly what: "egress gateway" | "egress waypoint";
  readonly podSelector: Readonly<Record<string, string>>;
  readonly host: string;
  /** curl's --connect-to: httpbin.org's request sent to the exit itself, as an open relay would take it. */
  readonly connectTo: string;
  readonly takes: string;
}

export function egressExit(cfg: MeshConfig): EgressExit {
  if (cfg.cell.dataplane === "ambient") {
    const host = serviceHost(WAYPOINT_NAME, EGRESS_NAMESPACE);
    return {
      what: "egress waypoint",
      podSelector: { [GATEWAY_NAME_POD_LABEL]: WAYPOINT_NAME },
      host,
      connectTo: `${HTTPBIN_HOST}:80:${host}:${HBONE_LISTENER.port}`,
      takes: "HBONE (mTLS) only",
    };
  }
  return {
    what: "egress gateway",
    podSelector: EGRESS_GATEWAY_SELECTOR,
    host: egressGatewayHost(),
    connectTo: egressGatewayConnectTo(),
    takes: "mTLS only",
  };
}

/** Sum of the exit's istio_requests_total towards httpbin.org, read from each pod's merged stats (:15020). */
async function egressRequests(cluster: ClusterTransport, exit: EgressExit): Promise<{ total: number; pods: number }> {
  const pods = (await listPods(cluster, EGRESS_NAMESPACE, labelSelector(exit.podSelector))).filter(isReady);
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

/** httpbin.org's Host, sent straight to the egress gateway's `http2` port: what an open relay would serve. */
export function egressGatewayConnectTo(): string {
  const port = EGRESS_GATEWAY_PORTS.find((p) => p.name === "http2")?.port ?? 80;
  return `${HTTPBIN_HOST}:80:${egressGatewayHost()}:${port}`;
}

/**
 * The client outside the mesh sends httpbin.org's request to the exit itself. The gateway's servers
 * take only Istio mTLS (ISTIO_MUTUAL), the waypoint's listener only HBONE, so its plaintext is closed:
 * reset, never an answer. (A caller with another namespace's identity would get 403 from the exit's
 * AuthorizationPolicy; verify has no such client, the evaluator covers it offline.)
 */
async function egressRelayRow(ctx: VerifyContext, exit: EgressExit): Promise<CheckRow[]> {
  if (!probeClient(ctx.cfg, OUTSIDE_CLIENT)) return [];
  const r = await curlFrom(ctx, OUTSIDE_CLIENT, EGRESS_URL, { timeoutSeconds: 10, connectTo: exit.connectTo });
  return [
    {
      check: "egress",
      subject: `${OUTSIDE_CLIENT} → ${EGRESS_URL} sent to ${exit.host}`,
      expected: `refused at the ${exit.what}: ${exit.takes} (curl exit ${[...RESET_EXITS].join("/")})`,
      observed: r.outcome === "http" ? `HTTP ${r.status}: the ${exit.what} relays for anyone` : describeAnswer(r),
      verdict: r.outcome === "reset" ? "pass" : "fail",
    },
  ];
}

export async function egressCheck(ctx: VerifyContext): Promise<CheckRow[]> {
  const cluster = ctx.cluster;
  if (!cluster) return [];
  const exit = egressExit(ctx.cfg);
  const before = await egressRequests(cluster, exit);
  const r = await curlFrom(ctx, MESH_CLIENT, EGRESS_URL, { timeoutSeconds: 10 });
  const after = await egressRequests(cluster, exit);
  const via = after.total - before.total;
  const relay = ctx.cfg.egress.gateway ? await egressRelayRow(ctx, exit) : [];
  return [
    {
      check: "egress",
      subject: `${MESH_CLIENT} → ${EGRESS_URL}`,
      expected: `200, through the ${exit.what}`,
      observed:
        `${r.outcome === "http" ? `HTTP ${r.status}` : describeAnswer(r)}; ` +
        (before.pods === 0 ? `no ${exit.what} pod` : `${exit.what} counted ${via} request(s)`),
      verdict: r.outcome === "http" && r.status === 200 && via > 0 ? "pass" : "fail",
    },
    ...relay,
  ];
}

export async function controlPlaneCheck(ctx: VerifyContext): Promise<CheckRow[]> {
  const cluster = ctx.cluster;
  if (!cluster) return [];
  const istioNs = ISTIO_NAMESPACE;
  const existing = ctx.cfg.profile.existingIstio;
  const rows: CheckRow[] = existing ? await existingIstiodRows(cluster, existing.revision) : [];
  for (const name of existing ? [] : istiodDeployments(ctx.cfg)) {
    const istiod = await cluster.get(`/apis/apps/v1/namespaces/${istioNs}/deployments/${name}`);
    const ready =
      istiod.status === 200 ? ((JSON.parse(istiod.body).status?.readyReplicas as number | undefined) ?? 0) : 0;
    rows.push({
      check: "control-plane",
      subject: `${name} in ${istioNs}`,
      expected: "≥ 1 ready replica",
      observed: istiod.status === 200 ? `${ready} ready` : `HTTP ${istiod.status}`,
      verdict: ready >= 1 ? "pass" : "fail",
    });
  }
  const ambient = ctx.cfg.cell.dataplane === "ambient";
  if (ambient) rows.push(...(await ambientDataPlaneRows(cluster, ctx.cfg)));
  const ns = ctx.cfg.backend.namespace;
  const names = ctx.cfg.backend.services.map((s) => s.name);
  const pods = await listPods(cluster, ns, `app in (${names.join(",")})`);
  for (const svc of ctx.cfg.backend.services) {
    for (const v of svc.versions) {
      const mine = pods.filter((p) => p.metadata.labels?.app === svc.name && p.metadata.labels?.version === v.version);
      const problems = mine.flatMap((p) => podProblems(p, svc.name, ctx.cfg.cell.dataplane));
      const readyCount = mine.filter(isReady).length;
      rows.push({
        check: "control-plane",
        subject: `${svc.name}-${v.version} pods`,
        expected: `${v.replicas} ready, each ${svc.name} + ${ambient ? "captured by ztunnel" : "istio-proxy"}`,
        observed: `${readyCount}/${mine.length} ready${problems.length ? `; ${problems.join("; ")}` : ""}`,
        verdict: readyCount === v.replicas && mine.length === v.replicas && problems.length === 0 ? "pass" : "fail",
      });
    }
  }
  return rows;
}

interface ListedDeployment extends ListedIstioObject {
  readonly status?: { readonly readyReplicas?: number };
}

/**
 * With `existingIstio`: the cluster's istiod serving the revision, whatever its install named it, found
 * by label as the pre-flight finds it (tools/lib/istiodRevision.ts): a Deployment labelled `app=istiod`
 * and `istio.io/rev=<revision>`, else the revision a tag of that name points at.
 */
async function existingIstiodRows(cluster: ClusterTransport, revision: string): Promise<CheckRow[]> {
  const list = async <T>(path: string): Promise<readonly T[]> => (await getJson<{ items: T[] }>(cluster, path)).items;
  const selector = (s: string) => `labelSelector=${encodeURIComponent(s)}`;
  const istiods = await list<ListedDeployment>(`/apis/apps/v1/deployments?${selector("app=istiod")}`);
  const tags = await list<ListedIstioObject>(
    `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations?${selector(`istio.io/tag=${revision}`)}`,
  );
  const serving = servingIstiods(revision, istiods, tags);
  const via = serving.via ? ` (tag → ${serving.via})` : "";
  if (serving.istiods.length === 0) {
    return [
      {
        check: "control-plane",
        subject: `the cluster's istiod for revision ${revision}`,
        expected: "≥ 1 ready replica",
        observed: `no istiod Deployment serves it${via}`,
        verdict: "fail",
      },
    ];
  }
  return serving.istiods.map((d) => {
    const ready = d.status?.readyReplicas ?? 0;
    return {
      check: "control-plane",
      subject: `${d.metadata?.name} in ${d.metadata?.namespace} (the cluster's, revision ${revision}${via})`,
      expected: "≥ 1 ready replica",
      observed: `${ready} ready`,
      verdict: ready >= 1 ? "pass" : "fail",
    };
  });
}

/** The ambient charts' DaemonSets (chart-render: istio-cni-node, ztunnel) and the waypoint's Deployment. */
export const AMBIENT_DAEMONSETS = ["istio-cni-node", "ztunnel"] as const;

async function ambientDataPlaneRows(cluster: ClusterTransport, cfg: MeshConfig): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  for (const name of AMBIENT_DAEMONSETS) {
    const r = await cluster.get(`/apis/apps/v1/namespaces/${ISTIO_NAMESPACE}/daemonsets/${name}`);
    const status = r.status === 200 ? (JSON.parse(r.body).status ?? {}) : {};
    const ready = (status.numberReady as number | undefined) ?? 0;
    const wanted = (status.desiredNumberScheduled as number | undefined) ?? 0;
    rows.push({
      check: "control-plane",
      subject: `${name} DaemonSet in ${ISTIO_NAMESPACE}`,
      expected: "ready on every node",
      observed: r.status === 200 ? `${ready}/${wanted} ready` : `HTTP ${r.status}`,
      verdict: r.status === 200 && wanted > 0 && ready === wanted ? "pass" : "fail",
    });
  }
  // istiod names the waypoint's Deployment after its Gateway (no class suffix for istio-waypoint).
  const ns = cfg.backend.namespace;
  const wp = await cluster.get(`/apis/apps/v1/namespaces/${ns}/deployments/${WAYPOINT_NAME}`);
  const ready = wp.status === 200 ? ((JSON.parse(wp.body).status?.readyReplicas as number | undefined) ?? 0) : 0;
  rows.push({
    check: "control-plane",
    subject: `waypoint ${WAYPOINT_NAME} in ${ns}`,
    expected: "≥ 1 ready replica (deployed by istiod from the Gateway)",
    observed: wp.status === 200 ? `${ready} ready` : `HTTP ${wp.status}`,
    verdict: ready >= 1 ? "pass" : "fail",
  });
  return rows;
}

/**
 * What is missing from a backend pod. sidecar: Istio 1.30 on Kubernetes ≥ 1.33 injects istio-proxy as
 * a native sidecar (an init container with restartPolicy Always); older clusters get a regular
 * container. ambient: no istio-proxy at all, and istio-cni's annotation saying ztunnel took the pod's
 * traffic (`ambient.istio.io/redirection: enabled`; "pending" means no ztunnel has accepted it yet).
 */
export function podProblems(pod: Pod, app: string, dataplane: MeshConfig["cell"]["dataplane"] = "sidecar"): string[] {
  const problems: string[] = [];
  if (!pod.spec.containers.some((c) => c.name === app)) problems.push(`${pod.metadata.name} has no ${app} container`);
  if (dataplane === "ambient") {
    const redirection = pod.metadata.annotations?.[AMBIENT_REDIRECTION_ANNOTATION];
    if (redirection !== AMBIENT_REDIRECTION_ENABLED) {
      problems.push(`${pod.metadata.name} is not captured by ztunnel (redirection: ${redirection ?? "unset"})`);
    }
    if (hasSidecar(pod)) problems.push(`${pod.metadata.name} has an istio-proxy sidecar in ambient`);
    return problems;
  }
  if (!hasSidecar(pod)) problems.push(`${pod.metadata.name} has no istio-proxy`);
  return problems;
}

function hasSidecar(pod: Pod): boolean {
  return (
    pod.spec.containers.some((c) => c.name === "istio-proxy") ||
    (pod.spec.initContainers ?? []).some((c) => c.name === "istio-proxy" && c.restartPolicy === "Always")
  );
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
