/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/authz/authorizationpolicies.go: a policy's
 * selector matches in-mesh pods (sidecar or ambient, as initPodLabelsMap counts them) of its namespace (any namespace for the root namespace), else it
 * applies to nothing (IST0127); every `source.namespaces`/`notNamespaces` entry names an existing
 * namespace (IST0101 "namespace"; Kiali KIA0101).
 */
import { list, record } from "../../../policies/lib/kube";
import { inAmbient, inMesh } from "../../inMesh";
import { matchesLabels, selectorString } from "../../labels";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";
import { stringList } from "../virtualservice/routes";

const NAME = "auth.AuthorizationPoliciesAnalyzer";

/** authz namespaceMatch: `*`, `*suffix`, `prefix*`, or equal ignoring case. */
export function namespaceMatches(ns: string, pattern: string): boolean {
  if (pattern === "*") return true;
  if (pattern.startsWith("*")) return ns.endsWith(pattern.slice(1));
  if (pattern.endsWith("*")) return ns.startsWith(pattern.slice(0, -1));
  return ns.toLowerCase() === pattern.toLowerCase();
}

export const authorizationPolicies: Analyzer = {
  name: NAME,
  description: "Checks the validity of authorization policies",
  mirrors: "istio pkg/config/analysis/analyzers/authz/authorizationpolicies.go",
  inputs: ["MeshConfig", "AuthorizationPolicy", "Namespace", "Pod"],
  codes: ["IST0101", "IST0127"],
  analyze(ctx) {
    const meshPods = ctx.runningWorkloads().filter((w) => inMesh(ctx, w) || inAmbient(ctx, w));
    const namespaces = ctx.all("Namespace").map((n) => n.name);
    const out: Finding[] = [];
    for (const ap of ctx.all("AuthorizationPolicy")) {
      const spec = record(ap.body.spec);
      const selector =
        spec.selector === undefined ? undefined : (record(record(spec.selector).matchLabels) as Record<string, string>);
      const rootWide = ap.namespace === ctx.mesh.rootNamespace;
      const candidates = rootWide ? meshPods : meshPods.filter((p) => p.namespace === ap.namespace);
      if (
        selector !== undefined
          ? !candidates.some((p) => matchesLabels(selector, p.labels))
          : !rootWide && candidates.length === 0
      ) {
        out.push(finding(NAME, ap, IST.NoMatchingWorkloadsFound, [selector ? selectorString(selector) : ""]));
      }
      for (const rule of list(spec.rules)) {
        for (const from of list(record(rule).from)) {
          const source = record(record(from).source);
          for (const ns of [...stringList(source.namespaces), ...stringList(source.notNamespaces)]) {
            if (namespaces.some((n) => namespaceMatches(n, ns))) continue;
            out.push(finding(NAME, ap, IST.ReferencedResourceNotFound, ["namespace", ns], ["KIA0101"]));
          }
        }
      }
    }
    return out;
  },
};
