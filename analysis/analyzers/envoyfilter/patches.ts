/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/envoyfilter/envoyfilter.go (EnvoyPatchAnalyzer):
 * ADD and REMOVE are ignored on ROUTE_CONFIGURATION and HTTP_ROUTE (IST0153, IST0154); REPLACE is only
 * for HTTP_FILTER, NETWORK_FILTER and VIRTUAL_HOST (IST0152); a relative operation (INSERT_BEFORE/AFTER,
 * REPLACE, REMOVE) without a priority may apply in any order (IST0151), or, for a filter an earlier
 * proxyVersion-matched patch named, fail during an upgrade (IST0155).
 */
import { list, record, text } from "../../../policies/lib/kube";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";

const NAME = "envoyfilter.EnvoyPatchAnalyzer";
const ROUTE_LEVEL = new Set(["ROUTE_CONFIGURATION", "HTTP_ROUTE"]);
const REPLACEABLE = new Set(["NETWORK_FILTER", "HTTP_FILTER", "VIRTUAL_HOST"]);

export const envoyFilterPatches: Analyzer = {
  name: NAME,
  description: "Checks an envoyFilters ",
  mirrors: "istio pkg/config/analysis/analyzers/envoyfilter/envoyfilter.go",
  inputs: ["EnvoyFilter"],
  codes: ["IST0151", "IST0152", "IST0153", "IST0154", "IST0155"],
  analyze(ctx) {
    const out: Finding[] = [];
    // Names patched by a proxyVersion-matched patch so far, across filters in input order.
    const versioned: string[] = [];
    for (const ef of ctx.all("EnvoyFilter")) {
      const spec = record(ef.body.spec);
      const priority = typeof spec.priority === "number" ? spec.priority : 0;
      for (const p of list(spec.configPatches)) {
        const patch = record(p);
        if (patch.patch === undefined) break;
        const body = record(patch.patch);
        const match = record(patch.match);
        const value = record(body.value);
        const instance = text(value.name) ?? text(record(record(record(match.listener).filterChain).filter).name) ?? "";
        const applyTo = text(patch.applyTo) ?? "";
        const relative = () => {
          if (priority !== 0) return;
          const type = versioned.includes(instance)
            ? IST.EnvoyFilterUsesRelativeOperationWithProxyVersion
            : IST.EnvoyFilterUsesRelativeOperation;
          out.push(finding(NAME, ef, type));
        };
        switch (text(body.operation)) {
          case "ADD":
            if (ROUTE_LEVEL.has(applyTo)) out.push(finding(NAME, ef, IST.EnvoyFilterUsesAddOperationIncorrectly));
            break;
          case "REMOVE":
            if (ROUTE_LEVEL.has(applyTo)) out.push(finding(NAME, ef, IST.EnvoyFilterUsesRemoveOperationIncorrectly));
            else relative();
            break;
          case "REPLACE":
            if (!REPLACEABLE.has(applyTo)) out.push(finding(NAME, ef, IST.EnvoyFilterUsesReplaceOperationIncorrectly));
            else relative();
            break;
          case "INSERT_BEFORE":
          case "INSERT_AFTER":
            relative();
            break;
        }
        if (text(record(match.proxy).proxyVersion)) versioned.push(instance);
      }
    }
    return out;
  },
};
