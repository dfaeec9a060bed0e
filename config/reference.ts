/**
 * The one description of every `istio-mesh:` key: its area, type, default, allowed values, fields
 * and what it does. The parsers take their key lists, enumerations, field names and the text of
 * their messages from here; `npm run docs:examples` writes docs/configuration.md's reference from
 * it; tests/configReference.test.ts checks that the parser's defaults and messages match it.
 */
import {
  BACKEND_SERVICES,
  DEFAULT_CANARY_WEIGHTS,
  DEFAULT_CIRCUIT_BREAKERS,
  DEFAULT_CLUSTER_NAME,
  DEFAULT_ECHO_IMAGE,
  DEFAULT_HOST_HTTP_PORT,
  DEFAULT_HOST_HTTPS_PORT,
  DEFAULT_HTTPS_HOST,
  DEFAULT_ISTIO_VERSION,
  DEFAULT_JWT,
  DEFAULT_KIND_NODE_IMAGE,
  DEFAULT_OBSERVABILITY,
  DEFAULT_RATE_LIMIT,
  DEFAULT_USER_SERVICE_RETRIES,
  INGRESS_HTTP_NODE_PORT,
  INGRESS_HTTPS_NODE_PORT,
} from "./defaults";
import type { MeshConfig } from "./types";

export type ConfigArea =
  | "cluster"
  | "profile"
  | "cell"
  | "revisions"
  | "traffic"
  | "security"
  | "egress"
  | "observability";

/** A field of an object value; `fields` when it is an object itself. */
export interface FieldReference {
  readonly allowed: string;
  readonly fields?: Readonly<Record<string, FieldReference>>;
}

export interface ConfigKeyReference {
  /** Without the `istio-mesh:` prefix. */
  readonly name: string;
  readonly area: ConfigArea;
  readonly type: string;
  /** The default, when it is a value; the test checks that the parser applies exactly this. */
  readonly defaultValue?: unknown;
  /** The default in words, when it is not a value of its own (the kubeconfig's current context). */
  readonly defaultText?: string;
  /** What is accepted, in the words of the parser's message for a bad value. */
  readonly allowed: string;
  /** The only values accepted, for an enumeration. */
  readonly values?: readonly string[];
  /** Fields of the object value (or of each service's entry, for a per-service map). */
  readonly fields?: Readonly<Record<string, FieldReference>>;
  /** Read only in this cluster mode; set in the other, it is refused. */
  readonly only?: "kind" | "existing";
  readonly does: string;
  /** A `pulumi config set` the docs show; the docs test applies it to the dev stack and parses it. */
  readonly example: { readonly path?: string; readonly value: string };
  /** Where the parsed value lands in MeshConfig (undefined when the mode does not read the key). */
  readonly effective: (cfg: MeshConfig) => unknown;
}

const SERVICES = BACKEND_SERVICES.map((s) => s.name);
const USER_VERSIONS = BACKEND_SERVICES.find((s) => s.name === "user-service")?.versions.map((v) => v.version) ?? [];
const kind = (cfg: MeshConfig) => (cfg.cluster.mode === "kind" ? cfg.cluster : undefined);
const existing = (cfg: MeshConfig) => (cfg.cluster.mode === "existing" ? cfg.cluster : undefined);

