/**
 * Our own (MESH0001, Error): a route that gives a subset a weight while every workload of that subset
 * is scaled to 0. istioctl reports only that the subset selects no pods (IST0173); this names the
 * route and the share of its traffic that then fails with 503 (the canary step that shifted weight
 * before the version had replicas). In the gateway-api cell a version is a Service (Gateway API has no
 * subsets): an HTTPRoute backendRef with weight to a Service whose pods all run 0 replicas is the same
 * error, the Service's name standing where the subset's would.
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
  inputs: ["VirtualService", "DestinationRule", "HTTPRoute", "Service", "Deployment"],
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
    for (const route of ctx.all("HTTPRoute")) {
      const ns = route.namespace ?? "default";
      list(record(route.body.spec).rules).forEach((r, i) => {
        const rule = record(r);
        const refs = list(rule.backendRefs).map(record);
        // Gateway API weights are relative, 1 by default: a share is a weight over the rule's total.
        const weightOf = (ref: Record<string, unknown>) => (typeof ref.weight === "number" ? ref.weight : 1);
        const total = refs.reduce((sum, ref) => sum + weightOf(ref), 0);
        for (const ref of refs) {
          const weight = weightOf(ref);
          if (weight <= 0 || (text(ref.kind) ?? "Service") !== "Service") continue;
          const service = ctx.find("Service", text(ref.namespace) ?? ns, text(ref.name) ?? "");
          const selector = record(record(service?.body.spec).selector) as Record<string, string>;
          if (!service || Object.keys(selector).length === 0) continue;
          const workloads = ctx
            .allWorkloads()
            .filter((w) => w.namespace === service.namespace && matchesLabels(selector, w.labels));
          if (workloads.length === 0 || workloads.some((w) => w.replicas > 0)) continue;
          const share = Math.round((weight / total) * 100);
          out.push(finding(NAME, route, MESH.CanaryWeightOnZeroReplicas, [ruleName(rule, i), share, service.name]));
        }
      });
    }
    return out;
  },
};
