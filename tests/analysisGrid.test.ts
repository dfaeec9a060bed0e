/**
 * The analyzer's test grid (after Istio's analyzers_test.go): for every check, a change to a clean
 * world that makes it report the right code on the right object with the right message, and a close
 * variant (or the world itself) where it reports nothing.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ANALYZERS } from "../analysis/all";
import { blockedCidrs } from "../analysis/analyzers/authn/blockedCidrs";
import { authorizationPolicies } from "../analysis/analyzers/authz/authorizationPolicies";
import { methods } from "../analysis/analyzers/authz/methods";
import { mtlsRequired } from "../analysis/analyzers/authz/mtlsRequired";
import { principals } from "../analysis/analyzers/authz/principals";
import { uncoveredWorkloads } from "../analysis/analyzers/authz/uncoveredWorkloads";
import { caCertificates } from "../analysis/analyzers/destinationrule/caCertificates";
import { destinationRuleMtls } from "../analysis/analyzers/destinationrule/mtls";
import { multiMatch } from "../analysis/analyzers/destinationrule/multiMatch";
import { subsetPods } from "../analysis/analyzers/destinationrule/subsetPods";
import { envoyFilterPatches } from "../analysis/analyzers/envoyfilter/patches";
import { gatewayCertificates } from "../analysis/analyzers/gateway/certificate";
import { conflictingGateways } from "../analysis/analyzers/gateway/conflicting";
import { gatewayPorts } from "../analysis/analyzers/gateway/ports";
import { gatewaySecrets } from "../analysis/analyzers/gateway/secret";
import { exportToNamespaces } from "../analysis/analyzers/generic/exportTo";
import { imageAuto } from "../analysis/analyzers/injection/imageAuto";
import { namespaceInjection } from "../analysis/analyzers/injection/namespaces";
import { serviceEntryAddresses } from "../analysis/analyzers/serviceentry/addresses";
import { sidecars } from "../analysis/analyzers/sidecar/sidecars";
import { canaryReplicas } from "../analysis/analyzers/stack/canaryReplicas";
import { circuitBreaker } from "../analysis/analyzers/stack/circuitBreaker";
import { faultRetries } from "../analysis/analyzers/stack/faultRetries";
import { rateLimitBudget } from "../analysis/analyzers/stack/rateLimitBudget";
import { shadowedMatches } from "../analysis/analyzers/stack/shadowedMatches";
import { telemetry } from "../analysis/analyzers/telemetry/telemetry";
import { conflictingMeshGatewayHosts } from "../analysis/analyzers/virtualservice/conflictingMeshGatewayHosts";
import { destinationHosts } from "../analysis/analyzers/virtualservice/destinationHosts";
import { destinationSubsets } from "../analysis/analyzers/virtualservice/destinationSubsets";
import { vsGateways } from "../analysis/analyzers/virtualservice/gateways";
import { jwtClaimRoute } from "../analysis/analyzers/virtualservice/jwtClaimRoute";
import { unreachableRules } from "../analysis/analyzers/virtualservice/unreachableRules";
import { applicationUid } from "../analysis/analyzers/workload/applicationUid";
import { portNames } from "../analysis/analyzers/workload/portNames";
import { serviceAssociation } from "../analysis/analyzers/workload/serviceAssociation";
import type { Analyzer } from "../analysis/model";
import { analyze } from "../analysis/run";
import { type Change, world } from "./support/analysisWorld";

const lines = (change: Change, analyzer: Analyzer) =>
  analyze(world(change), [], [analyzer]).findings.map((f) => `${f.level} [${f.code}] (${f.origin}) ${f.message}`);

interface Case {
  readonly name: string;
  readonly analyzer: Analyzer;
  readonly fail: Change;
  readonly expect: readonly string[];
  /** Defaults to the world as it is. */
  readonly pass?: Change;
}

const vsRoutes = (http: string, extra = "") => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: backend }
spec:
  hosts: [web]
${extra}  http:
${http}`;

const gateway = (servers: string, selector = "{ istio: ingressgateway }", name = "web-gateway") => `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: ${name}, namespace: backend }
spec:
  selector: ${selector}
  servers:
${servers}`;

const webDr = (extra: string, name = "web") => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${name}, namespace: backend }
spec:
  host: web
${extra}`;

const envoyFilter = (patch: string, priority = "") => `
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: { name: patch, namespace: backend }
spec:
  workloadSelector: { labels: { app: web } }
${priority}  configPatches:
${patch}`;

