import type {
  BackendService,
  BackendServiceName,
  CircuitBreaker,
  JwtConfig,
  ObservabilityConfig,
  RateLimit,
  RetryPolicy,
} from "./types";

/** Stack config namespace: keys are `istio-mesh:<key>`. */
export const PROJECT = "istio-mesh";

export const DEFAULT_ISTIO_VERSION = "1.30.3";
export const ISTIO_CHART_REPO = "https://istio-release.storage.googleapis.com/charts";
export const ISTIO_IMAGE_HUB = "docker.io/istio";

/** Built for kind v0.33.0 (its release notes list this digest); Istio 1.30 supports Kubernetes 1.35. */
export const DEFAULT_KIND_NODE_IMAGE =
  "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0";
export const DEFAULT_CLUSTER_NAME = "lab-cluster";
export const DEFAULT_HOST_HTTP_PORT = 8080;
export const DEFAULT_HOST_HTTPS_PORT = 8443;
export const INGRESS_HTTP_NODE_PORT = 30080;
export const INGRESS_HTTPS_NODE_PORT = 30443;

export const DEFAULT_ECHO_IMAGE = "hashicorp/http-echo:1.0.0";
export const BACKEND_NAMESPACE = "backend";

/** The lab's backends (Step 2 and Step 5-1). */
export const BACKEND_SERVICES: readonly BackendService[] = [
  {
    name: "user-service",
    pathPrefix: "/users",
    versions: [
      { version: "v1", replicas: 3, responseText: "User Service v1 - stable" },
      { version: "v2", replicas: 1, responseText: "User Service v2 - canary (NEW)" },
    ],
  },
  {
    name: "product-service",
    pathPrefix: "/products",
    versions: [{ version: "v1", replicas: 2, responseText: "Product Service v1" }],
  },
  {
    name: "order-service",
    pathPrefix: "/orders",
    versions: [{ version: "v1", replicas: 2, responseText: "Order Service v1" }],
  },
];

/** With no canaryWeights set, all traffic stays on the stable version. */
export const DEFAULT_CANARY_WEIGHTS: Readonly<Record<string, number>> = { v1: 100 };
export const BETA_VERSION = "v2";

/** Lab Step 5-2 (user-service) and Step 4-2 (product-service), with consecutive5xxErrors. */
export const DEFAULT_CIRCUIT_BREAKERS: Readonly<Partial<Record<BackendServiceName, CircuitBreaker>>> = {
  "user-service": {
    connectionPool: { maxConnections: 10, http1MaxPendingRequests: 10, maxRequestsPerConnection: 2 },
    outlierDetection: { consecutive5xxErrors: 3, interval: "30s", baseEjectionTime: "30s" },
  },
  "product-service": {
    connectionPool: { maxConnections: 1, http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 },
    outlierDetection: {
      consecutive5xxErrors: 1,
      interval: "1s",
      baseEjectionTime: "3m",
      maxEjectionPercent: 100,
    },
  },
};

/** Lab Step 4-3: retries on 5xx inside a 10s budget. */
export const DEFAULT_USER_SERVICE_RETRIES: RetryPolicy = {
  attempts: 3,
  perTryTimeout: "2s",
  retryOn: "5xx",
  timeout: "10s",
};

/** Lab Step 3-1: JWTs signed by the stack's own key, demanded on /users. */
export const DEFAULT_JWT: JwtConfig = {
  required: true,
  issuer: "https://auth.istio-mesh.local",
  audiences: ["istio-mesh"],
  roleClaim: "role",
  roles: ["admin", "user"],
  demoTokenTtl: "24h",
};
/** Lab Step 4-2: 100 requests a minute. */
export const DEFAULT_RATE_LIMIT: RateLimit = { requests: 100, per: "60s" };
export const DEFAULT_HTTPS_HOST = "api.example.com";

/** Istio's own default sampling is 1%; the dev stack traces everything, as the lab does. */
export const DEFAULT_OBSERVABILITY: ObservabilityConfig = { enabled: true, traceSampling: 1, metricTags: {} };
