/**
 * Mirrors the `to` half of Kiali business/checkers/authorization/namespace_method_checker.go (KIA0102):
 * `to.operation.methods` holds HTTP methods, or Istio's wildcards (`*`, `GET*`, `*ET`); anything else
 * (a gRPC method name, a typo) never matches.
 */
import { list, record } from "../../../policies/lib/kube";
import { KIA } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";
import { stringList } from "../virtualservice/routes";

const NAME = "authorizationpolicy.MethodChecker";
const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];

export function validMethod(raw: string): boolean {
  const method = raw.trim();
  if (method === "") return false;
  if (method === "*") return true;
  const prefix = method.endsWith("*") && !method.startsWith("*");
  const suffix = method.startsWith("*") && !method.endsWith("*");
  const pattern = method.replace(/^\*|\*$/g, "").toUpperCase();
  return HTTP_METHODS.some((m) => (prefix ? m.startsWith(pattern) : suffix ? m.endsWith(pattern) : m === pattern));
}

export const methods: Analyzer = {
  name: NAME,
  description: "Checks that AuthorizationPolicy methods are HTTP methods or Istio wildcards",
  mirrors: "kiali business/checkers/authorization/namespace_method_checker.go",
  inputs: ["AuthorizationPolicy"],
  codes: ["KIA0102"],
  analyze(ctx) {
    const out: Finding[] = [];
    for (const ap of ctx.all("AuthorizationPolicy")) {
      for (const rule of list(record(ap.body.spec).rules)) {
        for (const to of list(record(rule).to)) {
          const op = record(record(to).operation);
          for (const m of [...stringList(op.methods), ...stringList(op.notMethods)]) {
            if (!validMethod(m)) out.push(finding(NAME, ap, KIA.WrongMethod, [m]));
          }
        }
      }
    }
    return out;
  },
};
