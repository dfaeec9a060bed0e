/**
 * The messages the analyzer reports, as data: code, level and template. IST codes copy Istio 1.30.3's
 * pkg/config/analysis/msg/messages.yaml (same code, level and template, so a line reads as istioctl's);
 * KIA codes copy Kiali's models/istio_validation.go checkDescriptors (code, severity, message); MESH
 * codes are this project's own, for what only a program that knows the whole stack can check.
 */

export type Level = "Error" | "Warning" | "Info";

export interface MessageType {
  readonly code: string;
  readonly level: Level;
  /** Go fmt verbs as in messages.yaml: %s, %q, %v, %d. */
  readonly template: string;
}

const m = (code: string, level: Level, template: string): MessageType => ({ code, level, template });

export const IST = {
  ReferencedResourceNotFound: m("IST0101", "Error", "Referenced %s not found: %q"),
  NamespaceNotInjected: m(
    "IST0102",
    "Info",
    "The namespace is not enabled for Istio injection. Run 'kubectl label namespace %s istio-injection=enabled' " +
      "to enable it, or 'kubectl label namespace %s istio-injection=disabled' to explicitly mark it as not needing injection.",
  ),
  ConflictingMeshGatewayVirtualServiceHosts: m(
    "IST0109",
    "Error",
    "The VirtualServices %s associated with mesh gateway define the same host %s which can lead to undefined " +
      "behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.",
  ),
  VirtualServiceDestinationPortSelectorRequired: m(
    "IST0112",
    "Error",
    "This VirtualService routes to a service %q that exposes multiple ports %v. Specifying a port in the " +
      "destination is required to disambiguate.",
  ),
  DeploymentAssociatedToMultipleServices: m(
    "IST0116",
    "Warning",
    "This deployment %s is associated with multiple services using port %d but different protocols: %v",
  ),
  PortNameIsNotUnderNamingConvention: m(
    "IST0118",
    "Info",
    "Port name %s (port: %d, targetPort: %s) doesn't follow the naming convention of Istio port.",
  ),
  NamespaceMultipleInjectionLabels: m(
    "IST0123",
    "Warning",
    "The namespace has more than one type of injection labels %v, which may lead to undefined behavior. Make " +
      "sure only one injection label exists.",
  ),
  NoMatchingWorkloadsFound: m(
    "IST0127",
    "Warning",
    "No matching workloads for this resource with the following labels: %s",
  ),
  NoServerCertificateVerificationDestinationLevel: m(
    "IST0128",
    "Warning",
    "DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to validate server " +
      "identity for host: %s",
  ),
  NoServerCertificateVerificationPortLevel: m(
    "IST0129",
    "Warning",
    "DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to validate server " +
      "identity for host: %s at port %s",
  ),
  VirtualServiceUnreachableRule: m("IST0130", "Warning", "VirtualService rule %v not used (%s)."),
  VirtualServiceIneffectiveMatch: m(
    "IST0131",
    "Info",
    "VirtualService rule %v match %v is not used (duplicate/overlapping match in rule %v).",
  ),
  VirtualServiceHostNotFoundInGateway: m(
    "IST0132",
    "Warning",
    "one or more host %v defined in VirtualService %s not found in Gateway %s.",
  ),
  ServiceEntryAddressesRequired: m("IST0134", "Warning", "ServiceEntry addresses are required for this protocol."),
  DeploymentConflictingPorts: m(
    "IST0137",
    "Warning",
    "This deployment %s is associated with multiple services %v using targetPort %q but different ports: %v.",
  ),
  ExternalNameServiceTypeInvalidPortName: m(
    "IST0150",
    "Warning",
    "Port name for ExternalName service is invalid. Proxy may prevent tcp named ports and unmatched traffic for " +
      "ports serving TCP protocol from being forwarded correctly",
  ),
  ReferencedInternalGateway: m(
    "IST0165",
    "Warning",
    "Gateway reference in VirtualService %s is to an implementation-generated internal Gateway: %s.",
  ),
  GatewayDuplicateCertificate: m(
    "IST0138",
    "Warning",
    "Duplicate certificate in multiple gateways %v may cause 404s if clients re-use HTTP2 connections.",
  ),
  ConflictingSidecarWorkloadSelectors: m(
    "IST0110",
    "Error",
    "The Sidecars %v in namespace %q select the same workload pod %q, which can lead to undefined behavior.",
  ),
  MultipleSidecarsWithoutWorkloadSelectors: m(
    "IST0111",
    "Error",
    "The Sidecars %v in namespace %q have no workload selector, which can lead to undefined behavior.",
  ),
  IngressRouteRulesNotAffected: m(
    "IST0140",
    "Warning",
    "Subset in virtual service %s has no effect on ingress gateway %s requests",
  ),
  InvalidApplicationUID: m("IST0144", "Warning", "User ID (UID) 1337 is reserved for the sidecar proxy."),
  ConflictingGateways: m("IST0145", "Error", "Conflict with gateways %s (workload selector %s, port %s, hosts %v)."),
  ImageAutoWithoutInjectionWarning: m(
    "IST0146",
    "Warning",
    "%s %s contains `image: auto` but does not match any Istio injection webhook selectors.",
  ),
  ImageAutoWithoutInjectionError: m(
    "IST0147",
    "Error",
    "%s %s contains `image: auto` but does not match any Istio injection webhook selectors.",
  ),
  JwtClaimBasedRoutingWithoutRequestAuthN: m(
    "IST0149",
    "Error",
    "The virtual service uses the JWT claim based routing (key: %s) but found no request authentication for the " +
      "gateway (%s) pod (%s). The request authentication must first be applied for the gateway pods to validate " +
      "the JWT token and make the claims available for routing.",
  ),
  EnvoyFilterUsesRelativeOperation: m(
    "IST0151",
    "Warning",
    "This EnvoyFilter does not have a priority and has a relative patch operation set which can cause the " +
      "EnvoyFilter not to be applied. Using the INSERT_FIRST of ADD option or setting the priority may help in " +
      "ensuring the EnvoyFilter is applied correctly.",
  ),
  EnvoyFilterUsesReplaceOperationIncorrectly: m(
    "IST0152",
    "Error",
    "The REPLACE operation is only valid for HTTP_FILTER and NETWORK_FILTER.",
  ),
  EnvoyFilterUsesAddOperationIncorrectly: m(
    "IST0153",
    "Error",
    "The ADD operation will be ignored when applyTo is set to ROUTE_CONFIGURATION, or HTTP_ROUTE.",
  ),
  EnvoyFilterUsesRemoveOperationIncorrectly: m(
    "IST0154",
    "Error",
    "The REMOVE operation will be ignored when applyTo is set to ROUTE_CONFIGURATION, or HTTP_ROUTE.",
  ),
  EnvoyFilterUsesRelativeOperationWithProxyVersion: m(
    "IST0155",
    "Warning",
    "This EnvoyFilter does not have a priority and has a relative patch operation (NSTERT_BEFORE/AFTER, REPLACE, " +
      "MERGE, DELETE) and proxyVersion set which can cause the EnvoyFilter not to be applied during an upgrade. " +
      "Using the INSERT_FIRST or ADD option or setting the priority may help in ensuring the EnvoyFilter is applied " +
      "correctly.",
  ),
  InvalidTelemetryProvider: m(
    "IST0157",
    "Warning",
    "The Telemetry %v in namespace %q with empty providers will be ignored.",
  ),
  ConflictingTelemetryWorkloadSelectors: m(
    "IST0159",
    "Error",
    "The Telemetries %v in namespace %q select the same workload pod %q, which can lead to undefined behavior.",
  ),
  MultipleTelemetriesWithoutWorkloadSelectors: m(
    "IST0160",
    "Error",
    "The Telemetries %v in namespace %q have no workload selector, which can lead to undefined behavior.",
  ),
  InvalidGatewayCredential: m(
    "IST0161",
    "Error",
    "The credential referenced by the Gateway %s in namespace %s is invalid, which can cause the traffic not to " +
      "work as expected.",
  ),
  GatewayPortNotDefinedOnService: m(
    "IST0162",
    "Warning",
    "The gateway is listening on a target port (port %d) that is not defined in the Service associated with its " +
      "workload instances (Pod selector %s). If you need to access the gateway port through the gateway Service, " +
      "it will not be available.",
  ),
  IneffectivePolicy: m("IST0167", "Warning", "The policy has no impact: %s."),
  DestinationRuleSubsetNotSelectPods: m(
    "IST0173",
    "Error",
    "The Subset %s defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).",
  ),
  UnknownDestinationRuleHost: m(
    "IST0174",
    "Warning",
    "The host %s defined in the DestinationRule does not match any services in the mesh.",
  ),
  JwksUriFetchUnrestricted: m(
    "IST0175",
    "Warning",
    "BLOCKED_CIDRS_IN_JWKS_URIS is not configured but %d RequestAuthentication resource(s) exist (%s). Consider " +
      "configuring it to restrict JWKS URI fetches to trusted networks.",
  ),
} as const;

