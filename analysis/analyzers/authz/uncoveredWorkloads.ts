/**
 * Mirrors Kiali business/checkers/workloads/uncovered_workload_checker.go (KIA1301, Warning), narrowed
 * to where it means "unreachable": under deny-by-default (an ALLOW policy with no rules in the
 * workload's namespace or the root namespace), a workload that a Service exposes but that no ALLOW
 * policy with rules selects refuses every request. Workloads no Service selects (clients) are skipped.
 */
import { list, record, text } from "../../../policies/lib/kube";
import { inMesh } from "../../inMesh";
import { matchesLabels } from "../../labels";
import { KIA } from "../../messages";
import { type Analyzer, type Finding, finding, type Resource } from "../../model";

const NAME = "workload.UncoveredWorkloadChecker";

const actionOf = (ap: Resource) => text(record(ap.body.spec).action) ?? "ALLOW";
const selectorOf = (ap: Resource) =>
  record(record(record(ap.body.spec).selector).matchLabels) as Record<string, string>;

export const uncoveredWorkloads: Analyzer = {
  name: NAME,
  description: "Checks that under deny-by-default every served workload has an ALLOW policy",
  mirrors: "kiali business/checkers/workloads/uncovered_workload_checker.go",
  inputs: ["AuthorizationPolicy", "Deployment", "Pod", "Service"],
  codes: ["KIA1301"],
  analyze(ctx) {
    const policies = ctx.all("AuthorizationPolicy");
    const out: Finding[] = [];
    for (const w of ctx.allWorkloads()) {
      if (!inMesh(ctx, w)) continue;
      const served = ctx
        .all("Service")
        .some(
          (s) =>
            s.namespace === w.namespace &&
            Object.keys(record(record(s.body.spec).selector)).length > 0 &&
            matchesLabels(record(record(s.body.spec).selector) as Record<string, string>, w.labels),
        );
      if (!served) continue;
      const applies = (ap: Resource) =>
        (ap.namespace === w.namespace || ap.namespace === ctx.mesh.rootNamespace) &&
        matchesLabels(selectorOf(ap), w.labels);
      const denyAll = policies.find(
        (ap) => applies(ap) && actionOf(ap) === "ALLOW" && list(record(ap.body.spec).rules).length === 0,
      );
      if (!denyAll) continue;
      if (policies.some((ap) => applies(ap) && actionOf(ap) === "ALLOW" && list(record(ap.body.spec).rules).length > 0))
        continue;
      out.push(
        finding(NAME, w.owner, KIA.WorkloadNotCovered, [`AuthorizationPolicy ${denyAll.namespace}/${denyAll.name}`]),
      );
    }
    return out;
  },
};
