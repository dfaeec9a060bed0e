import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { helmRelease } from "../helm";
import type { NamespaceSpec } from "../namespaces";
import type { IstioRelease } from "./helmValues";

export interface IstioControlPlaneArgs {
  readonly istioNamespace: NamespaceSpec;
  readonly ingressNamespace: NamespaceSpec;
  /** base, istiod, gateway: installed in this order, each waiting for the one before. */
  readonly releases: readonly [IstioRelease, IstioRelease, IstioRelease];
}

/**
 * Istio from its Helm charts. helm.v3.Release, not helm.v4.Chart: a Release previews while the
 * cluster (and so the provider's kubeconfig) does not exist yet, and Helm itself orders and awaits
 * the CRDs and webhooks inside each chart.
 */
export class IstioControlPlane extends pulumi.ComponentResource {
  /** The Istio CRDs: custom resources depend on this. */
  readonly base: k8s.helm.v3.Release;
  /** The control plane and its injection webhook: injected workloads depend on this. */
  readonly istiod: k8s.helm.v3.Release;
  readonly ingressGateway: k8s.helm.v3.Release;
  /** istio-system: what else lives there (the observability tools) waits for it. */
  readonly istioNamespace: k8s.core.v1.Namespace;
  /** Where the gateway runs and reads its credentialName Secrets. */
  readonly ingressNamespace: k8s.core.v1.Namespace;

  constructor(name: string, args: IstioControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("istio-mesh:controlPlane:IstioControlPlane", name, {}, opts);
    const namespace = (spec: NamespaceSpec) => new k8s.core.v1.Namespace(spec.metadata.name, spec, { parent: this });
    const istioNs = namespace(args.istioNamespace);
    this.istioNamespace = istioNs;
    const ingressNs = namespace(args.ingressNamespace);
    this.ingressNamespace = ingressNs;

    const release = (r: IstioRelease, dependsOn: pulumi.Resource[]) => helmRelease(r, { parent: this, dependsOn });

    const [base, istiod, gateway] = args.releases;
    this.base = release(base, [istioNs]);
    this.istiod = release(istiod, [istioNs, this.base]);
    // The gateway's `image: auto` is filled in by istiod's injector, so istiod must be serving.
    this.ingressGateway = release(gateway, [ingressNs, this.istiod]);

    this.registerOutputs({
      base: this.base.status,
      istiod: this.istiod.status,
      ingressGateway: this.ingressGateway.status,
    });
  }
}
