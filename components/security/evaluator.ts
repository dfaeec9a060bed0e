/**
 * Istio's request-time decision for one call, from our policy objects (security.istio.io/v1):
 * mTLS (PeerAuthentication), then JWT validation (RequestAuthentication), then authorization
 * (CUSTOM, then DENY, then ALLOW). Pure; attributes it does not model are refused loudly rather
 * than guessed.
 */
import type { AuthorizationPolicySpec, AuthorizationRule } from "./authorization";
import type { RequestAuthenticationSpec } from "./jwt";
import type { PeerAuthenticationSpec } from "./peerAuthentication";

/** Ambient: the waypoint the backends' Services use (a Gateway in the target's namespace). */
export interface Waypoint {
  readonly name: string;
  /** Its mTLS identity: what the destination ztunnel sees as the source of every call it forwards. */
  readonly principal: string;
}

export interface SecurityPolicies {
  /** istiod's root namespace: policies there apply mesh-wide. */
  readonly rootNamespace: string;
  /** Present in ambient: calls to a Service go caller → waypoint (L7) → the pod's ztunnel (L4). */
  readonly waypoint?: Waypoint;
  readonly peerAuthentications: readonly PeerAuthenticationSpec[];
  readonly requestAuthentications: readonly RequestAuthenticationSpec[];
  readonly authorizationPolicies: readonly AuthorizationPolicySpec[];
}

export interface Workload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The Service the call addresses; ambient policies attach to it by `targetRefs`. */
  readonly service?: string;
}

/** A JWT as the callee's sidecar would see it. */
export interface PresentedToken {
  readonly claims: Readonly<Record<string, string | readonly string[]>> & { iss: string; sub: string };
  /** Signed by the key in the RequestAuthentication's JWKS, and not expired. */
  readonly verifies: boolean;
}

export interface Call {
  /** The caller's mTLS identity; undefined when it has no sidecar (plaintext). */
  readonly sourcePrincipal?: string;
  readonly sourceNamespace?: string;
  readonly token?: PresentedToken;
  readonly method: string;
  readonly path: string;
}

export interface Decision {
  readonly allowed: boolean;
  /** 200 allowed, 401 bad token, 403 denied; 0 when the connection is refused (plaintext under STRICT). */
  readonly status: number;
  readonly reason: string;
}

type Selector = { matchLabels?: Record<string, string> } | undefined;

const selects = (selector: Selector, workload: Workload) =>
  Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => workload.labels[k] === v);
const hasSelector = (selector: Selector) => Object.keys(selector?.matchLabels ?? {}).length > 0;

interface TargetRef {
  readonly group?: string;
  readonly kind: string;
  readonly name: string;
}

interface PolicyObject {
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly creationTimestamp?: string };
  readonly spec?: { readonly selector?: Selector; readonly targetRefs?: readonly TargetRef[] };
}

/**
 * The policies a waypoint applies to a call for `workload`'s Service: those whose targetRefs name the
 * waypoint Gateway or that Service, in the same namespace (istio.io/latest/docs/ambient/usage/
 * l7-features: "a targetRef which refers to the waypoint, or a Service which uses that waypoint").
 */
function attached<T extends PolicyObject>(policies: readonly T[], workload: Workload, waypoint: Waypoint): T[] {
  const names = (ref: TargetRef) =>
    (ref.kind === "Gateway" && ref.group === "gateway.networking.k8s.io" && ref.name === waypoint.name) ||
    (ref.kind === "Service" && (ref.group ?? "") === "" && ref.name === workload.service);
  return policies.filter((p) => p.metadata.namespace === workload.namespace && (p.spec?.targetRefs ?? []).some(names));
}

/** What ztunnel enforces: the selector-bound policies; the ones with targetRefs are the waypoint's. */
const unattached = <T extends PolicyObject>(policies: readonly T[]) =>
  policies.filter((p) => p.spec?.targetRefs === undefined);

/**
 * Attachments the evaluator does not model are refused, never ignored: targetRef(s) bind a policy to
 * a Gateway or Service instead of by selector, and portLevelMtls changes the mode per port.
 */
function refuseUnmodelled(kind: string, policy: PolicyObject): void {
  const spec = (policy.spec ?? {}) as Record<string, unknown>;
  const unmodelled = ["targetRef", "targetRefs", "portLevelMtls"].filter((field) => spec[field] !== undefined);
  if (unmodelled.length > 0) {
    const ref = `${policy.metadata.namespace ?? "default"}/${policy.metadata.name}`;
    throw new Error(`evaluator: ${kind} ${ref} sets ${unmodelled.join(", ")}, which is not modelled`);
  }
}

