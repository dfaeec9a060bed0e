/**
 * Mirrors Kiali's DestinationRule mTLS checkers (business/checkers/destinationrules/
 * meshwide_mtls_checker.go KIA0205, namespacewide_mtls_checker.go KIA0206,
 * disabled_namespacewide_mtls_checker.go KIA0207/KIA0208, disabled_meshwide_mtls_checker.go KIA0208,
 * traffic_policy_checker.go KIA0204): a mesh-wide (`*.local`) or namespace-wide (`*.<ns>.svc.cluster.local`)
 * rule's TLS mode agrees with the PeerAuthentications, and a rule without TLS settings does not
 * silently drop the ISTIO_MUTUAL such a rule set for its host.
 */
import { list, type Props, record, text } from "../../../policies/lib/kube";
import { KIA } from "../../messages";
import { type Analyzer, type Finding, finding, type Resource } from "../../model";
import { modeOf, namespacePolicies } from "../../peerAuthentication";
import { CLUSTER_DOMAIN, toFqdn } from "../../registry";

const NAME = "destinationrule.MtlsChecker";
const MESH_WIDE_HOST = "*.local";

const tlsMode = (dr: Resource) => text(record(record(record(dr.body.spec).trafficPolicy).tls).mode);
const hostOf = (dr: Resource) => text(record(dr.body.spec).host) ?? "";
const namespaceWideOf = (dr: Resource) => /^\*\.([^.]+)\.svc\.cluster\.local$/.exec(hostOf(dr))?.[1];

export const destinationRuleMtls: Analyzer = {
  name: NAME,
  description: "Checks DestinationRule TLS modes against PeerAuthentications (mesh- and namespace-wide)",
  mirrors:
    "kiali business/checkers/destinationrules/{meshwide,namespacewide,disabled_*}_mtls_checker.go, traffic_policy_checker.go",
  inputs: ["DestinationRule", "PeerAuthentication"],
  codes: ["KIA0204", "KIA0205", "KIA0206", "KIA0207", "KIA0208"],
  analyze(ctx) {
    const meshPolicies = namespacePolicies(ctx, ctx.mesh.rootNamespace).map(modeOf);
    const enabled = (modes: string[]) => modes.some((m) => m === "STRICT" || m === "PERMISSIVE");
    const out: Finding[] = [];
    const rules = ctx.all("DestinationRule");
    for (const dr of rules) {
      const mode = tlsMode(dr);
      const nsWide = namespaceWideOf(dr);
      if (hostOf(dr) === MESH_WIDE_HOST) {
        if (mode === "ISTIO_MUTUAL" && !ctx.mesh.autoMtls && !enabled(meshPolicies)) {
          out.push(finding(NAME, dr, KIA.MeshPolicyMissing));
        }
        if (mode === "DISABLE" && meshPolicies.includes("STRICT"))
          out.push(finding(NAME, dr, KIA.MeshPolicyMtlsEnabled));
      } else if (nsWide !== undefined) {
        const nsModes = namespacePolicies(ctx, nsWide).map(modeOf);
        if (mode === "ISTIO_MUTUAL" && !ctx.mesh.autoMtls && !enabled(nsModes) && !enabled(meshPolicies)) {
          out.push(finding(NAME, dr, KIA.NamespacePolicyMissing));
        }
        if (mode === "DISABLE") {
          const nsEnabled = nsModes.find((m) => m === "STRICT" || m === "PERMISSIVE");
          if (nsEnabled === "STRICT") out.push(finding(NAME, dr, KIA.PolicyMtlsEnabled));
          else if (nsEnabled === undefined && !nsModes.includes("DISABLE") && meshPolicies.includes("STRICT")) {
            out.push(finding(NAME, dr, KIA.MeshPolicyMtlsEnabled));
          }
        }
      }
      out.push(...overridden(dr, rules));
    }
    return out;
  },
};

/** traffic_policy_checker.go: this rule has no TLS settings but a wider (or same-host) rule enables mTLS. */
function overridden(dr: Resource, rules: readonly Resource[]): Finding[] {
  if (hostOf(dr) === MESH_WIDE_HOST || namespaceWideOf(dr) !== undefined) return [];
  const policy = record(record(dr.body.spec).trafficPolicy);
  const hasTls =
    policy.tls !== undefined || list(policy.portLevelSettings).some((p) => (record(p) as Props).tls !== undefined);
  if (hasTls) return [];
  const host = toFqdn(dr.namespace ?? "default", hostOf(dr));
  const hostNamespace = /^[^.]+\.([^.]+)\.svc\.cluster\.local$/.exec(host)?.[1];
  const sources = rules.filter((other) => {
    if (other === dr || tlsMode(other) !== "ISTIO_MUTUAL") return false;
    const h = hostOf(other);
    return (
      h === MESH_WIDE_HOST ||
      h === `*.${hostNamespace}.${CLUSTER_DOMAIN}` ||
      toFqdn(other.namespace ?? "default", h) === host
    );
  });
  if (sources.length === 0) return [];
  return [
    finding(NAME, dr, KIA.NonLocalMtlsOverridden, [host, sources.map((s) => `${s.namespace}/${s.name}`).join(", ")]),
  ];
}
