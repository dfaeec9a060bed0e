import {
  BACKEND_NAMESPACE,
  BACKEND_SERVICES,
  BETA_VERSION,
  DEFAULT_CANARY_WEIGHTS,
  DEFAULT_CIRCUIT_BREAKERS,
  DEFAULT_CLUSTER_NAME,
  DEFAULT_ECHO_IMAGE,
  DEFAULT_HOST_HTTP_PORT,
  DEFAULT_HOST_HTTPS_PORT,
  DEFAULT_ISTIO_VERSION,
  DEFAULT_KIND_NODE_IMAGE,
  DEFAULT_USER_SERVICE_RETRIES,
  INGRESS_HTTP_NODE_PORT,
  INGRESS_HTTPS_NODE_PORT,
  ISTIO_CHART_REPO,
  ISTIO_IMAGE_HUB,
  PROJECT,
} from "./defaults";
import { ConfigError } from "./issues";
import { durationMillis, isPinnedImage, Readers } from "./readers";
import type {
  BackendServiceName,
  CircuitBreaker,
  ClusterConfig,
  ConnectionPool,
  Fault,
  MeshConfig,
  OutlierDetection,
  RetryPolicy,
} from "./types";

/** Raw stack config of this project: key without the `istio-mesh:` prefix → value. */
export type RawConfig = Readonly<Record<string, unknown>>;

const KIND_ONLY_KEYS = ["clusterName", "kindNodeImage", "hostHttpPort", "hostHttpsPort"] as const;
const EXISTING_ONLY_KEYS = ["kubeconfig", "kubeContext", "ingressHost"] as const;

/** Every key this program reads; README.md documents each one. */
export const CONFIG_KEYS = [
  "clusterMode",
  ...KIND_ONLY_KEYS,
  ...EXISTING_ONLY_KEYS,
  "istioVersion",
  "echoImage",
  "canaryWeights",
  "faults",
  "circuitBreakers",
  "userServiceRetries",
] as const;

export type ConfigKey = (typeof CONFIG_KEYS)[number];

const SERVICE_NAMES = BACKEND_SERVICES.map((s) => s.name);
const USER_SERVICE_VERSIONS =
  BACKEND_SERVICES.find((s) => s.name === "user-service")?.versions.map((v) => v.version) ?? [];

const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const HOST = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const EXACT_VERSION = /^\d+\.\d+\.\d+$/;
const RETRY_ON = /^[a-z0-9-]+(?:,[a-z0-9-]+)*$/;
const ANY = /^.+$/;

const key = (name: string) => `${PROJECT}:${name}`;

/**
 * Parses and validates the project's stack config. Collects every problem and throws one
 * ConfigError that lists them all; returns a complete MeshConfig with defaults applied.
 */
export function parseMeshConfig(raw: RawConfig): MeshConfig {
  const read = new Readers();
  for (const name of Object.keys(raw)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(name)) {
      read.fail(key(name), raw[name], `not a config key of this project; allowed: ${CONFIG_KEYS.join(", ")}`);
    }
  }

  const cluster = parseCluster(raw, read);
  // kind listens on 127.0.0.1 only, so another host is meaningful for existing clusters alone.
  const ingressHost =
    raw.clusterMode === "existing"
      ? optional(raw, "ingressHost", (v, k) => read.string(k, v, HOST, "a host name or IP address"))
      : undefined;
  const istioVersion = optional(raw, "istioVersion", (v, k) =>
    read.string(k, v, EXACT_VERSION, 'an exact Istio release such as "1.30.3" (no ranges, no "latest")'),
  );
  const echoImage = optional(raw, "echoImage", (v, k) => pinnedImage(read, k, v));
  const canaryWeights = optional(raw, "canaryWeights", (v, k) => parseCanaryWeights(read, k, v));
  const faults = optional(raw, "faults", (v, k) => parseFaults(read, k, v));
  const circuitBreakers = optional(raw, "circuitBreakers", (v, k) => parseCircuitBreakers(read, k, v));
  const retries = optional(raw, "userServiceRetries", (v, k) => parseRetries(read, k, v));

  if (read.issues.length > 0 || !cluster) throw new ConfigError(read.issues);

  return {
    cluster,
    ingress: {
      host: ingressHost ?? "localhost",
      httpNodePort: INGRESS_HTTP_NODE_PORT,
      httpsNodePort: INGRESS_HTTPS_NODE_PORT,
    },
    istio: { version: istioVersion ?? DEFAULT_ISTIO_VERSION, chartRepo: ISTIO_CHART_REPO, hub: ISTIO_IMAGE_HUB },
    backend: { namespace: BACKEND_NAMESPACE, image: echoImage ?? DEFAULT_ECHO_IMAGE, services: BACKEND_SERVICES },
    canaryWeights: withEveryVersion(canaryWeights ?? DEFAULT_CANARY_WEIGHTS),
    betaVersion: BETA_VERSION,
    faults: faults ?? {},
    circuitBreakers: mergeCircuitBreakers(circuitBreakers ?? {}),
    userServiceRetries: retries ?? DEFAULT_USER_SERVICE_RETRIES,
  };
}