export const oneOfText = (values: readonly string[]) => `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
export const PINNED_IMAGE = 'an image pinned to a version tag or sha256 digest (not ":latest", not untagged)';
const DURATION = 'a duration such as "500ms", "2s", "3m" or "1h"';

const CLUSTER_MODES = ["kind", "existing"] as const;
const MTLS_MODES = ["STRICT", "PERMISSIVE"] as const;
const OUTBOUND_POLICIES = ["ALLOW_ANY", "REGISTRY_ONLY"] as const;
export const DATAPLANES = ["sidecar", "ambient"] as const;
export const TRAFFIC_APIS = ["istio", "gateway-api"] as const;
export const PROFILES = ["lab", "production"] as const;

export const CONFIG_REFERENCE: readonly ConfigKeyReference[] = [
  {
    name: "clusterMode",
    area: "cluster",
    type: "string",
    defaultValue: "kind",
    values: CLUSTER_MODES,
    allowed: oneOfText(CLUSTER_MODES),
    does:
      "`kind`: this stack creates and deletes a kind cluster. `existing`: use a cluster you already have; " +
      "nothing creates or deletes a cluster.",
    example: { value: "existing" },
    effective: (cfg) => cfg.cluster.mode,
  },
  {
    name: "clusterName",
    area: "cluster",
    type: "string",
    defaultValue: DEFAULT_CLUSTER_NAME,
    allowed: "lowercase letters, digits and '-', at most 63 characters",
    only: "kind",
    does:
      "The kind cluster's name. A kind cluster of that name that this stack did not create is never adopted: " +
      "`up` stops and says how to proceed (see [Cluster lifecycle](cluster-lifecycle.md)).",
    example: { value: "lab-cluster" },
    effective: (cfg) => kind(cfg)?.name,
  },
  {
    name: "kindNodeImage",
    area: "cluster",
    type: "string (image reference)",
    defaultValue: DEFAULT_KIND_NODE_IMAGE,
    allowed: PINNED_IMAGE,
    only: "kind",
    does: "The kind node image; the default is the one built for kind v0.33.0.",
    example: { value: DEFAULT_KIND_NODE_IMAGE },
    effective: (cfg) => kind(cfg)?.nodeImage,
  },
  {
    name: "hostHttpPort",
    area: "cluster",
    type: "integer",
    defaultValue: DEFAULT_HOST_HTTP_PORT,
    allowed: "an integer from 1 to 65535",
    only: "kind",
    does: `Host port (on 127.0.0.1) mapped to the ingress gateway's HTTP NodePort ${INGRESS_HTTP_NODE_PORT}.`,
    example: { value: "9080" },
    effective: (cfg) => kind(cfg)?.hostHttpPort,
  },
  {
    name: "hostHttpsPort",
    area: "cluster",
    type: "integer",
    defaultValue: DEFAULT_HOST_HTTPS_PORT,
    allowed: "an integer from 1 to 65535",
    only: "kind",
    does: `Host port mapped to the HTTPS NodePort ${INGRESS_HTTPS_NODE_PORT}; not the same as hostHttpPort.`,
    example: { value: "9443" },
    effective: (cfg) => kind(cfg)?.hostHttpsPort,
  },
  {
    name: "kubeconfig",
    area: "cluster",
    type: "string (path)",
    defaultText: "ambient (`$KUBECONFIG`, `~/.kube/config`)",
    allowed: "a path to a kubeconfig file",
    only: "existing",
    does: "The kubeconfig the provider and the tools use.",
    example: { value: "~/.kube/config" },
    effective: (cfg) => existing(cfg)?.kubeconfig,
  },
  {
    name: "kubeContext",
    area: "cluster",
    type: "string",
    defaultText: "the kubeconfig's current context",
    allowed: "a kubeconfig context name",
    only: "existing",
    does: "The kubeconfig context.",
    example: { value: "my-cluster" },
    effective: (cfg) => existing(cfg)?.context,
  },
  {
    name: "allowUnsupportedKubernetes",
    area: "cluster",
    type: "boolean",
    defaultValue: false,
    allowed: "true or false",
    only: "existing",
    does:
      "false: `npm run up` and `npm run preview` stop before any resource when the cluster's Kubernetes is " +
      "outside the Istio release's supported range (1.32–1.36 for Istio 1.30). true: the pre-flight warns, " +
      "naming the version and the range, and goes ahead (see [Production](production.md#pre-flight)).",
    example: { value: "true" },
    effective: (cfg) => existing(cfg)?.allowUnsupportedKubernetes,
  },
  {
    name: "ingressHost",
    area: "cluster",
    type: "string",
    defaultText:
      "profile `lab`: `localhost`; profile `production`: the address the gateway Service's load balancer reports",
    allowed: "a host name or IP address",
    only: "existing",
    does:
      `Host in the \`gatewayUrls\` output. Profile \`lab\`: a node's name (\`http://<host>:${INGRESS_HTTP_NODE_PORT}\`, ` +
      "the NodePort). Profile `production`: overrides the load balancer's address (`http://<host>`), e.g. a DNS " +
      "name pointing at it.",
    example: { value: "node1.example.com" },
    effective: (cfg) => cfg.ingress.host,
  },
  {
    name: "istioVersion",
    area: "cluster",
    type: "string",
    defaultValue: DEFAULT_ISTIO_VERSION,
    allowed: 'an exact Istio release such as "1.30.3" (no ranges, no "latest")',
    does: "Istio release of the Helm charts (base, istiod, the ingress and egress gateways) and the image tags.",
    example: { value: DEFAULT_ISTIO_VERSION },
    effective: (cfg) => cfg.istio.version,
  },
  {
    name: "profile",
    area: "profile",
    type: "string",
    defaultText: "`lab` with clusterMode `kind`, `production` with clusterMode `existing`",
    values: PROFILES,
    allowed: oneOfText(PROFILES),
    does:
      "`lab`: one replica of istiod and each gateway, a NodePort ingress, laptop-sized requests. `production`: " +
      "a LoadBalancer ingress, at least 2 replicas with a PodDisruptionBudget, an autoscaler and topology spread " +
      "for istiod and every gateway, Istio's default requests, PodDisruptionBudgets for the backends, and the " +
      "HA policy mandatory. Every value it changes: [Production](production.md). `production` needs clusterMode " +
      "`existing`.",
    example: { value: "production" },
    effective: (cfg) => cfg.profile.name,
  },
  {
    name: "ingressServiceAnnotations",
    area: "profile",
    type: "map: annotation name → string",
    defaultValue: {},
    allowed: "a map of Kubernetes annotation names to string values",
    only: "existing",
    does:
      "Annotations on the ingress gateway's LoadBalancer Service (profile `production` only), passed to the " +
      "chart's `service.annotations`: how a cloud's load-balancer controller is told the scheme, type or subnets.",
    example: {
      path: "ingressServiceAnnotations",
      value: '{"service.beta.kubernetes.io/aws-load-balancer-scheme":"internet-facing"}',
    },
    effective: (cfg) => cfg.profile.ingressServiceAnnotations,
  },
  {
    name: "existingIstio",
    area: "profile",
    type: "object",
    defaultText: "absent: the stack installs Istio itself",
    allowed: "existingIstio fields",
    only: "existing",
    fields: {
      revision: {
        allowed:
          'the revision or revision tag of an istiod the cluster runs (a DNS label such as "prod-stable"), or ' +
          '"default" for its default injector',
      },
    },
    does:
      "Use the Istio control plane the cluster already runs instead of installing one: no base chart, istiod, " +
      "revision tags, istio-cni or ztunnel of this stack's; its namespaces and gateways are injected by that " +
      "revision (`istio.io/rev`, or `istio-injection=enabled` for `default`), and the pre-flight checks that it " +
      "serves, at istioVersion's minor. Absent: the stack installs Istio and refuses a cluster that runs an " +
      "istiod it does not own. Not with `revisions.enabled`. See [Production](production.md#using-the-clusters-istio).",
    example: { path: "existingIstio.revision", value: "prod-stable" },
    effective: (cfg) => cfg.profile.existingIstio,
  },
  {
    name: "dataplane",
    area: "cell",
    type: "string",
    defaultValue: "sidecar",
    values: DATAPLANES,
    allowed: oneOfText(DATAPLANES),
    does:
      "`sidecar`: an Envoy sidecar in every backend pod. `ambient`: Istio's ambient data plane (ztunnel on " +
      "every node, a waypoint where L7 features are needed), no sidecars. See [Cells](cells.md).",
    example: { value: "ambient" },
    effective: (cfg) => cfg.cell.dataplane,
  },
  {
    name: "trafficApi",
    area: "cell",
    type: "string",
    defaultValue: "istio",
    values: TRAFFIC_APIS,
    allowed: oneOfText(TRAFFIC_APIS),
    does:
      "`istio`: Istio's Gateway, VirtualService and DestinationRule. `gateway-api`: the Kubernetes Gateway API " +
      "(a `Gateway` and `HTTPRoute`s, GAMMA routes on Services, a Service per version), with the Gateway API " +
      "v1.5.1 CRDs (experimental channel) installed by the program; it refuses `faults` (HTTPRoute has no fault " +
      "filter). See [Cells](cells.md).",
    example: { value: "gateway-api" },
    effective: (cfg) => cfg.cell.trafficApi,
  },
  {
    name: "echoImage",
    area: "traffic",
    type: "string (image reference)",
    defaultValue: DEFAULT_ECHO_IMAGE,
    allowed: PINNED_IMAGE,
    does: "The backends' image (every service and version answers with its own text).",
    example: { value: DEFAULT_ECHO_IMAGE },
    effective: (cfg) => cfg.backend.image,
  },
  {
    name: "revisions",
    area: "revisions",
    type: "object",
    defaultValue: { enabled: false, stableVersion: DEFAULT_ISTIO_VERSION, canaryVersion: DEFAULT_ISTIO_VERSION },
    allowed: "revisions fields",
    fields: {
      enabled: {
        allowed:
          "true or false (false: one istiod named `istiod`, namespaces labelled `istio-injection=enabled`, " +
          "upgraded in place)",
      },
      upgradeTo: {
        allowed:
          "an exact Istio release other than istioVersion; written by `npm run upgrade`: a second revision " +
          "installed beside istioVersion's",
      },
      stableVersion: { allowed: "istioVersion or upgradeTo (default istioVersion): where `prod-stable` points" },
      canaryVersion: { allowed: "istioVersion or upgradeTo (default istioVersion): where `prod-canary` points" },
    },
    does:
      "istiod as a revision named from its release (`1.30.3` → `istiod-1-30-3`), and the revision tags " +
      "`prod-stable` (namespaces, the egress gateway) and `prod-canary` (the ingress gateway) pointing at " +
      "it, for `npm run upgrade` (see [Upgrades](upgrade.md)). The default above is the lab's: with " +
      "`profile: production` and sidecars, `enabled` defaults to true, unless `existingIstio` is set (the " +
      "revisions then belong to whoever installs istiod, and `enabled: true` is refused).",
    example: { path: "revisions.enabled", value: "true" },
    effective: (cfg) => cfg.revisions,
  },
  {
    name: "canaryWeights",
    area: "traffic",
    type: "map: user-service version → integer percent",
    defaultValue: DEFAULT_CANARY_WEIGHTS,
    allowed: `integer percents from 0 to 100 that sum to 100, for deployed versions (${USER_VERSIONS.join(", ")})`,
    does: "The user-service split on every route to it. Versions left out get 0. The dev stack sets {v1: 90, v2: 10}.",
    example: { path: "canaryWeights", value: '{"v1":50,"v2":50}' },
    effective: (cfg) => Object.fromEntries(Object.entries(cfg.canaryWeights).filter(([, w]) => w > 0)),
  },
  {
    name: "faults",
    area: "traffic",
    type: `map: backend service (${SERVICES.join(", ")}) → fault`,
    defaultValue: {},
    allowed: 'per service, "percent" with "delay", "status" or both',
    fields: {
      percent: { allowed: "a number greater than 0 and at most 100" },
      delay: { allowed: DURATION },
      status: { allowed: "an integer from 200 to 599" },
    },
    does: "Fault injection on every route to that service: its ingress path and its mesh VirtualService.",
    example: { path: "faults.product-service.delay", value: "2s" },
    effective: (cfg) => cfg.faults,
  },
  {
    name: "circuitBreakers",
    area: "traffic",
    type: `map: backend service (${SERVICES.join(", ")}) → circuit breaker`,
    defaultValue: DEFAULT_CIRCUIT_BREAKERS,
    allowed: "per service, connectionPool and outlierDetection; fields you set override the defaults one by one",
    fields: {
      connectionPool: {
        allowed: "connection pool limits",
        fields: {
          maxConnections: { allowed: "an integer from 1 to 1000000" },
          http1MaxPendingRequests: { allowed: "an integer from 1 to 1000000" },
          maxRequestsPerConnection: { allowed: "an integer from 1 to 1000000" },
        },
      },
      outlierDetection: {
        allowed: "ejection of failing pods (`consecutiveErrors` is refused: Istio dropped it)",
        fields: {
          consecutive5xxErrors: { allowed: "an integer from 1 to 1000" },
          interval: { allowed: DURATION },
          baseEjectionTime: { allowed: DURATION },
          maxEjectionPercent: { allowed: "an integer from 0 to 100" },
        },
      },
    },
    does: "The DestinationRule's connection pool and outlier detection per service.",
    example: { path: "circuitBreakers.order-service.connectionPool.maxConnections", value: "5" },
    effective: (cfg) => cfg.circuitBreakers,
  },
  {
    name: "userServiceRetries",
    area: "traffic",
    type: "object",
    defaultValue: DEFAULT_USER_SERVICE_RETRIES,
    allowed: "retry fields; perTryTimeout at most timeout",
    fields: {
      attempts: { allowed: "an integer from 0 to 10" },
      perTryTimeout: { allowed: DURATION },
      retryOn: { allowed: 'comma-separated Envoy retry conditions, e.g. "5xx,connect-failure"' },
      timeout: { allowed: DURATION },
    },
    does: "Retries and the overall timeout on every user-service route, at the ingress and inside the mesh.",
    example: { path: "userServiceRetries.attempts", value: "2" },
    effective: (cfg) => cfg.userServiceRetries,
  },
  {
    name: "mtlsMode",
    area: "security",
    type: "string",
    defaultValue: "STRICT",
    values: MTLS_MODES,
    allowed: oneOfText(MTLS_MODES),
    does:
      "PeerAuthentication `default` in `backend`: STRICT refuses plaintext, PERMISSIVE is for migrations. With " +
      "the policy pack, PERMISSIVE needs an exemption in `policies/config/<stack>.json` (see " +
      "[Guardrails and CI](guardrails-and-ci.md)).",
    example: { value: "PERMISSIVE" },
    effective: (cfg) => cfg.security.mtlsMode,
  },
  {
    name: "jwt",
    area: "security",
    type: "object",
    defaultValue: DEFAULT_JWT,
    allowed: "JWT fields; fields you set override the defaults one by one",
    fields: {
      required: { allowed: "true or false (false: a token is checked if sent, not demanded)" },
      issuer: { allowed: "a non-empty issuer without spaces" },
      audiences: { allowed: "a non-empty list of audiences without spaces" },
      roleClaim: { allowed: "a claim name such as role" },
      roles: { allowed: "a non-empty list of role values without spaces (the roles user-service admits)" },
      demoTokenTtl: { allowed: "a duration from 1m to 720h" },
    },
    does: "JWT on `/users`, signed by the stack's own key (see [Security](security.md)).",
    example: { path: "jwt.demoTokenTtl", value: "1h" },
    effective: (cfg) => cfg.security.jwt,
  },
  {
    name: "rateLimit",
    area: "security",
    type: "object, or false",
    defaultValue: DEFAULT_RATE_LIMIT,
    allowed: "{requests, per}, or false for none",
    fields: {
      requests: { allowed: "an integer from 1 to 1000000" },
      per: { allowed: 'a duration of at least 50ms (Envoy\'s shortest fill interval), e.g. "60s"' },
    },
    does: "Local rate limit per user-service pod: a burst of `requests`, refilled continuously at `requests` per `per` (Envoy's token bucket), so after the burst one request every `per / requests`.",
    example: { path: "rateLimit", value: '{"requests":200,"per":"60s"}' },
    effective: (cfg) => cfg.security.rateLimit,
  },
  {
    name: "httpsHost",
    area: "security",
    type: "string",
    defaultValue: DEFAULT_HTTPS_HOST,
    allowed: "a lowercase DNS name with at least one dot, e.g. api.example.com",
    does: "Host the Gateway's HTTPS server (443) answers for and its certificate names.",
    example: { value: "api.example.com" },
    effective: (cfg) => cfg.security.httpsHost,
  },
  {
    name: "probeClients",
    area: "security",
    type: "boolean",
    defaultValue: true,
    allowed: "true or false",
    does:
      "The `mesh-client` (`backend`, with a sidecar) and `outside-client` (namespace `outside`, no sidecar) " +
      "curl pods the checks run in; false: neither.",
    example: { value: "false" },
    effective: (cfg) => cfg.security.probeClients,
  },
  {
    name: "egressGateway",
    area: "egress",
    type: "boolean",
    defaultValue: true,
    allowed: "true or false",
    does:
      "The egress gateway (`istio-egress`) and the routing of mesh traffic to httpbin.org through it " +
      "(in ambient: an egress waypoint there, see [Cells](cells.md#egress-in-ambient)); " +
      "false: direct, ServiceEntries kept (see [Egress](egress.md)).",
    example: { value: "false" },
    effective: (cfg) => cfg.egress.gateway,
  },
  {
    name: "outboundTrafficPolicy",
    area: "egress",
    type: "string",
    defaultValue: "ALLOW_ANY",
    values: OUTBOUND_POLICIES,
    allowed: oneOfText(OUTBOUND_POLICIES),
    does: "What sidecars do with hosts they don't know (istiod's mesh config; see [Egress](egress.md)).",
    example: { value: "REGISTRY_ONLY" },
    effective: (cfg) => cfg.egress.outboundTrafficPolicy,
  },
  {
    name: "observability",
    area: "observability",
    type: "object",
    defaultValue: DEFAULT_OBSERVABILITY,
    allowed: "observability fields",
    fields: {
      enabled: { allowed: "true or false (false removes Prometheus, Grafana, Kiali, Jaeger and the Telemetry)" },
      traceSampling: { allowed: "a percentage from 0 to 100 (the dev stack: 100, as the lab)" },
      metricTags: {
        allowed:
          "tag name (lowercase, `_`) → Istio attribute expression, added to every standard metric; " +
          "per-request ids and Envoy `%{...}` syntax are refused",
      },
    },
    does:
      "Prometheus, Grafana, Kiali, Jaeger, the tracing provider and the mesh-wide Telemetry " +
      "(see [Observability](observability.md)).",
    example: { path: "observability.traceSampling", value: "10" },
    effective: (cfg) => cfg.observability,
  },
];

/** The reference of one key; throws on a name that is not a key (a bug, not a user error). */
export function keyReference(name: string): ConfigKeyReference {
  const found = CONFIG_REFERENCE.find((k) => k.name === name);
  if (!found) throw new Error(`no config key ${name}`);
  return found;
}

export const keysOf = (area: ConfigArea): readonly string[] =>
  CONFIG_REFERENCE.filter((k) => k.area === area).map((k) => k.name);

export const keysOnlyWith = (mode: "kind" | "existing"): readonly string[] =>
  CONFIG_REFERENCE.filter((k) => k.only === mode).map((k) => k.name);

/** Field names of a key's value, or of a nested object inside it (`fieldsOf("circuitBreakers", "connectionPool")`). */
export function fieldsOf(name: string, ...nested: string[]): readonly string[] {
  let fields = keyReference(name).fields;
  for (const step of nested) fields = fields?.[step]?.fields;
  if (!fields) throw new Error(`no fields for ${[name, ...nested].join(".")}`);
  return Object.keys(fields);
}