const CASES: readonly Case[] = [
  {
    name: "a route to a host that is neither a Service nor a ServiceEntry",
    analyzer: destinationHosts,
    fail: { add: vsRoutes("    - route: [{ destination: { host: user-svc } }]") },
    expect: ['Error [IST0101] (VirtualService backend/web) Referenced host not found: "user-svc"'],
  },
  {
    name: "a mirror to a missing host",
    analyzer: destinationHosts,
    fail: { add: vsRoutes("    - route: [{ destination: { host: web } }]\n      mirror: { host: shadow }") },
    expect: ['Error [IST0101] (VirtualService backend/web) Referenced mirror host not found: "shadow"'],
    pass: { add: vsRoutes("    - route: [{ destination: { host: web } }]\n      mirror: { host: api.example.com }") },
  },
  {
    name: "a destination port the Service does not expose",
    analyzer: destinationHosts,
    fail: { add: vsRoutes("    - route: [{ destination: { host: web, port: { number: 8080 } } }]") },
    expect: ['Error [IST0101] (VirtualService backend/web) Referenced host:port not found: "web:8080"'],
    pass: { add: vsRoutes("    - route: [{ destination: { host: web, port: { number: 80 } } }]") },
  },
  {
    name: "no destination port for a Service with several",
    analyzer: destinationHosts,
    fail: {
      add: `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: backend }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80 }, { name: http-admin, port: 9090 }]`,
    },
    expect: [
      'Error [IST0112] (VirtualService backend/web) This VirtualService routes to a service "web" that exposes multiple ports [80 9090]. Specifying a port in the destination is required to disambiguate.',
      'Error [IST0112] (VirtualService backend/web-routes) This VirtualService routes to a service "web" that exposes multiple ports [80 9090]. Specifying a port in the destination is required to disambiguate.',
    ],
  },
  {
    name: "a subset-less gateway route to a host another VirtualService splits by subset",
    analyzer: destinationHosts,
    fail: {
      add: `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web-routes, namespace: backend }
spec:
  hosts: [web.example.com]
  gateways: [web-gateway]
  http: [{ route: [{ destination: { host: web } }] }]`,
    },
    expect: [
      "Warning [IST0140] (VirtualService backend/web-routes) Subset in virtual service backend/web has no effect on ingress gateway backend/web-routes requests",
    ],
  },
  {
    name: "a subset no DestinationRule defines",
    analyzer: destinationSubsets,
    fail: { add: vsRoutes("    - route: [{ destination: { host: web, subset: v3 } }]") },
    expect: [
      'Error [IST0101] (VirtualService backend/web) Referenced host+subset in destinationrule not found: "web+v3"',
    ],
  },
  {
    name: "a gateway that does not exist",
    analyzer: vsGateways,
    fail: {
      add: `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web-routes, namespace: backend }
spec:
  hosts: [web.example.com]
  gateways: [missing-gateway]
  http: [{ route: [{ destination: { host: web, subset: v1 } }] }]`,
    },
    expect: [
      'Error [IST0101] (VirtualService backend/web-routes) Referenced gateway not found: "missing-gateway"',
      "Warning [IST0132] (VirtualService backend/web-routes) one or more host [web.example.com] defined in VirtualService backend/web-routes not found in Gateway backend/missing-gateway.",
    ],
  },
  {
    name: "a VirtualService host its Gateway does not serve",
    analyzer: vsGateways,
    fail: {
      add: `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web-routes, namespace: backend }
spec:
  hosts: [shop.example.com]
  gateways: [backend/web-gateway]
  http: [{ route: [{ destination: { host: web, subset: v1 } }] }]`,
    },
    expect: [
      "Warning [IST0132] (VirtualService backend/web-routes) one or more host [shop.example.com] defined in VirtualService backend/web-routes not found in Gateway backend/web-gateway.",
    ],
  },
  {
    name: "two mesh VirtualServices for one host",
    analyzer: conflictingMeshGatewayHosts,
    fail: {
      add: `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web-canary, namespace: backend }
spec:
  hosts: [web.backend.svc.cluster.local]
  gateways: [mesh]
  http: [{ route: [{ destination: { host: web, subset: v2 } }] }]`,
    },
    expect: [
      "Error [IST0109] (VirtualService backend/web) The VirtualServices backend/web,backend/web-canary associated with mesh gateway define the same host */web.backend.svc.cluster.local which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.",
      "Error [IST0109] (VirtualService backend/web-canary) The VirtualServices backend/web,backend/web-canary associated with mesh gateway define the same host */web.backend.svc.cluster.local which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.",
    ],
    pass: {
      add: `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web-canary, namespace: backend }
spec:
  hosts: [web.backend.svc.cluster.local]
  gateways: [web-gateway]
  http: [{ route: [{ destination: { host: web, subset: v2 } }] }]`,
    },
  },
  {
    name: "a rule after a catch-all, and a duplicate match",
    analyzer: unreachableRules,
    fail: {
      add: vsRoutes(`    - name: all
      route: [{ destination: { host: web, subset: v1 } }]
    - name: beta
      match: [{ headers: { x-beta: { exact: "1" } } }]
      route: [{ destination: { host: web, subset: v2 } }]`),
    },
    expect: [
      'Warning [IST0130] (VirtualService backend/web) VirtualService rule "beta" not used (route without matches defined before).',
    ],
  },
  {
    name: "a duplicate match and a covered prefix",
    analyzer: unreachableRules,
    fail: {
      add: vsRoutes(`    - name: api
      match: [{ uri: { prefix: /api } }]
      route: [{ destination: { host: web, subset: v1 } }]
    - name: api-v2
      match: [{ uri: { prefix: /api/v2 } }, { uri: { prefix: /api } }]
      route: [{ destination: { host: web, subset: v2 } }]`),
    },
    expect: [
      'Info [IST0131] (VirtualService backend/web) VirtualService rule "api-v2" match #0 of prefix /api/v2 is not used (duplicate/overlapping match in rule #0 of prefix /api on "api").',
      'Info [IST0131] (VirtualService backend/web) VirtualService rule "api-v2" match #1 is not used (duplicate/overlapping match in rule "api").',
    ],
  },
  {
    name: "JWT-claim routing at a gateway without a RequestAuthentication on its pods",
    analyzer: jwtClaimRoute,
    fail: {
      add: `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web-routes, namespace: backend }
spec:
  hosts: [web.example.com]
  gateways: [web-gateway]
  http:
    - match: [{ headers: { "@request.auth.claims.role": { exact: admin } } }]
      route: [{ destination: { host: web, subset: v2 } }]`,
    },
    expect: [
      "Error [IST0149] (VirtualService backend/web-routes) The virtual service uses the JWT claim based routing (key: @request.auth.claims.role) but found no request authentication for the gateway (backend/web-gateway) pod (ingress). The request authentication must first be applied for the gateway pods to validate the JWT token and make the claims available for routing.",
    ],
  },
  {
    name: "a DestinationRule host that matches no service",
    analyzer: subsetPods,
    fail: { add: webDr("  subsets: [{ name: v1, labels: { version: v1 } }]").replace("host: web", "host: webb") },
    expect: [
      "Warning [IST0174] (DestinationRule backend/web) The host webb defined in the DestinationRule does not match any services in the mesh.",
    ],
  },
  {
    name: "a subset that selects no pods",
    analyzer: subsetPods,
    fail: { add: webDr("  subsets: [{ name: v3, labels: { version: v3 } }]") },
    expect: [
      "Error [IST0173] (DestinationRule backend/web) The Subset v3 defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).",
    ],
  },
  {
    name: "TLS origination without caCertificates",
    analyzer: caCertificates,
    fail: {
      add: `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: api, namespace: backend }
spec:
  host: api.example.com
  trafficPolicy:
    tls: { mode: SIMPLE }
    portLevelSettings: [{ port: { number: 443 }, tls: { mode: MUTUAL } }]`,
    },
    expect: [
      "Warning [IST0128] (DestinationRule backend/api) DestinationRule backend/api in namespace backend has TLS mode set to SIMPLE but no caCertificates are set to validate server identity for host: api.example.com",
      "Warning [IST0129] (DestinationRule backend/api) DestinationRule backend/api in namespace backend has TLS mode set to MUTUAL but no caCertificates are set to validate server identity for host: api.example.com at port number:443",
    ],
    pass: {
      add: `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: api, namespace: backend }
spec:
  host: api.example.com
  trafficPolicy: { tls: { mode: SIMPLE, caCertificates: /etc/ssl/certs/ca-certificates.crt } }`,
    },
  },
  {
    name: "two DestinationRules for one host",
    analyzer: multiMatch,
    fail: {
      add: webDr("  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }", "web-lb").replace(
        "host: web",
        "host: web.backend.svc.cluster.local",
      ),
    },
    expect: [
      "Warning [KIA0201] (DestinationRule backend/web) More than one DestinationRules for the same host subset combination: web.backend.svc.cluster.local (subsets v1, v2) (also in backend/web-lb)",
      "Warning [KIA0201] (DestinationRule backend/web-lb) More than one DestinationRules for the same host subset combination: web.backend.svc.cluster.local (also in backend/web)",
    ],
  },
  {
    name: "a rule without TLS settings under a namespace-wide ISTIO_MUTUAL rule",
    analyzer: destinationRuleMtls,
    fail: {
      add: `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: backend-mtls, namespace: backend }
spec: { host: "*.backend.svc.cluster.local", trafficPolicy: { tls: { mode: ISTIO_MUTUAL } } }`,
    },
    expect: [
      "Warning [KIA0204] (DestinationRule backend/web) mTLS settings of a non-local Destination Rule are overridden (by this rule for web.backend.svc.cluster.local; mTLS from backend/backend-mtls)",
    ],
  },
  {
    name: "a mesh-wide ISTIO_MUTUAL rule without auto mTLS or a mesh PeerAuthentication",
    analyzer: destinationRuleMtls,
    fail: {
      add: `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: mesh-mtls, namespace: istio-system }
spec: { host: "*.local", trafficPolicy: { tls: { mode: ISTIO_MUTUAL } } }`,
      mesh: { autoMtls: false },
    },
    expect: [
      "Warning [KIA0204] (DestinationRule backend/web) mTLS settings of a non-local Destination Rule are overridden (by this rule for web.backend.svc.cluster.local; mTLS from istio-system/mesh-mtls)",
      "Error [KIA0205] (DestinationRule istio-system/mesh-mtls) PeerAuthentication enabling mTLS at mesh level is missing",
    ],
    pass: {
      add: `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: mesh-mtls, namespace: istio-system }
spec: { host: "*.local", trafficPolicy: { tls: { mode: ISTIO_MUTUAL } } }`,
      remove: ["DestinationRule backend/web"],
    },
  },
  {
    name: "a namespace-wide ISTIO_MUTUAL rule without any PeerAuthentication enabling mTLS",
    analyzer: destinationRuleMtls,
    fail: {
      add: `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ns-mtls, namespace: backend }
spec: { host: "*.backend.svc.cluster.local", trafficPolicy: { tls: { mode: ISTIO_MUTUAL } } }`,
      remove: ["PeerAuthentication backend/default"],
      mesh: { autoMtls: false },
    },
    expect: [
      "Error [KIA0206] (DestinationRule backend/ns-mtls) PeerAuthentication enabling namespace-wide mTLS is missing",
      "Warning [KIA0204] (DestinationRule backend/web) mTLS settings of a non-local Destination Rule are overridden (by this rule for web.backend.svc.cluster.local; mTLS from backend/ns-mtls)",
    ],
  },
  {
    name: "a namespace-wide DISABLE rule under a STRICT PeerAuthentication",
    analyzer: destinationRuleMtls,
    fail: {
      add: `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: no-mtls, namespace: backend }
spec: { host: "*.backend.svc.cluster.local", trafficPolicy: { tls: { mode: DISABLE } } }`,
    },
    expect: [
      "Error [KIA0207] (DestinationRule backend/no-mtls) PeerAuthentication with TLS strict mode found, it should be permissive",
    ],
  },
  {
    name: "a mesh-wide DISABLE rule under a STRICT mesh PeerAuthentication",
    analyzer: destinationRuleMtls,
    fail: {
      add: `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: no-mtls, namespace: istio-system }
spec: { host: "*.local", trafficPolicy: { tls: { mode: DISABLE } } }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }`,
    },
    expect: [
      "Error [KIA0208] (DestinationRule istio-system/no-mtls) PeerAuthentication enabling mTLS found, permissive mode needed",
    ],
  },
  {
    name: "a Gateway port the gateway Service does not expose",
    analyzer: gatewayPorts,
    fail: {
      add: gateway("    - { port: { number: 8000, name: http-alt, protocol: HTTP }, hosts: [web.example.com] }"),
    },
    expect: [
      "Warning [IST0162] (Gateway backend/web-gateway) The gateway is listening on a target port (port 8000) that is not defined in the Service associated with its workload instances (Pod selector istio=ingressgateway). If you need to access the gateway port through the gateway Service, it will not be available.",
    ],
    pass: {
      add: gateway("    - { port: { number: 8443, name: https-target, protocol: HTTP }, hosts: [web.example.com] }"),
    },
  },
  {
    name: "a Gateway selector that matches no pods",
    analyzer: gatewayPorts,
    fail: {
      add: gateway(
        "    - { port: { number: 80, name: http, protocol: HTTP }, hosts: [web.example.com] }",
        "{ istio: egressgateway }",
      ),
    },
    expect: ['Error [IST0101] (Gateway backend/web-gateway) Referenced selector not found: "istio=egressgateway"'],
  },
  {
    name: "a credentialName with no Secret in the gateway pods' namespace",
    analyzer: gatewaySecrets,
    fail: {
      add: gateway(
        "    - port: { number: 443, name: https, protocol: HTTPS }\n      hosts: [web.example.com]\n      tls: { mode: SIMPLE, credentialName: api-cert }",
      ),
    },
    expect: ['Error [IST0101] (Gateway backend/web-gateway) Referenced credentialName not found: "api-cert"'],
  },
  {
    name: "a credential Secret without a certificate",
    analyzer: gatewaySecrets,
    fail: {
      add: `
apiVersion: v1
kind: Secret
metadata: { name: web-cert, namespace: istio-ingress }
type: kubernetes.io/tls
stringData: { tls.crt: "not a certificate", tls.key: "key" }`,
    },
    expect: [
      "Error [IST0161] (Gateway backend/web-gateway) The credential referenced by the Gateway web-gateway in namespace istio-ingress is invalid, which can cause the traffic not to work as expected.",
    ],
  },
  {
    name: "two Gateways on the same pods, port and host",
    analyzer: conflictingGateways,
    fail: {
      add: gateway(
        "    - { port: { number: 80, name: http, protocol: HTTP }, hosts: [web.example.com] }",
        undefined,
        "web-gateway-2",
      ),
    },
    expect: [
      "Error [IST0145] (Gateway backend/web-gateway) Conflict with gateways backend/web-gateway-2 (workload selector istio=ingressgateway, port 80, hosts web.example.com).",
      "Error [IST0145] (Gateway backend/web-gateway-2) Conflict with gateways backend/web-gateway (workload selector istio=ingressgateway, port 80, hosts web.example.com).",
    ],
    pass: {
      add: gateway(
        "    - { port: { number: 80, name: http, protocol: HTTP }, hosts: [shop.example.com] }",
        undefined,
        "web-gateway-2",
      ),
    },
  },
  {
    name: "a policy selector with no workload, and a source namespace that does not exist",
    analyzer: authorizationPolicies,
    fail: {
      add: `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: web-allow, namespace: backend }
spec:
  selector: { matchLabels: { app: webb } }
  rules: [{ from: [{ source: { namespaces: [frontend] } }] }]`,
    },
    expect: [
      'Error [IST0101] (AuthorizationPolicy backend/web-allow) Referenced namespace not found: "frontend"',
      "Warning [IST0127] (AuthorizationPolicy backend/web-allow) No matching workloads for this resource with the following labels: app=webb",
    ],
  },
  {
    name: "principals whose namespace or service account does not exist",
    analyzer: principals,
    fail: {
      add: `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: web-allow, namespace: backend }
spec:
  selector: { matchLabels: { app: web } }
  rules:
    - from:
        - source:
            principals: [cluster.local/ns/istio-ingress/sa/istio-ingressgateway, cluster.local/ns/frontend/sa/web]`,
    },
    expect: [
      'Warning [KIA0101] (AuthorizationPolicy backend/web-allow) Namespace not found for this rule: "frontend"',
      'Error [KIA0106] (AuthorizationPolicy backend/web-allow) Service Account not found for this principal: "cluster.local/ns/istio-ingress/sa/istio-ingressgateway"',
    ],
  },
  {
    name: "principals on workloads where mTLS is disabled",
    analyzer: mtlsRequired,
    fail: {
      add: `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: backend }
spec: { mtls: { mode: DISABLE } }`,
    },
    expect: [
      "Error [KIA0105] (AuthorizationPolicy backend/web-allow) This field requires mTLS to be enabled: spec/rules[0]/from[0]/source/principals",
    ],
  },
  {
    name: "served workloads no ALLOW rule covers under deny-by-default",
    analyzer: uncoveredWorkloads,
    fail: { remove: ["AuthorizationPolicy backend/web-allow"] },
    expect: [
      "Warning [KIA1301] (Deployment backend/web-v1) This workload is not covered by any authorization policy: AuthorizationPolicy backend/allow-nothing denies by default and no ALLOW rule selects it",
      "Warning [KIA1301] (Deployment backend/web-v2) This workload is not covered by any authorization policy: AuthorizationPolicy backend/allow-nothing denies by default and no ALLOW rule selects it",
    ],
  },
  {
    name: "a namespace without an injection label, and one with two",
    analyzer: namespaceInjection,
    fail: {
      add: `
apiVersion: v1
kind: Namespace
metadata: { name: istio-ingress }
---
apiVersion: v1
kind: Namespace
metadata: { name: backend, labels: { istio-injection: enabled, istio.io/rev: canary } }`,
    },
    expect: [
      "Warning [IST0123] (Namespace backend) The namespace has more than one type of injection labels [istio-injection=enabled istio.io/rev=canary], which may lead to undefined behavior. Make sure only one injection label exists.",
      "Info [IST0102] (Namespace istio-ingress) The namespace is not enabled for Istio injection. Run 'kubectl label namespace istio-ingress istio-injection=enabled' to enable it, or 'kubectl label namespace istio-ingress istio-injection=disabled' to explicitly mark it as not needing injection.",
    ],
  },
  {
    name: "`image: auto` where no injection webhook applies",
    analyzer: imageAuto,
    fail: {
      add: `
apiVersion: v1
kind: Namespace
metadata: { name: istio-ingress, labels: { istio-injection: disabled } }
---
apiVersion: v1
kind: Pod
metadata: { name: debug, namespace: backend }
spec: { containers: [{ name: istio-proxy, image: auto }] }`,
    },
    expect: [
      "Warning [IST0146] (Deployment istio-ingress/ingress) Deployment ingress contains `image: auto` but does not match any Istio injection webhook selectors.",
      "Error [IST0147] (Pod backend/debug) Pod debug contains `image: auto` but does not match any Istio injection webhook selectors.",
    ],
  },
  {
    name: "a Service port name that names no protocol",
    analyzer: portNames,
    fail: {
      add: `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: backend }
spec:
  selector: { app: web }
  ports: [{ name: web, port: 80, targetPort: 8080 }]`,
    },
    expect: [
      "Info [IST0118] (Service backend/web) Port name web (port: 80, targetPort: 8080) doesn't follow the naming convention of Istio port.",
    ],
    pass: {
      add: `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: backend }
spec:
  selector: { app: web }
  ports: [{ name: web, port: 80, targetPort: 8080, appProtocol: http }]`,
    },
  },
  {
    name: "an application container running as the proxy's UID 1337",
    analyzer: applicationUid,
    fail: {
      add: `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web-v1, namespace: backend }
spec:
  replicas: 2
  template:
    metadata: { labels: { app: web, version: v1 } }
    spec: { containers: [{ name: web, image: "example/web:1.0.0", securityContext: { runAsUser: 1337 } }] }`,
    },
    expect: ["Warning [IST0144] (Deployment backend/web-v1) User ID (UID) 1337 is reserved for the sidecar proxy."],
  },
  {
    name: "Services that disagree on a Deployment's port protocol and target port",
    analyzer: serviceAssociation,
    fail: {
      add: `
apiVersion: v1
kind: Service
metadata: { name: web-udp, namespace: backend }
spec:
  selector: { app: web, version: v1 }
  ports: [{ name: udp-dns, port: 80, protocol: UDP, targetPort: 9090 }, { name: http-alt, port: 81, targetPort: 8080 }]`,
    },
    expect: [
      "Warning [IST0116] (Deployment backend/web-v1) This deployment web-v1 is associated with multiple services using port 80 but different protocols: [backend/web backend/web-udp]",
      'Warning [IST0137] (Deployment backend/web-v1) This deployment web-v1 is associated with multiple services [backend/web backend/web-udp] using targetPort "8080" but different ports: [80 81].',
    ],
  },
  {
    name: "EnvoyFilter patches Istio ignores or may apply in any order",
    analyzer: envoyFilterPatches,
    fail: {
      add: envoyFilter(`    - { applyTo: HTTP_ROUTE, patch: { operation: ADD, value: {} } }
    - { applyTo: ROUTE_CONFIGURATION, patch: { operation: REMOVE } }
    - { applyTo: CLUSTER, patch: { operation: REPLACE, value: {} } }
    - applyTo: HTTP_FILTER
      match: { proxy: { proxyVersion: "^1\\\\.30.*" } }
      patch: { operation: INSERT_FIRST, value: { name: envoy.filters.http.lua } }
    - { applyTo: HTTP_FILTER, patch: { operation: INSERT_BEFORE, value: { name: envoy.filters.http.lua } } }`),
    },
    expect: [
      "Error [IST0152] (EnvoyFilter backend/patch) The REPLACE operation is only valid for HTTP_FILTER and NETWORK_FILTER.",
      "Error [IST0153] (EnvoyFilter backend/patch) The ADD operation will be ignored when applyTo is set to ROUTE_CONFIGURATION, or HTTP_ROUTE.",
      "Error [IST0154] (EnvoyFilter backend/patch) The REMOVE operation will be ignored when applyTo is set to ROUTE_CONFIGURATION, or HTTP_ROUTE.",
      "Warning [IST0155] (EnvoyFilter backend/patch) This EnvoyFilter does not have a priority and has a relative patch operation (NSTERT_BEFORE/AFTER, REPLACE, MERGE, DELETE) and proxyVersion set which can cause the EnvoyFilter not to be applied during an upgrade. Using the INSERT_FIRST or ADD option or setting the priority may help in ensuring the EnvoyFilter is applied correctly.",
    ],
    pass: {
      add: envoyFilter(
        "    - { applyTo: HTTP_FILTER, patch: { operation: INSERT_BEFORE, value: { name: envoy.filters.http.lua } } }",
        "  priority: 10\n",
      ),
    },
  },
  {
    name: "a relative EnvoyFilter patch without a priority",
    analyzer: envoyFilterPatches,
    fail: {
      add: envoyFilter(
        "    - { applyTo: HTTP_FILTER, patch: { operation: INSERT_BEFORE, value: { name: envoy.filters.http.lua } } }",
      ),
    },
    expect: [
      "Warning [IST0151] (EnvoyFilter backend/patch) This EnvoyFilter does not have a priority and has a relative patch operation set which can cause the EnvoyFilter not to be applied. Using the INSERT_FIRST of ADD option or setting the priority may help in ensuring the EnvoyFilter is applied correctly.",
    ],
  },
  {
    name: "a TCP ServiceEntry without addresses",
    analyzer: serviceEntryAddresses,
    fail: {
      add: `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db, namespace: backend }
spec: { hosts: [db.example.com], ports: [{ number: 5432, name: tcp-postgres, protocol: TCP }], resolution: DNS }`,
    },
    expect: ["Warning [IST0134] (ServiceEntry backend/db) ServiceEntry addresses are required for this protocol."],
    pass: {
      add: `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db, namespace: backend }
spec: { hosts: [db.example.com], addresses: [10.0.0.5/32], ports: [{ number: 5432, name: tcp-postgres, protocol: TCP }], resolution: DNS }`,
    },
  },
  {
    name: "Telemetries: empty access-log providers, an unmatched selector, two selecting one pod, two without a selector",
    analyzer: telemetry,
    fail: {
      add: `
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: logs, namespace: istio-system }
spec: { accessLogging: [{}] }
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: a, namespace: backend }
spec: { selector: { matchLabels: { app: web, version: v2 } } }
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: b, namespace: backend }
spec: { selector: { matchLabels: { version: v2 } } }
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: c, namespace: backend }
spec: { selector: { matchLabels: { app: api } } }`,
    },
    expect: [
      'Error [IST0159] (Telemetry backend/a) The Telemetries [a b] in namespace "backend" select the same workload pod "web-v2", which can lead to undefined behavior.',
      'Error [IST0159] (Telemetry backend/b) The Telemetries [a b] in namespace "backend" select the same workload pod "web-v2", which can lead to undefined behavior.',
      'Error [IST0101] (Telemetry backend/c) Referenced selector not found: "app=api"',
      'Warning [IST0157] (Telemetry istio-system/logs) The Telemetry logs in namespace "istio-system" with empty providers will be ignored.',
      'Error [IST0160] (Telemetry istio-system/logs) The Telemetries [logs mesh-default] in namespace "istio-system" have no workload selector, which can lead to undefined behavior.',
      'Error [IST0160] (Telemetry istio-system/mesh-default) The Telemetries [logs mesh-default] in namespace "istio-system" have no workload selector, which can lead to undefined behavior.',
    ],
  },
  {
    name: "RequestAuthentications while istiod does not restrict JWKS fetches",
    analyzer: blockedCidrs,
    fail: {
      add: `
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: web-jwt, namespace: backend }
spec: { jwtRules: [{ issuer: https://issuer.example, jwksUri: https://issuer.example/jwks }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: istiod, namespace: istio-system, labels: { app: istiod, istio: pilot } }
spec: { template: { metadata: { labels: { app: istiod } }, spec: { containers: [{ name: discovery, image: "istio/pilot:1.30.3" }] } } }`,
    },
    expect: [
      "Warning [IST0175] (Deployment istio-system/istiod) BLOCKED_CIDRS_IN_JWKS_URIS is not configured but 1 RequestAuthentication resource(s) exist (backend/web-jwt). Consider configuring it to restrict JWKS URI fetches to trusted networks.",
    ],
    pass: {
      add: `
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: web-jwt, namespace: backend }
spec: { jwtRules: [{ issuer: https://issuer.example, jwksUri: https://issuer.example/jwks }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: istiod, namespace: istio-system, labels: { app: istiod, istio: pilot } }
spec:
  template:
    metadata: { labels: { app: istiod } }
    spec: { containers: [{ name: discovery, image: "istio/pilot:1.30.3", env: [{ name: BLOCKED_CIDRS_IN_JWKS_URIS, value: 10.0.0.0/8 }] }] }`,
    },
  },
  {
    name: "canary weight on a version scaled to zero",
    analyzer: canaryReplicas,
    fail: {
      add: `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web-v2, namespace: backend }
spec:
  replicas: 0
  template:
    metadata: { labels: { app: web, version: v2 } }
    spec: { containers: [{ name: web, image: "example/web:2.0.0" }] }`,
    },
    expect: [
      'Error [MESH0001] (VirtualService backend/web-routes) Route "beta" sends 100% of its traffic to subset "v2", whose workloads run 0 replicas: those requests fail 503',
      'Error [MESH0001] (VirtualService backend/web-routes) Route "main" sends 10% of its traffic to subset "v2", whose workloads run 0 replicas: those requests fail 503',
    ],
  },
  {
    name: "a fault on a route that counts on retries",
    analyzer: faultRetries,
    fail: {
      add: vsRoutes(`    - route: [{ destination: { host: web, subset: v1 } }]
      fault: { abort: { httpStatus: 500, percentage: { value: 30 } } }
      retries: { attempts: 3, perTryTimeout: 2s, retryOn: 5xx }`),
    },
    expect: [
      "Warning [MESH0002] (VirtualService backend/web) Route #0 injects a fault and sets retries (3 attempts on 5xx), which Istio turns off on a route with a client-side fault (VirtualService HTTPRoute.fault; istio/istio#13705): none of the fault's failures is retried",
    ],
    pass: {
      add: vsRoutes(`    - route: [{ destination: { host: web, subset: v1 } }]
      fault: { abort: { httpStatus: 500, percentage: { value: 30 } } }`),
    },
  },
  {
    name: "a rate limit below verify's beta sample",
    analyzer: rateLimitBudget,
    fail: {
      add: envoyFilter(`    - applyTo: HTTP_FILTER
      patch:
        operation: INSERT_BEFORE
        value:
          name: envoy.filters.http.local_ratelimit
          typed_config: { token_bucket: { max_tokens: 5, tokens_per_fill: 5, fill_interval: 60s } }`),
    },
    expect: [
      'Warning [MESH0003] (EnvoyFilter backend/patch) The local rate limit on backend/web+v2 admits 5 requests per 60s across 1 pod(s) of subset "v2", fewer than the 20 that verify\'s beta-header check sends there: it would fail with 429s',
    ],
    pass: {
      add: envoyFilter(`    - applyTo: HTTP_FILTER
      patch:
        operation: INSERT_BEFORE
        value:
          name: envoy.filters.http.local_ratelimit
          typed_config: { token_bucket: { max_tokens: 100, tokens_per_fill: 100, fill_interval: 60s } }`),
    },
  },
  {
    name: "a connection pool tighter than the tools' concurrency",
    analyzer: circuitBreaker,
    fail: {
      add: webDr(`  trafficPolicy:
    connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1 } }
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }`),
    },
    expect: [
      "Warning [MESH0004] (DestinationRule backend/web) The connection pool for web.backend admits 8 requests in flight (maxConnections 1 + 3 endpoint(s) x 2 Envoy workers + http1MaxPendingRequests 1), fewer than the 10 concurrent requests verify and bench send: the surplus gets 503 UO",
    ],
    pass: {
      add: webDr(`  trafficPolicy:
    connectionPool: { tcp: { maxConnections: 10 }, http: { http1MaxPendingRequests: 10 } }
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }`),
    },
  },
  {
    name: "a beta-header rule after the broader rule that takes its requests",
    analyzer: shadowedMatches,
    fail: {
      add: vsRoutes(`    - name: users
      match: [{ uri: { prefix: /users } }]
      route: [{ destination: { host: web, subset: v1 } }]
    - name: users-beta
      match: [{ uri: { prefix: /users }, headers: { x-beta: { exact: "1" } } }]
      route: [{ destination: { host: web, subset: v2 } }]`),
    },
    expect: [
      'Warning [MESH0005] (VirtualService backend/web) VirtualService rule "users-beta" is never reached for its match #0: the earlier rule "users" matches every such request',
    ],
    pass: {
      add: vsRoutes(`    - name: users-beta
      match: [{ uri: { prefix: /users }, headers: { x-beta: { exact: "1" } } }]
      route: [{ destination: { host: web, subset: v2 } }]
    - name: users
      match: [{ uri: { prefix: /users } }]
      route: [{ destination: { host: web, subset: v1 } }]`),
    },
  },
  {
    name: "an ExternalName Service with a port named tcp",
    analyzer: portNames,
    fail: {
      add: `
apiVersion: v1
kind: Service
metadata: { name: legacy, namespace: backend }
spec: { type: ExternalName, externalName: db.example.com, ports: [{ name: tcp, port: 5432 }] }`,
    },
    expect: [
      "Warning [IST0150] (Service backend/legacy) Port name for ExternalName service is invalid. Proxy may prevent tcp named ports and unmatched traffic for ports serving TCP protocol from being forwarded correctly",
    ],
    pass: {
      add: `
apiVersion: v1
kind: Service
metadata: { name: legacy, namespace: backend }
spec: { type: ExternalName, externalName: db.example.com, ports: [{ name: tcp-postgres, port: 5432 }] }`,
    },
  },
  {
    name: "a VirtualService bound to a Gateway istiod generated for the Gateway API",
    analyzer: vsGateways,
    fail: {
      add: `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web-routes, namespace: backend }
spec:
  hosts: [web.example.com]
  gateways: [backend/web~istio-autogenerated-k8s-gateway~http]
  http: [{ route: [{ destination: { host: web, subset: v1 } }] }]`,
    },
    expect: [
      "Warning [IST0165] (VirtualService backend/web-routes) Gateway reference in VirtualService backend/web-routes is to an implementation-generated internal Gateway: backend/web~istio-autogenerated-k8s-gateway~http.",
    ],
  },
  {
    name: "an AuthorizationPolicy method that is no HTTP method",
    analyzer: methods,
    fail: {
      add: `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: web-allow, namespace: backend }
spec:
  selector: { matchLabels: { app: web } }
  rules: [{ to: [{ operation: { methods: [GET, "PO*", "*TCH", Fetch] } }] }]`,
    },
    expect: [
      'Warning [KIA0102] (AuthorizationPolicy backend/web-allow) Only HTTP methods and Istio wildcards are allowed: "Fetch"',
    ],
  },
  {
    name: "an exportTo namespace that does not exist",
    analyzer: exportToNamespaces,
    fail: {
      add: `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: backend }
spec:
  hosts: [api.example.com]
  exportTo: [".", istio-egres]
  ports: [{ number: 443, name: https, protocol: HTTPS }]
  resolution: DNS`,
    },
    expect: [
      'Error [KIA0005] (ServiceEntry backend/api) No matching namespace found or namespace is not accessible: "istio-egres"',
    ],
    pass: {
      add: `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: backend }
spec:
  hosts: [api.example.com]
  exportTo: [".", istio-ingress]
  ports: [{ number: 443, name: https, protocol: HTTPS }]
  resolution: DNS`,
    },
  },
  {
    name: "two Gateways on the same pods serving one certificate",
    analyzer: gatewayCertificates,
    fail: {
      add: gateway(
        "    - port: { number: 443, name: https, protocol: HTTPS }\n      hosts: [shop.example.com]\n      tls: { mode: SIMPLE, credentialName: web-cert }",
        undefined,
        "shop-gateway",
      ),
    },
    expect: [
      "Warning [IST0138] (Gateway backend/shop-gateway) Duplicate certificate in multiple gateways [backend/shop-gateway backend/web-gateway] may cause 404s if clients re-use HTTP2 connections.",
      "Warning [IST0138] (Gateway backend/web-gateway) Duplicate certificate in multiple gateways [backend/web-gateway backend/shop-gateway] may cause 404s if clients re-use HTTP2 connections.",
    ],
    pass: {
      add: gateway(
        "    - port: { number: 443, name: https, protocol: HTTPS }\n      hosts: [shop.example.com]\n      tls: { mode: SIMPLE, credentialName: shop-cert }",
        undefined,
        "shop-gateway",
      ),
    },
  },
  {
    name: "Sidecars: an unmatched selector, two on one pod, two without a selector, one on an ambient pod",
    analyzer: sidecars,
    fail: {
      add: `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: a, namespace: backend }
spec: { workloadSelector: { labels: { app: web, version: v1 } } }
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: b, namespace: backend }
spec: { workloadSelector: { labels: { version: v1 } } }
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: c, namespace: backend }
spec: { workloadSelector: { labels: { app: api } } }
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: d, namespace: backend }
spec: {}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: e, namespace: backend }
spec: {}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: f, namespace: backend }
spec: { workloadSelector: { labels: { app: ztunnel-app } } }
---
apiVersion: v1
kind: Pod
metadata: { name: ztunnel-app, namespace: backend, labels: { app: ztunnel-app }, annotations: { ambient.istio.io/redirection: enabled } }
spec: { containers: [{ name: app, image: "example/app:1" }] }`,
    },
    expect: [
      'Error [IST0110] (Sidecar backend/a) The Sidecars [a b] in namespace "backend" select the same workload pod "web-v1", which can lead to undefined behavior.',
      'Error [IST0110] (Sidecar backend/b) The Sidecars [a b] in namespace "backend" select the same workload pod "web-v1", which can lead to undefined behavior.',
      'Error [IST0101] (Sidecar backend/c) Referenced selector not found: "app=api"',
      'Error [IST0111] (Sidecar backend/d) The Sidecars [d e] in namespace "backend" have no workload selector, which can lead to undefined behavior.',
      'Error [IST0111] (Sidecar backend/e) The Sidecars [d e] in namespace "backend" have no workload selector, which can lead to undefined behavior.',
      "Warning [IST0167] (Sidecar backend/f) The policy has no impact: selected workload is in ambient mode, the policy has no impact.",
    ],
  },
];

