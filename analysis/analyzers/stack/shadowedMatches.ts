/**
 * Our own (MESH0005, Warning): Istio flags a match an earlier rule duplicates, or a URI prefix an
 * earlier prefix covers with the same number of header conditions (IST0131). It misses the common
 * mistake of a broader rule first: `/users` before `/users` + `x-user-type: beta` sends every beta
 * request to the canary split. This reports a match that an earlier match takes whole, when
 * istioctl's own rule does not already.
 */
import { list, type Props, record, text } from "../../../policies/lib/kube";
import { MESH } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";
import { ruleName } from "../virtualservice/routes";
import { matchKey } from "../virtualservice/unreachableRules";

const NAME = "stack.ShadowedMatchAnalyzer";
const STRING_MATCHES = ["uri", "scheme", "method", "authority"];
const MAP_MATCHES = ["headers", "queryParams"];

/** Does the string match `a` accept every value `b` accepts? */
function stringCovers(a: Props, b: Props): boolean {
  const [ae, ap, ar] = [text(a.exact), text(a.prefix), text(a.regex)];
  const [be, bp] = [text(b.exact), text(b.prefix)];
  if (ar !== undefined) return ar === text(b.regex);
  if (ae !== undefined) return ae === be;
  if (ap !== undefined) return (be ?? bp)?.startsWith(ap) ?? false;
  return Object.keys(a).length === 0;
}

/** Does match `a` take every request match `b` takes? Unknown fields must be equal. */
export function matchCovers(a: Props, b: Props): boolean {
  for (const key of Object.keys(a)) {
    if (key === "name") continue;
    if (STRING_MATCHES.includes(key)) {
      if (b[key] === undefined || !stringCovers(record(a[key]), record(b[key]))) return false;
    } else if (MAP_MATCHES.includes(key)) {
      const bm = record(b[key]);
      for (const [k, v] of Object.entries(record(a[key]))) {
        if (bm[k] === undefined || !stringCovers(record(v), record(bm[k]))) return false;
      }
    } else if (matchKey({ v: a[key] }) !== matchKey({ v: b[key] })) {
      return false;
    }
  }
  return true;
}

/** What IST0131 already reports: a duplicate, or prefix coverage with the same header count. */
function istioSees(a: Props, b: Props): boolean {
  if (matchKey(a) === matchKey(b)) return true;
  const ap = text(record(a.uri).prefix);
  const bp = text(record(b.uri).prefix);
  return (
    ap !== undefined &&
    bp !== undefined &&
    Object.keys(record(a.headers)).length === Object.keys(record(b.headers)).length
  );
}

export const shadowedMatches: Analyzer = {
  name: NAME,
  description: "Checks that no earlier, broader HTTP match takes all of a later rule's traffic",
  mirrors: "our own: extends IST0131 beyond equal header counts",
  inputs: ["VirtualService"],
  codes: ["MESH0005"],
  analyze(ctx) {
    const out: Finding[] = [];
    for (const vs of ctx.all("VirtualService")) {
      const routes = list(record(vs.body.spec).http).map(record);
      routes.forEach((route, i) => {
        list(route.match)
          .map(record)
          .forEach((match, j) => {
            for (let k = 0; k < i; k++) {
              const earlier = routes[k] ?? {};
              const hit = list(earlier.match)
                .map(record)
                .find((m) => matchCovers(m, match));
              if (!hit || istioSees(hit, match)) continue;
              const name = text(match.name) ? JSON.stringify(text(match.name)) : `#${j}`;
              out.push(finding(NAME, vs, MESH.ShadowedMatch, [ruleName(route, i), name, ruleName(earlier, k)]));
              break;
            }
          });
      });
    }
    return out;
  },
};
