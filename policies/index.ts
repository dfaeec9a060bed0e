/**
 * Entry point the Pulumi CLI runs for `--policy-pack policies`: constructing the PolicyPack starts its
 * gRPC server. Tests and `npm run policy` (the state-free run) import ./policies instead: one list of
 * policies, two front ends, so a policy added to that list runs in both.
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, policies } from "./policies";

new PolicyPack(PACK_NAME, {
  policies,
  description: "Mesh invariants for istio-mesh: routing, workloads, mTLS, authorization, rate limits, secrets.",
  enforcementLevel: PACK_ENFORCEMENT_LEVEL,
});
