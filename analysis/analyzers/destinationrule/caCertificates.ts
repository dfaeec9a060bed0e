/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/destinationrule/ca-certificates.go: TLS
 * origination (SIMPLE or MUTUAL) without caCertificates does not verify the server (IST0128 for the
 * rule, IST0129 for a port), unless a workload-selected rule takes the CA from its credentialName.
 */
import { list, type Props, record, text } from "../../../policies/lib/kube";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";

const NAME = "destinationrule.CaCertificateAnalyzer";
const ORIGINATING = new Set(["SIMPLE", "MUTUAL"]);

export const caCertificates: Analyzer = {
  name: NAME,
  description: "Checks if caCertificates is set when TLS mode is SIMPLE/MUTUAL",
  mirrors: "istio pkg/config/analysis/analyzers/destinationrule/ca-certificates.go",
  inputs: ["DestinationRule"],
  codes: ["IST0128", "IST0129"],
  analyze(ctx) {
    const out: Finding[] = [];
    for (const dr of ctx.all("DestinationRule")) {
      const spec = record(dr.body.spec);
      const policy = record(spec.trafficPolicy);
      const selected = spec.workloadSelector !== undefined;
      const unverified = (tls: Props) =>
        ORIGINATING.has(text(tls.mode) ?? "") && !text(tls.caCertificates) && !(text(tls.credentialName) && selected);
      const name = `${dr.namespace}/${dr.name}`;
      const host = text(spec.host) ?? "";
      const tls = record(policy.tls);
      if (unverified(tls)) {
        out.push(
          finding(NAME, dr, IST.NoServerCertificateVerificationDestinationLevel, [
            name,
            dr.namespace ?? "",
            text(tls.mode) ?? "",
            host,
          ]),
        );
      }
      for (const p of list(policy.portLevelSettings)) {
        const port = record(p);
        const portTls = record(port.tls);
        if (!unverified(portTls)) continue;
        const number = record(port.port).number;
        out.push(
          finding(NAME, dr, IST.NoServerCertificateVerificationPortLevel, [
            name,
            dr.namespace ?? "",
            text(portTls.mode) ?? "",
            host,
            `number:${String(number)}`,
          ]),
        );
      }
    }
    return out;
  },
};
