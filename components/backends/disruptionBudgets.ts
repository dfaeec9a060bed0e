import type { PodDisruptionBudget } from "kubernetes-types/policy/v1";
import type { MeshConfig } from "../../config/types";
import { type NamedObject, objectMeta } from "../meta";
import { deploymentName, podLabels } from "./workloads";

export type PodDisruptionBudgetSpec = PodDisruptionBudget & NamedObject;

/**
 * Production: a PodDisruptionBudget for every backend version that runs more than one pod, so a node
 * drain evicts them one at a time. A single-pod version (the canary) gets none: a budget of one pod
 * would block every drain of its node (Kubernetes: "Specifying a Disruption Budget for your Application").
 */
export function backendDisruptionBudgets(cfg: MeshConfig): PodDisruptionBudgetSpec[] {
  if (cfg.profile.name !== "production") return [];
  return cfg.backend.services.flatMap((service) =>
    service.versions
      .filter((v) => v.replicas > 1)
      .map((v) => {
        const labels = podLabels(service.name, v.version);
        return {
          apiVersion: "policy/v1",
          kind: "PodDisruptionBudget",
          metadata: objectMeta(deploymentName(service.name, v.version), cfg.backend.namespace, labels),
          spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
        };
      }),
  );
}
