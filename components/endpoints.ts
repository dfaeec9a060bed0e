import type { MeshConfig } from "../config/types";

export interface GatewayUrls {
  readonly http: string;
  readonly https: string;
}

/**
 * Where users reach the ingress gateway, as far as config alone tells: kind's host ports, the
 * NodePorts on ingressHost (lab on an existing cluster), or ingressHost on the load balancer's ports
 * 80 and 443 (production). Undefined in production without ingressHost: only the gateway Service's
 * status knows the address (loadBalancerUrls). Pure and free of @pulumi/pulumi, so the tools (verify,
 * bench, canary) derive the same URLs without loading it.
 */
export function gatewayUrls(cfg: MeshConfig): GatewayUrls | undefined {
  const host = cfg.ingress.host;
  if (host === undefined) return undefined;
  if (cfg.profile.name === "production") return { http: `http://${host}`, https: `https://${host}` };
  const [http, https] =
    cfg.cluster.mode === "kind"
      ? [cfg.cluster.hostHttpPort, cfg.cluster.hostHttpsPort]
      : [cfg.ingress.httpNodePort, cfg.ingress.httpsNodePort];
  return { http: `http://${host}:${http}`, https: `https://${host}:${https}` };
}

/** A Service's `status.loadBalancer`, as the API server reports it (core/v1 LoadBalancerStatus). */
export interface LoadBalancerStatus {
  readonly ingress?: readonly { readonly hostname?: string; readonly ip?: string }[];
}

/**
 * The URLs of a LoadBalancer Service's first ingress point: its hostname when it has one (AWS ELBs
 * report only a name), else its IP. Undefined until the load balancer reports one.
 */
export function loadBalancerUrls(status: LoadBalancerStatus | undefined): GatewayUrls | undefined {
  const point = status?.ingress?.find((p) => p.hostname || p.ip);
  const host = point?.hostname || point?.ip;
  if (!host) return undefined;
  const bracketed = host.includes(":") ? `[${host}]` : host;
  return { http: `http://${bracketed}`, https: `https://${bracketed}` };
}
