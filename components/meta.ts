import type { ObjectMeta } from "kubernetes-types/meta/v1";

/** Labels on every object this program owns, so `kubectl get -l` finds them. */
export const OWNED_LABELS = {
  "app.kubernetes.io/part-of": "istio-mesh",
  "app.kubernetes.io/managed-by": "pulumi",
} as const;

export const ISTIO_NAMESPACE = "istio-system";
export const INGRESS_NAMESPACE = "istio-ingress";
export const EGRESS_NAMESPACE = "istio-egress";

/** A plain Kubernetes object with the name and namespace every spec builder sets. */
export interface NamedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta & { readonly name: string };
}

export function objectMeta(name: string, namespace: string | undefined, labels: Record<string, string> = {}) {
  return { name, ...(namespace !== undefined && { namespace }), labels: { ...labels, ...OWNED_LABELS } };
}

/** In-cluster DNS name; Istio resolves short names against the object's namespace, FQDNs never surprise. */
export function serviceHost(service: string, namespace: string): string {
  return `${service}.${namespace}.svc.cluster.local`;
}

/**
 * Hands a plain spec to a @pulumi/kubernetes constructor. kubernetes-types (the plain types the
 * spec builders use) marks some fields optional that Pulumi's Input types require, so the two are
 * not assignable; the objects are the same JSON.
 */
export function asArgs<Args>(spec: NamedObject): Args {
  return spec as unknown as Args;
}
