/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/virtualservice/conflictingmeshgatewayhosts.go:
 * two VirtualServices bound to the mesh gateway (explicitly or by naming no gateway) for the same host,
 * visible in the same namespace, leave which one wins undefined (IST0109; Kiali KIA1106).
 */
import { record } from "../../../policies/lib/kube";
import { hostsOverlap } from "../../hosts";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding, type Resource } from "../../model";
import { exportToOf, toFqdn } from "../../registry";
import { MESH_GATEWAY } from "./gateways";
import { stringList } from "./routes";

const NAME = "virtualservice.ConflictingMeshGatewayHostsAnalyzer";
const ALL = "*";

export const conflictingMeshGatewayHosts: Analyzer = {
  name: NAME,
  description: "Checks if multiple virtual services associated with the mesh gateway have conflicting hosts",
  mirrors:
    "istio pkg/config/analysis/analyzers/virtualservice/conflictingmeshgatewayhosts.go; kiali virtualservices/single_host_checker.go",
  inputs: ["VirtualService"],
  codes: ["IST0109"],
  analyze(ctx) {
    // initMeshGatewayHosts: scope/fqdn → the mesh VirtualServices that define it, in input order.
    const byHost = new Map<string, Resource[]>();
    for (const vs of ctx.all("VirtualService")) {
      const spec = record(vs.body.spec);
      const gateways = stringList(spec.gateways);
      if (gateways.length > 0 && !gateways.includes(MESH_GATEWAY)) continue;
      const ns = vs.namespace ?? "default";
      const exportTo = exportToOf(vs);
      const scopes =
        exportTo.length === 0 || exportTo.includes(ALL)
          ? [ALL]
          : [...new Set(exportTo.map((e) => (e === "." ? ns : e)))];
      for (const scope of scopes) {
        for (const h of stringList(spec.hosts)) {
          const key = `${scope}/${toFqdn(ns, h)}`;
          byHost.set(key, [...(byHost.get(key) ?? []), vs]);
        }
      }
    }
    const out: Finding[] = [];
    const reported = new Set<Resource>();
    for (const [key, own] of byHost) {
      const [scope, fqdn = ""] = key.split(/\/(.*)/s);
      // A namespace-scoped host also conflicts with every exported-to-all host it matches.
      const everywhere =
        scope === ALL
          ? []
          : [...byHost]
              .filter(([k]) => k.startsWith(`${ALL}/`) && hostsOverlap(fqdn, k.slice(2)))
              .flatMap(([, v]) => v);
      const list = [...own, ...everywhere];
      if (list.length < 2) continue;
      const names = list
        .map((r) => `${r.namespace}/${r.name}`)
        .sort()
        .join(",");
      for (const vs of list) {
        if (reported.has(vs)) continue;
        reported.add(vs);
        out.push(finding(NAME, vs, IST.ConflictingMeshGatewayVirtualServiceHosts, [names, key], ["KIA1106"]));
      }
    }
    return out;
  },
};
