/**
 * Entry point the Pulumi CLI runs for `--policy-pack policies`: constructing the PolicyPack starts its
 * gRPC server. Tests import ./policies instead.
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, policies } from "./policies";

new PolicyPack(PACK_NAME, {
  policies,
  description: "Mesh invariants for istio-mesh: routing, workloads, mTLS, authorization, rate limits, secrets.",
  enforcementLevel: "mandatory",
});
