import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { helmRelease } from "../helm";
import { asArgs, type NamedObject } from "../meta";
import type { EgressSpec } from "./egressSpec";

export interface EgressArgs extends EgressSpec {
  /** The Istio CRDs (istio-base); none when the cluster's own control plane installed them (`existingIstio`). */
  readonly crds: readonly pulumi.Resource[];
  /** istiod: its validation webhook checks the Istio objects, its injector fills in the gateway's image. */
  readonly istiod: readonly pulumi.Resource[];
  /** Where the ServiceEntries and the httpbin.org DestinationRule live (but httpbin.org's in ambient, see below). */
  readonly backendNamespace: pulumi.Resource;
  /** The Gateway API CRDs, which the ambient egress waypoint (a `Gateway`) waits for. */
  readonly gatewayApiCrds?: readonly pulumi.Resource[];
}

/**
 * External services, and the egress gateway with the routing through it (sidecar cells) or the
 * egress waypoint (ambient cells): one Pulumi resource per object.
 */
export class Egress extends pulumi.ComponentResource {
  readonly gatewayRelease?: k8s.helm.v3.Release;
  readonly egressWaypoint?: k8s.apiextensions.CustomResource;
  readonly serviceEntries: readonly k8s.apiextensions.CustomResource[];
  /** The egress namespace, when a gateway or waypoint needs it. */
  readonly namespace?: k8s.core.v1.Namespace;

  constructor(name: string, args: EgressArgs, opts?: pulumi.ComponentResourceOptions) {
    super("istio-mesh:egress:Egress", name, {}, opts);
    // Custom resources need the CRDs, istiod's webhook and their namespace, nothing else: not the
    // gateway pods, which pick the config up whenever they start.
    const istioObject = (spec: NamedObject, namespace: pulumi.Resource) =>
      new k8s.apiextensions.CustomResource(
        spec.metadata.name,
        { ...spec },
        { parent: this, dependsOn: [...args.crds, ...args.istiod, namespace] },
      );
    const egressNsSpec = args.gateway?.namespace ?? args.waypoint?.namespace;
    const egressNs =
      egressNsSpec && new k8s.core.v1.Namespace(egressNsSpec.metadata.name, egressNsSpec, { parent: this });
    this.namespace = egressNs;
    // In ambient, httpbin.org's ServiceEntry and DestinationRule live in the egress namespace.
    const home = (spec: NamedObject) =>
      egressNs && spec.metadata.namespace === egressNsSpec?.metadata.name ? egressNs : args.backendNamespace;

    this.serviceEntries = args.serviceEntries.map((spec) => istioObject(spec, home(spec)));
    for (const spec of args.destinationRules) istioObject(spec, home(spec));

    if (args.waypoint && egressNs) {
      const { waypoint, authorization, networkPolicy } = args.waypoint;
      // Named apart from the backend's waypoint (same Gateway name, other namespace). Like that one it
      // waits for istiod, which owns the istio-waypoint class, and for the Gateway API CRDs.
      this.egressWaypoint = new k8s.apiextensions.CustomResource("egress-waypoint", waypoint, {
        parent: this,
        dependsOn: [...args.istiod, egressNs, ...(args.gatewayApiCrds ?? [])],
      });
      istioObject(authorization, egressNs);
      new k8s.networking.v1.NetworkPolicy(networkPolicy.metadata.name, asArgs(networkPolicy), {
        parent: this,
        dependsOn: [args.backendNamespace],
      });
    }

    if (args.gateway && egressNs) {
      const { release, gateway, destinationRule, virtualService, authorization, networkPolicy } = args.gateway;
      // Waits for istiod only, so it installs side by side with the ingress gateway.
      this.gatewayRelease = helmRelease(release, { parent: this, dependsOn: [egressNs, ...args.istiod] });
      for (const spec of [gateway, destinationRule, virtualService, authorization]) istioObject(spec, egressNs);
      // Plain Kubernetes: it needs only its namespace, not the CRDs or istiod.
      new k8s.networking.v1.NetworkPolicy(networkPolicy.metadata.name, asArgs(networkPolicy), {
        parent: this,
        dependsOn: [args.backendNamespace],
      });
    }

    this.registerOutputs({ ...(this.gatewayRelease && { gatewayRelease: this.gatewayRelease.status }) });
  }
}
