/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/virtualservice/destinationrules.go
 * (DestinationRuleAnalyzer): every subset a route or mirror names is defined by a DestinationRule for
 * that host (IST0101 "host+subset in destinationrule"; Kiali KIA1107 calls it "Subset not found").
 */
import { list, record, text } from "../../../policies/lib/kube";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";
import { serviceNameOfHost } from "../../registry";
import { mirrorDestinations, routeDestinations } from "./routes";

const NAME = "virtualservice.DestinationRuleAnalyzer";

export const destinationSubsets: Analyzer = {
  name: NAME,
  description: "Checks the destination rules associated with each virtual service",
  mirrors:
    "istio pkg/config/analysis/analyzers/virtualservice/destinationrules.go; kiali virtualservices/subset_presence_checker.go",
  inputs: ["VirtualService", "DestinationRule"],
  codes: ["IST0101"],
  analyze(ctx) {
    const defined = new Set<string>();
    for (const dr of ctx.all("DestinationRule")) {
      const spec = record(dr.body.spec);
      const name = serviceNameOfHost(dr.namespace ?? "default", text(spec.host) ?? "");
      for (const s of list(spec.subsets)) defined.add(`${name.namespace}/${name.name}+${text(record(s).name)}`);
    }
    const out: Finding[] = [];
    for (const vs of ctx.all("VirtualService")) {
      const spec = record(vs.body.spec);
      const ns = vs.namespace ?? "default";
      const check = (destination: Record<string, unknown>, what: string) => {
        const subset = text(destination.subset);
        if (!subset) return;
        const host = text(destination.host) ?? "";
        const name = serviceNameOfHost(ns, host);
        if (defined.has(`${name.namespace}/${name.name}+${subset}`)) return;
        out.push(finding(NAME, vs, IST.ReferencedResourceNotFound, [what, `${host}+${subset}`], ["KIA1107"]));
      };
      for (const d of routeDestinations(spec)) check(d.destination, "host+subset in destinationrule");
      for (const d of mirrorDestinations(spec)) check(d.destination, "mirror+subset in destinationrule");
    }
    return out;
  },
};
