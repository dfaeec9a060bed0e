import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { helmRelease } from "../helm";
import { asArgs } from "../meta";
import type { NamespaceSpec } from "../namespaces";
import type { IstioRelease } from "./helmValues";
import type { RevisionSpec } from "./revisionReleases";

export interface IstioControlPlaneArgs {
  readonly istioNamespace: NamespaceSpec;
  readonly ingressNamespace: NamespaceSpec;
  /** base, istiod, gateway: installed in this order, each waiting for the one before. */
  readonly releases: readonly [IstioRelease, IstioRelease, IstioRelease];
  /** With revisions: the upgrade's other istiod revision and the revision tags (revisions.ts). */
  readonly revisions?: RevisionSpec;
}

/**
 * Istio from its Helm charts. helm.v3.Release, not helm.v4.Chart: a Release previews while the
 * cluster (and so the provider's kubeconfig) does not exist yet, and Helm itself orders and awaits
 * the CRDs and webhooks inside each chart.
 */
export class IstioControlPlane extends pulumi.ComponentResource {
  /** The Istio CRDs: custom resources depend on this. */
  readonly base: k8s.helm.v3.Release;
  /**
   * The control plane and its injection webhook: injected workloads depend on this. With revisions, the
   * revision tags (which wait for every istiod revision): a namespace labelled with a tag is injected
   * only once the tag's webhook exists.
   */
  readonly istiod: pulumi.Resource;
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
    const stableIstiod = release(istiod, [istioNs, this.base]);
    this.istiod = args.revisions
      ? new RevisionTags(
          "revision-tags",
          {
            revisions: args.revisions,
            istiods: [stableIstiod, ...args.revisions.otherIstiods.map((r) => release(r, [istioNs, this.base]))],
          },
          { parent: this },
        )
      : stableIstiod;
    // The gateway's `image: auto` is filled in by istiod's injector, so istiod must be serving.
    this.ingressGateway = release(gateway, [ingressNs, this.istiod]);

    this.registerOutputs({
      base: this.base.status,
      istiod: stableIstiod.status,
      ingressGateway: this.ingressGateway.status,
    });
  }
}

/**
 * The revision tags' webhooks and Services: this program's objects, not a release's, so moving a tag is an
 * in-place update (revisions.ts says why). Each waits for every istiod revision, so its Service exists.
 */
class RevisionTags extends pulumi.ComponentResource {
  constructor(
    name: string,
    args: { revisions: RevisionSpec; istiods: readonly k8s.helm.v3.Release[] },
    opts: pulumi.ComponentResourceOptions,
  ) {
    super("istio-mesh:controlPlane:RevisionTags", name, {}, opts);
    const options = { parent: this, dependsOn: [...args.istiods] };
    for (const object of args.revisions.tags) {
      const name = object.metadata.name;
      if (object.kind === "MutatingWebhookConfiguration") {
        new k8s.admissionregistration.v1.MutatingWebhookConfiguration(name, asArgs(object), options);
      } else {
        new k8s.core.v1.Service(name, asArgs(object), options);
      }
    }
    this.registerOutputs({});
  }
}
