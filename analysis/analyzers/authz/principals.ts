/**
 * Mirrors Kiali business/checkers/authorization/principals_checker.go (KIA0106, Error) and
 * namespace_method_checker.go (KIA0101, Warning): each `cluster.local/ns/<ns>/sa/<sa>` principal names
 * an existing namespace and service account, the ones the Helm charts create (the gateways') included.
 * Wildcards and other trust domains are not checked (Kiali: KIA0108, unknown).
 */
import { list, record } from "../../../policies/lib/kube";
import { KIA } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";
import { stringList } from "../virtualservice/routes";

const NAME = "authorizationpolicy.PrincipalsChecker";
const PRINCIPAL = /^cluster\.local\/ns\/([^/*]+)\/sa\/([^/*]+)$/;

export const principals: Analyzer = {
  name: NAME,
  description: "Checks that every principal's namespace and service account exist",
  mirrors: "kiali business/checkers/authorization/principals_checker.go, namespace_method_checker.go",
  inputs: ["AuthorizationPolicy", "Namespace", "ServiceAccount"],
  codes: ["KIA0101", "KIA0106"],
  analyze(ctx) {
    const out: Finding[] = [];
    for (const ap of ctx.all("AuthorizationPolicy")) {
      for (const rule of list(record(ap.body.spec).rules)) {
        for (const from of list(record(rule).from)) {
          const source = record(record(from).source);
          for (const principal of [...stringList(source.principals), ...stringList(source.notPrincipals)]) {
            const m = PRINCIPAL.exec(principal);
            if (!m?.[1] || !m[2]) continue;
            if (!ctx.namespaceExists(m[1])) out.push(finding(NAME, ap, KIA.NamespaceNotFound, [m[1]]));
            else if (!ctx.find("ServiceAccount", m[1], m[2]))
              out.push(finding(NAME, ap, KIA.PrincipalNotFound, [principal]));
          }
        }
      }
    }
    return out;
  },
};
