/**
 * What the analyzer knows beyond the objects: the mesh config istiod runs with (from the istiod Helm
 * release's values) and the load the project's own tools send. Light on purpose: the policy pack
 * loads it too.
 */

import { record, text } from "../policies/lib/kube";
import { BETA_SAMPLE, DEFAULT_CONCURRENCY, ENVOY_WORKERS } from "../tools/verify/load";
import type { ChartRelease } from "./chartObjects";
import { DEFAULT_MESH, type LoadFacts, type MeshFacts } from "./model";

export const PROJECT_LOAD: LoadFacts = {
  concurrency: DEFAULT_CONCURRENCY,
  betaSample: BETA_SAMPLE,
  envoyWorkers: ENVOY_WORKERS,
};

/** The MeshConfig istiod runs with: the istiod release's `meshConfig` over Istio's defaults. */
export function meshFactsOf(releases: readonly ChartRelease[]): MeshFacts {
  const istiod = releases.find((r) => r.chart === "istiod");
  const mesh = record(record(istiod?.values).meshConfig);
  const metadata = record(record(mesh.defaultConfig).proxyMetadata);
  const dnsCapture = text(metadata.ISTIO_META_DNS_CAPTURE) === "true";
  const allocate =
    text(metadata.ISTIO_META_DNS_AUTO_ALLOCATE) === "true" || text(metadata.PILOT_ENABLE_IP_AUTOALLOCATE) === "true";
  const accessLog = record(mesh.defaultProviders).accessLogging;
  return {
    rootNamespace: text(mesh.rootNamespace) ?? istiod?.namespace ?? DEFAULT_MESH.rootNamespace,
    autoMtls: mesh.enableAutoMtls !== false,
    defaultAccessLogProviders: Array.isArray(accessLog)
      ? accessLog.filter((p): p is string => typeof p === "string")
      : [],
    addressesAutoAllocated: dnsCapture && allocate,
  };
}
