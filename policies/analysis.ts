/**
 * `npm run analyze` as policies: the same analyzers (analysis/), fed the stack's resources as the
 * engine sends them, Helm releases expanded into their charts' objects. Errors are mandatory,
 * Warnings advisory; Info is left to the CLI. Suppressions come from the policy config, in
 * `npm run analyze -- --suppress` syntax with a required reason.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { GENERATED_DATA } from "../analysis/analyzers/gateway/secret";
import { type ChartRelease, chartObjects, waypointObjects } from "../analysis/chartObjects";
import { meshFactsOf, PROJECT_LOAD } from "../analysis/facts";
import { withInjectedSidecars } from "../analysis/injection";
import type { Level } from "../analysis/messages";
import { type AnalysisInput, friendlyName, type Resource, toResource } from "../analysis/model";
import { analyze } from "../analysis/run";
import { parseSuppression } from "../analysis/suppressions";
import { HELM_RELEASE, record, text } from "./lib/kube";
import { settings } from "./lib/settings";
import { resourcesInView } from "./lib/visibility";

const ISTIO_CHARTS = new Set(["base", "istiod", "gateway", "cni", "ztunnel"]);

export interface MeshAnalysisSettings {
  /** `CODE=Kind namespace/name # reason`, as `npm run analyze -- --suppress` takes. */
  readonly suppress: readonly string[];
}

/**
 * The top-level fields of a resource whose values are known. In a first preview a Secret's data (the
 * certificate the update generates) is unknown, and reading it throws; such an object is marked as
 * holding generated data, as `npm run analyze --stack` marks it, instead of the whole analysis
 * giving up ("can't run during preview").
 */
function knownFields(props: Record<string, unknown>): Record<string, unknown> {
  const known: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const key of Object.keys(props)) {
    try {
      known[key] = props[key];
    } catch {
      unknown.push(key);
    }
  }
  if (unknown.length === 0) return known;
  const metadata = record(known.metadata);
  const annotations = {
    ...record(metadata.annotations),
    [GENERATED_DATA]: `unknown until the update: ${unknown.join(", ")}`,
  };
  return { ...known, metadata: { ...metadata, annotations } };
}

/** The stack's objects and the charts' as the analyzer's input; each object remembers its resource's URN. */
export function policyInput(resources: readonly PolicyResource[]): { input: AnalysisInput; urns: Map<string, string> } {
  const urns = new Map<string, string>();
  const releases: ChartRelease[] = [];
  const objects: Resource[] = [];
  for (const r of resources) {
    if (r.type === HELM_RELEASE) {
      const chart = text(r.props.chart) ?? "";
      if (!ISTIO_CHARTS.has(chart)) continue;
      const release = {
        name: text(r.props.name) ?? r.name,
        chart,
        namespace: text(r.props.namespace) ?? "default",
        version: text(r.props.version) ?? "",
        values: record(r.props.values),
      };
      releases.push(release);
      for (const o of chartObjects([release])) {
        objects.push(o);
        urns.set(friendlyName(o), r.urn);
      }
      continue;
    }
    const kind = /^kubernetes:[^:]+:([A-Za-z]+)$/.exec(r.type)?.[1];
    if (!kind) continue;
    const object = toResource({ ...knownFields(r.props), kind }, "program");
    if (!object) continue;
    objects.push(object);
    urns.set(friendlyName(object), r.urn);
    // istiod deploys a waypoint's account and Deployment from the Gateway: analysis sees them as it will.
    if (kind === "Gateway" && record(r.props.spec).gatewayClassName === "istio-waypoint") {
      for (const o of waypointObjects(object.body as { metadata: { name: string; namespace?: string } })) {
        objects.push(o);
        urns.set(friendlyName(o), r.urn);
      }
    }
  }
  const input = { resources: withInjectedSidecars(objects), mesh: meshFactsOf(releases), load: PROJECT_LOAD };
  return { input: { ...input, mode: "stack" }, urns };
}

function analysisPolicy(level: Level, enforcementLevel: "mandatory" | "advisory"): StackValidationPolicy {
  const name = `mesh-analysis-${level === "Error" ? "errors" : "warnings"}`;
  return {
    name,
    description:
      `istioctl analyze and Kiali checks (npm run analyze) over the stack's objects and its charts': every ${level} ` +
      `finding. Suppress one with { "suppress": ["CODE=Kind namespace/name # reason"] }.`,
    enforcementLevel,
    configSchema: {
      properties: {
        suppress: {
          type: "array",
          items: { type: "string", pattern: "^[^=]+=[^#]+#.*\\S" },
          default: [],
          description: "Findings to hide, `CODE=Kind namespace/name # reason` (npm run analyze --suppress syntax).",
        },
      },
    },
    validateStack: (args, reportViolation) => {
      const { suppress } = settings<MeshAnalysisSettings>(args, { suppress: [] });
      // Every Kubernetes object is an input: one the preview cannot see would read as missing.
      const seen = resourcesInView(name, args, reportViolation, (type) => type.startsWith("kubernetes:"));
      if (seen === undefined) return;
      const { input, urns } = policyInput(seen);
      const result = analyze(input, suppress.map(parseSuppression));
      for (const f of result.findings) {
        if (f.level !== level) continue;
        reportViolation(`${f.code} (${f.origin}) ${f.message}`, urns.get(f.origin));
      }
    },
  };
}

export const meshAnalysisErrors = analysisPolicy("Error", "mandatory");
export const meshAnalysisWarnings = analysisPolicy("Warning", "advisory");

export const analysisPolicies = [meshAnalysisErrors, meshAnalysisWarnings] as const;
