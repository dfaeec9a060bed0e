import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { changeCount, compareGraphs } from "../tools/graph/compare";
import { type MeshGraph, meshGraph, meshTitle } from "../tools/graph/graph";
import { main } from "../tools/graph/main";
import { toMermaid } from "../tools/graph/mermaid";
import { toSvg } from "../tools/graph/svg";
import { devStackConfig, PROJECT_ROOT } from "./support/configs";
import { scratchDir } from "./support/scratchDir";

const dev = meshGraph(devStackConfig());
const edge = (g: MeshGraph, from: string, to: string, kind?: string) =>
  g.edges.filter((e) => e.from === from && e.to === to && (kind === undefined || e.kind === kind));
const labels = (g: MeshGraph, from: string, to: string) => edge(g, from, to).map((e) => e.lines.join(" / "));

describe("npm run graph: the mesh as the specs build it", () => {
  test("ingress routes carry their match, weights, fault, retries and the destination's breaker", () => {
    const users = labels(dev, "ingress-gateway", "user-service");
    assert.ok(
      users.some((l) => l.startsWith("/users / v1 90% · v2 10% / retries 3×2s on 5xx, timeout 10s / breaker:")),
    );
    assert.ok(users.some((l) => l.startsWith("/users [x-user-type: beta] / → v2 only")));
    assert.match(labels(dev, "ingress-gateway", "product-service")[0] ?? "", /fault: delay 5s on 50%.*breaker: 1 conn/);
    assert.match(labels(dev, "ingress-gateway", "order-service")[0] ?? "", /fault: abort 500 on 30%/);
  });

  test("who may call whom follows the AuthorizationPolicies, JWT condition included", () => {
    for (const service of ["user-service", "product-service", "order-service"]) {
      assert.equal(edge(dev, "mesh-client", service, "allow").length, 1, service);
    }
    assert.equal(edge(dev, "user-service", "product-service", "allow").length, 1);
    assert.equal(edge(dev, "product-service", "order-service", "allow").length, 1);
    assert.equal(edge(dev, "user-service", "order-service").length, 0);
    assert.deepEqual(edge(dev, "mesh-client", "user-service")[0]?.lines, ["mTLS", "JWT role ∈ admin|user"]);
    assert.match(labels(dev, "ingress-gateway", "user-service")[0] ?? "", /allowed: mTLS identity, JWT role/);
  });

  test("a caller without a sidecar is refused under STRICT mTLS, and not drawn so under PERMISSIVE", () => {
    assert.equal(dev.edges.filter((e) => e.kind === "denied" && e.from === "outside-client").length, 3);
    const permissive = meshGraph({ ...devStackConfig(), "istio-mesh:mtlsMode": "PERMISSIVE" });
    assert.equal(permissive.edges.filter((e) => e.kind === "denied").length, 0);
  });

  test("in ambient, egress goes through the egress waypoint its ServiceEntry's namespace is enrolled in", () => {
    const ambient = meshGraph({ ...devStackConfig(), "istio-mesh:dataplane": "ambient" });
    assert.deepEqual(ambient.nodes.find((n) => n.id === "egress-gateway")?.lines, [
      "egress waypoint",
      "Gateway waypoint (istio-waypoint)",
    ]);
    assert.deepEqual(edge(ambient, "backend-sidecars", "egress-gateway", "egress")[0]?.lines, [
      "HBONE (mTLS) to the egress waypoint",
    ]);
    assert.equal(edge(ambient, "egress-gateway", "external:httpbin.org", "egress").length, 1);
    // The simulated database stays in the backend namespace: not through the egress waypoint.
    assert.equal(edge(ambient, "backend-sidecars", "external:external-db.company.com", "egress").length, 1);
  });

  test("egress goes through the egress gateway where the mesh routes it, direct otherwise", () => {
    assert.equal(edge(dev, "backend-sidecars", "egress-gateway", "egress").length, 1);
    assert.equal(edge(dev, "egress-gateway", "external:httpbin.org", "egress").length, 1);
    assert.deepEqual(edge(dev, "backend-sidecars", "external:external-db.company.com")[0]?.lines, ["direct"]);
    const direct = meshGraph({ ...devStackConfig(), "istio-mesh:egressGateway": false });
    assert.ok(!direct.nodes.some((n) => n.id === "egress-gateway"));
    assert.equal(edge(direct, "backend-sidecars", "external:httpbin.org").length, 1);
  });

  test("a config change changes the picture", () => {
    const shifted = meshGraph({ ...devStackConfig(), "istio-mesh:canaryWeights": { v1: 50, v2: 50 } });
    assert.ok(labels(shifted, "ingress-gateway", "user-service").some((l) => l.includes("v1 50% · v2 50%")));
  });

  test("before and after in one picture: what changed is marked, and only that", () => {
    const { "istio-mesh:faults": faults, ...rest } = devStackConfig() as Record<string, Record<string, unknown>>;
    const { "order-service": _dropped, ...otherFaults } = faults ?? {};
    const after = meshGraph({
      ...rest,
      "istio-mesh:faults": otherFaults,
      "istio-mesh:canaryWeights": { v1: 75, v2: 25 },
      "istio-mesh:egressGateway": false,
    });
    const both = compareGraphs(dev, after);
    assert.deepEqual(compareGraphs(dev, dev), dev, "no change, no mark");
    const users = edge(both, "ingress-gateway", "user-service").find(
      (e) => e.lines[0]?.includes("/users") && !e.lines[0].includes("beta"),
    );
    assert.equal(users?.change, "changed");
    assert.equal(users?.lines[0], "~ /users");
    assert.ok(users?.lines.includes("was: v1 90% · v2 10%"), users?.lines.join(" / "));
    const orders = edge(both, "ingress-gateway", "order-service")[0];
    assert.equal(orders?.change, "changed");
    assert.ok(orders?.lines.includes("was: fault: abort 500 on 30%"), orders?.lines.join(" / "));
    // The egress gateway is gone: its node and its edges are drawn, marked removed.
    assert.equal(both.nodes.find((n) => n.id === "egress-gateway")?.change, "removed");
    assert.ok(both.edges.some((e) => e.to === "egress-gateway" && e.change === "removed"));
    assert.equal(edge(both, "mesh-client", "user-service", "allow")[0]?.change, undefined, "unchanged stays plain");
    // The SVG highlights each marked edge under its line and says what the marks mean; Mermaid styles the same links.
    const svg = toSvg(both, "changes");
    const marked = both.edges.filter((e) => e.change);
    assert.equal((svg.match(/<polyline /g) ?? []).length, both.edges.length + marked.length);
    assert.match(svg, /changed \(label: ~, and what it was\)/);
    assert.doesNotMatch(svg, /NaN|undefined|Infinity/);
    const styled = [...toMermaid(both).matchAll(/^ {2}linkStyle (\d+) /gm)].map((m) => Number(m[1]));
    assert.deepEqual(
      styled,
      both.edges.flatMap((e, i) => (e.change ? [i] : [])),
    );
    assert.equal(changeCount(both), marked.length + both.nodes.filter((n) => n.change).length);
  });

  test("the SVG draws every node and edge at finite coordinates; Mermaid has the same graph", () => {
    const svg = toSvg(dev, meshTitle("dev"));
    assert.match(
      svg,
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" role="img" width="\d+(\.\d)?" height="\d+(\.\d)?"/,
    );
    assert.doesNotMatch(svg, /NaN|undefined|Infinity/);
    assert.equal((svg.match(/<polyline /g) ?? []).length, dev.edges.length);
    for (const node of dev.nodes) assert.ok(svg.includes(`>${node.lines[0]}</text>`), node.id);
    const mermaid = toMermaid(dev);
    assert.match(mermaid, /^flowchart LR\n/);
    assert.equal(mermaid.split("\n").filter((l) => / (-->|-\.->|-\.-x|==>)/.test(l)).length, dev.edges.length);
  });

  test("the CLI writes both files and answers --help", () => {
    const out = scratchDir("graph-test-");
    const lines: string[] = [];
    assert.equal(main(["--stack", "dev", "--out", out], PROJECT_ROOT, { stdout: (l) => lines.push(l) }), 0);
    assert.ok(existsSync(join(out, "mesh-dev.svg")) && existsSync(join(out, "mesh-dev.mmd")));
    assert.equal(readFileSync(join(out, "mesh-dev.svg"), "utf8"), toSvg(dev, meshTitle("dev")));
    assert.match(lines[0] ?? "", /^graph: \d+ nodes, \d+ edges for stack dev: /);
    assert.equal(main(["--help"], PROJECT_ROOT, { stdout: (l) => lines.push(l) }), 0);
    assert.match(lines[1] ?? "", /^npm run graph -- /);
    assert.throws(() => main(["--stack", "nope"], PROJECT_ROOT, { stdout: () => {} }), /stack file not found/);
  });
});
