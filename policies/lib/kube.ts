/**
 * Reading Kubernetes and Istio objects as policies see them: Pulumi resource inputs (or outputs, in a
 * stack policy) of `kubernetes:<group>/<version>:<Kind>` resources, whatever created them
 * (typed classes, apiextensions.CustomResource, yaml/v2, Helm v4 children).
 */

export type Props = Record<string, unknown>;

const asRecord = (value: unknown): Props | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Props) : undefined;

export const record = (value: unknown): Props => asRecord(value) ?? {};
export const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
export const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/** True for `kubernetes:<group>/<any version>:<kind>`; core objects use the group `core`. */
export function isKind(type: string, group: string, kind: string): boolean {
  const prefix = `kubernetes:${group}/`;
  return (
    type.startsWith(prefix) && type.endsWith(`:${kind}`) && !type.slice(prefix.length, -kind.length - 1).includes(":")
  );
}

export const ISTIO_NETWORKING = "networking.istio.io";
export const ISTIO_SECURITY = "security.istio.io";
/** A Helm release as @pulumi/kubernetes registers it (the v3 Release, what the program installs charts with). */
export const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

/**
 * Whether the stack installs istiod itself. A stack without an istiod release uses the cluster's own
 * control plane (`existingIstio`), whose settings are the platform team's, not this stack's.
 */
export const installsIstiod = (resources: readonly { readonly type: string; readonly props: Props }[]): boolean =>
  resources.some((r) => r.type === HELM_RELEASE && text(r.props.chart) === "istiod");

/** `namespace/name`, the way a reviewer finds the object with kubectl. */
export function objectRef(props: Props): string {
  const meta = record(props.metadata);
  return `${text(meta.namespace) ?? "default"}/${text(meta.name) ?? "(unnamed)"}`;
}

export const namespaceOf = (props: Props): string => text(record(props.metadata).namespace) ?? "default";

export interface PodTemplate {
  /** Where the pod spec sits in the object, e.g. `spec.template.spec`. */
  readonly path: string;
  readonly spec: Props;
  readonly labels: Props;
  readonly annotations: Props;
  /** Long-running pods (not Jobs) answer probes. */
  readonly longRunning: boolean;
}

/** The pod specs of any pod-bearing workload: Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob. */
export function podTemplates(type: string, props: Props): PodTemplate[] {
  const template = (path: string, tpl: Props, longRunning: boolean): PodTemplate[] => {
    const meta = record(tpl.metadata);
    const spec = asRecord(tpl.spec);
    if (!spec) return [];
    return [{ path, spec, labels: record(meta.labels), annotations: record(meta.annotations), longRunning }];
  };
  const spec = record(props.spec);
  if (isKind(type, "core", "Pod")) return template("spec", props, true);
  for (const kind of ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"]) {
    if (isKind(type, "apps", kind)) return template("spec.template.spec", record(spec.template), true);
  }
  if (isKind(type, "batch", "Job")) return template("spec.template.spec", record(spec.template), false);
  if (isKind(type, "batch", "CronJob")) {
    const job = record(record(spec.jobTemplate).spec);
    return template("spec.jobTemplate.spec.template.spec", record(job.template), false);
  }
  return [];
}

export interface Container {
  readonly path: string;
  readonly name: string;
  readonly props: Props;
}

export function containersOf(pod: PodTemplate, field: "containers" | "initContainers" = "containers"): Container[] {
  return list(pod.spec[field]).map((c, i) => {
    const props = record(c);
    return { path: `${pod.path}.${field}[${i}]`, name: text(props.name) ?? `#${i}`, props };
  });
}

/** Calls `visit` on every object inside `value`, depth first, with its dotted path. */
export function walkObjects(value: unknown, visit: (obj: Props, path: string) => void, path = ""): void {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) walkObjects(v, visit, `${path}[${i}]`);
    return;
  }
  const obj = asRecord(value);
  if (!obj) return;
  visit(obj, path);
  for (const [key, child] of Object.entries(obj)) walkObjects(child, visit, path ? `${path}.${key}` : key);
}

/**
 * Istio's reading of a host in a rule (ResolveShortnameToFQDN): a name without a dot is a Service in
 * the rule's namespace; anything with a dot, and `*`, is taken as written.
 */
export function istioHost(host: string, namespace: string): string {
  if (host === "*" || host.includes(".") || host.includes(":")) return host;
  return `${host}.${namespace}.svc.cluster.local`;
}

/** Does a DestinationRule host (possibly `*.suffix`) cover `host`? */
export function hostCovers(pattern: string, host: string): boolean {
  if (pattern === host || pattern === "*") return true;
  return pattern.startsWith("*.") && host.endsWith(pattern.slice(1));
}

/** An HTTP route as a reviewer names it: its name, else its first match, else its position. */
export function routeLabel(route: Props, index: number): string {
  const name = text(route.name);
  if (name) return `"${name}"`;
  const match = record(list(route.match)[0]);
  const uri = record(match.uri);
  const path = text(uri.prefix) ?? text(uri.exact) ?? text(uri.regex);
  return path ? `#${index} (${path})` : `#${index}`;
}
