/**
 * What the analyzer reads and reports. Input objects are plain Kubernetes objects (the program's own,
 * the ones its Helm charts create, or YAML files); findings are istioctl-style messages on one object.
 */
import { list, type Props, record, text } from "../policies/lib/kube";
import { type Argument, formatMessage, type Level, type MessageType } from "./messages";

export type { Props } from "../policies/lib/kube";

/** Where an object comes from: the program's builders, a chart the program installs, or a file. */
export type Origin = "program" | "chart" | "file";

export interface Resource {
  readonly kind: string;
  readonly name: string;
  /** Undefined for cluster-scoped kinds (Namespace, MutatingWebhookConfiguration). */
  readonly namespace: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly body: Props;
  readonly origin: Origin;
  /** File path, or the Helm release for chart objects. */
  readonly source?: string;
}

/** `Kind namespace/name` (or `Kind name` when cluster-scoped), istioctl's origin (kube/origin.go FriendlyName). */
export const friendlyName = (r: Pick<Resource, "kind" | "name" | "namespace">): string =>
  `${r.kind} ${r.namespace === undefined ? r.name : `${r.namespace}/${r.name}`}`;

const stringMap = (value: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(record(value)).filter((e): e is [string, string] => typeof e[1] === "string"));

const CLUSTER_SCOPED = new Set([
  "Namespace",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
]);

/** A Resource from a plain object; `undefined` when it has no kind or name (not a Kubernetes object). */
export function toResource(object: unknown, origin: Origin, source?: string): Resource | undefined {
  const body = record(object);
  const meta = record(body.metadata);
  const kind = text(body.kind);
  const name = text(meta.name);
  if (!kind || !name) return undefined;
  const namespace = CLUSTER_SCOPED.has(kind) ? undefined : (text(meta.namespace) ?? "default");
  return {
    kind,
    name,
    namespace,
    labels: stringMap(meta.labels),
    annotations: stringMap(meta.annotations),
    body,
    origin,
    ...(source !== undefined && { source }),
  };
}

/** A pod-bearing object seen as the pods it runs: one entry per Deployment (or Pod) with its replica count. */
export interface Workload {
  readonly owner: Resource;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly podSpec: Props;
  /** Pods it runs; a bare Pod is 1. */
  readonly replicas: number;
}

const POD_TEMPLATE_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"]);

export function workloadOf(r: Resource): Workload | undefined {
  if (r.kind === "Pod") {
    return { owner: r, namespace: r.namespace ?? "default", ...podParts(r.body), replicas: 1 };
  }
  if (!POD_TEMPLATE_KINDS.has(r.kind)) return undefined;
  const spec = record(r.body.spec);
  // A DaemonSet runs at least one pod on a node; the others default to one replica as the API does.
  const replicas = typeof spec.replicas === "number" ? spec.replicas : 1;
  return { owner: r, namespace: r.namespace ?? "default", ...podParts(record(spec.template)), replicas };
}

function podParts(template: Props) {
  const meta = record(template.metadata);
  return { labels: stringMap(meta.labels), annotations: stringMap(meta.annotations), podSpec: record(template.spec) };
}

export const containersOf = (podSpec: Props): Props[] => list(podSpec.containers).map(record);

/** Facts about the mesh's configuration (istiod's MeshConfig and environment) that checks need. */
export interface MeshFacts {
  readonly rootNamespace: string;
  /** meshConfig.enableAutoMtls, true by default. */
  readonly autoMtls: boolean;
  /** meshConfig.defaultProviders.accessLogging. */
  readonly defaultAccessLogProviders: readonly string[];
  /** ISTIO_META_DNS_AUTO_ALLOCATE / PILOT_ENABLE_IP_AUTOALLOCATE with DNS capture in proxyMetadata. */
  readonly addressesAutoAllocated: boolean;
}

/** Istio's defaults: what istioctl assumes without a --meshConfigFile. */
export const DEFAULT_MESH: MeshFacts = {
  rootNamespace: "istio-system",
  autoMtls: true,
  defaultAccessLogProviders: [],
  addressesAutoAllocated: false,
};

/** The load the project's own tools put on a route (tools/verify/plan.ts), for the checks beyond istioctl. */
export interface LoadFacts {
  readonly concurrency: number;
  /** Requests verify's beta-header check sends to the header-routed subset. */
  readonly betaSample: number;
  /** Connection pools per Envoy (its worker threads). */
  readonly envoyWorkers: number;
}

export interface AnalysisInput {
  readonly resources: readonly Resource[];
  readonly mesh: MeshFacts;
  readonly load: LoadFacts;
  /** "files": only what the files hold; a kind no file holds is reported as not checked. */
  readonly mode: "stack" | "files";
}

export interface Finding {
  readonly code: string;
  readonly level: Level;
  /** `Kind namespace/name`. */
  readonly origin: string;
  /** The object, for istioctl's sort order (kind/name/namespace) and for machines. */
  readonly resource: { readonly kind: string; readonly name: string; readonly namespace?: string };
  readonly message: string;
  readonly analyzer: string;
  /** The Kiali codes (or IST codes) that name the same problem. */
  readonly alsoCodes?: readonly string[];
}

export function finding(
  analyzer: string,
  resource: Pick<Resource, "kind" | "name" | "namespace">,
  type: MessageType,
  args: readonly Argument[] = [],
  alsoCodes?: readonly string[],
): Finding {
  return {
    code: type.code,
    level: type.level,
    origin: friendlyName(resource),
    resource: {
      kind: resource.kind,
      name: resource.name,
      ...(resource.namespace !== undefined && { namespace: resource.namespace }),
    },
    message: formatMessage(type.template, args),
    analyzer,
    ...(alsoCodes && alsoCodes.length > 0 && { alsoCodes }),
  };
}

export interface AnalyzerMeta {
  /** Dotted, as istioctl's `--list-analyzers` prints: `virtualservice.DestinationHostAnalyzer`. */
  readonly name: string;
  readonly description: string;
  /** The upstream code it mirrors (Istio 1.30.3 path, Kiali checker), or why it is our own. */
  readonly mirrors: string;
  /** Kinds it reads. */
  readonly inputs: readonly string[];
  /** Codes it may report. */
  readonly codes: readonly string[];
}

export interface Analyzer extends AnalyzerMeta {
  analyze(ctx: AnalysisContextView): Finding[];
}

/** What an analyzer may ask of its input (analysis/context.ts implements it). */
export interface AnalysisContextView {
  readonly mesh: MeshFacts;
  readonly load: LoadFacts;
  all(kind: string): readonly Resource[];
  find(kind: string, namespace: string | undefined, name: string): Resource | undefined;
  /** Workloads with at least one replica (the pods a cluster would run). */
  runningWorkloads(): readonly Workload[];
  /** Every pod-bearing object, zero replicas included. */
  allWorkloads(): readonly Workload[];
  namespaceExists(name: string): boolean;
}
