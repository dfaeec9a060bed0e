/**
 * A small, clean mesh for the analyzer's test grid (the way Istio's analyzers_test.go pairs a YAML
 * fixture with expected messages): one injected namespace with a two-version service, its
 * DestinationRule and VirtualServices, an ingress gateway with its pods, Service and TLS Secret, mTLS
 * and deny-by-default authorization. Every analyzer finds nothing here; each case changes one thing.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as YAML from "yaml";
import { PROJECT_LOAD } from "../../analysis/facts";
import {
  type AnalysisInput,
  DEFAULT_MESH,
  friendlyName,
  type MeshFacts,
  type Resource,
  toResource,
} from "../../analysis/model";

const CERT = readFileSync(join(__dirname, "..", "fixtures", "analysis", "web-cert.pem"), "utf8");
const b64 = (s: string) => Buffer.from(s).toString("base64");

export const WORLD = `
apiVersion: v1
kind: Namespace
metadata: { name: backend, labels: { istio-injection: enabled } }
---
apiVersion: v1
kind: Namespace
metadata: { name: istio-system }
---
apiVersion: v1
kind: Namespace
metadata: { name: istio-ingress, labels: { istio-injection: enabled } }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: web, namespace: backend }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: ingress, namespace: istio-ingress }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: backend }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web-v1, namespace: backend }
spec:
  replicas: 2
  template:
    metadata: { labels: { app: web, version: v1 } }
    spec:
      serviceAccountName: web
      containers: [{ name: web, image: "example/web:1.0.0", securityContext: { runAsUser: 65532 } }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web-v2, namespace: backend }
spec:
  replicas: 1
  template:
    metadata: { labels: { app: web, version: v2 } }
    spec:
      serviceAccountName: web
      containers: [{ name: web, image: "example/web:2.0.0" }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: ingress, namespace: istio-ingress, labels: { istio: ingressgateway } }
spec:
  replicas: 1
  template:
    metadata: { labels: { app: ingress, istio: ingressgateway, sidecar.istio.io/inject: "true" } }
    spec:
      serviceAccountName: ingress
      containers: [{ name: istio-proxy, image: auto }]
---
apiVersion: v1
kind: Service
metadata: { name: ingress, namespace: istio-ingress, labels: { istio: ingressgateway } }
spec:
  selector: { istio: ingressgateway }
  ports:
    - { name: http2, port: 80, targetPort: 8080, protocol: TCP }
    - { name: https, port: 443, targetPort: 8443, protocol: TCP }
---
apiVersion: v1
kind: Secret
metadata: { name: web-cert, namespace: istio-ingress }
type: kubernetes.io/tls
data: { tls.crt: "${b64(CERT)}", tls.key: "${b64("test fixture: the analyzer only checks a key is present")}" }
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: { name: istio-sidecar-injector }
webhooks:
  - name: namespace.sidecar-injector.istio.io
    namespaceSelector: { matchExpressions: [{ key: istio-injection, operator: In, values: [enabled] }] }
    objectSelector: { matchExpressions: [{ key: sidecar.istio.io/inject, operator: NotIn, values: ["false"] }] }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: web-gateway, namespace: backend }
spec:
  selector: { istio: ingressgateway }
  servers:
    - port: { number: 80, name: http, protocol: HTTP }
      hosts: [web.example.com]
    - port: { number: 443, name: https, protocol: HTTPS }
      hosts: [web.example.com]
      tls: { mode: SIMPLE, credentialName: web-cert }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: web, namespace: backend }
spec:
  host: web
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web-routes, namespace: backend }
spec:
  hosts: [web.example.com]
  gateways: [web-gateway]
  http:
    - name: beta
      match: [{ headers: { x-beta: { exact: "1" } } }]
      route: [{ destination: { host: web, subset: v2 } }]
    - name: main
      route:
        - { destination: { host: web, subset: v1 }, weight: 90 }
        - { destination: { host: web, subset: v2 }, weight: 10 }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: backend }
spec:
  hosts: [web]
  http:
    - route: [{ destination: { host: web, subset: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: backend }
spec:
  hosts: [api.example.com]
  ports: [{ number: 443, name: https, protocol: HTTPS }]
  location: MESH_EXTERNAL
  resolution: DNS
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: backend }
spec: { mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: backend }
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: web-allow, namespace: backend }
spec:
  selector: { matchLabels: { app: web } }
  action: ALLOW
  rules: [{ from: [{ source: { principals: [cluster.local/ns/istio-ingress/sa/ingress] } }] }]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec:
  tracing: [{ providers: [{ name: jaeger }] }]
`;

const parseObjects = (yaml: string): Resource[] =>
  YAML.parseAllDocuments(yaml).flatMap((d) => toResource(d.toJS(), "file", "fixture") ?? []);

export interface Change {
  /** YAML documents added to the world; one with the kind, namespace and name of a world object replaces it. */
  readonly add?: string;
  /** `Kind namespace/name` of world objects to drop. */
  readonly remove?: readonly string[];
  readonly mesh?: Partial<MeshFacts>;
}

export function world(change: Change = {}): AnalysisInput {
  const added = parseObjects(change.add ?? "");
  const replaced = new Set(added.map(friendlyName));
  const dropped = new Set(change.remove ?? []);
  const base = parseObjects(WORLD).filter((r) => !replaced.has(friendlyName(r)) && !dropped.has(friendlyName(r)));
  return {
    resources: [...base, ...added],
    mesh: { ...DEFAULT_MESH, ...change.mesh },
    load: PROJECT_LOAD,
    mode: "stack",
  };
}
