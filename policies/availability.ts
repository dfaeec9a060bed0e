/**
 * High availability: what Istio's production guidance asks of a mesh that must survive a node
 * drain or a zone outage. Mandatory for a stack of profile `production` (its istio-system and
 * istio-ingress namespaces carry `istio-mesh/profile: production`). A lab stack runs one replica of everything on purpose:
 * it is not checked, unless its policy config sets `labProfile: "advisory"` to see what production
 * would refuse.
 */
import type { PolicyResource, ReportViolation, StackValidationPolicy } from "@pulumi/policy";
import { HOSTNAME_KEY, MIN_REPLICAS } from "../components/controlPlane/production";
import { PROFILE_LABEL } from "../components/namespaces";
import { HELM_RELEASE, installsIstiod, isKind, list, objectRef, type Props, record, text } from "./lib/kube";
import { settings } from "./lib/settings";
import { reportAdvisory, resourcesInView } from "./lib/visibility";

const NAME = "high-availability";

export interface AvailabilitySettings {
  /** What a lab-profile stack gets: nothing, or the findings as advisories. */
  readonly labProfile: "skip" | "advisory";
}

const DEFAULTS: AvailabilitySettings = { labProfile: "skip" };

/** A value, else the chart's default (istiod and gateway values.yaml, Istio 1.30). */
const num = (value: unknown, chartDefault: number) => (typeof value === "number" ? value : chartDefault);
const flag = (value: unknown, chartDefault: boolean) => (typeof value === "boolean" ? value : chartDefault);

interface ReleaseShape {
  readonly minReplicas: number;
  readonly disruptionBudget: boolean;
  readonly constraints: readonly unknown[];
  readonly affinity: Props;
}

/** What an Istio chart release runs, read from its values the way the chart's templates read them. */
function releaseShape(chart: string, values: Props): ReleaseShape | undefined {
  if (chart === "istiod") {
    // templates/autoscale.yaml, deployment.yaml, poddisruptionbudget.yaml
    const autoscale = flag(values.autoscaleEnabled, true);
    const minReplicas = autoscale ? num(values.autoscaleMin, 1) : num(values.replicaCount, 1);
    const pdbOn = flag(record(record(values.global).defaultPodDisruptionBudget).enabled, true);
    return {
      minReplicas,
      disruptionBudget: pdbOn && minReplicas > 1,
      constraints: list(values.topologySpreadConstraints),
      affinity: record(values.affinity),
    };
  }
  if (chart === "gateway") {
    // templates/hpa.yaml, deployment.yaml, poddisruptionbudget.yaml
    const autoscaling = record(values.autoscaling);
    const minReplicas = flag(autoscaling.enabled, true) ? num(autoscaling.minReplicas, 1) : num(values.replicaCount, 1);
    return {
      minReplicas,
      disruptionBudget: Object.keys(record(values.podDisruptionBudget)).length > 0 && minReplicas > 1,
      constraints: list(values.topologySpreadConstraints),
      affinity: record(values.affinity),
    };
  }
  return undefined;
}

/** Pods kept off a single node: a topology spread or a required anti-affinity over kubernetes.io/hostname. */
function spreadsAcrossNodes(shape: Pick<ReleaseShape, "constraints" | "affinity">): boolean {
  const spread = shape.constraints.some((c) => text(record(c).topologyKey) === HOSTNAME_KEY);
  const antiAffinity = list(record(shape.affinity.podAntiAffinity).requiredDuringSchedulingIgnoredDuringExecution).some(
    (term) => text(record(term).topologyKey) === HOSTNAME_KEY,
  );
  return spread || antiAffinity;
}

/** True when a PodDisruptionBudget's selector picks pods with these labels. */
function selects(pdb: Props, podLabels: Props): boolean {
  const matchLabels = record(record(record(pdb.spec).selector).matchLabels);
  const keys = Object.keys(matchLabels);
  return keys.length > 0 && keys.every((k) => podLabels[k] === matchLabels[k]);
}

const isProduction = (resources: readonly PolicyResource[]) =>
  resources.some(
    (r) =>
      isKind(r.type, "core", "Namespace") &&
      text(record(record(r.props.metadata).labels)[PROFILE_LABEL]) === "production",
  );

export const highAvailability: StackValidationPolicy = {
  name: NAME,
  description:
    `istiod and every gateway run at least ${MIN_REPLICAS} replicas with a PodDisruptionBudget and are kept off a ` +
    "single node; every Deployment of more than one replica has a PodDisruptionBudget. Mandatory in profile " +
    "production; a lab stack is not checked unless its config sets labProfile: advisory.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      labProfile: {
        type: "string",
        enum: ["skip", "advisory"],
        default: DEFAULTS.labProfile,
        description: "A lab-profile stack: not checked (skip), or its findings reported as advisories.",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { labProfile } = settings(args, DEFAULTS);
    const seen = resourcesInView(NAME, args, reportViolation, (type) => type.startsWith("kubernetes:"));
    if (seen === undefined) return;
    const production = isProduction(seen);
    if (!production && labProfile === "skip") return;
    const report: ReportViolation = production
      ? reportViolation
      : (message, urn) => reportAdvisory(reportViolation, `${message} (mandatory in profile production)`, urn);

    const releases = seen.filter((x) => x.type === HELM_RELEASE);
    // A stack that uses the cluster's own control plane (existingIstio) installs no istiod: its HA is
    // whoever installed it's to keep, and this policy says so rather than passing it silently.
    if (!installsIstiod(releases)) {
      reportAdvisory(
        reportViolation,
        "no istiod Helm release in this stack (it uses the cluster's control plane): istiod's replicas, " +
          "PodDisruptionBudget and spread are not checked here; check them where istiod is installed",
      );
    }
    for (const r of releases) {
      const chart = text(r.props.chart) ?? "";
      const shape = releaseShape(chart, record(r.props.values));
      if (!shape) continue;
      const release = `Helm release ${text(r.props.name) ?? r.name} (${chart})`;
      if (shape.minReplicas < MIN_REPLICAS) {
        report(`${release} runs ${shape.minReplicas} replica(s) at least; HA needs ${MIN_REPLICAS} or more`, r.urn);
      }
      if (!shape.disruptionBudget) report(`${release} has no PodDisruptionBudget`, r.urn);
      if (!spreadsAcrossNodes(shape)) {
        report(
          `${release} may put every replica on one node: add a topologySpreadConstraint on ${HOSTNAME_KEY}`,
          r.urn,
        );
      }
    }

    const budgets = seen.filter((x) => isKind(x.type, "policy", "PodDisruptionBudget"));
    for (const d of seen.filter((x) => isKind(x.type, "apps", "Deployment"))) {
      const spec = record(d.props.spec);
      if (num(spec.replicas, 1) <= 1) continue;
      const namespace = text(record(d.props.metadata).namespace) ?? "default";
      const podLabels = record(record(record(spec.template).metadata).labels);
      const covered = budgets.some(
        (b) => (text(record(b.props.metadata).namespace) ?? "default") === namespace && selects(b.props, podLabels),
      );
      if (!covered) {
        report(
          `Deployment ${objectRef(d.props)} runs ${String(spec.replicas)} replicas and no PodDisruptionBudget selects them`,
          d.urn,
        );
      }
    }
  },
};

export const availabilityPolicies = [highAvailability] as const;
