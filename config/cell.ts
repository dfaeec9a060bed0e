import { ambientRules } from "../components/ambient/rules";
import { gatewayApiRefusals } from "../components/traffic/gatewayApi/refusals";
import { configKey, optional, type RawConfig, type Readers } from "./readers";
import { DATAPLANES, TRAFFIC_APIS } from "./reference";
import { revisionsCellRule } from "./revisions";
import type { MeshCell, MeshConfig } from "./types";

/** The data plane × routing API cell: two keys, each read once here. */
export function parseCellArea(raw: RawConfig, read: Readers): MeshCell {
  const dataplane = optional(raw, "dataplane", (v, k) => read.oneOf(k, v, DATAPLANES));
  const trafficApi = optional(raw, "trafficApi", (v, k) => read.oneOf(k, v, TRAFFIC_APIS));
  return { dataplane: dataplane ?? "sidecar", trafficApi: trafficApi ?? "istio" };
}

/** `dataplane=ambient, trafficApi=gateway-api`: how a refusal names the cell. */
export const cellName = (cell: MeshCell) => `dataplane=${cell.dataplane}, trafficApi=${cell.trafficApi}`;

/** A setting the cell cannot honour the way Istio documents it: refused, never silently dropped. */
export interface CellRefusal {
  /** The key without the project prefix, e.g. `faults.user-service`. */
  readonly key: string;
  readonly value: unknown;
  /** Why, in a sentence that names the Istio or Gateway API limit. */
  readonly reason: string;
}

/**
 * Each rule looks at the otherwise valid config and returns what this cell refuses. Rules live beside
 * the rendering they protect (traffic/gatewayApi, ambient); they are listed here so that one place
 * says what every cell refuses.
 */
export type CellRule = (cfg: MeshConfig) => readonly CellRefusal[];

export const CELL_RULES: readonly CellRule[] = [gatewayApiRefusals, ambientRules, revisionsCellRule];

/** Reports every refusal of every rule as a config issue naming the key, the cell and the reason. */
export function checkCell(cfg: MeshConfig, read: Readers): void {
  for (const rule of CELL_RULES) {
    for (const r of rule(cfg)) {
      read.fail(configKey(r.key), r.value, `not available with ${cellName(cfg.cell)}: ${r.reason}`);
    }
  }
}
