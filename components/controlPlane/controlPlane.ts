import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { helmRelease } from "../helm";
import { asArgs } from "../meta";
import type { NamespaceSpec } from "../namespaces";
import type { IstioRelease } from "./helmValues";
import type { ControlPlaneSpec, RevisionSpec } from "./revisionReleases";

type InstalledControlPlane = Extract<ControlPlaneSpec, { kind: "install" }>;

export interface IstioControlPlaneArgs {
  /** istio-system; absent when it is the cluster's own Istio's (`existingIstio`). */
  readonly istioNamespace?: NamespaceSpec;
  readonly ingressNamespace: NamespaceSpec;
  /** base then istiod (each waiting for the one before; with revisions, the tags), or the cluster's own. */
  readonly controlPlane: ControlPlaneSpec;
  readonly ingressGateway: IstioRelease;
}

/**
 * Istio from its Helm charts. helm.v3.Release, not helm.v4.Chart: a Release previews while the
 * cluster (and so the provider's kubeconfig) does not exist yet, and Helm itself orders and awaits
 * the CRDs and webhooks inside each chart. With the cluster's own control plane (`existingIstio`) only
 * the ingress gateway: the CRDs and webhooks exist before the program runs, so nothing waits for them.
 */
export class IstioControlPlane extends pulumi.ComponentResource {
  /** The Istio CRDs: custom resources depend on this (none to wait for with the cluster's own). */
  readonly crds: readonly pulumi.Resource[];
  /**
   * The control plane and its injection webhook: injected workloads depend on this. With revisions, the
   * revision tags (which wait for every istiod revision): a namespace labelled with a tag is injected
   * only once the tag's webhook exists. None with the cluster's own: it is serving already.
   */
  readonly istiod: readonly pulumi.Resource[];
  readonly ingressGateway: k8s.helm.v3.Release;
  /** istio-system: what else lives there (the observability tools) waits for it, if this stack creates it. */
  readonly istioNamespace: readonly pulumi.Resource[];
  /** Where the gateway runs and reads its credentialName Secrets. */
  readonly ingressNamespace: k8s.core.v1.Namespace;

  constructor(name: string, args: IstioControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("istio-mesh:controlPlane:IstioControlPlane", name, {}, opts);
    const namespace = (spec: NamespaceSpec) => new k8s.core.v1.Namespace(spec.metadata.name, spec, { parent: this });
    const istioNs = args.istioNamespace && namespace(args.istioNamespace);
    this.istioNamespace = istioNs ? [istioNs] : [];
    this.ingressNamespace = namespace(args.ingressNamespace);

    const installed = args.controlPlane.kind === "install" ? this.install(args.controlPlane, istioNs) : undefined;
    this.crds = installed ? [installed.base] : [];
    this.istiod = installed ? [installed.injector] : [];
    // The gateway's `image: auto` is filled in by istiod's injector, so istiod must be serving.
    this.ingressGateway = helmRelease(args.ingressGateway, {
      parent: this,
      dependsOn: [this.ingressNamespace, ...this.istiod],
    });

    this.registerOutputs({
      ...(installed && { base: installed.base.status, istiod: installed.istiod.status }),
      ingressGateway: this.ingressGateway.status,
    });
  }

  /** base, then istiod (with revisions: every revision, then the tags). */
  private install(spec: InstalledControlPlane, istioNs: k8s.core.v1.Namespace | undefined) {
    const release = (r: IstioRelease, dependsOn: pulumi.Resource[]) => helmRelease(r, { parent: this, dependsOn });
    const namespaces = istioNs ? [istioNs] : [];
    const base = release(spec.base, namespaces);
    const istiod = release(spec.istiod, [...namespaces, base]);
    const injector = spec.revisions
      ? new RevisionTags(
          "revision-tags",
          {
            revisions: spec.revisions,
            istiods: [istiod, ...spec.revisions.otherIstiods.map((r) => release(r, [...namespaces, base]))],
          },
          { parent: this },
        )
      : istiod;
    return { base, istiod, injector };
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
