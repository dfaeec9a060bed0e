import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { HELM_TIMEOUT_SECONDS } from "../chartRelease";
import { type GatewayUrls, type LoadBalancerStatus, loadBalancerUrls } from "../endpoints";

/** What the preview shows while the gateway's load balancer has no address yet. */
export const PENDING_ADDRESS = "(known after the ingress gateway's load balancer reports its address)";

/**
 * The production ingress's URLs, from the status of the Service the gateway release created (the
 * gateway chart names it after the release). Helm's wait holds the release's install or upgrade
 * until that Service has a load-balancer address, for at most HELM_TIMEOUT_SECONDS; the Service is
 * read after it. The read's id comes from the release's status, which a fresh stack's preview does
 * not know yet: the engine then skips the read, and the URLs stay unknown instead of failing the
 * preview on a Service that does not exist yet.
 */
export function loadBalancerGatewayUrls(
  release: k8s.helm.v3.Release,
  opts: pulumi.CustomResourceOptions,
): pulumi.Output<GatewayUrls> {
  const where = pulumi.interpolate`${release.namespace}/${release.name}`;
  where.apply((service) =>
    pulumi.log.info(
      `ingress: waiting up to ${HELM_TIMEOUT_SECONDS} s (the release's Helm timeout) for Service ${service} to ` +
        "report a load-balancer address (status.loadBalancer.ingress); set istio-mesh:ingressHost to use a name of your own",
      release,
    ),
  );
  const id = release.status.apply((s) => `${s?.namespace}/${s?.name}`);
  const service = k8s.core.v1.Service.get("ingress-gateway-address", id, { ...opts, dependsOn: [release] });
  return pulumi.all([where, service.status]).apply(([name, status]) => {
    const urls = loadBalancerUrls(status?.loadBalancer as LoadBalancerStatus | undefined);
    if (urls) return urls;
    if (pulumi.runtime.isDryRun()) return { http: PENDING_ADDRESS, https: PENDING_ADDRESS };
    throw new pulumi.RunError(
      `the ingress gateway Service ${name} has no load-balancer address (status.loadBalancer.ingress is empty) ` +
        `after Helm's wait of up to ${HELM_TIMEOUT_SECONDS} s: check that the cluster has a load-balancer ` +
        "controller and the Service's events (kubectl describe service), or set istio-mesh:ingressHost",
    );
  });
}
