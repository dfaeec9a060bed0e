import { pinnedImage } from "./cluster";
import {
  BACKEND_NAMESPACE,
  BACKEND_SERVICES,
  BETA_VERSION,
  DEFAULT_CANARY_WEIGHTS,
  DEFAULT_CIRCUIT_BREAKERS,
  DEFAULT_ECHO_IMAGE,
  DEFAULT_USER_SERVICE_RETRIES,
} from "./defaults";
import { durationMillis, optional, type RawConfig, type Readers } from "./readers";
import { fieldsOf } from "./reference";
import type {
  BackendServiceName,
  CircuitBreaker,
  ConnectionPool,
  Fault,
  MeshConfig,
  OutlierDetection,
  RetryPolicy,
} from "./types";

/** The backends and their traffic rules: image, canary split, faults, circuit breakers, retries. */

const SERVICE_NAMES = BACKEND_SERVICES.map((s) => s.name);
const USER_SERVICE_VERSIONS =
  BACKEND_SERVICES.find((s) => s.name === "user-service")?.versions.map((v) => v.version) ?? [];
const RETRY_ON = /^[a-z0-9-]+(?:,[a-z0-9-]+)*$/;

type TrafficConfig = Pick<
  MeshConfig,
  "backend" | "canaryWeights" | "betaVersion" | "faults" | "circuitBreakers" | "userServiceRetries"
>;

export function parseTrafficArea(raw: RawConfig, read: Readers): TrafficConfig {
  const echoImage = optional(raw, "echoImage", (v, k) => pinnedImage(read, k, v));
  const canaryWeights = optional(raw, "canaryWeights", (v, k) => parseCanaryWeights(read, k, v));
  const faults = optional(raw, "faults", (v, k) => parseFaults(read, k, v));
  const circuitBreakers = optional(raw, "circuitBreakers", (v, k) => parseCircuitBreakers(read, k, v));
  const retries = optional(raw, "userServiceRetries", (v, k) => parseRetries(read, k, v));
  return {
    backend: { namespace: BACKEND_NAMESPACE, image: echoImage ?? DEFAULT_ECHO_IMAGE, services: BACKEND_SERVICES },
    canaryWeights: withEveryVersion(canaryWeights ?? DEFAULT_CANARY_WEIGHTS),
    betaVersion: BETA_VERSION,
    faults: faults ?? {},
    circuitBreakers: mergeCircuitBreakers(circuitBreakers ?? {}),
    userServiceRetries: retries ?? DEFAULT_USER_SERVICE_RETRIES,
  };
}

function parseCanaryWeights(read: Readers, k: string, value: unknown): Record<string, number> | undefined {
  const entries = read.object(k, value);
  if (!entries) return undefined;
  const weights: Record<string, number> = {};
  for (const [version, weight] of Object.entries(entries)) {
    if (!USER_SERVICE_VERSIONS.includes(version)) {
      read.fail(
        `${k}.${version}`,
        weight,
        `not a deployed user-service version; allowed: ${USER_SERVICE_VERSIONS.join(", ")}`,
      );
      continue;
    }
    const percent = read.int(`${k}.${version}`, weight, 0, 100);
    if (percent !== undefined) weights[version] = percent;
  }
  const total = Object.values(weights).reduce((sum, w) => sum + w, 0);
  const complete = Object.keys(weights).length === Object.keys(entries).length;
  if (complete && total !== 100) read.fail(k, entries, `integer percents that sum to 100 (these sum to ${total})`);
  return weights;
}

function withEveryVersion(weights: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(USER_SERVICE_VERSIONS.map((v) => [v, weights[v] ?? 0]));
}

function serviceEntries(read: Readers, k: string, value: unknown): [BackendServiceName, unknown][] {
  const entries = read.object(k, value);
  if (!entries) return [];
  const known: [BackendServiceName, unknown][] = [];
  for (const [name, entry] of Object.entries(entries)) {
    const service = SERVICE_NAMES.find((s) => s === name);
    if (service) known.push([service, entry]);
    else read.fail(`${k}.${name}`, entry, `not a backend service; allowed: ${SERVICE_NAMES.join(", ")}`);
  }
  return known;
}

function parseFaults(read: Readers, k: string, value: unknown): Partial<Record<BackendServiceName, Fault>> {
  const faults: Partial<Record<BackendServiceName, Fault>> = {};
  for (const [service, entry] of serviceEntries(read, k, value)) {
    const at = `${k}.${service}`;
    const fields = read.object(at, entry, fieldsOf("faults"));
    if (!fields) continue;
    const percent =
      fields.percent === undefined
        ? read.missing(at, `${at}.percent`, "a number greater than 0 and at most 100")
        : read.percent(`${at}.percent`, fields.percent);
    const delay = fields.delay === undefined ? undefined : read.duration(`${at}.delay`, fields.delay);
    const status = fields.status === undefined ? undefined : read.int(`${at}.status`, fields.status, 200, 599);
    if (fields.delay === undefined && fields.status === undefined) {
      read.missing(at, at, 'a fault with "delay" (e.g. "5s"), "status" (e.g. 500), or both');
    }
    if (percent !== undefined && (delay !== undefined || status !== undefined)) {
      faults[service] = { percent, ...(delay !== undefined && { delay }), ...(status !== undefined && { status }) };
    }
  }
  return faults;
}

