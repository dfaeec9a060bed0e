import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { type ChartRelease, HELM_TIMEOUT_SECONDS } from "./chartRelease";

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
