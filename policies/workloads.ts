/** Workload invariants: pinned images, requests/limits/probes, sidecar injection. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { BACKEND_NAMESPACE } from "../config/defaults";
import { isPinnedImage } from "../config/readers";
import { containersOf, isKind, objectRef, type Props, podTemplates, record, text, walkObjects } from "./lib/kube";
import { settings } from "./lib/settings";

const kindOf = (type: string) => type.slice(type.lastIndexOf(":") + 1);

export const imagesPinned: ResourceValidationPolicy = {
  name: "images-pinned",
  description: "Container images (workloads and Helm values) are pinned by tag or digest, never :latest or untagged.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    for (const pod of podTemplates(args.type, args.props)) {
      for (const field of ["initContainers", "containers"] as const) {
        for (const c of containersOf(pod, field)) {
          const image = text(c.props.image);
          if (image === undefined || !isPinnedImage(image)) {
            reportViolation(
              `${kindOf(args.type)} ${objectRef(args.props)} container "${c.name}": image ${image ?? "(none)"} is not pinned; ` +
                "use a tag other than latest, or a @sha256 digest",
            );
          }
        }
      }
    }
    if (isKind(args.type, "helm.sh", "Release")) {
      const release = text(args.props.name) ?? args.name;
      walkObjects(args.props.values, (obj, path) => {
        const at = (key: string) => (path ? `${path}.${key}` : key);
        if (obj.tag === "latest")
          reportViolation(`Helm release ${release}: values.${at("tag")} is "latest"; pin a version`);
        const image = text(obj.image);
        // Charts combine a short `image` with hub/tag; only a full reference with a tag or digest can be checked.
        if (image !== undefined && /[:@]/.test(image) && !isPinnedImage(image)) {
          reportViolation(`Helm release ${release}: values.${at("image")} ${image} is not pinned`);
        }
      });
    }
  },
};

const QUANTITIES = ["cpu", "memory"] as const;

export const containerResourcesAndProbes: ResourceValidationPolicy = {
  name: "containers-have-resources-and-probes",
  description:
    "Every container requests and limits cpu and memory; long-running pods also have readiness and liveness probes.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    for (const pod of podTemplates(args.type, args.props)) {
      for (const c of containersOf(pod)) {
        const resources = record(c.props.resources);
        const missing = [
          ...QUANTITIES.filter((q) => record(resources.requests)[q] === undefined).map((q) => `requests.${q}`),
          ...QUANTITIES.filter((q) => record(resources.limits)[q] === undefined).map((q) => `limits.${q}`),
          ...(pod.longRunning
            ? (["readinessProbe", "livenessProbe"] as const).filter((p) => c.props[p] === undefined)
            : []),
        ];
        if (missing.length > 0) {
          reportViolation(
            `${kindOf(args.type)} ${objectRef(args.props)} container "${c.name}" has no ${missing.join(", ")}`,
          );
        }
      }
    }
  },
};

export interface InjectionSettings {
  /** Namespaces whose pods must get an Envoy sidecar. */
  readonly namespaces: readonly string[];
}

const INJECTION_DEFAULTS: InjectionSettings = { namespaces: [BACKEND_NAMESPACE] };

/**
 * A namespace is in the mesh with sidecar injection on (`istio-injection=enabled`, or a revision label
 * and no opt-out), or in ambient mode (`istio.io/dataplane-mode=ambient` and no injection label: Istio
 * 1.30.3 pkg/config/analysis/analyzers/util/in_mesh.go NamespaceInAmbientMode).
 */
function inMesh(labels: Props): boolean {
  const flag = labels["istio-injection"];
  if (flag === "enabled" || (flag === undefined && typeof labels["istio.io/rev"] === "string")) return true;
  return flag === undefined && labels["istio.io/dataplane-mode"] === "ambient";
}

export const sidecarInjection: ResourceValidationPolicy = {
  name: "sidecar-injection",
  description:
    "The mesh's workload namespaces (backend) are in the mesh (sidecar injection on, or ambient), and no pod there opts out.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      namespaces: {
        type: "array",
        items: { type: "string" },
        default: [...INJECTION_DEFAULTS.namespaces],
        description: "Namespaces whose pods must be in the mesh.",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    const { namespaces } = settings(args, INJECTION_DEFAULTS);
    const meta = record(args.props.metadata);
    if (isKind(args.type, "core", "Namespace")) {
      const name = text(meta.name) ?? args.name;
      const labels = record(meta.labels);
      if (namespaces.includes(name) && !inMesh(labels)) {
        reportViolation(
          `Namespace ${name} must be in the mesh (label istio-injection=enabled, or istio.io/dataplane-mode=ambient); ` +
            `it has istio-injection=${String(labels["istio-injection"] ?? "(unset)")}`,
        );
      }
      return;
    }
    if (!namespaces.includes(text(meta.namespace) ?? "default")) return;
    for (const pod of podTemplates(args.type, args.props)) {
      const optOut = pod.labels["sidecar.istio.io/inject"] ?? pod.annotations["sidecar.istio.io/inject"];
      if (optOut === "false") {
        reportViolation(
          `${kindOf(args.type)} ${objectRef(args.props)} opts out of the sidecar (sidecar.istio.io/inject=false)`,
        );
      }
      // Ambient's opt-out: the label istio-cni's enablement selector excludes (chart-render: NotIn [none]).
      if (pod.labels["istio.io/dataplane-mode"] === "none") {
        reportViolation(
          `${kindOf(args.type)} ${objectRef(args.props)} opts out of ambient (istio.io/dataplane-mode=none)`,
        );
      }
    }
  },
};

export const workloadPolicies = [imagesPinned, containerResourcesAndProbes, sidecarInjection] as const;
