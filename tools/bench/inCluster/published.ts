/**
 * Istio's published data-plane figures, to print beside ours. Sources, as read on 2026-12-01:
 * - istio.io/latest/docs/ops/deployment/performance-and-scalability/ ("Performance summary for
 *   Istio 1.24"): at 1000 HTTP requests per second with 1 KB payloads, one sidecar proxy with 2
 *   worker threads uses about 0.20 vCPU and 60 MB; a waypoint 0.25 vCPU and 60 MB; ztunnel 0.06
 *   vCPU and 12 MB. Istio's load-test mesh: 1000 services, 2000 pods, 70,000 mesh-wide req/s.
 * - the same page for Istio 1.12.3 (istio.io/v1.12/docs/ops/deployment/performance-and-scalability/):
 *   in the default configuration the two proxies add about 1.7 ms at p90 and 2.7 ms at p99 over the
 *   no-proxy baseline, at 1000 req/s, 16 client connections, 2 proxy workers, 1 kB payload, HTTP/1.1
 *   with mutual TLS. The later pages publish the latency as charts only.
 * The pages do not name the machines; AKS's comparable runs (learn.microsoft.com/azure/aks/istio-latency)
 * used Standard D16 v5 nodes (16 vCPU, 64 GB).
 */
export interface PublishedFigures {
  readonly source: string;
  readonly istioVersion: string;
  readonly settings: string;
  readonly sidecarVcpuPer1000Rps: number;
  readonly sidecarMemoryMb: number;
  readonly latencySource: string;
  readonly latencyIstioVersion: string;
  readonly addedP90Ms: number;
  readonly addedP99Ms: number;
  readonly hardware: string;
}

export const ISTIO_PUBLISHED: PublishedFigures = {
  source: "https://istio.io/latest/docs/ops/deployment/performance-and-scalability/",
  istioVersion: "1.24",
  settings: "1000 req/s, 1 kB payload, 2 proxy worker threads, HTTP/1.1, mutual TLS",
  sidecarVcpuPer1000Rps: 0.2,
  sidecarMemoryMb: 60,
  latencySource: "https://istio.io/v1.12/docs/ops/deployment/performance-and-scalability/",
  latencyIstioVersion: "1.12.3",
  addedP90Ms: 1.7,
  addedP99Ms: 2.7,
  hardware: "not named on istio.io; AKS's equivalent runs: Standard D16 v5 (16 vCPU, 64 GB)",
};
