/**
 * The load verify puts on the mesh by default, in a module with no imports: the analyzer
 * (analysis/, also loaded by the policy pack) checks that a stack's rate limits and connection pools
 * admit it, without pulling in verify's HTTP and Kubernetes clients.
 */

/** Requests in flight (`npm run verify -- --concurrency`). */
export const DEFAULT_CONCURRENCY = 10;
/** Requests the beta-header check sends to the header-routed version. */
export const BETA_SAMPLE = 20;
/** Worker threads per Envoy that may each hold a connection pool (Istio's default proxy concurrency is 2). */
export const ENVOY_WORKERS = 2;
