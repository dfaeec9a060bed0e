import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { CliError } from "../tools/lib/cli";
import { istiodMinor, servingIstiods } from "../tools/lib/istiodRevision";
import type { PulumiCli } from "../tools/lib/target";
import {
  type ListedObject,
  namespacesCreated,
  type PreflightFacts,
  preflightFindings,
  serverMinor,
  stackHoldings,
} from "../tools/preflight/checks";
import {
  kubectlResource,
  meshConfigFindings,
  toolObjectFindings,
  toolObjectQueries,
} from "../tools/preflight/existingIstio";
import { type Kubectl, main, spawnKubectl } from "../tools/preflight/main";
import { devConfig, meshConfig } from "./support/configs";
import { type SeededObject, writeStubKubectl } from "./support/stubKubectl";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const EXISTING = {
  "istio-mesh:clusterMode": "existing",
  "istio-mesh:kubeconfig": "/etc/mesh/kubeconfig",
  "istio-mesh:kubeContext": "prod-east",
};

/**
 * `kubectl get` of a Helm-installed istiod, with the labels and annotations the istiod chart and Helm set,
 * and the chart's image (`<hub>/pilot:<tag>`, templates/deployment.yaml).
 */
const istiod = (
  namespace: string,
  name: string,
  rev: string,
  release: string,
  tag = "1.30.3",
  env: { name: string; value: string }[] = [],
): SeededObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {
    name,
    namespace,
    labels: { app: "istiod", "istio.io/rev": rev, istio: "pilot" },
    annotations: { "meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": namespace },
  },
  spec: { template: { spec: { containers: [{ name: "discovery", image: `docker.io/istio/pilot:${tag}`, env }] } } },
});

/** A revision tag's webhook as the istiod chart's templates/revision-tags-mwc.yaml labels it. */
const tagWebhook = (tag: string, rev: string): SeededObject => ({
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "MutatingWebhookConfiguration",
  metadata: { name: `istio-revision-tag-${tag}`, labels: { "istio.io/tag": tag, "istio.io/rev": rev } },
});

/** The istiod chart's mesh ConfigMap (templates/configmap.yaml: `istio-<rev>`, labelled with the revision). */
const meshConfigMap = (rev: string, mesh: string): SeededObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: `istio-${rev}`, namespace: "istio-system", labels: { "istio.io/rev": rev } },
  data: { mesh },
});

const daemonSet = (name: string): SeededObject => ({
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  metadata: { name, namespace: "istio-system" },
});

/**
 * A Gateway API CRD as upstream ships it (kubernetes-sigs/gateway-api config/crd/<channel>/*.yaml carry
 * `gateway.networking.k8s.io/bundle-version` and `…/channel`); the schema is left out.
 */
const gatewayApiCrd = (plural: string, version = "v1.5.1", channel = "experimental"): SeededObject => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: {
    name: `${plural}.gateway.networking.k8s.io`,
    annotations: { "gateway.networking.k8s.io/bundle-version": version, "gateway.networking.k8s.io/channel": channel },
  },
});

/** The mesh config of an istiod installed by this stack's own values (access log, ALLOW_ANY, the jaeger provider). */
const OUR_MESH = [
  "accessLogFile: /dev/stdout",
  "outboundTrafficPolicy:",
  "  mode: ALLOW_ANY",
  "extensionProviders:",
  "- name: jaeger",
  "  opentelemetry: {port: 4317, service: jaeger-collector.istio-system.svc.cluster.local}",
].join("\n");

const USING = (revision: string, extra: Record<string, unknown> = {}) => ({
  ...EXISTING,
  "istio-mesh:existingIstio": JSON.stringify({ revision }),
  ...extra,
});

/** The Pulumi CLI's answers: `config --json` ({key: {value, secret}}), `stack output --json`, `stack export`. */
function fakePulumi(config: Record<string, unknown>, resources: unknown[] = []): PulumiCli {
  return async (args) => {
    if (args[0] === "config") {
      return JSON.stringify(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { value: v, secret: false }])),
      );
    }
    if (args[0] === "stack" && args[1] === "output") return "{}";
    if (args[0] === "stack" && args[1] === "export") {
      return JSON.stringify({ version: 3, deployment: { manifest: {}, ...(resources.length > 0 && { resources }) } });
    }
    throw new Error(`unexpected pulumi ${args.join(" ")}`);
  };
}

/** A cluster as a fresh managed one comes: kube-system, default and the rest, nothing of Istio. */
function cluster() {
  const dir = mkdtempSync(path.join(tmpdir(), "preflight-"));
  dirs.push(dir);
  const kubectl = writeStubKubectl(dir);
  kubectl.seed(["default", "kube-system", "kube-public", "kube-node-lease"]);
  return kubectl;
}

