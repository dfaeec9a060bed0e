import type { MeshConfig } from "../../config/types";
import { gatewayChartSelectorLabels } from "../egress/egressGateway";
import type { HelmValues, IstioRelease } from "./helmValues";

/**
 * The production profile as an overlay on the lab's Helm values: what it changes and why, in one
 * place. meshSpec applies it; docs/production.md is written from PRODUCTION_SOURCES and the diff of
 * the two profiles' values (scripts/docs/production.ts), so the page lists exactly what changes.
 */

/** Replicas istiod and each gateway never go below: one pod may be drained while another serves. */
export const MIN_REPLICAS = 2;
/** The charts' own upper bound (istiod `autoscaleMax`, gateway `autoscaling.maxReplicas`: 5). */
export const MAX_REPLICAS = 5;
/** The charts' own scaling target (istiod `cpu.targetAverageUtilization`, gateway `targetCPUUtilizationPercentage`). */
export const TARGET_CPU_PERCENT = 80;

export const HOSTNAME_KEY = "kubernetes.io/hostname";
export const ZONE_KEY = "topology.kubernetes.io/zone";

/**
 * One pod per node at most one more than on any other (DoNotSchedule: a second node is used when it
 * exists; with one node there is one domain, so nothing waits), and across zones as far as the
 * nodes allow (ScheduleAnyway: a node without a zone label would otherwise never be eligible).
 * `matchLabelKeys: [pod-template-hash]` counts each rollout's pods on their own, so a rolling update
 * is not held back by the old ReplicaSet's pods (Kubernetes: Pod Topology Spread Constraints).
 */
export function spreadAcrossNodesAndZones(matchLabels: Readonly<Record<string, string>>) {
  const constraint = (topologyKey: string, whenUnsatisfiable: "DoNotSchedule" | "ScheduleAnyway") => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable,
    labelSelector: { matchLabels: { ...matchLabels } },
    matchLabelKeys: ["pod-template-hash"],
  });
  return [constraint(HOSTNAME_KEY, "DoNotSchedule"), constraint(ZONE_KEY, "ScheduleAnyway")];
}

/** The istiod chart's own defaults (values.yaml `resources`, `global.proxy.resources`): Istio's default profile. */
export const ISTIOD_REQUESTS = { cpu: "500m", memory: "2048Mi" };
export const PROXY_RESOURCES = {
  requests: { cpu: "100m", memory: "128Mi" },
  limits: { cpu: "2000m", memory: "1024Mi" },
};

/** Where each production value comes from, by the first segments of its Helm value path. */
export const PRODUCTION_SOURCES: readonly { readonly prefix: string; readonly source: string }[] = [
  { prefix: "autoscaleEnabled", source: "the istiod chart's default: an HPA" },
  { prefix: "autoscaleMin", source: `≥ ${MIN_REPLICAS} for HA` },
  { prefix: "autoscaleMax", source: "the istiod chart's default" },
  { prefix: "replicaCount", source: `≥ ${MIN_REPLICAS} for HA; used when autoscaling is off` },
  { prefix: "cpu.targetAverageUtilization", source: "the istiod chart's default" },
  { prefix: "resources", source: "the chart's own default, Istio's default profile: istiod/gateway values.yaml" },
  { prefix: "global.proxy.resources", source: "the istiod chart's default global.proxy.resources" },
  { prefix: "pdb", source: "the istiod chart's default pdb.minAvailable" },
  { prefix: "global.defaultPodDisruptionBudget", source: "the istiod chart's default: a PDB once min replicas > 1" },
  {
    prefix: "autoscaling",
    source: `≥ ${MIN_REPLICAS} for HA; max ${MAX_REPLICAS} and target 80% CPU are the gateway chart's defaults`,
  },
  {
    prefix: "podDisruptionBudget",
    source: "one pod may be evicted at a time; the chart creates it once min replicas > 1",
  },
  {
    prefix: "topologySpreadConstraints",
    source: "Istio deployment best practices: spread across nodes and availability zones",
  },
  { prefix: "service.type", source: "the gateway chart's default; Istio's gateway installation guide" },
  { prefix: "service.ports", source: "no NodePorts: the load balancer's ports 80 and 443" },
];

export const sourceOf = (path: string): string =>
  PRODUCTION_SOURCES.find((s) => path === s.prefix || path.startsWith(`${s.prefix}.`))?.source ?? "";

/** Helm's merge of a values overlay: maps merge key by key, lists and scalars are replaced whole. */
export function overlay(base: HelmValues, over: HelmValues): HelmValues {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const before = merged[key];
    const isMap = (v: unknown): v is HelmValues => typeof v === "object" && v !== null && !Array.isArray(v);
    merged[key] = isMap(before) && isMap(value) ? overlay(before, value) : value;
  }
  return merged;
}

export function istiodProductionValues(): HelmValues {
  return {
    global: { proxy: { resources: PROXY_RESOURCES }, defaultPodDisruptionBudget: { enabled: true } },
    autoscaleEnabled: true,
    autoscaleMin: MIN_REPLICAS,
    autoscaleMax: MAX_REPLICAS,
    cpu: { targetAverageUtilization: TARGET_CPU_PERCENT },
    replicaCount: MIN_REPLICAS,
    // Istio's istiod chart sets requests and no limits; so does this program.
    resources: { requests: ISTIOD_REQUESTS },
    pdb: { minAvailable: 1 },
    // istiod's pods carry `app: istiod` (istiod chart, templates/deployment.yaml).
    topologySpreadConstraints: spreadAcrossNodesAndZones({ app: "istiod" }),
  };
}

/** HA for any release of the gateway chart (ingress and egress alike). */
export function gatewayProductionValues(release: IstioRelease): HelmValues {
  return {
    autoscaling: {
      enabled: true,
      minReplicas: MIN_REPLICAS,
      maxReplicas: MAX_REPLICAS,
      targetCPUUtilizationPercentage: TARGET_CPU_PERCENT,
    },
    replicaCount: MIN_REPLICAS,
    resources: PROXY_RESOURCES,
    podDisruptionBudget: { minAvailable: 1 },
    topologySpreadConstraints: spreadAcrossNodesAndZones(gatewayChartSelectorLabels(release)),
  };
}

/** The ingress gateway's Service: a LoadBalancer on 80/443, no NodePorts, the configured annotations. */
export function ingressServiceValues(cfg: MeshConfig, lab: HelmValues): HelmValues {
  const ports = ((lab.service as { ports?: Record<string, unknown>[] } | undefined)?.ports ?? []).map(
    ({ nodePort: _nodePort, ...port }) => port,
  );
  return {
    service: { type: "LoadBalancer", ports, annotations: { ...cfg.profile.ingressServiceAnnotations } },
  };
}

/** A release as the profile wants it: unchanged in the lab, with the overlay in production. */
export function withProfile(
  cfg: MeshConfig,
  release: IstioRelease,
  role: "ingress" | "egress" | "other",
): IstioRelease {
  if (cfg.profile.name !== "production") return release;
  const over =
    release.chart === "istiod"
      ? istiodProductionValues()
      : release.chart === "gateway"
        ? overlay(gatewayProductionValues(release), role === "ingress" ? ingressServiceValues(cfg, release.values) : {})
        : undefined;
  return over ? { ...release, values: overlay(release.values, over) } : release;
}
