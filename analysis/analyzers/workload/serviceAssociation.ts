/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/deployment/services.go (ServiceAssociationAnalyzer)
 * for in-mesh Deployments: the Services selecting one Deployment must not use one port with different
 * protocols (IST0116), nor one targetPort behind different ports (IST0137).
 */
import { list, record, text } from "../../../policies/lib/kube";
import { inMesh } from "../../inMesh";
import { matchesLabels } from "../../labels";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";

const NAME = "deployment.ServiceAssociationAnalyzer";

export const serviceAssociation: Analyzer = {
  name: NAME,
  description: "Checks that the Services selecting a Deployment agree on ports and protocols",
  mirrors: "istio pkg/config/analysis/analyzers/deployment/services.go",
  inputs: ["Service", "Deployment", "Namespace"],
  codes: ["IST0116", "IST0137"],
  analyze(ctx) {
    const out: Finding[] = [];
    for (const w of ctx.allWorkloads()) {
      if (w.owner.kind !== "Deployment" || !inMesh(ctx, w)) continue;
      const services = ctx.all("Service").filter((s) => {
        const selector = record(record(s.body.spec).selector) as Record<string, string>;
        return s.namespace === w.namespace && Object.keys(selector).length > 0 && matchesLabels(selector, w.labels);
      });
      const protocols = new Map<number, Map<string, string[]>>();
      const targets = new Map<string, Map<number, string>>();
      for (const svc of services) {
        const name = `${svc.namespace}/${svc.name}`;
        for (const p of list(record(svc.body.spec).ports)) {
          const port = record(p);
          const number = Number(port.port);
          const protocol = text(port.protocol) ?? "TCP";
          const byProtocol = protocols.get(number) ?? new Map<string, string[]>();
          byProtocol.set(protocol, [...(byProtocol.get(protocol) ?? []), name]);
          protocols.set(number, byProtocol);
          const target =
            port.targetPort === undefined || port.targetPort === 0 ? String(number) : String(port.targetPort);
          const byPort = targets.get(target) ?? new Map<number, string>();
          byPort.set(number, name);
          targets.set(target, byPort);
        }
      }
      for (const [port, byProtocol] of protocols) {
        if (byProtocol.size < 2) continue;
        const names = [...byProtocol.values()].flat().sort();
        out.push(finding(NAME, w.owner, IST.DeploymentAssociatedToMultipleServices, [w.owner.name, port, names]));
      }
      for (const [target, byPort] of targets) {
        if (byPort.size < 2) continue;
        const names = [...byPort.values()].sort();
        const ports = [...byPort.keys()].sort((a, b) => a - b);
        out.push(finding(NAME, w.owner, IST.DeploymentConflictingPorts, [w.owner.name, names, target, ports]));
      }
    }
    return out;
  },
};
