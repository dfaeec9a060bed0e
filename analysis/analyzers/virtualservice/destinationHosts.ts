/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/virtualservice/destinationhosts.go
 * (DestinationHostAnalyzer): every route and mirror host is a Service or ServiceEntry visible from the
 * VirtualService (IST0101, Kiali KIA1101), a destination port exists and is named when the host has
 * several (IST0112), and a subset-less route on a gateway VirtualService is flagged when another
 * VirtualService splits that host by subset, which gateway traffic never sees (IST0140).
 */
import { record, text } from "../../../policies/lib/kube";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";
import { exportToOf, type RegistryEntry, ServiceRegistry } from "../../registry";
import { mirrorDestinations, type RouteDestination, routeDestinations, stringList } from "./routes";

const NAME = "virtualservice.DestinationHostAnalyzer";

export const destinationHosts: Analyzer = {
  name: NAME,
  description: "Checks the destination hosts associated with each virtual service",
  mirrors:
    "istio pkg/config/analysis/analyzers/virtualservice/destinationhosts.go; kiali virtualservices/no_host_checker.go",
  inputs: ["ServiceEntry", "VirtualService", "Service"],
  codes: ["IST0101", "IST0112", "IST0140"],
  analyze(ctx) {
    const registry = new ServiceRegistry(ctx);
    const out: Finding[] = [];
    const services = ctx.all("VirtualService");
    // initVirtualServiceDestinations: each VirtualService's subset destinations to one of its own hosts.
    const subsetSplits = services.flatMap((vs) => {
      const spec = record(vs.body.spec);
      const hosts = stringList(spec.hosts);
      return routeDestinations(spec)
        .filter(
          (d) => d.rule === "http" && text(d.destination.subset) && hosts.includes(text(d.destination.host) ?? ""),
        )
        .map((d) => ({ vs, host: text(d.destination.host) }));
    });
    for (const vs of services) {
      const spec = record(vs.body.spec);
      const ns = vs.namespace ?? "default";
      const check = (d: RouteDestination, what: string) => {
        const host = text(d.destination.host) ?? "";
        const entry = registry.lookup(ns, exportToOf(vs), host);
        if (!entry) {
          out.push(finding(NAME, vs, IST.ReferencedResourceNotFound, [what, host], ["KIA1101"]));
          return;
        }
        out.push(...servicePorts(vs, d, entry));
      };
      for (const d of routeDestinations(spec)) check(d, "host");
      for (const d of mirrorDestinations(spec)) check(d, "mirror host");
      if (stringList(spec.gateways).length === 0) continue;
      for (const d of routeDestinations(spec)) {
        if (d.rule !== "http" || text(d.destination.subset)) continue;
        for (const split of subsetSplits) {
          if (split.host !== text(d.destination.host)) continue;
          const other = `${split.vs.namespace}/${split.vs.name}`;
          out.push(finding(NAME, vs, IST.IngressRouteRulesNotAffected, [other, `${ns}/${vs.name}`]));
        }
      }
    }
    return out;
  },
};

/** checkServiceEntryPorts: a named port must exist; no port is ambiguous when the host has several. */
function servicePorts(vs: Parameters<typeof finding>[1], d: RouteDestination, entry: RegistryEntry): Finding[] {
  const host = text(d.destination.host) ?? "";
  const port = record(d.destination.port).number;
  if (port === undefined) {
    if (entry.ports.length <= 1) return [];
    const numbers = entry.ports.map((p) => p.number);
    return [finding(NAME, vs, IST.VirtualServiceDestinationPortSelectorRequired, [host, numbers])];
  }
  if (entry.ports.some((p) => p.number === port)) return [];
  return [finding(NAME, vs, IST.ReferencedResourceNotFound, ["host:port", `${host}:${String(port)}`])];
}
