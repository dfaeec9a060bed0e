/** Mesh-wide STRICT mTLS: the policy every namespace inherits, in istiod's root namespace. */
import type { StackValidationPolicy } from "@pulumi/policy";
import { HELM_RELEASE, ISTIO_SECURITY, installsIstiod, isKind, namespaceOf, objectRef, record, text } from "./lib/kube";
import { settings } from "./lib/settings";
import { resourcesInView } from "./lib/visibility";

export interface MeshMtlsSettings {
  /** istiod's meshConfig.rootNamespace (the istiod chart's default, istio-system). */
  readonly rootNamespace: string;
}

const DEFAULTS: MeshMtlsSettings = { rootNamespace: "istio-system" };

const hasSelector = (spec: Record<string, unknown>) =>
  Object.keys(record(record(spec.selector).matchLabels)).length > 0;

/**
 * A stack that sets mTLS at all sets it mesh-wide: a PeerAuthentication without a selector in the root
 * namespace, STRICT, so a namespace injected later starts STRICT instead of at Istio's PERMISSIVE
 * default. A root-namespace PeerAuthentication with a selector is reported too: istiod ignores it
 * (ComposePeerAuthentication in pilot/pkg/security/authn/policy_applier.go), so it protects nothing.
 * A stack without an istiod Helm release uses the cluster's Istio (`existingIstio`): its root namespace is
 * the platform team's, so a PeerAuthentication there is refused (it would govern every tenant), and at least
 * one of the stack's own namespaces must carry a selector-less STRICT one instead (components/meshScope.ts).
 */
export const meshWideStrictMtls: StackValidationPolicy = {
  name: "mesh-wide-strict-mtls",
  description:
    "A stack with PeerAuthentications has a mesh-wide one (root namespace, no selector) set to STRICT; a " +
    "root-namespace PeerAuthentication with a selector, which Istio ignores, is refused.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      rootNamespace: {
        type: "string",
        minLength: 1,
        default: DEFAULTS.rootNamespace,
        description: "istiod's meshConfig.rootNamespace.",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { rootNamespace } = settings(args, DEFAULTS);
    const seen = resourcesInView(
      "mesh-wide-strict-mtls",
      args,
      reportViolation,
      (type) => isKind(type, ISTIO_SECURITY, "PeerAuthentication") || type === HELM_RELEASE,
    );
    const peers = seen?.filter((r) => r.type !== HELM_RELEASE);
    if (seen === undefined || peers === undefined || peers.length === 0) return;
    const inRoot = peers.filter((r) => namespaceOf(r.props) === rootNamespace);
    if (!installsIstiod(seen)) {
      for (const r of inRoot) {
        reportViolation(
          `PeerAuthentication ${objectRef(r.props)} is in the root namespace ${rootNamespace} of a control plane ` +
            "this stack does not install: it would govern every workload of the cluster's mesh; put it in the " +
            "stack's own namespaces",
          r.urn,
        );
      }
      // What is checked: at least one, outside the root. Not per namespace: the backend's own mode is
      // mtlsMode's, judged by peer-authentication-strict; the gateway namespaces' STRICT guards workloads added
      // there later (a gateway's listeners are not shaped by PeerAuthentication).
      const namespaceWide = peers.filter(
        (p) => namespaceOf(p.props) !== rootNamespace && !hasSelector(record(p.props.spec)),
      );
      if (!namespaceWide.some((p) => text(record(record(p.props.spec).mtls).mode) === "STRICT")) {
        reportViolation(
          "no namespace-wide STRICT PeerAuthentication (no selector, mtls.mode STRICT) in any of the stack's " +
            `namespaces outside ${rootNamespace}: on the cluster's control plane the stack sets one in its ` +
            "gateway namespaces instead of a mesh-wide one (components/meshScope.ts)",
        );
      }
      return;
    }
    for (const r of inRoot.filter((p) => hasSelector(record(p.props.spec)))) {
      reportViolation(
        `PeerAuthentication ${objectRef(r.props)} has a selector in the root namespace ${rootNamespace}: Istio ` +
          "ignores it; put workload policies in the workload's namespace",
        r.urn,
      );
    }
    const meshWide = inRoot.filter((p) => !hasSelector(record(p.props.spec)));
    const strict = meshWide.some((p) => text(record(record(p.props.spec).mtls).mode) === "STRICT");
    if (!strict) {
      reportViolation(
        `no mesh-wide STRICT PeerAuthentication: add one without a selector in ${rootNamespace} with mtls.mode ` +
          `STRICT${meshWide.length > 0 ? ` (${meshWide.map((p) => objectRef(p.props)).join(", ")} is not STRICT)` : ""}, ` +
          "so every namespace inherits STRICT",
      );
    }
  },
};

export const meshMtlsPolicies = [meshWideStrictMtls] as const;
