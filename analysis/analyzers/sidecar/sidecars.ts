/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/sidecar/selector.go (SelectorAnalyzer): a Sidecar's
 * workloadSelector matches pods of its namespace (IST0101 "selector"); no pod is selected by two
 * Sidecars (IST0110), no namespace has two selector-less ones (IST0111); a Sidecar on an ambient pod
 * or namespace has no effect (IST0167).
 */
import { record } from "../../../policies/lib/kube";
import { matchesLabels, selectorString } from "../../labels";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding, type Resource } from "../../model";

const NAME = "sidecar.SelectorAnalyzer";
const AMBIENT_REDIRECTION = "ambient.istio.io/redirection";

const names = (list: readonly Resource[]) => list.map((s) => s.name).sort();

export const sidecars: Analyzer = {
  name: NAME,
  description:
    "Validates that sidecars that define a workload selector match at least one pod, and that there aren't multiple sidecar resources that select overlapping pods",
  mirrors: "istio pkg/config/analysis/analyzers/sidecar/selector.go",
  inputs: ["Sidecar", "Pod", "Namespace"],
  codes: ["IST0101", "IST0110", "IST0111", "IST0167"],
  analyze(ctx) {
    const out: Finding[] = [];
    const byPod = new Map<string, { ambient: boolean; sidecars: Resource[] }>();
    const selectorless = new Map<string, Resource[]>();
    for (const sc of ctx.all("Sidecar")) {
      const ns = sc.namespace ?? "default";
      const selector = record(record(record(sc.body.spec).workloadSelector).labels) as Record<string, string>;
      if (Object.keys(selector).length === 0) {
        selectorless.set(ns, [...(selectorless.get(ns) ?? []), sc]);
        continue;
      }
      const pods = ctx.runningWorkloads().filter((p) => p.namespace === ns && matchesLabels(selector, p.labels));
      if (pods.length === 0)
        out.push(finding(NAME, sc, IST.ReferencedResourceNotFound, ["selector", selectorString(selector)]));
      for (const p of pods) {
        const key = `${p.namespace}/${p.owner.name}`;
        const entry = byPod.get(key) ?? { ambient: p.annotations[AMBIENT_REDIRECTION] === "enabled", sidecars: [] };
        entry.sidecars.push(sc);
        byPod.set(key, entry);
      }
    }
    const reported = new Set<Resource>();
    const ineffective = (sc: Resource, reason: string) => {
      if (reported.has(sc)) return;
      reported.add(sc);
      out.push(finding(NAME, sc, IST.IneffectivePolicy, [reason]));
    };
    for (const [pod, { ambient, sidecars: list }] of byPod) {
      if (list.length === 1 && !ambient) continue;
      const [ns = "", name = ""] = pod.split("/");
      for (const sc of list) {
        if (ambient) ineffective(sc, "selected workload is in ambient mode, the policy has no impact");
        else out.push(finding(NAME, sc, IST.ConflictingSidecarWorkloadSelectors, [names(list), ns, name]));
      }
    }
    for (const [ns, list] of selectorless) {
      const labels = ctx.find("Namespace", undefined, ns)?.labels ?? {};
      const ambientNs =
        labels["istio-injection"] !== "enabled" &&
        !labels["istio.io/rev"] &&
        labels["istio.io/dataplane-mode"] === "ambient";
      if (ambientNs) {
        for (const sc of list) ineffective(sc, "namespace is in ambient mode, the policy has no impact");
        continue;
      }
      if (list.length > 1)
        for (const sc of list)
          out.push(finding(NAME, sc, IST.MultipleSidecarsWithoutWorkloadSelectors, [names(list), ns]));
    }
    return out;
  },
};
