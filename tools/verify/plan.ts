import { INGRESS_GATEWAY_REPLICAS } from "../../components/controlPlane/helmValues";
import { durationMillis } from "../../config/readers";
import type { BackendServiceName, MeshConfig } from "../../config/types";
import { ENVOY_WORKERS } from "./load";
import { CHECK_NAMES, type CheckName } from "./types";

export { BETA_SAMPLE, DEFAULT_CONCURRENCY, ENVOY_WORKERS } from "./load";

/**
 * Which checks a stack's config calls for, and the sizes and pace the checks derive from it. Pure:
 * everything here reads the one parsed MeshConfig.
 *
 * Order (CHECK_NAMES) keeps checks from biasing each other: the canary split runs paced and before
 * anything else sends to user-service; beta, JWT and in-cluster calls spend a few tokens of the
 * per-pod rate limit; the rate-limit check, which empties the beta pod's bucket on purpose, runs last.
 */

/** Canary-split and abort sample at default; 1000 detects 85/15 against 90/10 (see README "Verify"). */
export const DEFAULT_REQUESTS = 1000;

/** The checks that run inside the cluster (through its API server); the others go through the gateway. */
export const CLUSTER_CHECKS: readonly CheckName[] = [
  "control-plane",
  "access-matrix",
  "mtls",
  "egress",
  "observability",
];

export interface PlannedCheck {
  readonly name: CheckName;
  /** Why it is skipped; undefined when it runs. */
  readonly skip?: string;
}

export interface Availability {
  readonly token: boolean;
  readonly caCert: boolean;
  readonly httpsUrl: boolean;
  readonly cluster: boolean;
  readonly offline: boolean;
}

export function planChecks(cfg: MeshConfig, have: Availability, only?: readonly CheckName[]): PlannedCheck[] {
  const needsToken = cfg.security.jwt.required && !have.token ? "JWT required and no token: pass --token" : undefined;
  const inCluster = have.cluster ? undefined : "no kubeconfig: pass --kubeconfig or use the stack";
  const probes = cfg.security.probeClients ? inCluster : "probeClients is off";
  const reasons: Record<CheckName, string | undefined> = {
    "control-plane": inCluster,
    https: !have.httpsUrl
      ? "no HTTPS URL: pass --https-url or use the stack's gatewayUrls output"
      : have.caCert
        ? undefined
        : "no CA certificate: pass --ca-cert or use the stack's caCert output",
    "canary-split": needsToken,
    "beta-header": needsToken,
    faults: Object.keys(cfg.faults).length === 0 ? "no faults configured" : undefined,
    "circuit-breaker": burstPlans(cfg).length === 0 ? "no connection pool that can overflow" : undefined,
    jwt: undefined,
    "access-matrix": probes,
    mtls: cfg.security.mtlsMode === "STRICT" ? probes : "mtlsMode is PERMISSIVE",
    egress: !cfg.egress.gateway ? "no egress gateway" : have.offline ? "--offline" : probes,
    observability: cfg.observability.enabled ? inCluster : "observability is off",
    "rate-limit": cfg.security.rateLimit === false ? "rateLimit is off" : needsToken,
  };
  return CHECK_NAMES.map((name) => {
    const skip = only && !only.includes(name) ? "not in --only" : reasons[name];
    return skip === undefined ? { name } : { name, skip };
  });
}

/** Share of the token budget the split may use in any window: slack for uneven load balancing. */
export const PACE_FRACTION = 0.75;

export interface Pacing {
  /** Gap between request starts; 0 = as fast as concurrency allows. */
  readonly intervalMs: number;
  /** The largest expected share of requests that one user-service pod receives. */
  readonly busiestPodShare: number;
}

/**
 * The local rate limit is a token bucket per user-service pod, so the pod with the largest share of
 * the split (a v1 pod at 90/10 with 3 replicas: 30%) runs dry first, and its 429s hide v1 responses.
 * Pacing keeps that pod at PACE_FRACTION of its refill rate; any 429 that still comes is censored.
 */
