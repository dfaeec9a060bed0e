/**
 * Our own (MESH0001, Error): a route that gives a subset a weight while every workload of that subset
 * is scaled to 0. istioctl reports only that the subset selects no pods (IST0173); this names the
 * route and the share of its traffic that then fails with 503 (the canary step that shifted weight
 * before the version had replicas).
 */
import { list, record, text } from "../../../policies/lib/kube";
import { matchesLabels } from "../../labels";
import { MESH } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";
import { serviceNameOfHost } from "../../registry";
import { routeDestinations, ruleName } from "../virtualservice/routes";

const NAME = "stack.CanaryReplicasAnalyzer";

export const canaryReplicas: Analyzer = {
  name: NAME,
  description: "Checks that a weighted subset has running replicas",
  mirrors: "our own: IST0173 knows pods, not the weight that reaches them",
  inputs: ["VirtualService", "DestinationRule", "Deployment"],
  codes: ["MESH0001"],
  analyze(ctx) {
    const subsetLabels = new Map<string, Record<string, string>>();
    for (const dr of ctx.all("DestinationRule")) {
      const spec = record(dr.body.spec);
      const host = serviceNameOfHost(dr.namespace ?? "default", text(spec.host) ?? "");
      for (const s of list(spec.subsets)) {
        const subset = record(s);
        subsetLabels.set(
          `${host.namespace}/${host.name}+${text(subset.name)}`,
          record(subset.labels) as Record<string, string>,
        );
      }
    }
    const out: Finding[] = [];
    for (const vs of ctx.all("VirtualService")) {
      const spec = record(vs.body.spec);
      const http = list(spec.http).map(record);
      for (const d of routeDestinations(spec)) {
        const subset = text(d.destination.subset);
        if (!subset || d.weight <= 0) continue;
        const host = serviceNameOfHost(vs.namespace ?? "default", text(d.destination.host) ?? "");
        const labels = subsetLabels.get(`${host.namespace}/${host.name}+${subset}`);
        if (!labels) continue;
        const workloads = ctx
          .allWorkloads()
          .filter((w) => w.namespace === host.namespace && matchesLabels(labels, w.labels));
        if (workloads.length === 0 || workloads.some((w) => w.replicas > 0)) continue;
        const rule = d.rule === "http" ? ruleName(http[d.ruleIndex] ?? {}, d.ruleIndex) : `${d.rule} #${d.ruleIndex}`;
        out.push(finding(NAME, vs, MESH.CanaryWeightOnZeroReplicas, [rule, d.weight, subset]));
      }
    }
    return out;
  },
};
