/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/injection/image-auto.go: an `istio-proxy`
 * container with `image: auto` only works when an Istio injection webhook rewrites it. A Deployment
 * whose pods match no `*istio.io` webhook of a MutatingWebhookConfiguration is a Warning (IST0146);
 * a bare Pod is reported as an Error whatever the webhooks say (IST0147), as istioctl does.
 */
import { list, record, text } from "../../../policies/lib/kube";
import { matchesSelector } from "../../labels";
import { IST } from "../../messages";
import { type Analyzer, containersOf, type Finding, finding, type Props } from "../../model";

const NAME = "injection.ImageAutoAnalyzer";

const autoImage = (podSpec: Props) =>
  containersOf(podSpec).some((c) => text(c.name) === "istio-proxy" && text(c.image) === "auto");

export const imageAuto: Analyzer = {
  name: NAME,
  description: "Makes sure that Pods and Deployments with `image: auto` are going to be injected",
  mirrors: "istio pkg/config/analysis/analyzers/injection/image-auto.go",
  inputs: ["Namespace", "Pod", "Deployment", "MutatingWebhookConfiguration"],
  codes: ["IST0146", "IST0147"],
  analyze(ctx) {
    const webhooks = ctx
      .all("MutatingWebhookConfiguration")
      .flatMap((c) => list(c.body.webhooks).map(record))
      .filter((w) => (text(w.name) ?? "").endsWith("istio.io"));
    const out: Finding[] = [];
    for (const w of ctx.allWorkloads()) {
      if (!autoImage(w.podSpec)) continue;
      if (w.owner.kind === "Pod") {
        out.push(finding(NAME, w.owner, IST.ImageAutoWithoutInjectionError, ["Pod", w.owner.name]));
        continue;
      }
      if (w.owner.kind !== "Deployment") continue;
      const nsLabels = ctx.find("Namespace", undefined, w.namespace)?.labels ?? {};
      const matched = webhooks.some(
        (hook) =>
          matchesSelector(
            hook.namespaceSelector === undefined ? undefined : record(hook.namespaceSelector),
            nsLabels,
          ) && matchesSelector(hook.objectSelector === undefined ? undefined : record(hook.objectSelector), w.labels),
      );
      if (!matched)
        out.push(finding(NAME, w.owner, IST.ImageAutoWithoutInjectionWarning, ["Deployment", w.owner.name]));
    }
    return out;
  },
};
