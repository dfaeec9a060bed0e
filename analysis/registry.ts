/**
 * The service registry as istioctl's analyzers see it (analyzers/util/service_lookup.go,
 * InitServiceEntryHostMap and GetDestinationHost; util/hosts.go): Services and ServiceEntries by
 * `scope/fqdn`, where scope is the namespace a host is visible in, or `*` for all.
 */
import { list, record, text } from "../policies/lib/kube";
import type { AnalysisContextView, Resource } from "./model";

export interface RegistryEntry {
  readonly resource: Resource;
  readonly ports: readonly { number: number; name?: string; protocol?: string }[];
  /** A ServiceEntry's workloadSelector labels (merged into subset selectors). */
  readonly workloadSelector: Readonly<Record<string, string>>;
  /** A Kubernetes Service's pod selector. */
  readonly selector?: Readonly<Record<string, string>>;
}

export const CLUSTER_DOMAIN = "svc.cluster.local";
const ALL = "*";
const LOCAL = ".";

/** ConvertHostToFQDN: a short name (no dot, not a wildcard) becomes `<name>.<namespace>.svc.cluster.local`. */
export const toFqdn = (namespace: string, host: string): string =>
  !host.startsWith("*") && !host.includes(".") ? `${host}.${namespace}.${CLUSTER_DOMAIN}` : host;

const scoped = (scope: string, namespace: string, host: string) => `${scope}/${toFqdn(namespace, host)}`;

/** GetResourceNameFromHost: `name.namespace.svc.cluster.local` → namespace/name; a short name → its own namespace. */
export function serviceNameOfHost(defaultNamespace: string, host: string): { namespace: string; name: string } {
  const m = /^(.+)\.(.+)\.svc\.cluster\.local$/.exec(host);
  if (m?.[1] && m[2]) return { namespace: m[2], name: m[1] };
  return { namespace: defaultNamespace, name: host };
}

const stringRecord = (v: unknown) => record(v) as Readonly<Record<string, string>>;

export class ServiceRegistry {
  private readonly entries = new Map<string, RegistryEntry>();

  constructor(ctx: AnalysisContextView) {
    for (const se of ctx.all("ServiceEntry")) {
      const spec = record(se.body.spec);
      const ns = se.namespace ?? "default";
      const entry: RegistryEntry = {
        resource: se,
        ports: list(spec.ports).map((p) => {
          const port = record(p);
          return { number: Number(port.number), name: text(port.name), protocol: text(port.protocol) };
        }),
        workloadSelector: stringRecord(record(spec.workloadSelector).labels),
      };
      const exportTo = list(spec.exportTo).filter((e): e is string => typeof e === "string");
      for (const host of list(spec.hosts).filter((h): h is string => typeof h === "string")) {
        if (exportTo.length === 0 || exportTo.includes(ALL)) {
          this.entries.set(scoped(ALL, ns, host), entry);
          continue;
        }
        for (const e of exportTo) this.entries.set(scoped(e === LOCAL ? ns : e, ns, host), entry);
      }
    }
    for (const svc of ctx.all("Service")) {
      const spec = record(svc.body.spec);
      const ns = svc.namespace ?? "default";
      const entry: RegistryEntry = {
        resource: svc,
        ports: list(spec.ports).map((p) => {
          const port = record(p);
          return { number: Number(port.port), name: text(port.name), protocol: text(port.protocol) ?? "TCP" };
        }),
        workloadSelector: {},
        selector: stringRecord(spec.selector),
      };
      const anno = svc.annotations["networking.istio.io/exportTo"];
      const scopes = anno ? anno.split(",").map((s) => (s.trim() === LOCAL ? ns : s.trim())) : [ALL];
      for (const scope of scopes) this.entries.set(scoped(scope, ns, svc.name), entry);
    }
  }

  /** GetDestinationHost: the entry a host resolves to from `sourceNamespace`, under the referrer's exportTo. */
  lookup(sourceNamespace: string, exportTo: readonly string[], host: string): RegistryEntry | undefined {
    const everywhere = this.entries.get(scoped(ALL, sourceNamespace, host));
    if (everywhere) return everywhere;
    const scopes = exportTo.length === 0 ? [sourceNamespace] : exportTo.map((e) => (e === LOCAL ? sourceNamespace : e));
    for (const scope of scopes) {
      const hit = this.entries.get(scoped(scope, sourceNamespace, host));
      if (hit) return hit;
    }
    for (const [key, entry] of this.entries) {
      const [scope, seHost = ""] = key.split(/\/(.*)/s);
      if (!seHost.startsWith(ALL)) continue;
      if (scope !== ALL && scope !== sourceNamespace) continue;
      if (host.replace(/^\*/, "").endsWith(seHost.slice(1))) return entry;
    }
    return undefined;
  }
}

export const exportToOf = (r: Resource): string[] =>
  list(record(r.body.spec).exportTo).filter((e): e is string => typeof e === "string");
