/**
 * What a metric tag may be: the rules `observability.metricTags` is parsed with and the policy pack's
 * `telemetry-metric-tags-bounded` enforces on any Telemetry, so the two cannot drift.
 *
 * A tag becomes a Prometheus label on every standard Istio metric, so each distinct value is a new
 * series per metric, workload pair, response code and histogram bucket, and a label value is readable
 * by anyone who can query Prometheus, Grafana or Kiali.
 */

/** A Prometheus label name; Istio's own tags are lowercase snake_case, so ours are too. */
export const TAG_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The attributes a tag may take, each with a small fixed set of values that no caller can grow.
 * Anything a client sends (a header, the host, the path, the method: HTTP/2 allows any token as
 * `:method`), an address or port, an id or a timestamp is unbounded and refused.
 */
export const BOUNDED_TAG_ATTRIBUTES: Readonly<Record<string, string>> = {
  "request.protocol": "HTTP/1.0, HTTP/1.1, HTTP/2 or HTTP/3",
  "response.code": "the HTTP status",
  "response.grpc_status": "the gRPC status code",
  "response.flags": "Envoy's response flags",
  "connection.mtls": "true or false",
  "connection.tls_version": "the downstream TLS version",
  "upstream.tls_version": "the upstream TLS version",
  "xds.cluster_name": "the Envoy cluster, one per service port and subset the mesh config defines",
  "xds.route_name": "the route name, from the VirtualServices",
};

/**
 * Label names the Prometheus scrape sets on every target (Istio 1.30.3's addon prometheus.yaml, the
 * prometheus-community chart's default `kubernetes-pods` and `kubernetes-service-endpoints` jobs):
 * `job` and `instance`, `namespace`, `pod`, `node`, `service`, `metrics_path`, and each pod label
 * through `labelmap` (`app`, `version`, `pod_template_hash`, Istio's injected labels). Those jobs set
 * `honor_labels: true`, so a tag of the same name would overwrite the target's label.
 */
export const RESERVED_TAG_NAMES: readonly string[] = [
  "job",
  "instance",
  "namespace",
  "pod",
  "node",
  "service",
  "metrics_path",
  "app",
  "version",
  "pod_template_hash",
  "istio",
  "sidecar_istio_io_inject",
  "service_istio_io_canonical_name",
  "service_istio_io_canonical_revision",
];
/** Pod labels of the `app.kubernetes.io/*` family, which labelmap turns into `app_kubernetes_io_*`. */
const RESERVED_PREFIX = "app_kubernetes_io_";

/** Headers that carry credentials: a bearer JWT, a session cookie or an API key must never become a label. */
const CREDENTIAL = /authorization|cookie|x-api-key|x-auth-token|x-amz-security-token/i;

/** The lab's `%{REQUEST_ID}` is Envoy access-log syntax, which the Telemetry API does not evaluate. */
const ENVOY_FORMAT = /%[{A-Z]/;

/** What a tag is refused for, or undefined when it is accepted. */
export function metricTagProblem(name: string, expression: unknown): string | undefined {
  if (!TAG_NAME.test(name)) return "a tag name of lowercase letters, digits and '_'";
  if (RESERVED_TAG_NAMES.includes(name) || name.startsWith(RESERVED_PREFIX)) {
    return (
      `a tag name the Prometheus scrape does not set itself (not ${RESERVED_TAG_NAMES.join(", ")} ` +
      `or ${RESERVED_PREFIX}*: with honor_labels the tag would overwrite the target's label)`
    );
  }
  if (typeof expression !== "string") return `one of the bounded attributes ${boundedList()}`;
  if (CREDENTIAL.test(expression)) {
    return (
      "never a credential: a bearer token, cookie or API key in a label is readable by anyone with " +
      `Prometheus, Grafana or Kiali access; use one of ${boundedList()}`
    );
  }
  if (ENVOY_FORMAT.test(expression)) {
    return `an Istio attribute expression (Envoy's %{...} format is not evaluated here): one of ${boundedList()}`;
  }
  if (BOUNDED_TAG_ATTRIBUTES[expression.trim()] === undefined) {
    return (
      `one of the bounded attributes ${boundedList()}: a per-request, per-client or client-chosen value ` +
      "makes one Prometheus series per value (find single requests in Jaeger or the access log)"
    );
  }
  return undefined;
}

const boundedList = () => Object.keys(BOUNDED_TAG_ATTRIBUTES).join(", ");
