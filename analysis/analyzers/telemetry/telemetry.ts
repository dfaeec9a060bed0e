/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/telemetry/: providers.go (an accessLogging entry
 * with no providers, when the mesh has no default access-log provider, is ignored: IST0157),
 * selector.go (a selector matches pods in its namespace, IST0101 "selector"; two Telemetries select one
 * pod, IST0159) and default_selector.go (two selector-less Telemetries in one namespace, IST0160).
 */
import { list, type Props, record } from "../../../policies/lib/kube";
import { matchesLabels, selectorString } from "../../labels";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding, type Resource } from "../../model";

const NAME = "telemetry.Analyzers";

const selectorOf = (t: Resource) => record(record(record(t.body.spec).selector).matchLabels) as Record<string, string>;
const names = (list: readonly Resource[]) => list.map((t) => `${t.name}`).sort();

export const telemetry: Analyzer = {
  name: NAME,
  description: "Validates Telemetry providers and selectors",
  mirrors: "istio pkg/config/analysis/analyzers/telemetry/{providers,selector,default_selector}.go",
  inputs: ["Telemetry", "Pod", "MeshConfig"],
  codes: ["IST0101", "IST0157", "IST0159", "IST0160"],
  analyze(ctx) {
    const out: Finding[] = [];
    const telemetries = ctx.all("Telemetry");
    if (ctx.mesh.defaultAccessLogProviders.length === 0) {
      for (const t of telemetries) {
        for (const l of list(record(t.body.spec).accessLogging)) {
          const entry = record(l) as Props;
          if (entry.disabled === true) continue;
          if (list(entry.providers).length === 0)
            out.push(finding(NAME, t, IST.InvalidTelemetryProvider, [t.name, t.namespace ?? ""]));
        }
      }
    }
    const podsToTelemetries = new Map<string, Resource[]>();
    const selectorless = new Map<string, Resource[]>();
    for (const t of telemetries) {
      const ns = t.namespace ?? "default";
      const selector = selectorOf(t);
      if (Object.keys(selector).length === 0) {
        if (record(t.body.spec).selector === undefined) selectorless.set(ns, [...(selectorless.get(ns) ?? []), t]);
        continue;
      }
      const pods = ctx.runningWorkloads().filter((p) => p.namespace === ns && matchesLabels(selector, p.labels));
      if (pods.length === 0)
        out.push(finding(NAME, t, IST.ReferencedResourceNotFound, ["selector", selectorString(selector)]));
      for (const p of pods) {
        const key = `${p.namespace}/${p.owner.name}`;
        podsToTelemetries.set(key, [...(podsToTelemetries.get(key) ?? []), t]);
      }
    }
    for (const [pod, list] of podsToTelemetries) {
      if (list.length < 2) continue;
      const [ns = "", name = ""] = pod.split("/");
      for (const t of list)
        out.push(finding(NAME, t, IST.ConflictingTelemetryWorkloadSelectors, [names(list), ns, name]));
    }
    for (const [ns, list] of selectorless) {
      if (list.length < 2) continue;
      for (const t of list)
        out.push(finding(NAME, t, IST.MultipleTelemetriesWithoutWorkloadSelectors, [names(list), ns]));
    }
    return out;
  },
};
