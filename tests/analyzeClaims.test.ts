/**
 * The `istioctl analyze` outputs the docs print, against the objects the program builds and Istio
 * 1.30.3's analyzers (pkg/config/analysis/analyzers): injection/injection.go (IST0102 for each
 * namespace without an injection label, istio-system and Istio's ignored namespaces aside),
 * envoyfilter/envoyfilter.go (IST0151 for a relative patch without priority),
 * authz/authorizationpolicies.go (IST0127 when no pod matches, as in files),
 * serviceentry/protocoladdresses.go (IST0134 for a TCP port without addresses and no allocated one).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { buildMeshSpec, ownedObjects } from "../components/meshSpec";
import { devConfig, PROJECT_ROOT } from "./support/configs";

const doc = (name: string) => readFileSync(join(PROJECT_ROOT, "docs", name), "utf8");
const objects = ownedObjects(buildMeshSpec(devConfig())) as readonly (Record<string, any> & {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
})[];
/** inject.IgnoredNamespaces, plus istio-system, which the analyzer skips by name. */
const NOT_ANALYZED = ["istio-system", "kube-system", "kube-public", "kube-node-lease", "local-path-storage"];

/** Namespaces IST0102 reports live: Kubernetes' `default`, and ours without an istio-injection label. */
function uninjectedNamespaces(): string[] {
  const ours = objects
    .filter((o) => o.kind === "Namespace" && !NOT_ANALYZED.includes(o.metadata.name))
    .filter((o) => o.metadata.labels?.["istio-injection"] === undefined)
    .map((o) => o.metadata.name);
  return ["default", ...ours].sort();
}

describe("istioctl analyze, live (docs/traffic.md)", () => {
  test("-A: one IST0102 Info line per namespace without an injection label, and the suppressions match", () => {
    const text = doc("traffic.md");
    const reported = [...text.matchAll(/^Info \[IST0102\] \(Namespace ([a-z0-9-]+)\)/gm)].map((m) => m[1]).sort();
    assert.deepEqual(reported, uninjectedNamespaces());
    assert.deepEqual(uninjectedNamespaces(), ["default", "istio-egress", "istio-ingress"]);
    const suppressed = [...text.matchAll(/--suppress 'IST0102=Namespace ([a-z0-9-]+)'/g)].map((m) => m[1]).sort();
    assert.deepEqual(suppressed, uninjectedNamespaces());
  });

  test("-n backend is clean: no EnvoyFilter with a relative patch lacks a priority (IST0151)", () => {
    const relative = new Set(["INSERT_BEFORE", "INSERT_AFTER", "REPLACE", "REMOVE"]);
    const filters = objects.filter((o) => o.kind === "EnvoyFilter");
    assert.ok(filters.length > 0);
    for (const f of filters) {
      const usesRelative = (f.spec?.configPatches ?? []).some((p: any) => relative.has(p.patch?.operation));
      if (usesRelative) assert.notEqual(f.spec?.priority ?? 0, 0, `${f.metadata.name} would be IST0151`);
    }
    assert.match(doc("traffic.md"), /✔ No validation issues found when analyzing namespace: backend\./);
  });
});

describe("istioctl analyze, offline over rendered/ (docs/render.md)", () => {
  const text = doc("render.md");
  const suppressions = [...text.matchAll(/--suppress '([^']+)'/g)].map((m) => m[1] ?? "");
  const suppressed = (code: string, kind: string, ref: string) =>
    suppressions.some((s) => {
      const [c, pattern] = s.split("=");
      if (c !== code || !pattern) return false;
      const re = new RegExp(`^${pattern.replace(/[.]/g, "\\.").replace(/\*/g, ".*")}$`);
      return re.test(`${kind} ${ref}`);
    });

  test("every AuthorizationPolicy (no Pods in files: IST0127) is suppressed", () => {
    const policies = objects.filter((o) => o.kind === "AuthorizationPolicy");
    assert.ok(policies.length >= 5);
    for (const p of policies) {
      assert.ok(
        suppressed("IST0127", "AuthorizationPolicy", `${p.metadata.namespace}/${p.metadata.name}`),
        p.metadata.name,
      );
    }
  });

  test("every ServiceEntry with a TCP port and no addresses (IST0134) is suppressed, and the catch-all documented", () => {
    const tcpWithoutAddress = objects.filter(
      (o) =>
        o.kind === "ServiceEntry" &&
        !(o.spec?.addresses?.length > 0) &&
        (o.spec?.ports ?? []).some((p: { protocol?: string }) => (p.protocol ?? "TCP").toUpperCase() === "TCP"),
    );
    assert.deepEqual(
      tcpWithoutAddress.map((o) => o.metadata.name),
      ["external-database"],
    );
    for (const se of tcpWithoutAddress) {
      assert.ok(suppressed("IST0134", "ServiceEntry", `${se.metadata.namespace}/${se.metadata.name}`));
      const port = se.spec.ports[0].number;
      assert.match(doc("egress.md"), new RegExp(`0\\.0\\.0\\.0:${port}`), "docs/egress.md names the catch-all");
    }
    assert.doesNotMatch(
      doc("egress.md"),
      /external-db\.company\.com:5432 \(if it existed\)\. Any other host or port does\s+not\./,
    );
  });

  test("the printed excerpt names the istio-egress namespace's IST0102 and an IST0134", () => {
    assert.match(text, /^Info \[IST0102\] \(Namespace istio-egress /m);
    assert.match(text, /^Warning \[IST0134\] \(ServiceEntry backend\/external-database /m);
    assert.match(text, /^Warning \[IST0127\] \(AuthorizationPolicy istio-egress\/egress-gateway-allow-backend /m);
  });
});
