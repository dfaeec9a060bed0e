/**
 * Our own (MESH0003, Warning): the local rate limit (an EnvoyFilter inserting
 * envoy.filters.http.local_ratelimit) gives each selected pod a token bucket. verify's beta-header
 * check sends its sample to the subset a header-matched route picks; when the buckets of that subset's
 * pods hold fewer tokens than the sample, verify fails on 429s that the stack's own config causes.
 */
import { list, type Props, record, text } from "../../../policies/lib/kube";
import { matchesLabels } from "../../labels";
import { MESH } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";
import { serviceNameOfHost } from "../../registry";
import { routeDestinations } from "../virtualservice/routes";

const NAME = "stack.RateLimitBudgetAnalyzer";
const LOCAL_RATE_LIMIT = "envoy.filters.http.local_ratelimit";

interface Bucket {
  readonly maxTokens: number;
  readonly fillInterval: string;
}

function bucketOf(ef: Props): Bucket | undefined {
  for (const p of list(record(ef.spec).configPatches)) {
    const value = record(record(record(p).patch).value);
    if (text(value.name) !== LOCAL_RATE_LIMIT) continue;
    const bucket = record(record(value.typed_config).token_bucket);
    if (typeof bucket.max_tokens === "number")
      return { maxTokens: bucket.max_tokens, fillInterval: text(bucket.fill_interval) ?? "?" };
  }
  return undefined;
}

export const rateLimitBudget: Analyzer = {
  name: NAME,
  description: "Checks that the local rate limit leaves room for verify's header-routed sample",
  mirrors: "our own: the sample size is tools/verify/plan.ts BETA_SAMPLE",
  inputs: ["EnvoyFilter", "VirtualService", "DestinationRule", "Deployment"],
  codes: ["MESH0003"],
  analyze(ctx) {
    // Subsets that a header-matched HTTP route sends to: what the beta-header check exercises.
    const headerRouted = ctx.all("VirtualService").flatMap((vs) => {
      const spec = record(vs.body.spec);
      const http = list(spec.http).map(record);
      return routeDestinations(spec)
        .filter((d) => d.rule === "http" && text(d.destination.subset))
        .filter((d) => list(http[d.ruleIndex]?.match).some((m) => Object.keys(record(record(m).headers)).length > 0))
        .map((d) => ({
          host: serviceNameOfHost(vs.namespace ?? "default", text(d.destination.host) ?? ""),
          subset: text(d.destination.subset) ?? "",
        }));
    });
    const out: Finding[] = [];
    for (const ef of ctx.all("EnvoyFilter")) {
      const bucket = bucketOf(ef.body);
      if (!bucket) continue;
      const selector = record(record(record(ef.body.spec).workloadSelector).labels) as Record<string, string>;
      const seen = new Set<string>();
      for (const target of headerRouted) {
        const key = `${target.host.namespace}/${target.host.name}+${target.subset}`;
        if (seen.has(key) || target.host.namespace !== ef.namespace) continue;
        seen.add(key);
        const dr = ctx.all("DestinationRule").find((d) => {
          const host = serviceNameOfHost(d.namespace ?? "default", text(record(d.body.spec).host) ?? "");
          return host.namespace === target.host.namespace && host.name === target.host.name;
        });
        const subset = list(record(dr?.body.spec).subsets)
          .map(record)
          .find((s) => text(s.name) === target.subset);
        if (!subset) continue;
        const labels = record(subset.labels) as Record<string, string>;
        const pods = ctx
          .runningWorkloads()
          .filter(
            (w) => w.namespace === ef.namespace && matchesLabels(labels, w.labels) && matchesLabels(selector, w.labels),
          )
          .reduce((sum, w) => sum + w.replicas, 0);
        if (pods === 0) continue;
        const capacity = bucket.maxTokens * pods;
        if (capacity >= ctx.load.betaSample) continue;
        out.push(
          finding(NAME, ef, MESH.RateLimitBelowVerify, [
            key,
            capacity,
            bucket.fillInterval,
            pods,
            target.subset,
            ctx.load.betaSample,
            "beta-header",
          ]),
        );
      }
    }
    return out;
  },
};
