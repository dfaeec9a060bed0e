/**
 * What a Helm release is, as plain data: the builders and the policy pack read these types without
 * type-checking @pulumi/kubernetes (components/helm.ts turns a ChartRelease into the resource).
 */
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
