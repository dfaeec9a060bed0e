/**
 * The pack's policies, as a plain array: index.ts serves them to the Pulumi CLI, tests run them
 * directly. Importing this module starts nothing.
 */
import type { Policies } from "@pulumi/policy";
import { analysisPolicies } from "./analysis";
import { secretPolicies } from "./secrets";
import { securityPolicies } from "./security";
import { trafficPolicies } from "./traffic";
import { workloadPolicies } from "./workloads";

export const PACK_NAME = "istio-mesh-guardrails";

export const policies: Policies = [
  ...trafficPolicies,
  ...workloadPolicies,
  ...securityPolicies,
  ...secretPolicies,
  ...analysisPolicies,
];
