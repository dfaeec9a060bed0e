/**
 * The closed egress gateway: mTLS from the mesh, an AuthorizationPolicy admitting only the backend
 * namespace, a NetworkPolicy fencing backend pods in, all cross-checked against what Istio 1.30.3's
 * gateway chart renders for our values (tests/fixtures/egress-gateway-chart.json, its provenance
 * inside), and the pack's egress-gateway-closed policy.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { buildMeshSpec } from "../components/meshSpec";
import { decide } from "../components/security/evaluator";
import { principal } from "../components/security/identities";
import { egressGatewayClosed } from "../policies/egress";
import { policies } from "../policies/policies";
import { devConfig, meshConfig, PROJECT_ROOT } from "./support/configs";
import { kubernetesResource, runPolicies } from "./support/policyHarness";

interface ChartFacts {
  service: {
    name: string;
    namespace: string;
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort: number }[];
  };
  serviceAccount: { name: string; namespace: string };
  deployment: { podLabels: Record<string, string>; serviceAccountName: string };
}
const chart: ChartFacts = JSON.parse(
  readFileSync(join(PROJECT_ROOT, "tests/fixtures/egress-gateway-chart.json"), "utf8"),
);
const subsetOf = (wanted: Record<string, string> | undefined, labels: Record<string, string>) =>
  Object.entries(wanted ?? {}).every(([k, v]) => labels[k] === v);

const spec = buildMeshSpec(devConfig());
const gateway = spec.egress.gateway;
assert.ok(gateway);
const gatewayPod = { namespace: chart.service.namespace, labels: chart.deployment.podLabels };
const inGatewayNamespace = (p: { namespaceSelector?: { matchLabels?: Record<string, string> } }) =>
  p.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] === chart.service.namespace;

describe("the egress objects against the rendered gateway chart", () => {
  test("Gateway, AuthorizationPolicy and NetworkPolicy select the chart's pods, in the chart's namespace", () => {
    assert.ok(subsetOf(gateway.gateway.spec?.selector, chart.deployment.podLabels));
    assert.equal(gateway.authorization.metadata.namespace, chart.service.namespace);
    assert.ok(subsetOf(gateway.authorization.spec?.selector?.matchLabels, chart.deployment.podLabels));
    const toGateway = gateway.networkPolicy.spec?.egress?.flatMap((r) => r.to ?? []).find(inGatewayNamespace);
    assert.ok(subsetOf(toGateway?.podSelector?.matchLabels, chart.deployment.podLabels));
    assert.deepEqual(toGateway?.namespaceSelector?.matchLabels, {
      "kubernetes.io/metadata.name": chart.service.namespace,
    });
  });

  test("ports: Gateway servers and routes use the Service's ports; the NetworkPolicy the pods' targetPorts", () => {
    const servicePorts = chart.service.ports.map((p) => p.port);
    for (const server of gateway.gateway.spec?.servers ?? [])
      assert.ok(servicePorts.includes(server.port?.number ?? -1));
    const gatewayHost = `${chart.service.name}.${chart.service.namespace}.svc.cluster.local`;
    assert.equal(gateway.destinationRule.spec?.host, gatewayHost);
    const vs = gateway.virtualService.spec;
    const toGatewayPorts = [...(vs?.http ?? []), ...(vs?.tls ?? [])]
      .flatMap((r) => r.route ?? [])
      .filter((r) => r.destination?.host === gatewayHost)
      .map((r) => r.destination?.port?.number);
    assert.deepEqual(
      toGatewayPorts.sort((a = 0, b = 0) => a - b),
      [80, 443],
    );
    for (const port of toGatewayPorts) assert.ok(servicePorts.includes(port ?? -1));
    const allowed = gateway.networkPolicy.spec?.egress?.find((r) => r.to?.some(inGatewayNamespace))?.ports;
    const traffic = chart.service.ports
      .filter((p) => p.name !== "status-port")
      .map((p) => ({ protocol: "TCP", port: p.targetPort }));
    assert.deepEqual(allowed, traffic);
  });

  test("the chart's pods carry no security.istio.io/tlsMode, so only the subset's explicit ISTIO_MUTUAL gives mTLS", () => {
    assert.equal(chart.deployment.podLabels["security.istio.io/tlsMode"], undefined);
    assert.deepEqual(gateway.destinationRule.spec?.subsets?.[0]?.trafficPolicy?.tls, {
      mode: "ISTIO_MUTUAL",
      sni: "httpbin.org",
    });
    for (const server of gateway.gateway.spec?.servers ?? []) assert.equal(server.tls?.mode, "ISTIO_MUTUAL");
  });

  test("the gateway's identity is the chart's ServiceAccount", () => {
    assert.equal(chart.deployment.serviceAccountName, chart.serviceAccount.name);
    assert.equal(
      principal({ namespace: chart.serviceAccount.namespace, serviceAccount: chart.serviceAccount.name }),
      "cluster.local/ns/istio-egress/sa/istio-egressgateway",
    );
  });
});

describe("who the egress gateway admits (evaluated with Istio's semantics)", () => {
  const policies = {
    rootNamespace: "istio-system",
    peerAuthentications: [],
    requestAuthentications: [],
    authorizationPolicies: [gateway.authorization],
  };
  const call = (sourcePrincipal?: string, sourceNamespace?: string) =>
    decide(policies, gatewayPod, {
      ...(sourcePrincipal !== undefined && { sourcePrincipal, sourceNamespace }),
      method: "GET",
      path: "/get",
    }).status;

  test("a backend identity: allowed; another namespace's identity: 403; no identity (outside-client): refused", () => {
    assert.equal(call("cluster.local/ns/backend/sa/mesh-client", "backend"), 200);
    assert.equal(call("cluster.local/ns/backend/sa/user-service", "backend"), 200);
    assert.equal(call("cluster.local/ns/other/sa/default", "other"), 403);
    // The server's ISTIO_MUTUAL already drops plaintext; even past it, no identity matches no rule.
    assert.equal(call(), 403);
  });
});

describe("the NetworkPolicy", () => {
  test("backend pods may reach only cluster peers: no ipBlock, so no external address such as httpbin.org's", () => {
    const rules = gateway.networkPolicy.spec?.egress ?? [];
    assert.deepEqual(gateway.networkPolicy.spec?.policyTypes, ["Egress"]);
    assert.deepEqual(gateway.networkPolicy.spec?.podSelector, {});
    for (const rule of rules) {
      assert.ok((rule.to ?? []).length > 0, "a rule without `to` would allow every destination");
      for (const peer of rule.to ?? []) assert.equal(peer.ipBlock, undefined);
    }
  });

  test("without the egress gateway there is no fence (direct egress is the point)", () => {
    assert.equal(buildMeshSpec(meshConfig({ egressGateway: false })).egress.gateway, undefined);
  });
});

describe("policy egress-gateway-closed", () => {
  const objects = [gateway.gateway, gateway.authorization];
  const check = async (...os: object[]) =>
    (
      await runPolicies(
        [egressGatewayClosed],
        os.map((o) => kubernetesResource(o as never)),
      )
    ).messages(egressGatewayClosed.name);

  test("is in the pack, mandatory, and passes the program's egress objects", async () => {
    assert.equal(policies.find((p) => p.name === egressGatewayClosed.name)?.enforcementLevel, "mandatory");
    assert.deepEqual(await check(...objects), []);
  });

  test("refuses a passthrough or plaintext server, a missing policy and a rule that names no identity", async () => {
    const open = structuredClone(gateway.gateway) as any;
    open.spec.servers[0].tls = undefined;
    open.spec.servers[1].tls = { mode: "PASSTHROUGH" };
    const plain = await check(open, gateway.authorization);
    assert.equal(plain.length, 2);
    assert.match(plain[0] ?? "", /servers\[0\] \(port 80\) takes TLS mode none/);
    assert.match(plain[1] ?? "", /servers\[1\] \(port 443\) takes TLS mode PASSTHROUGH/);
    assert.match((await check(gateway.gateway))[0] ?? "", /no ALLOW AuthorizationPolicy in istio-egress/);
    const anyone = structuredClone(gateway.authorization) as any;
    anyone.spec.rules = [{ to: [{ operation: { ports: ["80"] } }] }];
    assert.match(
      (await check(gateway.gateway, anyone))[0] ?? "",
      /istio-egress\/egress-gateway-allow-backend admits callers without naming them/,
    );
  });
});
