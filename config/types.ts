/** The one typed view of stack config that every spec builder reads. */

export type ClusterConfig = KindClusterConfig | ExistingClusterConfig;

export interface KindClusterConfig {
  readonly mode: "kind";
  readonly name: string;
  readonly nodeImage: string;
  readonly hostHttpPort: number;
  readonly hostHttpsPort: number;
}

export interface ExistingClusterConfig {
  readonly mode: "existing";
  /** Path to a kubeconfig file; the provider falls back to $KUBECONFIG / ~/.kube/config when absent. */
  readonly kubeconfig?: string;
  readonly context?: string;
  /** A Kubernetes version outside the Istio release's supported range is a pre-flight warning, not an error. */
  readonly allowUnsupportedKubernetes: boolean;
}

export interface ServiceVersion {
  readonly version: string;
  readonly replicas: number;
  /** What http-echo answers; it names the service and the version. */
  readonly responseText: string;
}

export interface BackendService {
  readonly name: BackendServiceName;
  /** Ingress path prefix that routes to this service. */
  readonly pathPrefix: string;
  readonly versions: readonly ServiceVersion[];
}

export type BackendServiceName = "user-service" | "product-service" | "order-service";

export interface ConnectionPool {
  readonly maxConnections?: number;
  readonly http1MaxPendingRequests?: number;
  readonly maxRequestsPerConnection?: number;
}

export interface OutlierDetection {
  readonly consecutive5xxErrors?: number;
  readonly interval?: string;
  readonly baseEjectionTime?: string;
  readonly maxEjectionPercent?: number;
}

export interface CircuitBreaker {
  readonly connectionPool?: ConnectionPool;
  readonly outlierDetection?: OutlierDetection;
}

/** One fault experiment on a service's routes: at least one of delay and status is set. */
export interface Fault {
  readonly percent: number;
  readonly delay?: string;
  readonly status?: number;
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly perTryTimeout: string;
  readonly retryOn: string;
  /** Overall budget for the request, retries included. */
  readonly timeout: string;
}

/**
 * Which of the four renderings of the same config this stack is: the data plane (sidecars or ambient)
 * × the routing API (Istio's objects or the Kubernetes Gateway API). config/cell.ts refuses what a cell
 * cannot do the way Istio documents it.
 */
export interface MeshCell {
  readonly dataplane: "sidecar" | "ambient";
  readonly trafficApi: "istio" | "gateway-api";
}

/**
 * istiod as revisions and the two revision tags, as Istio's canary-upgrade guide runs them. The versions
 * are Istio releases; each names its revision (`1.30.3` → `1-30-3`), chart version and image tag.
 */
export interface RevisionsConfig {
  readonly enabled: boolean;
  /** A second revision installed beside istioVersion's: an upgrade under way (`npm run upgrade` writes it). */
  readonly upgradeTo?: string;
  /** The version `prod-stable` points at: istioVersion or upgradeTo. */
  readonly stableVersion: string;
  /** The version `prod-canary` points at: istioVersion or upgradeTo. */
  readonly canaryVersion: string;
}

/**
 * The lab's shape or production's: what production changes is listed in
 * components/controlPlane/production.ts (PRODUCTION_CHANGES) and docs/production.md.
 */
export interface MeshProfile {
  readonly name: "lab" | "production";
  /** On the ingress gateway's LoadBalancer Service (production only). */
  readonly ingressServiceAnnotations: Readonly<Record<string, string>>;
  /**
   * The cluster's own Istio control plane, which this stack uses instead of installing one (existing
   * clusters only): no base, istiod, revision tags, istio-cni or ztunnel of its own.
   */
  readonly existingIstio?: ExistingIstio;
}

/** An istiod the cluster already runs: its revision or revision tag, or `default` (the default injector). */
export interface ExistingIstio {
  readonly revision: string;
}

export interface MeshConfig {
  readonly cluster: ClusterConfig;
  readonly profile: MeshProfile;
  readonly cell: MeshCell;
  readonly revisions: RevisionsConfig;
  readonly ingress: {
    /**
     * Host name users put in URLs (kind maps it to localhost). Absent in production without
     * ingressHost: then only the gateway Service's load-balancer status knows it.
     */
    readonly host?: string;
    readonly httpNodePort: number;
    readonly httpsNodePort: number;
  };
  readonly istio: {
    readonly version: string;
    readonly chartRepo: string;
    readonly hub: string;
  };
  readonly backend: {
    readonly namespace: string;
    readonly image: string;
    readonly services: readonly BackendService[];
  };
  /** user-service version → percent; every deployed version is present, summing to 100. */
  readonly canaryWeights: Readonly<Record<string, number>>;
  /** The user-service version that `x-user-type: beta` requests always reach. */
  readonly betaVersion: string;
  readonly faults: Readonly<Partial<Record<BackendServiceName, Fault>>>;
  readonly circuitBreakers: Readonly<Partial<Record<BackendServiceName, CircuitBreaker>>>;
  readonly userServiceRetries: RetryPolicy;
  readonly security: SecurityConfig;
  readonly egress: EgressConfig;
  readonly observability: ObservabilityConfig;
}

/** The lab's `x-user-role` header, as a claim of the signed token (a client can set any header). */
export interface JwtConfig {
  /** false: a token is validated when sent, but none is required. */
  readonly required: boolean;
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly roleClaim: string;
  /** Values of `roleClaim` that user-service admits. */
  readonly roles: readonly string[];
  /** Lifetime of the demo token the stack outputs. */
  readonly demoTokenTtl: string;
}

/** A local token bucket per user-service pod: a burst of `requests`, refilled continuously at `requests` per `per`. */
export interface RateLimit {
  readonly requests: number;
  readonly per: string;
}

export interface SecurityConfig {
  readonly mtlsMode: "STRICT" | "PERMISSIVE";
  readonly jwt: JwtConfig;
  readonly rateLimit: RateLimit | false;
  /** Host the HTTPS server of the ingress Gateway answers for; its certificate names it. */
  readonly httpsHost: string;
  /** The in-mesh `mesh-client` and sidecar-less `outside-client` curl pods the checks run in. */
  readonly probeClients: boolean;
}

export interface EgressConfig {
  /** The egress gateway and the routing of mesh traffic to httpbin.org through it. */
  readonly gateway: boolean;
  readonly outboundTrafficPolicy: "ALLOW_ANY" | "REGISTRY_ONLY";
}

export interface ObservabilityConfig {
  /** Prometheus, Grafana, Kiali, Jaeger, the tracing provider and the Telemetry. */
  readonly enabled: boolean;
  /** Percent of requests traced, 0–100. */
  readonly traceSampling: number;
  /** Extra metric tag name → Istio attribute expression, added to every standard metric. */
  readonly metricTags: Readonly<Record<string, string>>;
}