/** Runs `parse` on a key's value only when the key is set. */
function optional<T>(raw: RawConfig, name: ConfigKey, parse: (value: unknown, fullKey: string) => T | undefined) {
  return raw[name] === undefined ? undefined : parse(raw[name], key(name));
}

function parseCluster(raw: RawConfig, read: Readers): ClusterConfig | undefined {
  const mode = raw.clusterMode ?? "kind";
  const misplaced = (names: readonly string[], only: string) => {
    for (const name of names) {
      if (raw[name] !== undefined) read.fail(key(name), raw[name], `only used with clusterMode ${only}; remove it`);
    }
  };
  if (mode === "existing") {
    misplaced(KIND_ONLY_KEYS, "kind");
    const kubeconfig = optional(raw, "kubeconfig", (v, k) => read.string(k, v, ANY, "a path to a kubeconfig file"));
    const context = optional(raw, "kubeContext", (v, k) => read.string(k, v, ANY, "a kubeconfig context name"));
    return { mode, ...(kubeconfig && { kubeconfig }), ...(context && { context }) };
  }
  if (mode !== "kind") return read.fail(key("clusterMode"), mode, 'one of "kind", "existing"');

  misplaced(EXISTING_ONLY_KEYS, "existing");
  const name = optional(raw, "clusterName", (v, k) =>
    read.string(k, v, DNS_LABEL, "lowercase letters, digits and '-', at most 63 characters"),
  );
  const nodeImage = optional(raw, "kindNodeImage", (v, k) => pinnedImage(read, k, v));
  const http = optional(raw, "hostHttpPort", (v, k) => read.int(k, v, 1, 65535)) ?? DEFAULT_HOST_HTTP_PORT;
  const https = optional(raw, "hostHttpsPort", (v, k) => read.int(k, v, 1, 65535)) ?? DEFAULT_HOST_HTTPS_PORT;
  if (http === https) read.fail(key("hostHttpsPort"), https, `a port other than hostHttpPort (${http})`);
  return {
    mode,
    name: name ?? DEFAULT_CLUSTER_NAME,
    nodeImage: nodeImage ?? DEFAULT_KIND_NODE_IMAGE,
    hostHttpPort: http,
    hostHttpsPort: https,
  };
}

function pinnedImage(read: Readers, k: string, value: unknown): string | undefined {
  if (typeof value === "string" && isPinnedImage(value)) return value;
  return read.fail(k, value, 'an image pinned to a version tag or sha256 digest (not ":latest", not untagged)');
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
    const fields = read.object(at, entry, ["percent", "delay", "status"]);
    if (!fields) continue;
    const percent = read.percent(`${at}.percent`, fields.percent);
    const delay = fields.delay === undefined ? undefined : read.duration(`${at}.delay`, fields.delay);
    const status = fields.status === undefined ? undefined : read.int(`${at}.status`, fields.status, 200, 599);
    if (fields.delay === undefined && fields.status === undefined) {
      read.fail(at, fields, 'a fault with "delay" (e.g. "5s"), "status" (e.g. 500), or both');
    }
    if (percent !== undefined && (delay !== undefined || status !== undefined)) {
      faults[service] = { percent, ...(delay !== undefined && { delay }), ...(status !== undefined && { status }) };
    }
  }
  return faults;
}

const POOL_FIELDS = ["maxConnections", "http1MaxPendingRequests", "maxRequestsPerConnection"] as const;
const OUTLIER_FIELDS = ["consecutive5xxErrors", "interval", "baseEjectionTime", "maxEjectionPercent"] as const;

function parseCircuitBreakers(read: Readers, k: string, value: unknown) {
  const breakers: Partial<Record<BackendServiceName, CircuitBreaker>> = {};
  for (const [service, entry] of serviceEntries(read, k, value)) {
    const at = `${k}.${service}`;
    const fields = read.object(at, entry, ["connectionPool", "outlierDetection"]);
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
    const readOutlier: Record<(typeof OUTLIER_FIELDS)[number], (k: string, v: unknown) => number | string | undefined> =
      {
        consecutive5xxErrors: (k, v) => read.int(k, v, 1, 1000),
        interval: (k, v) => read.duration(k, v),
        baseEjectionTime: (k, v) => read.duration(k, v),
        maxEjectionPercent: (k, v) => read.int(k, v, 0, 100),
      };
    for (const field of OUTLIER_FIELDS) {
      const v = outlierFields?.[field];
      const parsed = v === undefined ? undefined : readOutlier[field](`${at}.outlierDetection.${field}`, v);
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
  const fields = read.object(k, value, ["attempts", "perTryTimeout", "retryOn", "timeout"]);
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
