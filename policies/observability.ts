/** Observability invariants: metric tags stay bounded, credential-free and clear of the scrape's own labels. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { metricTagProblem } from "../config/metricTags";
import { isKind, list, objectRef, record, text } from "./lib/kube";

const ISTIO_TELEMETRY = "telemetry.istio.io";

/**
 * The same rules `istio-mesh:observability.metricTags` is parsed with (config/metricTags.ts), applied
 * to every Telemetry whatever made it: a tag set by hand or by another program is a Prometheus label
 * on every standard metric all the same. REMOVE takes a label away, so only UPSERT is checked.
 */
export const telemetryMetricTagsBounded: ResourceValidationPolicy = {
  name: "telemetry-metric-tags-bounded",
  description:
    "Telemetry tagOverrides add only bounded attributes from the documented list, never a credential header, " +
    "under names the Prometheus scrape does not set itself (namespace, pod, app, ...).",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!isKind(args.type, ISTIO_TELEMETRY, "Telemetry")) return;
    const ref = objectRef(args.props);
    list(record(args.props.spec).metrics).forEach((m, i) => {
      list(record(m).overrides).forEach((o, j) => {
        for (const [name, override] of Object.entries(record(record(o).tagOverrides))) {
          const { operation, value } = record(override);
          if ((text(operation) ?? "UPSERT") !== "UPSERT") continue;
          const problem = metricTagProblem(name, value);
          if (problem) {
            reportViolation(
              `Telemetry ${ref} metrics[${i}].overrides[${j}].tagOverrides.${name} = ${JSON.stringify(value)}: ` +
                `must be ${problem}`,
            );
          }
        }
      });
    });
  },
};

export const observabilityPolicies = [telemetryMetricTagsBounded] as const;
