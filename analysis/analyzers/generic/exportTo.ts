/**
 * Mirrors Kiali business/checkers/common/export_to_namespace_checker.go (KIA0005, Error): every
 * `exportTo` entry of a VirtualService, DestinationRule or ServiceEntry other than `.` and `*` is an
 * existing namespace, else the object is visible nowhere it was meant to be.
 */
import { KIA } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";
import { exportToOf } from "../../registry";

const NAME = "generic.ExportToNamespaceChecker";
const KINDS = ["VirtualService", "DestinationRule", "ServiceEntry"];

export const exportToNamespaces: Analyzer = {
  name: NAME,
  description: "Checks that every exportTo namespace exists",
  mirrors: "kiali business/checkers/common/export_to_namespace_checker.go",
  inputs: ["VirtualService", "DestinationRule", "ServiceEntry", "Namespace"],
  codes: ["KIA0005"],
  analyze(ctx) {
    const out: Finding[] = [];
    for (const r of KINDS.flatMap((k) => ctx.all(k))) {
      for (const ns of exportToOf(r)) {
        if (ns !== "." && ns !== "*" && !ctx.namespaceExists(ns))
          out.push(finding(NAME, r, KIA.ExportToNamespaceNotFound, [ns]));
      }
    }
    return out;
  },
};
