/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/service/portname.go with pkg/config/kube
 * ConvertProtocol: a Service port's protocol comes from appProtocol, else the name's `<protocol>[-suffix]`,
 * else a well-known port; when none applies Istio falls back to protocol sniffing (IST0118, Info). On an
 * ExternalName Service such a port, or one named just `tcp`, is IST0150 instead.
 * Control-plane Services (an `istio` label, or `release: istio`) are skipped, as there.
 */
import { list, record, text } from "../../../policies/lib/kube";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";

const NAME = "service.PortNameAnalyzer";
const PROTOCOLS = new Set([
  "tcp",
  "udp",
  "grpc",
  "grpc-web",
  "http",
  "http_proxy",
  "http2",
  "https",
  "tls",
  "mongo",
  "redis",
  "mysql",
]);
const WELL_KNOWN_PORTS = new Set([25, 53, 3306, 27017]);
const KUBERNETES_APP_PROTOCOLS = new Set(["kubernetes.io/h2c", "kubernetes.io/ws", "kubernetes.io/wss"]);

/** ConvertProtocol(...) != Unsupported. */
export function protocolKnown(
  port: number,
  name: string,
  protocol: string | undefined,
  appProtocol: string | undefined,
): boolean {
  if (protocol === "UDP") return true;
  const source = appProtocol ?? name;
  if (appProtocol !== undefined && KUBERNETES_APP_PROTOCOLS.has(appProtocol)) return true;
  if (source.toLowerCase().startsWith("grpc-web")) return true;
  const head = source.split("-")[0] ?? "";
  return PROTOCOLS.has(head.toLowerCase()) || WELL_KNOWN_PORTS.has(port);
}

export const portNames: Analyzer = {
  name: NAME,
  description: "Checks the port names associated with each service",
  mirrors: "istio pkg/config/analysis/analyzers/service/portname.go",
  inputs: ["Service"],
  codes: ["IST0118", "IST0150"],
  analyze(ctx) {
    const out: Finding[] = [];
    for (const svc of ctx.all("Service")) {
      if (svc.labels.istio !== undefined || svc.labels.release === "istio") continue;
      for (const p of list(record(svc.body.spec).ports)) {
        const port = record(p);
        const number = Number(port.port);
        const name = text(port.name) ?? "";
        const externalName = text(record(svc.body.spec).type) === "ExternalName";
        if (
          protocolKnown(number, name, text(port.protocol), text(port.appProtocol)) &&
          !(name === "tcp" && externalName)
        )
          continue;
        const target = port.targetPort === undefined ? "0" : String(port.targetPort);
        out.push(
          externalName
            ? finding(NAME, svc, IST.ExternalNameServiceTypeInvalidPortName)
            : finding(NAME, svc, IST.PortNameIsNotUnderNamingConvention, [name, number, target]),
        );
      }
    }
    return out;
  },
};