/** Kiali's severities are lower-case there; "unknown" ones are not mirrored. */
export const KIA = {
  NamespaceNotFound: m("KIA0101", "Warning", "Namespace not found for this rule: %q"),
  WrongMethod: m("KIA0102", "Warning", "Only HTTP methods and Istio wildcards are allowed: %q"),
  MtlsNeedsToBeEnabled: m("KIA0105", "Error", "This field requires mTLS to be enabled: %s"),
  PrincipalNotFound: m("KIA0106", "Error", "Service Account not found for this principal: %q"),
  DestinationRulesMultiMatch: m(
    "KIA0201",
    "Warning",
    "More than one DestinationRules for the same host subset combination: %s (also in %s)",
  ),
  NonLocalMtlsOverridden: m(
    "KIA0204",
    "Warning",
    "mTLS settings of a non-local Destination Rule are overridden (by this rule for %s; mTLS from %s)",
  ),
  MeshPolicyMissing: m("KIA0205", "Error", "PeerAuthentication enabling mTLS at mesh level is missing"),
  NamespacePolicyMissing: m("KIA0206", "Error", "PeerAuthentication enabling namespace-wide mTLS is missing"),
  PolicyMtlsEnabled: m("KIA0207", "Error", "PeerAuthentication with TLS strict mode found, it should be permissive"),
  MeshPolicyMtlsEnabled: m("KIA0208", "Error", "PeerAuthentication enabling mTLS found, permissive mode needed"),
  ExportToNamespaceNotFound: m("KIA0005", "Error", "No matching namespace found or namespace is not accessible: %q"),
  WorkloadNotCovered: m(
    "KIA1301",
    "Warning",
    "This workload is not covered by any authorization policy: %s denies by default and no ALLOW rule selects it",
  ),
} as const;

