import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { NamedObject } from "../meta";
import type { DestinationRuleSpec } from "./destinationRules";
import type { GatewaySpec } from "./gateway";
import type { VirtualServiceSpec } from "./routes";

export interface TrafficManagementArgs {
  readonly gateway: GatewaySpec;
  readonly destinationRules: readonly DestinationRuleSpec[];
  readonly virtualServices: readonly VirtualServiceSpec[];
  /** The Istio CRDs, istiod's validation webhook and the backend namespace. */
  readonly dependsOn: readonly pulumi.Resource[];
}

/** Ingress Gateway, routes and DestinationRules: one Pulumi resource per Istio object. */
export class TrafficManagement extends pulumi.ComponentResource {
  readonly gateway: k8s.apiextensions.CustomResource;
  readonly destinationRules: readonly k8s.apiextensions.CustomResource[];
  readonly virtualServices: readonly k8s.apiextensions.CustomResource[];

  constructor(name: string, args: TrafficManagementArgs, opts?: pulumi.ComponentResourceOptions) {
    super("istio-mesh:traffic:TrafficManagement", name, {}, opts);
    const resource = (spec: NamedObject, dependsOn: readonly pulumi.Resource[]) =>
      new k8s.apiextensions.CustomResource(
        spec.metadata.name,
        { ...spec },
        {
          parent: this,
          dependsOn: [...dependsOn],
        },
      );

    this.gateway = resource(args.gateway, args.dependsOn);
    this.destinationRules = args.destinationRules.map((spec) => resource(spec, args.dependsOn));
    // Routes name the gateway and subsets, so they follow them.
    this.virtualServices = args.virtualServices.map((spec) =>
      resource(spec, [...args.dependsOn, this.gateway, ...this.destinationRules]),
    );

    this.registerOutputs({});
  }
}
