/** Every analyzer, in one list: what `npm run analyze -- --list-analyzers` prints and every run executes. */

import { blockedCidrs } from "./analyzers/authn/blockedCidrs";
import { authorizationPolicies } from "./analyzers/authz/authorizationPolicies";
import { methods } from "./analyzers/authz/methods";
import { mtlsRequired } from "./analyzers/authz/mtlsRequired";
import { principals } from "./analyzers/authz/principals";
import { uncoveredWorkloads } from "./analyzers/authz/uncoveredWorkloads";
import { caCertificates } from "./analyzers/destinationrule/caCertificates";
import { destinationRuleMtls } from "./analyzers/destinationrule/mtls";
import { multiMatch } from "./analyzers/destinationrule/multiMatch";
import { subsetPods } from "./analyzers/destinationrule/subsetPods";
import { envoyFilterPatches } from "./analyzers/envoyfilter/patches";
import { gatewayCertificates } from "./analyzers/gateway/certificate";
import { conflictingGateways } from "./analyzers/gateway/conflicting";
import { gatewayPorts } from "./analyzers/gateway/ports";
import { gatewaySecrets } from "./analyzers/gateway/secret";
import { exportToNamespaces } from "./analyzers/generic/exportTo";
import { imageAuto } from "./analyzers/injection/imageAuto";
import { namespaceInjection } from "./analyzers/injection/namespaces";
import { serviceEntryAddresses } from "./analyzers/serviceentry/addresses";
import { sidecars } from "./analyzers/sidecar/sidecars";
import { canaryReplicas } from "./analyzers/stack/canaryReplicas";
import { circuitBreaker } from "./analyzers/stack/circuitBreaker";
import { faultRetries } from "./analyzers/stack/faultRetries";
import { rateLimitBudget } from "./analyzers/stack/rateLimitBudget";
import { shadowedMatches } from "./analyzers/stack/shadowedMatches";
import { telemetry } from "./analyzers/telemetry/telemetry";
import { conflictingMeshGatewayHosts } from "./analyzers/virtualservice/conflictingMeshGatewayHosts";
import { destinationHosts } from "./analyzers/virtualservice/destinationHosts";
import { destinationSubsets } from "./analyzers/virtualservice/destinationSubsets";
import { vsGateways } from "./analyzers/virtualservice/gateways";
import { jwtClaimRoute } from "./analyzers/virtualservice/jwtClaimRoute";
import { unreachableRules } from "./analyzers/virtualservice/unreachableRules";
import { applicationUid } from "./analyzers/workload/applicationUid";
import { portNames } from "./analyzers/workload/portNames";
import { serviceAssociation } from "./analyzers/workload/serviceAssociation";
import type { Analyzer } from "./model";

export const ANALYZERS: readonly Analyzer[] = [
  blockedCidrs,
  authorizationPolicies,
  principals,
  methods,
  mtlsRequired,
  uncoveredWorkloads,
  serviceAssociation,
  applicationUid,
  caCertificates,
  subsetPods,
  multiMatch,
  destinationRuleMtls,
  envoyFilterPatches,
  gatewayPorts,
  gatewaySecrets,
  gatewayCertificates,
  conflictingGateways,
  namespaceInjection,
  imageAuto,
  portNames,
  sidecars,
  conflictingMeshGatewayHosts,
  destinationHosts,
  destinationSubsets,
  vsGateways,
  jwtClaimRoute,
  unreachableRules,
  serviceEntryAddresses,
  exportToNamespaces,
  telemetry,
  canaryReplicas,
  faultRetries,
  rateLimitBudget,
  circuitBreaker,
  shadowedMatches,
];
