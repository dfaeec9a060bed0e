/**
 * The engine-free evaluator (tools/policy/evaluate.ts) plus what only tests need: policy inputs
 * from what the mock engine recorded, the root stack resource, and plain Kubernetes objects.
 */
import type { PolicyInput } from "../../tools/policy/evaluate";
import type { Registered } from "./mockEngine";

export {
  type Diagnostic,
  type PackConfigFile,
  type PackRun,
  PolicyConfigError,
  type PolicyInput,
  policyView,
  reconcileConfig,
  runPolicies,
} from "../../tools/policy/evaluate";

/** What the mock engine recorded, as policy inputs. */
export const fromRegistered = (resources: readonly Registered[]): PolicyInput[] =>
  resources.map((r) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: r.inputs,
    outputs: r.outputs,
    options: r.options,
    provider: r.provider,
    parent: r.parent,
    dependencies: r.dependencies,
  }));

/** The root stack resource, whose outputs are the stack outputs (resolved plain values). */
export const stackResource = (outputs: Record<string, unknown>): PolicyInput => ({
  type: "pulumi:pulumi:Stack",
  name: "istio-mesh-test",
  props: outputs,
});

/** A plain Kubernetes object as the resource @pulumi/kubernetes registers for it: `kubernetes:<apiVersion>:<kind>`. */
export function kubernetesResource(object: {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
}): PolicyInput {
  const apiVersion = object.apiVersion.includes("/") ? object.apiVersion : `core/${object.apiVersion}`;
  return {
    type: `kubernetes:${apiVersion}:${object.kind}`,
    name: object.metadata.name,
    props: object as unknown as Record<string, unknown>,
  };
}
