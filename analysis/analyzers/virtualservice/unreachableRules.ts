/**
 * Mirrors the VirtualService part of Istio 1.30.3's schema validation analyzer
 * (pkg/config/analysis/analyzers/schema/validation.go → pkg/config/validation/validation.go
 * analyzeUnreachableHTTPRules/TCPRules/TLSRules): a rule after a match-less rule, or all of whose matches
 * an earlier rule already has, is never used (IST0130); a duplicate match, or a prefix match an earlier
 * prefix match with the same other conditions covers, is ineffective (IST0131).
 */
import { list, type Props, record, text } from "../../../policies/lib/kube";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding, type Resource } from "../../model";
import { ruleName } from "./routes";

const NAME = "schema.ValidationAnalyzer.VirtualService";

export const unreachableRules: Analyzer = {
  name: NAME,
  description: "Runs Istio's VirtualService validation: unreachable rules and ineffective matches",
  mirrors: "istio pkg/config/validation/validation.go analyzeUnreachable{HTTP,TCP,TLS}Rules (via schema/validation.go)",
  inputs: ["VirtualService"],
  codes: ["IST0130", "IST0131"],
  analyze(ctx) {
    return ctx.all("VirtualService").flatMap((vs) => {
      const spec = record(vs.body.spec);
      return [
        ...analyzeRules(vs, list(spec.http).map(record), true),
        ...analyzeRules(vs, list(spec.tcp).map(record), false),
        ...analyzeRules(vs, list(spec.tls).map(record), false),
      ];
    });
  },
};

/** asJSON: a match's routing conditions (its name removed), in a stable key order. */
export function matchKey(match: Props): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : typeof v === "object" && v !== null
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical((v as Props)[k])]),
          )
        : v;
  const { name: _name, ...rest } = match;
  return JSON.stringify(canonical(rest));
}

const matchName = (match: Props, index: number, http: boolean) => {
  const name = http ? text(match.name) : undefined;
  return name ? JSON.stringify(name) : `#${index}`;
};

function analyzeRules(vs: Resource, routes: Props[], http: boolean): Finding[] {
  const out: Finding[] = [];
  const label = (route: Props, i: number) => (http ? ruleName(route, i) : `#${i}`);
  const seen = new Map<string, number>();
  let matchless = -1;
  const prefixMatches: PrefixMatch[] = [];
  routes.forEach((route, i) => {
    const matches = list(route.match).map(record);
    if (matches.length === 0) {
      if (matchless >= 0)
        out.push(
          finding(NAME, vs, IST.VirtualServiceUnreachableRule, [
            label(route, i),
            "only the last rule can have no matches",
          ]),
        );
      matchless = i;
      return;
    }
    let duplicates = 0;
    matches.forEach((match, j) => {
      if (matchless >= 0) {
        out.push(
          finding(NAME, vs, IST.VirtualServiceUnreachableRule, [
            label(route, i),
            "route without matches defined before",
          ]),
        );
        return;
      }
      const key = matchKey(match);
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        const prior = routes[earlier] ?? {};
        out.push(
          finding(NAME, vs, IST.VirtualServiceIneffectiveMatch, [
            label(route, i),
            matchName(match, j, http),
            label(prior, earlier),
          ]),
        );
        duplicates++;
        return;
      }
      seen.set(key, i);
      const prefix = http ? prefixMatch(match, label(route, i), matchName(match, j, http)) : undefined;
      if (prefix) prefixMatches.push(prefix);
    });
    if (duplicates === matches.length)
      out.push(
        finding(NAME, vs, IST.VirtualServiceUnreachableRule, [label(route, i), "all matches used by prior rules"]),
      );
  });
  prefixMatches.forEach((a, i) => {
    for (const b of prefixMatches.slice(i + 1)) {
      if (b.prefix === a.prefix || !covered(a, b)) continue;
      out.push(
        finding(NAME, vs, IST.VirtualServiceIneffectiveMatch, [
          b.rule,
          `${b.match} of prefix ${b.prefix}`,
          `${a.match} of prefix ${a.prefix} on ${a.rule}`,
        ]),
      );
    }
  });
  return out;
}

/** OverlappingMatchValidationForHTTPRoute: a URI-prefix match reduced to comparable strings. */
interface PrefixMatch {
  readonly rule: string;
  readonly match: string;
  readonly prefix: string;
  readonly port: string;
  readonly method: string;
  readonly authority: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly queryParams: Readonly<Record<string, string>>;
  readonly withoutHeaders: Readonly<Record<string, string>>;
}

/** assignExactOrPrefix: `exact:` + value or `prefix:` + value. */
const exactOrPrefix = (m: unknown): string => {
  const r = record(m);
  const exact = text(r.exact);
  if (exact) return `exact:${exact}`;
  const prefix = text(r.prefix);
  return prefix ? `prefix:${prefix}` : "";
};

const stringMatchMap = (m: unknown) =>
  Object.fromEntries(Object.entries(record(m)).map(([k, v]) => [k, exactOrPrefix(v)]));

function prefixMatch(match: Props, rule: string, name: string): PrefixMatch | undefined {
  const prefix = text(record(match.uri).prefix);
  if (!prefix) return undefined;
  return {
    rule,
    match: name,
    prefix,
    port: String(match.port ?? 0),
    method: exactOrPrefix(match.method) || "exact:GET",
    authority: exactOrPrefix(match.authority),
    headers: stringMatchMap(match.headers),
    queryParams: stringMatchMap(match.queryParams),
    withoutHeaders: stringMatchMap(match.withoutHeaders),
  };
}

/** coveredValidation: does the earlier prefix match `a` take every request of the later `b`? */
function covered(a: PrefixMatch, b: PrefixMatch): boolean {
  if (!b.prefix.startsWith(a.prefix) || a.port !== b.port) return false;
  if (a.method !== b.method && !a.method.startsWith(b.method)) return false;
  if (a.authority !== b.authority && !a.authority.startsWith(b.authority)) return false;
  const sameMaps = (x: Readonly<Record<string, string>>, y: Readonly<Record<string, string>>) =>
    Object.keys(x).length === Object.keys(y).length &&
    Object.entries(x).every(([k, v]) => k in y && (v === y[k] || v.startsWith(y[k] ?? "")));
  return (
    sameMaps(a.headers, b.headers) &&
    sameMaps(a.queryParams, b.queryParams) &&
    sameMaps(a.withoutHeaders, b.withoutHeaders)
  );
}
