import type { MeshConfig } from "../../config/types";
import type { NamedObject } from "../meta";
import { dashboards, kialiLinks, type ToolAccess, type ToolName } from "./access";
import { addonReleases, addonSecrets, type SecretShell } from "./charts";
import { DASHBOARD_GROUPS, DASHBOARD_PROVIDERS } from "./dashboards";
import { type JaegerSpecs, jaegerSpecs } from "./jaeger";
import type { AddonRelease } from "./pins";
import { OBSERVABILITY_NAMESPACE } from "./services";
import { meshTelemetries, type TelemetrySpec } from "./telemetry";

/** Observability as plain data (buildMeshSpec leaves it out when `observability.enabled` is false). */
export interface ObservabilitySpec {
  /** `mesh-default`: in the root namespace, or (existingIstio) one per stack namespace. */
  readonly telemetries: readonly TelemetrySpec[];
  readonly jaeger: JaegerSpecs;
  readonly releases: readonly AddonRelease[];
  readonly secrets: { readonly grafanaAdmin: SecretShell; readonly kialiSigningKey: SecretShell };
  readonly dashboards: Record<ToolName, ToolAccess>;
}

export function observabilitySpec(cfg: MeshConfig): ObservabilitySpec {
  return {
    telemetries: meshTelemetries(cfg),
    jaeger: jaegerSpecs(),
    releases: addonReleases(kialiLinks()),
    secrets: addonSecrets(),
    dashboards: dashboards(cfg.cluster),
  };
}

/**
 * What observability creates in its namespace, by kind and name: each addon chart's Deployment and Service
 * (both named after the release, services.ts), the objects the program applies itself and the Secrets and
 * dashboards' ConfigMaps it generates (observability.ts; Istio's samples/addons/grafana.yaml ships
 * ConfigMaps of the same names). The pre-flight looks for them before it shares a namespace.
 */
export function observabilityFootprint(spec: ObservabilitySpec): { kind: string; name: string }[] {
  const charts = spec.releases.flatMap((r) => ["Deployment", "Service"].map((kind) => ({ kind, name: r.name })));
  const own = [...observabilityObjects(spec), spec.secrets.grafanaAdmin, spec.secrets.kialiSigningKey]
    .filter((o) => o.metadata.namespace === OBSERVABILITY_NAMESPACE)
    .map((o) => ({ kind: o.kind, name: o.metadata.name }));
  const dashboardConfigMaps = DASHBOARD_PROVIDERS.map((p) => ({
    kind: "ConfigMap",
    name: DASHBOARD_GROUPS[p].configMap,
  }));
  return [...charts, ...own, ...dashboardConfigMaps];
}

/** The objects this program applies itself (secrets aside: their values exist only at `up`). */
export function observabilityObjects(spec: ObservabilitySpec | undefined): readonly NamedObject[] {
  if (!spec) return [];
  const { jaeger } = spec;
  return [jaeger.configMap, jaeger.deployment, jaeger.queryService, jaeger.collectorService, ...spec.telemetries];
}