async function preflight(
  kubectl: ReturnType<typeof cluster>,
  config: Record<string, unknown> = EXISTING,
  resources: unknown[] = [],
  argv: string[] = ["--stack", "prod"],
  wrap: (k: Kubectl) => Kubectl = (k) => k,
) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    projectRoot: "/nonexistent",
    pulumi: fakePulumi(config, resources),
    kubectl: wrap(spawnKubectl(kubectl.bin)),
    env: {},
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("npm run preflight against stub kubectl", () => {
  test("a supported, empty cluster passes; kubectl gets the stack's kubeconfig and context", async () => {
    const kubectl = cluster();
    const r = await preflight(kubectl);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /nothing stops the install/);
    for (const call of kubectl.calls()) {
      assert.deepEqual(call.slice(0, 4), ["--kubeconfig", "/etc/mesh/kubeconfig", "--context", "prod-east"]);
    }
    assert.deepEqual(
      kubectl.calls().map((c) => c.slice(4, 6).join(" ")),
      ["version -o", "get deployments", "get namespaces"],
    );
  });

  test("Kubernetes outside 1.32–1.36 stops it, naming the range; a provider's 35+ is 1.35", async () => {
    for (const [minor, gitVersion, code] of [
      ["31", "v1.31.9", 1],
      ["37", "v1.37.0", 1],
      ["32", "v1.32.4", 0],
      ["35+", "v1.35.2-eks-4096722", 0],
    ] as const) {
      const kubectl = cluster();
      kubectl.behave({ serverVersion: { major: "1", minor, gitVersion } });
      const r = await preflight(kubectl);
      assert.equal(r.code, code, `${gitVersion}: ${r.out}`);
      if (code === 1) {
        assert.match(
          r.out,
          new RegExp(
            `✗ kubernetes-version: Kubernetes ${gitVersion} is outside Istio 1.30's supported range 1.32–1.36`,
          ),
        );
        assert.match(r.out, /1 check\(s\) failed; nothing was created/);
        assert.match(r.out, /or set istio-mesh:allowUnsupportedKubernetes true to go ahead anyway/);
      }
    }
  });

  test("allowUnsupportedKubernetes: outside the range is a warning naming the version and range, and passes", async () => {
    for (const gitVersion of ["v1.31.9", "v1.37.0"]) {
      const kubectl = cluster();
      kubectl.behave({ serverVersion: { major: "1", minor: gitVersion.split(".")[1] ?? "", gitVersion } });
      const r = await preflight(kubectl, { ...EXISTING, "istio-mesh:allowUnsupportedKubernetes": "true" });
      assert.equal(r.code, 0, r.out + r.err);
      assert.match(
        r.out,
        new RegExp(
          `^! kubernetes-version: Kubernetes ${gitVersion} is outside Istio 1.30's supported range 1.32–1.36 ` +
            "\\(istio.io supported releases\\); going ahead, as istio-mesh:allowUnsupportedKubernetes says",
          "m",
        ),
      );
      assert.match(r.out, /nothing stops the install/);
    }
    // Inside the range there is nothing to say, with or without it; an unreadable version still stops.
    const inRange = await preflight(cluster(), { ...EXISTING, "istio-mesh:allowUnsupportedKubernetes": "true" });
    assert.doesNotMatch(inRange.out, /kubernetes-version/);
    const unreadable = cluster();
    unreadable.behave({ serverVersion: { major: "", minor: "", gitVersion: "" } });
    const stopped = await preflight(unreadable, { ...EXISTING, "istio-mesh:allowUnsupportedKubernetes": "true" });
    assert.equal(stopped.code, 1, stopped.out);
  });

  test("an istiod this stack's state does not hold stops it, and the message names existingIstio", async () => {
    const kubectl = cluster();
    kubectl.seed(["istio-system"], [istiod("istio-system", "istiod-1-29-2", "1-29-2", "istiod-1-29-2")]);
    const refused = await preflight(kubectl);
    assert.equal(refused.code, 1);
    assert.match(
      refused.out,
      /✗ foreign-istiod: istiod istio-system\/istiod-1-29-2 \(revision 1-29-2, Helm release istio-system\/istiod-1-29-2\) runs in this cluster and is not this stack's/,
    );
    assert.match(refused.out, /Use it instead \(istio-mesh:existingIstio, revision 1-29-2\), or remove it/);
    // istio-system exists too, and the stack did not create it.
    assert.match(refused.out, /✗ existing-namespace: namespace istio-system exists and this stack did not create it/);
  });

  test("existingIstio: a tag that points at a 1.30 istiod passes, and istio-system is not the stack's", async () => {
    const kubectl = cluster();
    kubectl.seed(
      ["istio-system"],
      [
        istiod("istio-system", "istiod-1-30-2", "1-30-2", "istiod-1-30-2", "1.30.2"),
        tagWebhook("prod-stable", "1-30-2"),
        meshConfigMap("1-30-2", OUR_MESH),
      ],
    );
    const r = await preflight(kubectl, USING("prod-stable"));
    assert.equal(r.code, 0, r.out);
    assert.match(
      r.out,
      /· existing-istiod: using istiod istio-system\/istiod-1-30-2 \(tag prod-stable → revision 1-30-2\), Istio 1.30/,
    );
    assert.doesNotMatch(r.out, /existing-namespace|foreign-istiod|existing-mesh-config/);
    assert.deepEqual(
      kubectl.calls().map((c) => c.slice(4, 6).join(" ")),
      [
        "version -o",
        "get deployments",
        "get namespaces",
        "get mutatingwebhookconfigurations",
        "get configmaps",
        "get deployments",
        "get services",
        "get configmaps",
        "get secrets",
      ],
    );
  });

  test("existingIstio with observability: the tools' objects are got by name in istio-system, one get per kind", async () => {
    const kubectl = cluster();
    kubectl.seed(["istio-system"], [istiod("istio-system", "istiod", "default", "istiod")]);
    const r = await preflight(kubectl, USING("default"));
    assert.equal(r.code, 0, r.out);
    const cluster4 = ["--kubeconfig", "/etc/mesh/kubeconfig", "--context", "prod-east"];
    const byName = (resource: string, ...names: string[]) => [
      ...cluster4,
      "get",
      resource,
      ...names,
      "--namespace",
      "istio-system",
      "--ignore-not-found",
      "-o",
      "json",
    ];
    assert.deepEqual(kubectl.calls().slice(5), [
      byName("deployments", "prometheus", "grafana", "kiali", "jaeger"),
      byName("services", "prometheus", "grafana", "kiali", "tracing", "jaeger-collector"),
      byName("configmaps", "jaeger", "istio-grafana-dashboards", "istio-services-grafana-dashboards"),
      byName("secrets", "grafana-admin", "kiali-signing-key"),
    ]);
    // Observability off: none of them is asked.
    const off = cluster();
    off.seed(["istio-system"], [istiod("istio-system", "istiod", "default", "istiod")]);
    const quiet = await preflight(
      off,
      USING("default", { "istio-mesh:observability": JSON.stringify({ enabled: false }) }),
    );
    assert.equal(quiet.code, 0, quiet.out);
    // The five calls before the by-name gets (version, istiods, namespaces, tags, mesh configs), nothing after.
    assert.equal(off.calls().length, 5, JSON.stringify(off.calls()));
    assert.ok(!off.calls().some((c) => c.includes("--ignore-not-found")));
  });

  test("existingIstio: a Secret or ConfigMap of the tools' names in istio-system is refused, unless the stack's state holds it", async () => {
    const kubectl = cluster();
    const inIstio = (kind: string, name: string): SeededObject => ({
      apiVersion: "v1",
      kind,
      metadata: { name, namespace: "istio-system" },
      ...(kind === "ConfigMap" && { data: {} }),
    });
    kubectl.seed(
      ["istio-system"],
      [
        istiod("istio-system", "istiod", "default", "istiod"),
        inIstio("Secret", "grafana-admin"),
        inIstio("ConfigMap", "jaeger"),
        inIstio("ConfigMap", "istio-grafana-dashboards"),
        // Not a name of the tools: left alone.
        inIstio("Secret", "istio-ca-secret"),
      ],
    );
    const refused = await preflight(kubectl, USING("default"));
    assert.equal(refused.code, 1, refused.out);
    assert.match(
      refused.out,
      /^✗ existing-observability: istio-system already holds ConfigMap jaeger, ConfigMap istio-grafana-dashboards, Secret grafana-admin, not this stack's .*the Kubernetes provider: AlreadyExists\)/m,
    );
    assert.doesNotMatch(refused.out, /istio-ca-secret/);
    const held = [
      ["core/v1:Secret", "grafana-admin"],
      ["core/v1:ConfigMap", "jaeger"],
      ["core/v1:ConfigMap", "istio-grafana-dashboards"],
    ].map(([type, name]) => ({
      type: `kubernetes:${type}`,
      outputs: { metadata: { name, namespace: "istio-system" } },
    }));
    const ours = await preflight(kubectl, USING("default"), held);
    assert.equal(ours.code, 0, ours.out);
    assert.doesNotMatch(ours.out, /existing-observability/);
  });

  test("existingIstio: Secrets kubectl may not get are a note, and the rest is still checked", async () => {
    const kubectl = cluster();
    kubectl.seed(["istio-system"], [istiod("istio-system", "istiod", "default", "istiod")]);
    kubectl.behave({ forbidden: ["secrets"] });
    const r = await preflight(kubectl, USING("default"));
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(
      r.out,
      /^· existing-observability: cannot get Secrets in istio-system \(forbidden: User "mesh-tenant" cannot get resource "secrets" in API group "" in the namespace "istio-system"\): a collision with Secret grafana-admin, kiali-signing-key is not checked/m,
    );
    assert.match(r.out, /nothing stops the install/);
    // After the Forbidden, each name alone (RBAC may grant some by resourceNames); the ConfigMaps were asked.
    const secrets = kubectl.calls().filter((c) => c[5] === "secrets");
    assert.deepEqual(
      secrets.map((c) => c.slice(6, -5)),
      [["grafana-admin", "kiali-signing-key"], ["grafana-admin"], ["kiali-signing-key"]],
    );
    assert.ok(kubectl.calls().some((c) => c[5] === "configmaps" && c.includes("jaeger")));

    // One name granted (resourceNames): its collision is found, the other is the note.
    const partly = cluster();
    partly.seed(
      ["istio-system"],
      [
        istiod("istio-system", "istiod", "default", "istiod"),
        { apiVersion: "v1", kind: "Secret", metadata: { name: "grafana-admin", namespace: "istio-system" } },
      ],
    );
    partly.behave({ forbidden: ["secrets/kiali-signing-key"] });
    const one = await preflight(partly, USING("default"));
    assert.equal(one.code, 1, one.out);
    assert.match(
      one.out,
      /^✗ existing-observability: istio-system already holds Secret grafana-admin, not this stack's/m,
    );
    assert.match(
      one.out,
      /^· existing-observability: cannot get Secrets in istio-system \(forbidden: .*\): a collision with Secret kiali-signing-key is not checked/m,
    );
  });

  test("existingIstio: another kubectl failure on the tools' objects still stops the pre-flight with exit 2", async () => {
    const kubectl = cluster();
    kubectl.seed(["istio-system"], [istiod("istio-system", "istiod", "default", "istiod")]);
    const failing: (k: Kubectl) => Kubectl = (k) => async (args) => {
      if (args.includes("secrets")) {
        throw new CliError(
          '`kubectl get secrets grafana-admin kiali-signing-key --namespace istio-system --ignore-not-found -o json` failed: Error from server (InternalError): an error on the server ("") has prevented the request from succeeding',
        );
      }
      return k(args);
    };
    const r = await preflight(kubectl, USING("default"), [], ["--stack", "prod"], failing);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(
      r.err,
      /^preflight: `kubectl get secrets grafana-admin kiali-signing-key .*` failed: Error from server \(InternalError\)/,
    );
  });

  test("stub kubectl gets by name as kubectl does: one object, a List of those found, nothing, NotFound, Forbidden", async () => {
    const kubectl = cluster();
    const secret = (name: string): SeededObject => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace: "istio-system" },
    });
    kubectl.seed(["istio-system"], [secret("a"), secret("b")]);
    const run = spawnKubectl(kubectl.bin);
    const get = (...args: string[]) => run(["get", "secrets", ...args, "--namespace", "istio-system", "-o", "json"]);
    assert.equal(JSON.parse(await get("a", "--ignore-not-found")).kind, "Secret");
    const list = JSON.parse(await get("a", "missing", "b", "--ignore-not-found"));
    assert.deepEqual([list.kind, list.items.map((o: ListedObject) => o.metadata?.name)], ["List", ["a", "b"]]);
    assert.equal(await get("missing", "--ignore-not-found"), "");
    assert.equal(await get("missing", "gone", "--ignore-not-found"), "");
    await assert.rejects(get("missing"), /failed: Error from server \(NotFound\): secrets "missing" not found$/);
    await assert.rejects(
      run(["get", "deployments", "x", "--namespace", "istio-system", "-o", "json"]),
      /Error from server \(NotFound\): deployments.apps "x" not found$/,
    );
    kubectl.behave({ forbidden: ["secrets"] });
    await assert.rejects(
      get("a", "--ignore-not-found"),
      /failed: Error from server \(Forbidden\): secrets "a" is forbidden: User "mesh-tenant" cannot get resource "secrets" in API group "" in the namespace "istio-system"$/,
    );
    await assert.rejects(
      run(["get", "secrets", "--namespace", "istio-system", "-o", "json"]),
      /Error from server \(Forbidden\): secrets is forbidden: User "mesh-tenant" cannot list resource "secrets"/,
    );
  });

  test("existingIstio: no istiod serving the revision is refused, naming what runs", async () => {
    const kubectl = cluster();
    kubectl.seed(["istio-system"], [istiod("istio-system", "istiod", "default", "istiod")]);
    const r = await preflight(kubectl, USING("prod-stable"));
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /✗ existing-istiod: no istiod serves revision prod-stable \(istio-mesh:existingIstio.revision\): istiods found: istio-system\/istiod \(revision default\)/,
    );
  });

  test("existingIstio: an istiod of another minor than istioVersion is refused", async () => {
    const kubectl = cluster();
    kubectl.seed(["istio-system"], [istiod("istio-system", "istiod-1-29-2", "1-29-2", "istiod-1-29-2", "1.29.2")]);
    const r = await preflight(kubectl, USING("1-29-2"));
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /✗ existing-istiod: istiod istio-system\/istiod-1-29-2 serving revision 1-29-2 is Istio 1.29, but istioVersion is 1.30.3/,
    );
  });

  test("existingIstio in ambient: the cluster's ztunnel and istio-cni-node must run", async () => {
    const kubectl = cluster();
    const ambientIstiod = istiod("istio-system", "istiod", "default", "istiod", "1.30.3", [
      { name: "PILOT_ENABLE_AMBIENT", value: "true" },
    ]);
    const crds = ["gatewayclasses", "gateways"].map((p) => gatewayApiCrd(p));
    const base = [ambientIstiod, daemonSet("istio-cni-node"), ...crds];
    kubectl.seed(["istio-system"], base);
    const ambient = USING("default", { "istio-mesh:dataplane": "ambient" });
    const missing = await preflight(kubectl, ambient);
    assert.equal(missing.code, 1);
    assert.match(
      missing.out,
      /✗ existing-ambient: dataplane ambient needs .* DaemonSet ztunnel is missing in istio-system/,
    );
    kubectl.seed([], [daemonSet("ztunnel")]);
    const present = await preflight(kubectl, ambient);
    assert.equal(present.code, 0, present.out);

    // The other agent: ztunnel alone does not make an ambient node (istio-cni redirects the pods' traffic).
    const noCni = cluster();
    noCni.seed(["istio-system"], [ambientIstiod, daemonSet("ztunnel"), ...crds]);
    const cniMissing = await preflight(noCni, ambient);
    assert.equal(cniMissing.code, 1);
    assert.match(cniMissing.out, /✗ existing-ambient: .* DaemonSet istio-cni-node is missing in istio-system/);
    const neither = cluster();
    neither.seed(["istio-system"], [ambientIstiod, ...crds]);
    const bothMissing = await preflight(neither, ambient);
    assert.equal(bothMissing.code, 1);
    assert.match(bothMissing.out, /DaemonSets ztunnel and istio-cni-node are missing in istio-system/);
  });

  test("existingIstio with gateway-api: the cluster's Gateway API CRDs must exist, recent enough, on the channel", async () => {
    const kubectl = cluster();
    kubectl.seed(["istio-system"], [istiod("istio-system", "istiod", "default", "istiod")]);
    const gatewayApi = USING("default", { "istio-mesh:trafficApi": "gateway-api" });
    const none = await preflight(kubectl, gatewayApi);
    assert.equal(none.code, 1);
    assert.match(
      none.out,
      /✗ existing-gateway-api: with existingIstio this stack uses the cluster's Gateway API CRDs and installs none: gatewayclasses.gateway.networking.k8s.io is missing \(needed: v1.5.1\); gateways.gateway.networking.k8s.io is missing .*; httproutes.gateway.networking.k8s.io is missing/,
    );
    kubectl.seed(
      [],
      [
        gatewayApiCrd("gatewayclasses"),
        gatewayApiCrd("gateways", "v1.4.0"),
        gatewayApiCrd("httproutes", "v1.5.1", "standard"),
      ],
    );
    const stale = await preflight(kubectl, gatewayApi);
    assert.equal(stale.code, 1);
    assert.match(stale.out, /gateways.gateway.networking.k8s.io is bundle-version v1.4.0, needed v1.5.1 or later/);
    assert.match(
      stale.out,
      /httproutes.gateway.networking.k8s.io is channel standard, needed experimental for HTTPRoute rules\[\].retry/,
    );
    assert.doesNotMatch(stale.out, /gatewayclasses.gateway.networking.k8s.io is/);
    const later = cluster();
    later.seed(
      ["istio-system"],
      [
        istiod("istio-system", "istiod", "default", "istiod"),
        gatewayApiCrd("gatewayclasses", "v1.5.0-rc.1", "standard"),
        gatewayApiCrd("gateways", "v1.6.0", "standard"),
        gatewayApiCrd("httproutes", "v1.5.1"),
      ],
    );
    const rc = await preflight(later, gatewayApi);
    assert.match(rc.out, /gatewayclasses.gateway.networking.k8s.io is bundle-version v1.5.0-rc.1, needed v1.5.1/);
    assert.doesNotMatch(rc.out, /gateways.gateway.networking.k8s.io is/);
    later.seed([], [gatewayApiCrd("gatewayclasses", "v1.5.1", "standard")]);
    const fine = await preflight(later, gatewayApi);
    assert.equal(fine.code, 0, fine.out);
    assert.ok(later.calls().some((c) => c.includes("customresourcedefinitions")));
  });

  test("the stack's own istiod and namespaces, as its state holds them, pass", async () => {
    const kubectl = cluster();
    kubectl.seed(["istio-system", "istio-ingress", "backend"], [istiod("istio-system", "istiod", "default", "istiod")]);
    const state = [
      { type: "kubernetes:helm.sh/v3:Release", outputs: { name: "istiod", namespace: "istio-system" } },
      ...["istio-system", "istio-ingress", "backend"].map((name) => ({
        type: "kubernetes:core/v1:Namespace",
        outputs: { metadata: { name } },
      })),
    ];
    const r = await preflight(kubectl, EXISTING, state);
    assert.equal(r.code, 0, r.out);
  });

  test("a namespace the program would create that exists already is refused, never adopted", async () => {
    const kubectl = cluster();
    kubectl.seed(["backend"]);
    const r = await preflight(kubectl);
    assert.equal(r.code, 1);
    assert.match(r.out, /namespace backend exists and this stack did not create it: this program never adopts/);
  });

  test("an unreachable cluster is one line and exit 2", async () => {
    const kubectl = cluster();
    kubectl.behave({ unreachable: true });
    const r = await preflight(kubectl);
    assert.equal(r.code, 2);
    // The stack's kubeconfig (/etc/mesh/kubeconfig) is not on this machine: the server is kubectl's own word.
    assert.equal(
      r.err,
      "preflight: no cluster to reach at 127.0.0.1:6443 (context prod-east): connection refused; is the cluster up?",
    );
  });

  test("kubectl's klog lines before its own (a `get` on a server that refuses) are not the line reported", async () => {
    const kubectl = cluster();
    kubectl.behave({ unreachable: true });
    await assert.rejects(
      spawnKubectl(kubectl.bin)([
        "--kubeconfig",
        "/etc/mesh/kubeconfig",
        "--context",
        "prod-east",
        "get",
        "namespaces",
        "-o",
        "json",
      ]),
      {
        message: "no cluster to reach at 127.0.0.1:6443 (context prod-east): connection refused; is the cluster up?",
      },
    );
  });

  test("a kind stack has nothing to check and calls no kubectl", async () => {
    const kubectl = cluster();
    const r = await preflight(kubectl, { "istio-mesh:clusterMode": "kind" });
    assert.equal(r.code, 0);
    assert.equal(kubectl.calls().length, 0);
  });
});

