/** Egress invariants: the egress gateway is no open relay. */
import type { StackValidationPolicy } from "@pulumi/policy";
import {
  ISTIO_NETWORKING,
  ISTIO_SECURITY,
  isKind,
  list,
  namespaceOf,
  objectRef,
  type Props,
  record,
  text,
} from "./lib/kube";
import { settings } from "./lib/settings";
import { resourcesInView } from "./lib/visibility";

export interface EgressGatewaySettings {
  /** The labels a Gateway selects the egress gateway's pods by. */
  readonly egressGatewaySelector: Readonly<Record<string, string>>;
  /** ambient: the namespace whose waypoints are egress gateways (Istio's ambient egress page: istio-egress). */
  readonly egressNamespace: string;
}

const DEFAULTS: EgressGatewaySettings = {
  egressGatewaySelector: { istio: "egressgateway" },
  egressNamespace: "istio-egress",
};
const GATEWAY_API = "gateway.networking.k8s.io";
const WAYPOINT_CLASS = "istio-waypoint";

const matchLabels = (spec: Props): Record<string, unknown> => record(record(spec.selector).matchLabels);
const covers = (labels: Record<string, unknown>, wanted: Readonly<Record<string, string>>) =>
  Object.entries(wanted).every(([k, v]) => labels[k] === v);

/** A rule that names its callers by mTLS identity: every `from` source lists namespaces or principals. */
function namesIdentities(rule: Props): boolean {
  const from = list(rule.from);
  return (
    from.length > 0 &&
    from.every((f) => {
      const source = record(record(f).source);
      return list(source.namespaces).length > 0 || list(source.principals).length > 0;
    })
  );
}

/** An ALLOW policy that names its callers by identity in every rule. */
function admitsByIdentity(policy: Props): boolean {
  const spec = record(policy.spec);
  const rules = list(spec.rules).map(record);
  return (text(spec.action) ?? "ALLOW") === "ALLOW" && rules.length > 0 && rules.every(namesIdentities);
}

/** A policy attached (`targetRefs`) to the Gateway API Gateway `name`. */
const targets = (policy: Props, name: string) =>
  list(record(policy.spec).targetRefs).some((r) => {
    const ref = record(r);
    return ref.group === GATEWAY_API && ref.kind === "Gateway" && ref.name === name;
  });

/**
 * After the "additional security considerations" of Istio's Egress Gateways task: a Gateway on the
 * egress gateway's pods takes traffic only inside Istio mTLS (every server ISTIO_MUTUAL), so the
 * gateway knows its callers, and an ALLOW AuthorizationPolicy on those pods, in the Gateway's
 * namespace, admits callers by identity (namespaces or principals) in every rule. Otherwise any pod,
 * even one without a sidecar, can send to the gateway with the right Host or SNI. In ambient the egress
 * gateway is a waypoint in the egress namespace (istio.io/latest/docs/ambient/usage/egress-gateway):
 * it takes only HBONE, so only the ALLOW policy is checked, attached to it by `targetRefs`.
 */
export const egressGatewayClosed: StackValidationPolicy = {
  name: "egress-gateway-closed",
  description:
    "A Gateway on the egress gateway's pods serves only ISTIO_MUTUAL, and an ALLOW AuthorizationPolicy on those " +
    "pods admits callers by mTLS identity (namespaces or principals) in every rule; in ambient, a waypoint in the " +
    "egress namespace has such a policy attached by targetRefs.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      egressGatewaySelector: {
        type: "object",
        additionalProperties: { type: "string" },
        minProperties: 1,
        default: { ...DEFAULTS.egressGatewaySelector },
        description: "Labels a Gateway selects the egress gateway's pods by.",
      },
      egressNamespace: {
        type: "string",
        minLength: 1,
        default: DEFAULTS.egressNamespace,
        description: "ambient: the namespace whose waypoints (class istio-waypoint) are egress gateways.",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { egressGatewaySelector, egressNamespace } = settings(args, DEFAULTS);
    const seen = resourcesInView(
      "egress-gateway-closed",
      args,
      reportViolation,
      (type) =>
        isKind(type, ISTIO_NETWORKING, "Gateway") ||
        isKind(type, GATEWAY_API, "Gateway") ||
        isKind(type, ISTIO_SECURITY, "AuthorizationPolicy"),
    );
    if (seen === undefined) return;
    const gateways = seen.filter(
      (r) =>
        isKind(r.type, ISTIO_NETWORKING, "Gateway") &&
        covers(record(record(r.props.spec).selector), egressGatewaySelector),
    );
    const policies = seen.filter((r) => isKind(r.type, ISTIO_SECURITY, "AuthorizationPolicy"));
    for (const gw of gateways) {
      const spec = record(gw.props.spec);
      list(spec.servers).forEach((server, i) => {
        const mode = text(record(record(server).tls).mode) ?? "none";
        if (mode !== "ISTIO_MUTUAL") {
          const port = record(record(server).port).number;
          reportViolation(
            `Gateway ${objectRef(gw.props)} servers[${i}] (port ${String(port)}) takes TLS mode ${mode} on the egress ` +
              "gateway: use ISTIO_MUTUAL, with a DestinationRule subset originating ISTIO_MUTUAL (sni set), so only " +
              "mesh workloads with an identity reach it",
            gw.urn,
          );
        }
      });
      const selector = record(spec.selector);
      const guarding = policies.filter((p) => {
        const pSpec = record(p.props.spec);
        const labels = matchLabels(pSpec);
        return (
          namespaceOf(p.props) === namespaceOf(gw.props) &&
          (text(pSpec.action) ?? "ALLOW") === "ALLOW" &&
          Object.keys(labels).length > 0 &&
          Object.entries(labels).every(([k, v]) => selector[k] === v)
        );
      });
      const closed = guarding.filter((p) => {
        const rules = list(record(p.props.spec).rules).map(record);
        return rules.length > 0 && rules.every(namesIdentities);
      });
      if (closed.length === 0) {
        const found = guarding.map((p) => objectRef(p.props)).join(", ");
        reportViolation(
          `Gateway ${objectRef(gw.props)}: no ALLOW AuthorizationPolicy in ${namespaceOf(gw.props)} selects the egress ` +
            "gateway's pods and admits callers by identity in every rule (from.source.namespaces or principals)" +
            (found ? `; ${found} admits callers without naming them` : ""),
          gw.urn,
        );
      }
    }
    const waypoints = seen.filter(
      (r) =>
        isKind(r.type, GATEWAY_API, "Gateway") &&
        namespaceOf(r.props) === egressNamespace &&
        record(r.props.spec).gatewayClassName === WAYPOINT_CLASS,
    );
    for (const wp of waypoints) {
      const name = text(record(wp.props.metadata).name) ?? "";
      const attached = policies.filter((p) => namespaceOf(p.props) === egressNamespace && targets(p.props, name));
      if (!attached.some((p) => admitsByIdentity(p.props))) {
        const found = attached.map((p) => objectRef(p.props)).join(", ");
        reportViolation(
          `Gateway ${objectRef(wp.props)} (the egress waypoint): no ALLOW AuthorizationPolicy in ${egressNamespace} ` +
            "attached to it by targetRefs admits callers by identity in every rule (from.source.namespaces or principals)" +
            (found ? `; ${found} admits callers without naming them` : ""),
          wp.urn,
        );
      }
    }
  },
};

export const egressPolicies = [egressGatewayClosed] as const;