describe("the analyzer test grid", () => {
  test("the clean world gives no finding from any analyzer", () => {
    const result = analyze(world());
    assert.deepEqual(
      result.findings.map((f) => `${f.code} ${f.origin}`),
      [],
    );
  });

  test("every analyzer has at least one failing case, and every code it declares is expected somewhere", () => {
    const covered = new Set(CASES.map((c) => c.analyzer.name));
    assert.deepEqual(
      ANALYZERS.map((a) => a.name).filter((n) => !covered.has(n)),
      [],
    );
    const expected = new Set(CASES.flatMap((c) => c.expect.map((l) => /\[([A-Z]+\d+)\]/.exec(l)?.[1])));
    assert.deepEqual(
      ANALYZERS.flatMap((a) => a.codes).filter((code) => !expected.has(code)),
      [],
    );
  });

  for (const c of CASES) {
    test(`${c.analyzer.name}: ${c.name}`, () => {
      // Order is run.ts's (istioctl's sort), tested in analysisRun.test.ts; here only the set matters.
      assert.deepEqual(lines(c.fail, c.analyzer).sort(), [...c.expect].sort());
      const codes = new Set(c.expect.map((l) => /\[([A-Z]+\d+)\]/.exec(l)?.[1]));
      const passing = lines(c.pass ?? {}, c.analyzer).filter((l) => codes.has(/\[([A-Z]+\d+)\]/.exec(l)?.[1]));
      assert.deepEqual(passing, []);
    });
  }
});