describe("pre-flight pieces", () => {
  test("the server's minor: plain, with a provider's +, or from gitVersion", () => {
    assert.deepEqual(serverMinor({ major: "1", minor: "35+" }), { major: 1, minor: 35 });
    assert.deepEqual(serverMinor({ gitVersion: "v1.33.1-gke.100" }), { major: 1, minor: 33 });
    assert.equal(serverMinor({}), undefined);
  });

  test("the namespaces it would create follow the config", () => {
    assert.deepEqual(namespacesCreated(meshConfig({ clusterMode: "existing" })).sort(), [
      "backend",
      "istio-egress",
      "istio-ingress",
      "istio-system",
      "outside",
    ]);
    assert.ok(
      !namespacesCreated(meshConfig({ clusterMode: "existing", egressGateway: false })).includes("istio-egress"),
    );
  });

  test("existingIstio: the istiod's mesh config lacking the Telemetry's provider fails; other differences are notes", () => {
    const cfg = meshConfig({ clusterMode: "existing", existingIstio: { revision: "prod-stable" } });
    const map = (mesh: string) => [{ metadata: { name: "istio-1-30-3", namespace: "istio-system" }, data: { mesh } }];
    assert.deepEqual(meshConfigFindings(cfg, "1-30-3", "istio-system", map(OUR_MESH)), []);
    const bare = meshConfigFindings(cfg, "1-30-3", "istio-system", map("outboundTrafficPolicy: {mode: REGISTRY_ONLY}"));
    assert.deepEqual(
      bare.map((f) => f.level),
      ["error", "note", "note"],
    );
    assert.match(
      bare[0]?.message ?? "",
      /^the mesh config \(istio-system\/istio-1-30-3\) has no extensionProvider jaeger, which this stack's Telemetry names/,
    );
    assert.match(bare[1]?.message ?? "", /^the mesh's outboundTrafficPolicy is REGISTRY_ONLY, not ALLOW_ANY/);
    assert.match(bare[2]?.message ?? "", /^the mesh's accessLogFile is "", not "\/dev\/stdout"/);
    assert.equal(meshConfigFindings(cfg, "1-30-3", "istio-system", [])[0]?.level, "note");
  });

  test("namespacesCreated: with existingIstio, istio-system is not the stack's", () => {
    const cfg = meshConfig({ clusterMode: "existing", existingIstio: { revision: "default" } });
    assert.ok(!namespacesCreated(cfg).includes("istio-system"));
  });

  test("a new stack's export holds nothing", () => {
    assert.deepEqual(stackHoldings({ version: 3, deployment: { manifest: {} } }), {
      releases: [],
      namespaces: [],
      objects: [],
    });
    const deployment = {
      type: "kubernetes:apps/v1:Deployment",
      outputs: { metadata: { name: "jaeger", namespace: "istio-system" } },
    };
    assert.deepEqual(stackHoldings({ deployment: { resources: [deployment] } }).objects, [
      { kind: "Deployment", namespace: "istio-system", name: "jaeger" },
    ]);
  });

  test("existingIstio: the serving istiod held in this stack's state (its release or namespace) is refused", () => {
    const cfg = meshConfig({ clusterMode: "existing", existingIstio: { revision: "default" } });
    const own = istiod("istio-system", "istiod", "default", "istiod") as ListedObject;
    const facts = (state: PreflightFacts["state"]): PreflightFacts => ({
      server: { major: "1", minor: "34" },
      istiods: [own],
      namespaces: [],
      state,
      existingIstio: { tags: [], configMaps: [] },
    });
    const errors = (state: PreflightFacts["state"]) =>
      preflightFindings(cfg, facts(state)).filter((f) => f.level === "error" && f.check === "existing-istiod");
    const byRelease = errors({ releases: [{ name: "istiod", namespace: "istio-system" }], namespaces: [] });
    assert.equal(byRelease.length, 1);
    assert.match(
      byRelease[0]?.message ?? "",
      /^istiod istio-system\/istiod serving revision default is this stack's own \(its state holds its Helm release istio-system\/istiod\): with existingIstio the next up would uninstall it/,
    );
    const byNamespace = errors({ releases: [], namespaces: ["istio-system"] });
    assert.match(byNamespace[0]?.message ?? "", /its state holds its namespace istio-system/);
    assert.deepEqual(errors({ releases: [{ name: "istiod", namespace: "other" }], namespaces: ["backend"] }), []);
  });

  test("existingIstio: an istiod outside istio-system, or a mesh rooted elsewhere, is refused in one line", () => {
    const cfg = meshConfig({ clusterMode: "existing", existingIstio: { revision: "asm-1-30" } });
    const aks = istiod("aks-istio-system", "istiod-asm-1-30", "asm-1-30", "") as ListedObject;
    const outside = preflightFindings(cfg, {
      server: { major: "1", minor: "34" },
      istiods: [aks],
      namespaces: [],
      state: { releases: [], namespaces: [] },
      existingIstio: { tags: [], configMaps: [] },
    }).filter((f) => f.level === "error");
    assert.equal(outside.length, 1);
    assert.match(
      outside[0]?.message ?? "",
      /^istiod aks-istio-system\/istiod-asm-1-30 serving revision asm-1-30 runs outside istio-system: .* supports only an istiod in istio-system/,
    );
    const map = (mesh: string) => [{ metadata: { name: "istio-1-30-3", namespace: "istio-system" }, data: { mesh } }];
    const rooted = meshConfigFindings(cfg, "1-30-3", "istio-system", map(`rootNamespace: platform\n${OUR_MESH}`));
    assert.deepEqual(
      rooted.map((f) => [f.level, f.message.split(",")[0]]),
      [["error", "the mesh's rootNamespace (istio-system/istio-1-30-3) is platform"]],
    );
    assert.deepEqual(
      meshConfigFindings(cfg, "1-30-3", "istio-system", map(`rootNamespace: istio-system\n${OUR_MESH}`)),
      [],
    );
  });

  test("existingIstio: Istio's sample addons in istio-system stop the stack's own tools, unless it holds them", () => {
    const cfg = meshConfig({ clusterMode: "existing", existingIstio: { revision: "default" } });
    // The Deployments and Services of Istio 1.30.3's samples/addons (grafana, jaeger, kiali, prometheus.yaml),
    // applied with kubectl: no Helm annotations.
    const addons: ListedObject[] = [
      ...["grafana", "jaeger", "kiali", "prometheus"].map((name) => ({
        kind: "Deployment",
        metadata: { name, namespace: "istio-system" },
      })),
      ...["grafana", "tracing", "zipkin", "jaeger-collector", "kiali", "prometheus"].map((name) => ({
        kind: "Service",
        metadata: { name, namespace: "istio-system" },
      })),
    ];
    const none = { releases: [], namespaces: [], objects: [] };
    const [taken, ...more] = toolObjectFindings(cfg, addons, none);
    assert.deepEqual(more, []);
    assert.equal(taken?.level, "error");
    assert.equal(taken?.check, "existing-observability");
    assert.match(
      taken?.message ?? "",
      /^istio-system already holds Deployment grafana, Deployment jaeger, Deployment kiali, Deployment prometheus, Service grafana, Service tracing, Service jaeger-collector, Service kiali, Service prometheus, not this stack's .*Set istio-mesh:observability's enabled to false/,
    );
    const ours = {
      releases: ["grafana", "kiali", "prometheus"].map((name) => ({ name, namespace: "istio-system" })),
      namespaces: [],
      objects: [
        { kind: "Deployment", namespace: "istio-system", name: "jaeger" },
        { kind: "Service", namespace: "istio-system", name: "tracing" },
        { kind: "Service", namespace: "istio-system", name: "jaeger-collector" },
      ],
    };
    const released = addons.map((o) => ({
      ...o,
      metadata: {
        ...o.metadata,
        annotations: {
          "meta.helm.sh/release-name": o.metadata?.name ?? "",
          "meta.helm.sh/release-namespace": "istio-system",
        },
      },
    }));
    assert.deepEqual(toolObjectFindings(cfg, released, ours), []);
    assert.deepEqual(
      toolObjectFindings(
        meshConfig({
          clusterMode: "existing",
          existingIstio: { revision: "default" },
          observability: { enabled: false },
        }),
        addons,
        none,
      ),
      [],
    );
  });

  test("existingIstio: what preflight gets for the tools comes from their footprint, every kind mapped to a resource", () => {
    const existing = meshConfig({ clusterMode: "existing", existingIstio: { revision: "default" } });
    assert.deepEqual(toolObjectQueries(existing), [
      { kind: "Deployment", resource: "deployments", names: ["prometheus", "grafana", "kiali", "jaeger"] },
      {
        kind: "Service",
        resource: "services",
        names: ["prometheus", "grafana", "kiali", "tracing", "jaeger-collector"],
      },
      {
        kind: "ConfigMap",
        resource: "configmaps",
        names: ["jaeger", "istio-grafana-dashboards", "istio-services-grafana-dashboards"],
      },
      { kind: "Secret", resource: "secrets", names: ["grafana-admin", "kiali-signing-key"] },
    ]);
    // Installing Istio (the dev stack): the root namespace's Telemetry is the tools' too.
    assert.deepEqual(
      toolObjectQueries(devConfig()).find((q) => q.kind === "Telemetry"),
      { kind: "Telemetry", resource: "telemetries.telemetry.istio.io", names: ["mesh-default"] },
    );
    for (const cfg of [
      devConfig(),
      meshConfig({ clusterMode: "existing", dataplane: "ambient", existingIstio: { revision: "default" } }),
      meshConfig({ clusterMode: "existing", trafficApi: "gateway-api", existingIstio: { revision: "default" } }),
    ]) {
      assert.ok(toolObjectQueries(cfg).length >= 4);
    }
    assert.deepEqual(toolObjectQueries(meshConfig({ clusterMode: "existing", observability: { enabled: false } })), []);
    assert.throws(() => kubectlResource("PodMonitor"), /yields kind PodMonitor, which TOOL_RESOURCES does not map/);
    assert.throws(() => kubectlResource("toString"), /TOOL_RESOURCES does not map/);
  });

  test("existingIstio: a kind kubectl could not get is a note beside the refusal, never an error", () => {
    const cfg = meshConfig({ clusterMode: "existing", existingIstio: { revision: "default" } });
    const none = { releases: [], namespaces: [], objects: [] };
    const unchecked = [{ kind: "Secret" as const, names: ["grafana-admin", "kiali-signing-key"], why: "RBAC" }];
    assert.deepEqual(
      toolObjectFindings(cfg, [], none, unchecked).map((f) => [f.level, f.message.split(":")[0]]),
      [["note", "cannot get Secrets in istio-system (forbidden"]],
    );
    const jaeger = [{ kind: "ConfigMap", metadata: { name: "jaeger", namespace: "istio-system" } }];
    assert.deepEqual(
      toolObjectFindings(cfg, jaeger, none, unchecked).map((f) => f.level),
      ["error", "note"],
    );
  });

  test("existingIstio default: the default tag wins over the revision-less istiod, as in Istio", () => {
    const revisionless = istiod("istio-system", "istiod", "default", "istiod", "1.29.2") as ListedObject;
    const tagged = istiod("istio-system", "istiod-1-30-3", "1-30-3", "istiod-1-30-3") as ListedObject;
    const defaultTag = tagWebhook("default", "1-30-3") as ListedObject;
    const viaTag = servingIstiods("default", [revisionless, tagged], [defaultTag]);
    assert.deepEqual([viaTag.via, viaTag.istiods.map((o) => o.metadata?.name)], ["1-30-3", ["istiod-1-30-3"]]);
    const plain = servingIstiods("default", [revisionless, tagged], []);
    assert.deepEqual([plain.via, plain.istiods.map((o) => o.metadata?.name)], [undefined, ["istiod"]]);
  });

  test("existingIstio: a digest-pinned istiod's minor falls back to the chart's version label; without one, unknown", () => {
    const pinned = {
      metadata: { labels: { app: "istiod", "istio.io/rev": "stable", "app.kubernetes.io/version": "1.30.3" } },
      spec: { template: { spec: { containers: [{ image: "registry.example/istio/pilot@sha256:0123abcd" }] } } },
    };
    assert.equal(istiodMinor(pinned), "1.30");
    const { "app.kubernetes.io/version": _, ...unlabelled } = pinned.metadata.labels;
    assert.equal(istiodMinor({ ...pinned, metadata: { labels: unlabelled } }), undefined);
    assert.equal(istiodMinor(istiod("istio-system", "istiod", "default", "istiod", "1.29.2") as ListedObject), "1.29");
  });

  test("existingIstio: the running image's x.y.z tag wins over the chart's label; a source chart's 1.0.0 is skipped", () => {
    const built = (image: string, version: string, rev = "default") => ({
      metadata: { labels: { app: "istiod", "istio.io/rev": rev, "app.kubernetes.io/version": version } },
      spec: { template: { spec: { containers: [{ image }] } } },
    });
    assert.equal(istiodMinor(built("docker.io/istio/pilot:1.30.3", "1.0.0")), "1.30");
    assert.equal(istiodMinor(built("registry.example:5000/istio/pilot:1.30.3-distroless", "1.29.0")), "1.30");
    assert.equal(istiodMinor(built("registry.example:5000/istio/pilot@sha256:0123abcd", "1.0.0", "1-30-3")), "1.30");
    assert.equal(istiodMinor(built("registry.example/istio/pilot:latest", "1.0.0")), undefined);
    assert.equal(istiodMinor(built("registry.example/istio/pilot:latest", "1.30.3")), "1.30");
  });

  /** An ambient cluster whose default-revision istiod runs 1.30.3 with `env`, and both node agents. */
  const ambientIstiodFacts = (env: { name: string; value: string }[]): PreflightFacts => ({
    server: { major: "1", minor: "34" },
    istiods: [istiod("istio-system", "istiod", "default", "istiod", "1.30.3", env) as ListedObject],
    namespaces: [],
    state: { releases: [], namespaces: [], objects: [] },
    existingIstio: {
      tags: [],
      configMaps: [],
      daemonSets: [daemonSet("ztunnel"), daemonSet("istio-cni-node")] as ListedObject[],
    },
  });

  test("existingIstio in ambient: an istiod without PILOT_ENABLE_AMBIENT=true is refused", () => {
    const cfg = meshConfig({ clusterMode: "existing", dataplane: "ambient", existingIstio: { revision: "default" } });
    const ambient = (env: { name: string; value: string }[]) =>
      preflightFindings(cfg, ambientIstiodFacts(env)).filter((f) => f.check === "existing-ambient");
    assert.deepEqual(
      ambient([]).map((f) => [f.level, f.message.split(":")[0]]),
      [
        [
          "error",
          "dataplane ambient needs istiod istio-system/istiod to run with PILOT_ENABLE_AMBIENT=true (the istiod chart's ambient profile), and it does not",
        ],
      ],
    );
    assert.deepEqual(ambient([{ name: "PILOT_ENABLE_AMBIENT", value: "true" }]), []);
  });

  test("existingIstio: istiod's flags parse as Go's strconv.ParseBool; a valueFrom one is a note, not false", () => {
    const cfg = meshConfig({ clusterMode: "existing", dataplane: "ambient", existingIstio: { revision: "default" } });
    const levels = (env: Record<string, unknown>[]) =>
      preflightFindings(cfg, ambientIstiodFacts(env as { name: string; value: string }[]))
        .filter((f) => f.message.includes("PILOT_"))
        .map((f) => `${f.level} ${f.check}`);
    for (const value of ["1", "t", "T", "TRUE", "true", "True"]) {
      assert.deepEqual(levels([{ name: "PILOT_ENABLE_AMBIENT", value }]), [], value);
      assert.deepEqual(
        levels([
          { name: "PILOT_ENABLE_AMBIENT", value: "true" },
          { name: "PILOT_SCOPE_GATEWAY_TO_NAMESPACE", value },
        ]),
        ["error existing-istiod"],
        value,
      );
    }
    for (const value of ["yes", "on", "0", "False"]) {
      assert.deepEqual(levels([{ name: "PILOT_ENABLE_AMBIENT", value }]), ["error existing-ambient"], value);
    }
    const fromConfigMap = { configMapKeyRef: { name: "istiod-flags", key: "ambient" } };
    assert.deepEqual(levels([{ name: "PILOT_ENABLE_AMBIENT", valueFrom: fromConfigMap }]), ["note existing-ambient"]);
    assert.deepEqual(
      levels([
        { name: "PILOT_ENABLE_AMBIENT", value: "1" },
        { name: "PILOT_SCOPE_GATEWAY_TO_NAMESPACE", valueFrom: fromConfigMap },
      ]),
      ["note existing-istiod"],
    );
  });

  test("existingIstio: an istiod scoping gateways to their namespace is refused where the ingress Gateway is classic", () => {
    const scoped = (trafficApi: "istio" | "gateway-api", value: string) =>
      preflightFindings(meshConfig({ clusterMode: "existing", trafficApi, existingIstio: { revision: "default" } }), {
        server: { major: "1", minor: "34" },
        istiods: [
          istiod("istio-system", "istiod", "default", "istiod", "1.30.3", [
            { name: "PILOT_SCOPE_GATEWAY_TO_NAMESPACE", value },
          ]) as ListedObject,
        ],
        namespaces: [],
        state: { releases: [], namespaces: [], objects: [] },
        existingIstio: { tags: [], configMaps: [] },
      }).filter((f) => f.level === "error");
    const [refused, ...more] = scoped("istio", "true");
    assert.equal(more.length, 0);
    assert.equal(refused?.check, "existing-istiod");
    assert.match(
      refused?.message ?? "",
      /^istiod istio-system\/istiod runs with PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true: a gateway then takes only the Gateways of its own namespace, and this stack's ingress Gateway lives in backend while its pods run in istio-ingress, so ingress would serve nothing\. Use an istiod without it/,
    );
    assert.deepEqual(scoped("istio", "false"), []);
    assert.deepEqual(
      scoped("gateway-api", "true").filter((f) => f.check !== "existing-gateway-api"),
      [],
    );
  });

  test("existingIstio: discoverySelectors must select the stack's namespaces", () => {
    const cfg = meshConfig({ clusterMode: "existing", existingIstio: { revision: "prod-stable" } });
    const map = (mesh: string) => [{ metadata: { name: "istio-1-30-3", namespace: "istio-system" }, data: { mesh } }];
    const check = (selectors: string) =>
      meshConfigFindings(cfg, "1-30-3", "istio-system", map(`${OUR_MESH}\ndiscoverySelectors:\n${selectors}`));
    const platformOnly = check("- matchLabels: {team: platform}");
    assert.deepEqual(
      platformOnly.map((f) => [f.level, f.message.split(":")[0]]),
      [
        [
          "error",
          "the mesh's discoverySelectors (istio-system/istio-1-30-3) select none of namespace backend, istio-ingress, istio-egress",
        ],
      ],
    );
    // The backend's injection label selects it; the gateways' namespaces by name (ORed selectors).
    const byLabel = check(
      [
        "- matchLabels: {istio.io/rev: prod-stable}",
        "- matchExpressions:",
        "  - {key: kubernetes.io/metadata.name, operator: In, values: [istio-ingress, istio-egress]}",
      ].join("\n"),
    );
    assert.deepEqual(byLabel, []);
    assert.match(
      check("- matchLabels: {istio.io/rev: prod-stable}")[0]?.message ?? "",
      /select none of namespace istio-ingress, istio-egress:/,
    );
  });

  test("existingIstio: an istio-ingress the platform's gateway already uses gets a message saying what to do", () => {
    const facts = (cfg: ReturnType<typeof meshConfig>) =>
      preflightFindings(cfg, {
        server: { major: "1", minor: "34" },
        istiods: [],
        namespaces: [{ metadata: { name: "istio-ingress" } }],
        state: { releases: [], namespaces: [], objects: [] },
        existingIstio: { tags: [], configMaps: [] },
      }).filter((f) => f.check === "existing-namespace");
    const [adopting] = facts(meshConfig({ clusterMode: "existing", existingIstio: { revision: "default" } }));
    assert.match(
      adopting?.message ?? "",
      /^namespace istio-ingress exists .* Do not delete it; with existingIstio it is usually the platform's gateway: .* move that gateway to another namespace, or run this stack on a cluster without it$/,
    );
    const [installing] = facts(meshConfig({ clusterMode: "existing" }));
    assert.match(installing?.message ?? "", /Delete it if nothing else uses it, or use a cluster without it$/);
  });
});