/** The policies of a kind that apply to a workload: its namespace's, and the root namespace's. */
function applying<T extends PolicyObject>(kind: string, policies: readonly T[], workload: Workload, root: string): T[] {
  const found = policies.filter(
    (p) =>
      (p.metadata.namespace === workload.namespace || p.metadata.namespace === root) &&
      selects(p.spec?.selector, workload),
  );
  for (const p of found) refuseUnmodelled(kind, p);
  return found;
}

/**
 * istiod's order (pilot/pkg/model/config.go sortConfigByCreationTime): oldest first; equal creation
 * times (kept in seconds) by name, then namespace. A policy without a creationTimestamp is not yet
 * created, so it sorts as the newest.
 */
function oldestFirst<T extends PolicyObject>(a: T, b: T): number {
  const time = (p: T) => p.metadata.creationTimestamp ?? "9999-12-31T23:59:59Z";
  const byTime = Date.parse(time(a)) - Date.parse(time(b));
  if (byTime !== 0) return byTime;
  if (a.metadata.name !== b.metadata.name) return a.metadata.name < b.metadata.name ? -1 : 1;
  const ns = (p: T) => p.metadata.namespace ?? "";
  return ns(a) < ns(b) ? -1 : ns(a) > ns(b) ? 1 : 0;
}

/**
 * The effective mTLS mode, as Istio's ComposePeerAuthentication (pilot/pkg/security/authn/
 * policy_applier.go) computes it: PERMISSIVE, overridden in turn by the mesh policy (root namespace,
 * no selector), the namespace policy (no selector) and the workload policy (a selector, outside the
 * root namespace: one there is ignored), each the oldest of its scope; UNSET or no mode inherits.
 */
export function mtlsMode(policies: SecurityPolicies, workload: Workload): string {
  const root = policies.rootNamespace;
  const all = applying("PeerAuthentication", policies.peerAuthentications, workload, root).sort(oldestFirst);
  const mesh = all.find((p) => !hasSelector(p.spec?.selector) && p.metadata.namespace === root);
  const namespace = all.find((p) => !hasSelector(p.spec?.selector) && p.metadata.namespace !== root);
  const selected = all.find((p) => hasSelector(p.spec?.selector) && p.metadata.namespace !== root);
  let mode = "PERMISSIVE";
  for (const scope of [mesh, namespace, selected]) {
    const set = scope?.spec?.mtls?.mode;
    if (set !== undefined && set !== "UNSET") mode = set;
  }
  return mode;
}

/** Istio's string match: exact, `prefix*`, `*suffix`, or `*` (any non-empty value). */
export function matchesPattern(pattern: string, value: string): boolean {
  if (pattern === "*") return value !== "";
  if (pattern.endsWith("*")) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith("*")) return value.endsWith(pattern.slice(1));
  return pattern === value;
}

/** Istio reads an empty list as an unset field (authz/model/model.go insertFront, appendLast; `len(r.From) == 0`). */
const isUnset = (list: readonly unknown[] | undefined): boolean => list === undefined || list.length === 0;
const anyMatch = (patterns: readonly string[] | undefined, values: readonly string[]) =>
  isUnset(patterns) || values.some((v) => (patterns ?? []).some((p) => matchesPattern(p, v)));
const noneMatch = (patterns: readonly string[] | undefined, values: readonly string[]) =>
  isUnset(patterns) || !values.some((v) => (patterns ?? []).some((p) => matchesPattern(p, v)));

interface Attributes {
  readonly principal: string;
  readonly namespace: string;
  readonly requestPrincipal: string;
  readonly claims: Readonly<Record<string, string | readonly string[]>>;
  readonly method: string;
  readonly path: string;
}

const list = (v: string | readonly string[] | undefined): string[] =>
  v === undefined ? [] : typeof v === "string" ? [v] : [...v];

const CLAIM = /^request\.auth\.claims\[([^\]]+)\]$/;

function conditionValues(key: string, a: Attributes): string[] {
  const claim = CLAIM.exec(key);
  if (claim?.[1] !== undefined) return list(a.claims[claim[1]]);
  if (key === "source.principal") return a.principal === "" ? [] : [a.principal];
  if (key === "source.namespace") return a.namespace === "" ? [] : [a.namespace];
  if (key === "request.auth.principal") return a.requestPrincipal === "" ? [] : [a.requestPrincipal];
  throw new Error(`evaluator: condition key ${key} is not modelled`);
}

const UNMODELLED_SOURCE = [
  "ipBlocks",
  "notIpBlocks",
  "remoteIpBlocks",
  "notRemoteIpBlocks",
  "serviceAccounts",
  "notServiceAccounts",
  "trustDomains",
  "notTrustDomains",
];
const UNMODELLED_OPERATION = ["hosts", "notHosts", "ports", "notPorts"];

