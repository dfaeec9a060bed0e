import type { MeshConfig } from "../config/types";

/**
 * Where users reach the ingress gateway: kind's host ports, or the NodePorts on ingressHost. Pure and
 * free of @pulumi/pulumi, so the tools (verify, bench, canary) derive the same URLs without loading it.
 */
export function gatewayUrls(cfg: MeshConfig): { http: string; https: string } {
  const [http, https] =
    cfg.cluster.mode === "kind"
      ? [cfg.cluster.hostHttpPort, cfg.cluster.hostHttpsPort]
      : [cfg.ingress.httpNodePort, cfg.ingress.httpsNodePort];
  return { http: `http://${cfg.ingress.host}:${http}`, https: `https://${cfg.ingress.host}:${https}` };
}
