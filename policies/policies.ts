/**
 * The pack's policies, as a plain array: index.ts serves them to the Pulumi CLI, tests run them
 * directly. Importing this module starts nothing.
 */
import type { EnforcementLevel, Policies } from "@pulumi/policy";
import { analysisPolicies } from "./analysis";
import { availabilityPolicies } from "./availability";
import { egressPolicies } from "./egress";
import { meshMtlsPolicies } from "./meshMtls";
import { observabilityPolicies } from "./observability";
import { secretPolicies } from "./secrets";
import { securityPolicies } from "./security";
import { trafficPolicies } from "./traffic";
import { workloadPolicies } from "./workloads";

export const PACK_NAME = "istio-mesh-guardrails";
/** The level of a policy that sets none; every policy here sets its own. */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

export const policies: Policies = [
  ...trafficPolicies,
  ...workloadPolicies,
  ...securityPolicies,
  ...secretPolicies,
  ...observabilityPolicies,
  ...meshMtlsPolicies,
  ...egressPolicies,
  ...analysisPolicies,
  ...availabilityPolicies,
];
