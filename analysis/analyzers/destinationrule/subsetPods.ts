/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/destinationrule/subset.go (PodNotSelectedAnalyzer):
 * a DestinationRule's host is a Service or ServiceEntry (IST0174; Kiali KIA0202), and each subset's
 * labels (with a ServiceEntry's workloadSelector) select at least one running pod (IST0173; Kiali
 * KIA0203). Pods are the workloads with at least one replica: a Deployment scaled to 0 runs none.
 */
import { list, record, text } from "../../../policies/lib/kube";
import { matchesLabels } from "../../labels";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";
import { exportToOf, ServiceRegistry } from "../../registry";

const NAME = "destinationrule.SubsetSelectPodAnalyzer";

export const subsetPods: Analyzer = {
  name: NAME,
  description: "Checks if pods are selected by subsets in destination rules.",
  mirrors: "istio pkg/config/analysis/analyzers/destinationrule/subset.go; kiali destinationrules/no_dest_checker.go",
  inputs: ["DestinationRule", "Pod", "Service", "ServiceEntry"],
  codes: ["IST0173", "IST0174"],
  analyze(ctx) {
    const registry = new ServiceRegistry(ctx);
    const pods = ctx.runningWorkloads();
    const out: Finding[] = [];
    for (const dr of ctx.all("DestinationRule")) {
      const spec = record(dr.body.spec);
      const host = text(spec.host) ?? "";
      const entry = registry.lookup(dr.namespace ?? "default", exportToOf(dr), host);
      if (!entry) {
        out.push(finding(NAME, dr, IST.UnknownDestinationRuleHost, [host], ["KIA0202"]));
        continue;
      }
      for (const s of list(spec.subsets)) {
        const subset = record(s);
        const selector = { ...entry.workloadSelector, ...(record(subset.labels) as Record<string, string>) };
        if (pods.some((p) => matchesLabels(selector, p.labels))) continue;
        out.push(finding(NAME, dr, IST.DestinationRuleSubsetNotSelectPods, [text(subset.name) ?? ""], ["KIA0203"]));
      }
    }
    return out;
  },
};
