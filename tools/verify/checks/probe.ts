import { PROBE_CONTAINER, probeClients } from "../../../components/security/probeClients";
import { durationMillis } from "../../../config/readers";
import type { Fault, MeshConfig } from "../../../config/types";
import type { VerifyContext } from "../types";
import { isReady, listPods } from "./api";

/**
 * curl inside the probe clients (components/security/probeClients.ts), and what its answer means.
 * A "refused" answer counts only when the server closed the connection: a name that does not resolve,
 * a port that does not connect or a timeout tests nothing, so those never pass as refused.
 */

export interface ProbeClient {
  readonly namespace: string;
  /** The Deployment's own pod selector, as probeClients() builds it. */
  readonly selector: Readonly<Record<string, string>>;
}

/** Where a probe client runs and how its pods are selected; undefined for callers verify cannot exec in. */
export function probeClient(cfg: MeshConfig, caller: string): ProbeClient | undefined {
  const deployment = probeClients(cfg)?.deployments.find((d) => d.metadata.name === caller);
  const selector = deployment?.spec?.selector.matchLabels;
  const namespace = deployment?.metadata.namespace;
  return selector && namespace ? { namespace, selector } : undefined;
}

export const labelSelector = (labels: Readonly<Record<string, string>>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

/**
 * curl exits that mean the server closed the connection without an HTTP answer. A STRICT sidecar finds
 * no filter chain for plaintext (access log `NR filter_chain_not_found`) and closes it: curl reports 56
 * "Recv failure: Connection reset by peer" (Istio's mTLS migration task shows `000`, exit code 56), or
 * 52 "Empty reply from server" when the close is a FIN. (35 is a TLS handshake failure: not possible
 * for a plaintext URL.)
 */
export const RESET_EXITS: ReadonlySet<number> = new Set([52, 56]);
const CURL_EXITS: Readonly<Record<number, string>> = {
  6: "DNS: could not resolve host",
  7: "could not connect",
  28: "timed out",
  52: "empty reply",
  56: "connection reset",
};

export interface CurlAnswer {
  /** http: an HTTP status came; reset: the server closed the connection; untested: anything else. */
  readonly outcome: "http" | "reset" | "untested";
  /** The HTTP status (0 without one). */
  readonly status: number;
  /** curl's exit code; -1 when curl did not run. */
  readonly exitCode: number;
  readonly detail: string;
}

/** "403", "reset (exit 56)", "could not test: DNS: could not resolve host (exit 6)". */
export function describeAnswer(a: CurlAnswer): string {
  if (a.outcome === "http") return String(a.status);
  const what = CURL_EXITS[a.exitCode] ?? a.detail;
  if (a.outcome === "reset") return `refused: ${what} (exit ${a.exitCode})`;
  return a.exitCode < 0 ? `could not test: ${a.detail}` : `could not test: ${what} (exit ${a.exitCode})`;
}

/** Time for curl beyond any delay the fault adds: what an undelayed call in the cluster needs. */
export const CURL_TIMEOUT_S = 5;
/** What exec may take beyond curl's own timeout (websocket setup, pod scheduling noise). */
const EXEC_SLACK_MS = 25_000;

/** `kubectl exec` curl in a probe client. */
export async function curlFrom(
  ctx: VerifyContext,
  caller: string,
  url: string,
  {
    token,
    timeoutSeconds = CURL_TIMEOUT_S,
    connectTo,
  }: {
    token?: string;
    timeoutSeconds?: number;
    /** curl's --connect-to HOST:PORT:CONNECT-HOST:CONNECT-PORT: the URL's Host, another server's address. */
    connectTo?: string;
  } = {},
): Promise<CurlAnswer> {
  const untested = (detail: string): CurlAnswer => ({ outcome: "untested", status: 0, exitCode: -1, detail });
  const cluster = ctx.cluster;
  const client = probeClient(ctx.cfg, caller);
  if (!cluster || !client) return untested(`no probe client ${caller}`);
  const pod = (await listPods(cluster, client.namespace, labelSelector(client.selector))).find(isReady)?.metadata.name;
  if (!pod) return untested(`no ready ${caller} pod in ${client.namespace}`);
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
    ...(connectTo ? ["--connect-to", connectTo] : []),
    url,
  ];
  const r = await cluster.exec(client.namespace, pod, PROBE_CONTAINER, command, {
    timeoutMs: timeoutSeconds * 1000 + EXEC_SLACK_MS,
  });
  const status = Number.parseInt(r.stdout.trim(), 10);
  const detail = r.stderr.trim().split("\n").pop() || `exit ${r.exitCode}`;
  if (r.exitCode === 0 && status > 0) return { outcome: "http", status, exitCode: 0, detail: "" };
  return { outcome: RESET_EXITS.has(r.exitCode) ? "reset" : "untested", status: 0, exitCode: r.exitCode, detail };
}

/** curl's timeout for a target: its delay fault, if any, plus what an undelayed call needs. */
export function faultTimeout(fault: Fault | undefined): number {
  const delayMs = fault?.delay !== undefined ? (durationMillis(fault.delay) ?? 0) : 0;
  return CURL_TIMEOUT_S + Math.ceil(delayMs / 1000);
}

/** A cell's allowed chance of failing on a correct mesh because every attempt hit the abort fault. */
export const SPURIOUS_ABORT_BOUND = 1e-4;
/** Beyond this many attempts (abort percent above ~83%) a cell is skipped rather than hammered. */
export const MAX_ATTEMPTS = 50;

export type FaultPlan =
  | {
      readonly timeoutSeconds: number;
      /** Try again while the answer is this status (the configured abort), up to attempts in all. */
      readonly retryStatus?: number;
      readonly attempts: number;
    }
  | { readonly skip: string };

/**
 * How to probe a target that has a fault (cfg.faults). The mesh VirtualServices carry the faults (the
 * gateway-api cell refuses faults: HTTPRoute has none), so the caller's sidecar delays or aborts the
 * call before the target's RBAC sees it: wait out the delay,
 * and retry an answer that is exactly the abort status until all attempts aborting has probability
 * ≤ SPURIOUS_ABORT_BOUND: attempts = ⌈log(bound) / log(p)⌉ (30% → 8).
 */
export function faultPlan(fault: Fault | undefined, expectedStatus: number): FaultPlan {
  const timeoutSeconds = faultTimeout(fault);
  if (fault?.status === undefined || fault.percent <= 0) return { timeoutSeconds, attempts: 1 };
  const abort = `abort fault answers ${fault.status} on ${fault.percent}% of calls`;
  if (fault.status === expectedStatus) {
    return { skip: `ambiguous: the ${abort}, the status this cell expects (checked offline only)` };
  }
  const p = fault.percent / 100;
  const attempts = p >= 1 ? Number.POSITIVE_INFINITY : Math.ceil(Math.log(SPURIOUS_ABORT_BOUND) / Math.log(p));
  if (attempts > MAX_ATTEMPTS) {
    return { skip: `the ${abort}: > ${MAX_ATTEMPTS} attempts to see past it (checked offline only)` };
  }
  return { timeoutSeconds, retryStatus: fault.status, attempts };
}
