/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/gateway/secret.go (SecretAnalyzer): every
 * `credentialName` of a Gateway is a Secret in the namespace of the gateway pods (not the Gateway's),
 * IST0101 "credentialName"; and that Secret holds a parseable certificate (IST0161). A Secret whose data
 * only `pulumi up` generates (the stack's TLS certificate) is taken as valid: the stack creates it
 * from @pulumi/tls.
 */
import { X509Certificate } from "node:crypto";
import { list, type Props, record, text } from "../../../policies/lib/kube";
import { shortOrFullName } from "../../hosts";
import { matchesLabels, selectorString } from "../../labels";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding, type Resource } from "../../model";

const NAME = "gateway.SecretAnalyzer";
/** Marks an object whose data exists only once `pulumi up` generated it (analysis/stackInput.ts). */
export const GENERATED_DATA = "istio-mesh.analysis/generated-data";

export const gatewaySecrets: Analyzer = {
  name: NAME,
  description: "Checks a gateway's referenced secrets for correctness",
  mirrors: "istio pkg/config/analysis/analyzers/gateway/secret.go",
  inputs: ["Gateway", "Pod", "Secret"],
  codes: ["IST0101", "IST0161"],
  analyze(ctx) {
    const out: Finding[] = [];
    for (const gw of ctx.all("Gateway")) {
      const spec = record(gw.body.spec);
      const selector = record(spec.selector) as Record<string, string>;
      const pod = ctx.runningWorkloads().find((p) => matchesLabels(selector, p.labels));
      if (!pod) {
        out.push(finding(NAME, gw, IST.ReferencedResourceNotFound, ["selector", selectorString(selector)]));
        continue;
      }
      for (const s of list(spec.servers)) {
        const credential = text(record(record(s).tls).credentialName);
        if (!credential) continue;
        const ref = shortOrFullName(pod.namespace, credential);
        const secret = ctx.find("Secret", ref.namespace, ref.name);
        if (!secret) {
          out.push(finding(NAME, gw, IST.ReferencedResourceNotFound, ["credentialName", credential]));
          continue;
        }
        if (!validCertificate(secret)) {
          out.push(finding(NAME, gw, IST.InvalidGatewayCredential, [gw.name, pod.namespace]));
        }
      }
    }
    return out;
  },
};

/** kube.ExtractCertInfo + xds.ValidateCertificate: `tls.crt`/`tls.key` or `cert`/`key`, a PEM certificate valid now. */
function validCertificate(secret: Resource): boolean {
  if (secret.annotations[GENERATED_DATA] !== undefined) return true;
  const value = (key: string): string | undefined => {
    const data = text(record(secret.body.data)[key]);
    if (data !== undefined) return Buffer.from(data, "base64").toString("utf8");
    return text((record(secret.body.stringData) as Props)[key]);
  };
  const cert = value("tls.crt") ?? value("cert");
  const key = value("tls.key") ?? value("key");
  if (!cert || !key) return false;
  try {
    const parsed = new X509Certificate(cert);
    const now = Date.now();
    return Date.parse(parsed.validFrom) <= now && now <= Date.parse(parsed.validTo);
  } catch {
    return false;
  }
}