export function canaryPacing(cfg: MeshConfig): Pacing {
  const user = cfg.backend.services.find((s) => s.name === "user-service");
  const total = Object.values(cfg.canaryWeights).reduce((s, w) => s + w, 0) || 1;
  const busiestPodShare = Math.max(
    0,
    ...(user?.versions ?? []).map((v) => (cfg.canaryWeights[v.version] ?? 0) / total / v.replicas),
  );
  const limit = cfg.security.rateLimit;
  if (limit === false) return { intervalMs: 0, busiestPodShare };
  if (cfg.cell.dataplane === "ambient") {
    // The buckets are the ingress gateway's, one per route per gateway pod: all of the canary route's traffic
    // shares each gateway pod's bucket, whatever the weights.
    const perMs = durationMillis(limit.per) ?? 60_000;
    const share = 1 / INGRESS_GATEWAY_REPLICAS;
    return { intervalMs: (perMs * share) / (PACE_FRACTION * limit.requests), busiestPodShare: share };
  }
  const perMs = durationMillis(limit.per) ?? 60_000;
  return { intervalMs: (perMs * busiestPodShare) / (PACE_FRACTION * limit.requests), busiestPodShare };
}

/** Requests the rate-limit check may send to the beta version's pods (ambient: the beta route) before it must have seen a 429. */
export function betaBudget(cfg: MeshConfig): number {
  const limit = cfg.security.rateLimit;
  if (limit === false) return 0;
  // ambient: the beta route's bucket on each ingress gateway pod (components/ambient/rateLimit.ts).
  if (cfg.cell.dataplane === "ambient") return limit.requests * INGRESS_GATEWAY_REPLICAS;
  const user = cfg.backend.services.find((s) => s.name === "user-service");
  const replicas = user?.versions.find((v) => v.version === cfg.betaVersion)?.replicas ?? 1;
  return limit.requests * replicas;
}

/**
 * The most requests the beta pods can admit in `elapsedMs`, under Envoy's continuous token bucket
 * (AtomicTokenBucket in source/extensions/filters/common/local_ratelimit/local_ratelimit_impl.cc, the
 * only bucket since Envoy 1.34): each pod starts with at most `requests` tokens and regains
 * `requests / per` a second, a fraction at a time, so `budget` (all pods' buckets) plus what `budget /
 * per` refills in the time the check ran. Whole requests only: a token is spent whole.
 */
export function admittedBound(budget: number, perMs: number, elapsedMs: number): { bound: number; refilled: number } {
  const refilled = Math.floor((budget * Math.max(0, elapsedMs)) / perMs);
  return { bound: budget + refilled, refilled };
}

/** Fault sample sizes: delays cost wall time, so their sample is a fifth of --requests (200 by default). */
export const delaySample = (requests: number): number => Math.max(20, Math.round(requests / 5));

const BURST_FACTOR = 4;
const MAX_BURST = 400;

export interface BurstPlan {
  readonly service: BackendServiceName;
  readonly path: string;
  /** In-flight requests the pool admits: maxConnections + one connection per endpoint and worker + pending. */
  readonly capacity: number;
  /** Fraction of requests the service's delay fault parks before the router (they hold no connection). */
  readonly delayedFraction: number;
  readonly burst: number;
}

/**
 * A burst that must overflow the pool: BURST_FACTOR × what it admits, scaled up for requests a delay
 * fault holds back. Envoy lets each endpoint have one connection beyond maxConnections (per worker's
 * pool). user-service is left out while rate-limited: its 429s would answer the burst first.
 */
export function burstPlans(cfg: MeshConfig): BurstPlan[] {
  return cfg.backend.services.flatMap((svc) => {
    const pool = cfg.circuitBreakers[svc.name]?.connectionPool;
    if (pool?.maxConnections === undefined || pool.http1MaxPendingRequests === undefined) return [];
    if (svc.name === "user-service" && cfg.security.rateLimit !== false) return [];
    const endpoints = svc.versions.reduce((s, v) => s + v.replicas, 0);
    const capacity = pool.maxConnections + endpoints * ENVOY_WORKERS + pool.http1MaxPendingRequests;
    const fault = cfg.faults[svc.name];
    const delayedFraction = fault?.delay !== undefined ? fault.percent / 100 : 0;
    const burst = Math.ceil((BURST_FACTOR * capacity) / Math.max(0.05, 1 - delayedFraction));
    if (burst > MAX_BURST) return [];
    return [{ service: svc.name, path: svc.pathPrefix, capacity, delayedFraction, burst }];
  });
}
