import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export type HelmValues = { readonly [key: string]: unknown };

/** A chart installed as a Helm release: Istio's charts and the observability tools' alike. */
export interface ChartRelease {
  /** Helm release name; also the Pulumi resource name. */
  readonly name: string;
  readonly chart: string;
  readonly namespace: string;
  readonly version: string;
  readonly repo: string;
  readonly values: HelmValues;
}

/**
 * How long Helm waits for a release's objects to be ready (Deployments available, a LoadBalancer
 * Service's address: helm/helm pkg/kube/ready.go, serviceReady) before the install fails.
 */
export const HELM_TIMEOUT_SECONDS = 600;

/**
 * helm.v3.Release, not helm.v4.Chart: a Release previews while the cluster (and so the provider's
 * kubeconfig) does not exist yet, and Helm itself orders and awaits what is inside each chart.
 */
export function helmRelease(r: ChartRelease, opts: pulumi.CustomResourceOptions): k8s.helm.v3.Release {
  return new k8s.helm.v3.Release(
    r.name,
    {
      name: r.name,
      chart: r.chart,
      version: r.version,
      namespace: r.namespace,
      repositoryOpts: { repo: r.repo },
      values: r.values,
      createNamespace: false,
      cleanupOnFail: true,
      timeout: HELM_TIMEOUT_SECONDS,
      maxHistory: 5,
    },
    opts,
  );
}
