/**
 * What a stack policy can see. The engine hands AnalyzeStack each resource's outputs, not its
 * inputs (pulumi/pulumi pkg/resource/deploy/step_generator.go, AnalyzeResources). In a preview
 * whose provider configuration is not known yet (a kind cluster that does not exist, so no
 * kubeconfig), the provider is never called and hands back an empty property map
 * (pkg/resource/plugin/provider_plugin.go, Create/Update): every in-cluster resource reaches the
 * policy with no properties at all. A check over those would pass without having looked.
 */
import type { EnforcementLevel, PolicyResource, ReportViolation, StackValidationArgs } from "@pulumi/policy";

/** A Kubernetes object's outputs always hold its apiVersion, kind and metadata; none at all means unseen. */
const unseen = (r: PolicyResource) => Object.keys(r.props).length === 0;

/**
 * The object form of a violation, which @pulumi/policy's server accepts beside a plain message
 * (server.ts makeReportViolationFun: its enforcementLevel overrides the policy's). The published
 * typings declare only the string form.
 */
interface Violation {
  readonly message: string;
  readonly urn?: string;
  readonly enforcementLevel: EnforcementLevel;
}

export function reportAdvisory(reportViolation: ReportViolation, message: string, urn?: string): void {
  const violation: Violation = { message, enforcementLevel: "advisory", ...(urn && { urn }) };
  (reportViolation as unknown as (v: Violation) => void)(violation);
}

/**
 * The resources a stack policy checks (`reads` picks them by type), or undefined when some have
 * no outputs to check: then it reports that as an advisory (never mandatory: the preview is not
 * wrong, only blind) and the policy checks nothing, since a partial view could report a subset or
 * a rule as missing when it is only unseen. Every stack policy starts with it.
 */
export function resourcesInView(
  policyName: string,
  args: StackValidationArgs,
  reportViolation: ReportViolation,
  reads: (type: string) => boolean,
): PolicyResource[] | undefined {
  const resources = args.resources.filter((r) => reads(r.type));
  const hidden = resources.filter(unseen);
  if (hidden.length === 0) return resources;
  const kinds = [...new Set(hidden.map((r) => r.type.split(":").pop()))].join(", ");
  reportAdvisory(
    reportViolation,
    `${policyName} cannot see ${hidden.length} of the ${resources.length} resources it checks (${kinds}): ` +
      "this preview has no outputs for them, because their provider's configuration is not known yet " +
      "(a kind cluster that does not exist). Not checked here; `npm run policy -- --stack <stack>` checks " +
      "them without state or a cluster.",
  );
  return undefined;
}