export const MESH = {
  CanaryWeightOnZeroReplicas: m(
    "MESH0001",
    "Error",
    "Route %s sends %d%% of its traffic to subset %q, whose workloads run 0 replicas: those requests fail 503",
  ),
  FaultDisablesRetries: m(
    "MESH0002",
    "Warning",
    "Route %s injects a fault and sets %s, which Istio turns off on a route with a client-side fault " +
      "(VirtualService HTTPRoute.fault; istio/istio#13705): none of the fault's failures is retried",
  ),
  RateLimitBelowVerify: m(
    "MESH0003",
    "Warning",
    "The local rate limit on %s admits %d requests per %s across %d pod(s) of subset %q, fewer than the %d that " +
      "verify's %s check sends there: it would fail with 429s",
  ),
  CircuitBreakerBelowConcurrency: m(
    "MESH0004",
    "Warning",
    "The connection pool for %s admits %d requests in flight (maxConnections %d + %d endpoint(s) x %d Envoy " +
      "workers + http1MaxPendingRequests %d), fewer than the %d concurrent requests verify and bench send: the " +
      "surplus gets 503 UO",
  ),
  ShadowedMatch: m(
    "MESH0005",
    "Warning",
    "VirtualService rule %s is never reached for its match %s: the earlier rule %s matches every such request",
  ),
  MissingInput: m("MESH0006", "Info", "Not in the analyzed files, so not checked: %s"),
} as const;

export type Argument = string | number | readonly (string | number)[];

/** Go's fmt for the verbs messages.yaml uses: %s and %v print a slice as `[a b]`, %q quotes, %d integers. */
export function formatMessage(template: string, args: readonly Argument[]): string {
  let next = 0;
  return template.replace(/%([sqvd%])/g, (_match, verb: string) => {
    if (verb === "%") return "%";
    const arg = args[next++];
    if (arg === undefined) return `%!${verb}(MISSING)`;
    if (verb === "q")
      return Array.isArray(arg)
        ? `[${arg.map((a) => JSON.stringify(String(a))).join(" ")}]`
        : JSON.stringify(String(arg));
    return Array.isArray(arg) ? `[${arg.join(" ")}]` : String(arg);
  });
}