const POOL_FIELDS = fieldsOf("circuitBreakers", "connectionPool");
const OUTLIER_FIELDS = fieldsOf("circuitBreakers", "outlierDetection");

function parseCircuitBreakers(read: Readers, k: string, value: unknown) {
  const breakers: Partial<Record<BackendServiceName, CircuitBreaker>> = {};
  for (const [service, entry] of serviceEntries(read, k, value)) {
    const at = `${k}.${service}`;
    const fields = read.object(at, entry, fieldsOf("circuitBreakers"));
    if (!fields) continue;
    const poolFields =
      fields.connectionPool === undefined
        ? undefined
        : read.object(`${at}.connectionPool`, fields.connectionPool, POOL_FIELDS);
    const outlierFields =
      fields.outlierDetection === undefined
        ? undefined
        : outlierObject(read, `${at}.outlierDetection`, fields.outlierDetection);
    const connectionPool: Record<string, number> = {};
    for (const field of POOL_FIELDS) {
      const v = poolFields?.[field];
      const n = v === undefined ? undefined : read.int(`${at}.connectionPool.${field}`, v, 1, 1_000_000);
      if (n !== undefined) connectionPool[field] = n;
    }
    const outlierDetection: Record<string, number | string> = {};
    const readOutlier: Readonly<Record<string, (k: string, v: unknown) => number | string | undefined>> = {
      consecutive5xxErrors: (k, v) => read.int(k, v, 1, 1000),
      interval: (k, v) => read.duration(k, v),
      baseEjectionTime: (k, v) => read.duration(k, v),
      maxEjectionPercent: (k, v) => read.int(k, v, 0, 100),
    };
    for (const field of OUTLIER_FIELDS) {
      const v = outlierFields?.[field];
      const parsed = v === undefined ? undefined : readOutlier[field]?.(`${at}.outlierDetection.${field}`, v);
      if (parsed !== undefined) outlierDetection[field] = parsed;
    }
    breakers[service] = {
      ...(poolFields && { connectionPool: connectionPool as ConnectionPool }),
      ...(outlierFields && { outlierDetection: outlierDetection as OutlierDetection }),
    };
  }
  return breakers;
}

/** The lab's `consecutiveErrors` was removed from Istio's API; say so instead of "unknown field". */
function outlierObject(read: Readers, at: string, value: unknown) {
  const fields = read.object(at, value, [...OUTLIER_FIELDS, "consecutiveErrors"]);
  if (fields?.consecutiveErrors !== undefined) {
    read.fail(
      `${at}.consecutiveErrors`,
      fields.consecutiveErrors,
      "deprecated and dropped by Istio; use consecutive5xxErrors",
    );
  }
  return fields;
}

function mergeCircuitBreakers(overrides: Partial<Record<BackendServiceName, CircuitBreaker>>) {
  const merged: Partial<Record<BackendServiceName, CircuitBreaker>> = {};
  for (const service of SERVICE_NAMES) {
    const base = DEFAULT_CIRCUIT_BREAKERS[service];
    const own = overrides[service];
    if (!base && !own) continue;
    const connectionPool = { ...base?.connectionPool, ...own?.connectionPool };
    const outlierDetection = { ...base?.outlierDetection, ...own?.outlierDetection };
    merged[service] = {
      ...(Object.keys(connectionPool).length > 0 && { connectionPool }),
      ...(Object.keys(outlierDetection).length > 0 && { outlierDetection }),
    };
  }
  return merged;
}

/** The policy with the set fields applied over the lab defaults. */
function parseRetries(read: Readers, k: string, value: unknown): RetryPolicy | undefined {
  const fields = read.object(k, value, fieldsOf("userServiceRetries"));
  if (!fields) return undefined;
  const attempts = fields.attempts === undefined ? undefined : read.int(`${k}.attempts`, fields.attempts, 0, 10);
  const perTryTimeout =
    fields.perTryTimeout === undefined ? undefined : read.duration(`${k}.perTryTimeout`, fields.perTryTimeout);
  const timeout = fields.timeout === undefined ? undefined : read.duration(`${k}.timeout`, fields.timeout);
  const retryOn =
    fields.retryOn === undefined
      ? undefined
      : read.string(
          `${k}.retryOn`,
          fields.retryOn,
          RETRY_ON,
          'comma-separated Envoy retry conditions, e.g. "5xx,connect-failure"',
        );
  const policy = {
    ...DEFAULT_USER_SERVICE_RETRIES,
    ...(attempts !== undefined && { attempts }),
    ...(perTryTimeout && { perTryTimeout }),
    ...(timeout && { timeout }),
    ...(retryOn && { retryOn }),
  };
  const perTry = durationMillis(policy.perTryTimeout) ?? 0;
  const overall = durationMillis(policy.timeout) ?? 0;
  if (perTry > overall)
    read.fail(`${k}.perTryTimeout`, policy.perTryTimeout, `at most the overall timeout (${policy.timeout})`);
  return policy;
}