function ruleMatches(rule: AuthorizationRule, a: Attributes): boolean {
  const fromOk =
    isUnset(rule.from) ||
    (rule.from ?? []).some(({ source: s = {} }) => {
      const unmodelled = UNMODELLED_SOURCE.filter((f) => !isUnset((s as Record<string, string[]>)[f]));
      if (unmodelled.length > 0) throw new Error(`evaluator: source fields ${unmodelled.join(", ")} are not modelled`);
      const principal = a.principal === "" ? [] : [a.principal];
      const requestPrincipal = a.requestPrincipal === "" ? [] : [a.requestPrincipal];
      const namespace = a.namespace === "" ? [] : [a.namespace];
      return (
        anyMatch(s.principals, principal) &&
        noneMatch(s.notPrincipals, principal) &&
        anyMatch(s.requestPrincipals, requestPrincipal) &&
        noneMatch(s.notRequestPrincipals, requestPrincipal) &&
        anyMatch(s.namespaces, namespace) &&
        noneMatch(s.notNamespaces, namespace)
      );
    });
  const toOk =
    isUnset(rule.to) ||
    (rule.to ?? []).some(({ operation: o = {} }) => {
      const unmodelled = UNMODELLED_OPERATION.filter((f) => !isUnset((o as Record<string, string[]>)[f]));
      if (unmodelled.length > 0)
        throw new Error(`evaluator: operation fields ${unmodelled.join(", ")} are not modelled`);
      return (
        anyMatch(o.methods, [a.method]) &&
        noneMatch(o.notMethods, [a.method]) &&
        anyMatch(o.paths, [a.path]) &&
        noneMatch(o.notPaths, [a.path])
      );
    });
  const whenOk = (rule.when ?? []).every((c) => {
    if (isUnset(c.values) && isUnset(c.notValues)) return true;
    const values = conditionValues(c.key, a);
    return anyMatch(c.values, values) && noneMatch(c.notValues, values);
  });
  return fromOk && toOk && whenOk;
}

/** The request principal (`iss/sub`) and claims of a token the workload's RequestAuthentications accept. */
function authenticate(
  requestAuthentications: readonly RequestAuthenticationSpec[],
  token: PresentedToken | undefined,
): { ok: true; requestPrincipal: string; claims: PresentedToken["claims"] | Record<string, never> } | { ok: false } {
  const rules = requestAuthentications.flatMap((p) => p.spec?.jwtRules ?? []);
  // Without a RequestAuthentication the sidecar ignores the Authorization header.
  if (token === undefined || rules.length === 0) return { ok: true, requestPrincipal: "", claims: {} };
  const audiences = list(token.claims.aud);
  const accepted = rules.some(
    (r) =>
      r.issuer === token.claims.iss &&
      (r.audiences === undefined || r.audiences.some((aud) => audiences.includes(aud))) &&
      token.verifies,
  );
  return accepted
    ? { ok: true, requestPrincipal: `${token.claims.iss}/${token.claims.sub}`, claims: token.claims }
    : { ok: false };
}

/** CUSTOM, then DENY, then ALLOW, over the policies that apply; `matches` decides a rule. */
function authorize(
  authz: readonly AuthorizationPolicySpec[],
  matches: (rule: AuthorizationRule, action: string) => boolean,
  deniedStatus: number,
): Decision {
  const byAction = (action: string) => authz.filter((p) => (p.spec?.action ?? "ALLOW") === action);
  if (byAction("CUSTOM").length > 0) throw new Error("evaluator: CUSTOM policies are not modelled");
  const matching = (action: string) =>
    byAction(action).filter((p) => (p.spec?.rules ?? []).some((r) => matches(r, action)));

  const denied = matching("DENY");
  if (denied.length > 0) {
    return { allowed: false, status: deniedStatus, reason: `denied by ${denied[0]?.metadata.name}` };
  }
  if (byAction("ALLOW").length === 0) return { allowed: true, status: 200, reason: "no ALLOW policy applies" };
  const allowedBy = matching("ALLOW");
  if (allowedBy.length > 0) return { allowed: true, status: 200, reason: `allowed by ${allowedBy[0]?.metadata.name}` };
  return { allowed: false, status: deniedStatus, reason: "no rule of the ALLOW policies matches" };
}

function attributesOf(
  peer: string | undefined,
  call: Call,
  authn: { requestPrincipal: string; claims: Attributes["claims"] },
): Attributes {
  return {
    principal: peer ?? "",
    namespace: peer === undefined ? "" : (call.sourceNamespace ?? ""),
    requestPrincipal: authn.requestPrincipal,
    claims: authn.claims,
    method: call.method,
    path: call.path,
  };
}

