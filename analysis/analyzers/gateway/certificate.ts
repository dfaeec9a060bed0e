/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/gateway/certificate.go (CertificateAnalyzer): two
 * Gateways on the same pods (one's selector a subset of the other's; PILOT_SCOPE_GATEWAY_TO_NAMESPACE
 * off, Istio's default) serving the same certificate make HTTP/2 clients reuse a connection across
 * them and get 404s (IST0138, envoyproxy/envoy#6767).
 */
import { list, type Props, record, text } from "../../../policies/lib/kube";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding, type Resource } from "../../model";

const NAME = "gateway.CertificateAnalyzer";

const selectorOf = (gw: Resource) => record(record(gw.body.spec).selector) as Record<string, string>;

/** selectorSubset: every key of x is in y with the same value. */
const selectorSubset = (x: Record<string, string>, y: Record<string, string>) =>
  Object.entries(x).every(([k, v]) => y[k] === v);

function sameCertificate(a: Props, b: Props): boolean {
  const [ac, bc] = [text(a.credentialName) ?? "", text(b.credentialName) ?? ""];
  if (ac && bc) return ac === bc;
  if (ac || bc) return false;
  const [as, bs] = [text(a.serverCertificate) ?? "", text(b.serverCertificate) ?? ""];
  const [ak, bk] = [text(a.privateKey) ?? "", text(b.privateKey) ?? ""];
  return as !== "" && as === bs && ak !== "" && ak === bk;
}

export const gatewayCertificates: Analyzer = {
  name: NAME,
  description: "Checks a gateway's certificate against the other gateways on the same pods",
  mirrors: "istio pkg/config/analysis/analyzers/gateway/certificate.go",
  inputs: ["Gateway"],
  codes: ["IST0138"],
  analyze(ctx) {
    const out: Finding[] = [];
    const gateways = ctx.all("Gateway");
    for (const gw of gateways) {
      for (const other of gateways) {
        if (other === gw || !selectorSubset(selectorOf(gw), selectorOf(other))) continue;
        const mine = list(record(gw.body.spec).servers).map((s) => record(record(s).tls));
        const theirs = list(record(other.body.spec).servers).map((s) => record(record(s).tls));
        for (const a of mine) {
          for (const b of theirs) {
            if (Object.keys(a).length === 0 || Object.keys(b).length === 0 || !sameCertificate(a, b)) continue;
            out.push(
              finding(NAME, gw, IST.GatewayDuplicateCertificate, [
                [`${gw.namespace}/${gw.name}`, `${other.namespace}/${other.name}`],
              ]),
            );
          }
        }
      }
    }
    return out;
  },
};
