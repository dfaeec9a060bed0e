import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { helmRelease } from "../helm";
import type { AmbientSpec } from "./spec";

export interface AmbientDataPlaneArgs {
  readonly spec: AmbientSpec;
  /** istio-system, where both charts install (none when the cluster's own Istio runs them). */
  readonly istioNamespace: readonly pulumi.Resource[];
  /** istiod: ztunnel's CA and xDS server, and the controller that deploys the waypoint. */
  readonly istiod: readonly pulumi.Resource[];
  readonly backendNamespace: pulumi.Resource;
  /** The Gateway API CRDs (the waypoint is a `Gateway`); the integrator passes the resources that install them. */
  readonly gatewayApiCrds?: pulumi.Input<pulumi.Resource>[];
}

/**
 * istio-cni and ztunnel, and the backend namespace's waypoint. Each waits only for what it needs:
 * istio-cni's node agent for its namespace (it talks to the Kubernetes API, not istiod; its readiness,
 * /readyz, is its own plugin install); ztunnel for istiod too, since it is not ready (/healthz/ready)
 * before istiod has issued its certificates and sent its workloads; the waypoint for istiod, which
 * owns the istio-waypoint class, and for the Gateway API CRDs. Neither chart waits for the other:
 * ztunnel connects to the node agent's socket whenever that is up (Istio's Helm guide installs them
 * in the order cni, ztunnel only as a convention).
 */
export class AmbientDataPlane extends pulumi.ComponentResource {
  readonly waypoint: k8s.apiextensions.CustomResource;

  constructor(name: string, args: AmbientDataPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("istio-mesh:ambient:AmbientDataPlane", name, {}, opts);
    // Absent when the cluster's own Istio runs its node agents (`existingIstio`; the pre-flight checks them).
    const [cni, ztunnel] = args.spec.releases ?? [];
    const cniRelease = cni && helmRelease(cni, { parent: this, dependsOn: [...args.istioNamespace] });
    const ztunnelRelease =
      ztunnel && helmRelease(ztunnel, { parent: this, dependsOn: [...args.istioNamespace, ...args.istiod] });
    const waypoint = args.spec.waypoint;
    this.waypoint = new k8s.apiextensions.CustomResource(waypoint.metadata.name, waypoint, {
      parent: this,
      dependsOn: [...args.istiod, args.backendNamespace, ...(args.gatewayApiCrds ?? [])],
    });
    this.registerOutputs({ cni: cniRelease?.status, ztunnel: ztunnelRelease?.status });
  }
}