export function decide(policies: SecurityPolicies, target: Workload, call: Call): Decision {
  const mode = mtlsMode(policies, target);
  if (call.sourcePrincipal === undefined && mode === "STRICT") {
    return { allowed: false, status: 0, reason: "plaintext refused by STRICT mTLS" };
  }
  if (policies.waypoint !== undefined) return decideAmbient(policies, policies.waypoint, target, call);
  // Under DISABLE istiod has the callers' sidecars send plaintext (auto mTLS), so no peer identity arrives.
  const peer = mode === "DISABLE" ? undefined : call.sourcePrincipal;
  const root = policies.rootNamespace;
  const authn = authenticate(
    applying("RequestAuthentication", policies.requestAuthentications, target, root),
    call.token,
  );
  if (!authn.ok) return { allowed: false, status: 401, reason: "JWT rejected by RequestAuthentication" };
  const attributes = attributesOf(peer, call, authn);
  const authz = applying("AuthorizationPolicy", policies.authorizationPolicies, target, root);
  return authorize(authz, (r) => ruleMatches(r, attributes), 403);
}

/** Fields only an HTTP proxy sees; ztunnel cannot match them (pilot/pkg/serviceregistry/ambient/authorization.go). */
function hasL7(rule: AuthorizationRule): boolean {
  const l7Source = (rule.from ?? []).some(
    ({ source: s = {} }) => !isUnset(s.requestPrincipals) || !isUnset(s.notRequestPrincipals),
  );
  const l7Operation = (rule.to ?? []).some(
    ({ operation: o = {} }) =>
      !isUnset(o.methods) || !isUnset(o.notMethods) || !isUnset(o.paths) || !isUnset(o.notPaths),
  );
  const l7Condition = (rule.when ?? []).some((c) => !L4_CONDITIONS.has(c.key));
  return l7Source || l7Operation || l7Condition;
}
const L4_CONDITIONS = new Set([
  "source.ip",
  "source.namespace",
  "source.principal",
  "destination.ip",
  "destination.port",
]);

/**
 * Ambient (Istio 1.30): ztunnel refuses plaintext under STRICT (above). A call from a mesh identity to
 * a Service that uses the waypoint is checked there first, with the caller's identity: the
 * RequestAuthentications and AuthorizationPolicies attached by targetRefs (401 / 403). The waypoint
 * then opens its own connection to the pod, whose ztunnel applies the selector-bound policies at L4
 * with the waypoint's identity as the source; ztunnel cannot answer with HTTP, so its refusal is a
 * closed connection (status 0). An ALLOW rule with L7 attributes never matches at ztunnel, and a DENY
 * rule's L7 attributes are dropped, so it matches more (pilot/pkg/serviceregistry/ambient/
 * authorization.go handleRule). A caller with no identity (PERMISSIVE) reaches ztunnel directly.
 */
function decideAmbient(policies: SecurityPolicies, waypoint: Waypoint, target: Workload, call: Call): Decision {
  if (call.sourcePrincipal !== undefined && target.service !== undefined) {
    const authn = authenticate(attached(policies.requestAuthentications, target, waypoint), call.token);
    if (!authn.ok) return { allowed: false, status: 401, reason: "JWT rejected at the waypoint" };
    const attributes = attributesOf(call.sourcePrincipal, call, authn);
    const atWaypoint = authorize(
      attached(policies.authorizationPolicies, target, waypoint),
      (r) => ruleMatches(r, attributes),
      403,
    );
    if (!atWaypoint.allowed) return { ...atWaypoint, reason: `waypoint: ${atWaypoint.reason}` };
  }
  const forwarded = call.sourcePrincipal !== undefined && target.service !== undefined;
  const source = forwarded ? { principal: waypoint.principal, namespace: target.namespace } : undefined;
  const l4: Call = {
    ...(source && { sourcePrincipal: source.principal, sourceNamespace: source.namespace }),
    method: call.method,
    path: call.path,
  };
  const attributes = attributesOf(source?.principal, l4, { requestPrincipal: "", claims: {} });
  const selected = applying(
    "AuthorizationPolicy",
    unattached(policies.authorizationPolicies),
    target,
    policies.rootNamespace,
  );
  const atZtunnel = authorize(
    selected,
    (r, action) => (hasL7(r) ? action === "DENY" && ruleMatches(l4Only(r), attributes) : ruleMatches(r, attributes)),
    0,
  );
  return atZtunnel.allowed ? atZtunnel : { ...atZtunnel, reason: `ztunnel: ${atZtunnel.reason}` };
}

/** A DENY rule as ztunnel enforces it: its L7 attributes dropped. */
function l4Only(rule: AuthorizationRule): AuthorizationRule {
  return {
    ...(rule.from && {
      from: rule.from.map(({ source = {} }) => {
        const { requestPrincipals: _r, notRequestPrincipals: _n, ...l4 } = source;
        return { source: l4 };
      }),
    }),
    ...(rule.to && { to: rule.to.map(() => ({ operation: {} })) }),
    ...(rule.when && { when: rule.when.filter((c) => L4_CONDITIONS.has(c.key)) }),
  };
}
