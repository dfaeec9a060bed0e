import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { main } from "../tools/verify/main";
import { burstPlans, canaryPacing, planChecks } from "../tools/verify/plan";
import { buildReport, formatTable } from "../tools/verify/report";
import {
  binomialPValue,
  clopperPearson,
  detectableRange,
  power,
  proportionTest,
  splitTest,
} from "../tools/verify/stats";
import { devConfig, meshConfig, PROJECT_ROOT } from "./support/configs";

describe("verify statistics", () => {
  it("exact binomial p-values match R's binom.test and a direct sum of pmf", () => {
    assert.equal(binomialPValue(7, 10, 0.5), 0.34375);
    assert.ok(Math.abs(binomialPValue(682, 925, 0.75) - 0.3825) < 1e-4);
    assert.ok(Math.abs(binomialPValue(2, 20, 0.3) - 0.0526279) < 1e-6);
    assert.equal(binomialPValue(3, 10, 0), 0);
  });

  it("splitTest: 85/15 observed at N = 1000 fails a 90/10 expectation; 90/10 passes", () => {
    const skewed = splitTest({ v1: 850, v2: 150 }, { v1: 90, v2: 10 });
    assert.equal(skewed.verdict, "fail");
    assert.ok(skewed.pValue < 1e-5);
    const fair = splitTest({ v1: 905, v2: 95 }, { v1: 90, v2: 10 });
    assert.equal(fair.verdict, "pass");
    assert.equal(fair.test, "exact binomial");
    const [lo, hi] = fair.shares.v2?.interval ?? [0, 0];
    assert.ok(lo < 0.1 && 0.1 < hi);
  });

  it("splitTest: a weight-0 version or an unlabelled body fails; one live version has nothing to test", () => {
    assert.equal(splitTest({ v1: 99, v2: 1 }, { v1: 100, v2: 0 }).verdict, "fail");
    assert.equal(splitTest({ v1: 99, unlabelled: 1 }, { v1: 100, v2: 0 }).verdict, "fail");
    assert.equal(splitTest({ v1: 100 }, { v1: 100, v2: 0 }).verdict, "pass");
  });

  it("splitTest: more than two versions use chi-square", () => {
    const r = splitTest({ a: 340, b: 330, c: 330 }, { a: 33, b: 33, c: 34 });
    assert.equal(r.test, "chi-square");
    assert.equal(r.verdict, "pass");
    assert.equal(splitTest({ a: 500, b: 250, c: 250 }, { a: 33, b: 33, c: 34 }).verdict, "fail");
  });

  it("censored outcomes only cost power: the p-value is the best case over their versions", () => {
    // 900 answered, 100 throttled that could all have been v2: consistent with 10%.
    assert.equal(proportionTest(60, 900, 0.1, { censored: 100 }).verdict, "pass");
    assert.equal(proportionTest(60, 900, 0.1).verdict, "fail");
    const r = splitTest({ v1: 700, v2: 60 }, { v1: 90, v2: 10 }, { censored: 240 });
    assert.equal(r.verdict, "pass");
    assert.ok((r.shares.v2?.interval[1] ?? 0) > 0.25, "the interval widens to cover the censored");
  });

  it("Clopper–Pearson bounds and power are exact", () => {
    const [lo, hi] = clopperPearson(5, 10, 0.05);
    assert.ok(Math.abs(lo - 0.187086) < 1e-5 && Math.abs(hi - 0.812914) < 1e-5);
    // The README's figures at the default N.
    const [splitLo, splitHi] = detectableRange(1000, 0.1);
    assert.ok(splitLo > 0.056 && splitLo < 0.058 && splitHi > 0.15 && splitHi < 0.152);
    assert.ok(Math.abs(power(1000, 0.1, 0.15, 0.001) - 0.9413) < 1e-3);
    assert.ok(power(1000, 0.1, 0.1, 0.001) <= 0.001, "the level holds at the null");
  });
});

describe("verify plan", () => {
  const have = { token: true, caCert: true, httpsUrl: true, cluster: true, offline: false };

  it("runs only the checks the config calls for", () => {
    const skipped = (cfg = devConfig(), h = have) =>
      Object.fromEntries(planChecks(cfg, h).flatMap((p) => (p.skip ? [[p.name, p.skip]] : [])));
    assert.deepEqual(skipped(), {});
    const bare = meshConfig({
      rateLimit: false,
      mtlsMode: "PERMISSIVE",
      egressGateway: false,
      observability: { enabled: false },
    });
    assert.deepEqual(Object.keys(skipped(bare)).sort(), ["egress", "faults", "mtls", "observability", "rate-limit"]);
    assert.deepEqual(
      Object.keys(skipped(devConfig(), { ...have, token: false, cluster: false, offline: true })).sort(),
      [
        "access-matrix",
        "beta-header",
        "canary-split",
        "control-plane",
        "egress",
        "mtls",
        "observability",
        "rate-limit",
      ],
    );
    const only = planChecks(devConfig(), have, ["jwt"]).filter((p) => !p.skip);
    assert.deepEqual(only, [{ name: "jwt" }]);
  });

  it("paces the split to the busiest pod's bucket and runs the rate-limit check last", () => {
    // dev: 90/10 over 3 v1 pods and 1 v2 pod, 100 requests per 60s per pod → a v1 pod gets 30%.
    const pacing = canaryPacing(devConfig());
    assert.ok(Math.abs(pacing.busiestPodShare - 0.3) < 1e-9);
    assert.equal(pacing.intervalMs, 240);
    assert.equal(canaryPacing(meshConfig({ rateLimit: false })).intervalMs, 0);
    assert.equal(planChecks(devConfig(), have).at(-1)?.name, "rate-limit");
  });

  it("sizes the circuit-breaker burst from the DestinationRule, the endpoints and the delay fault", () => {
    // product-service: maxConnections 1 + 2 endpoints × 2 workers + 1 pending = 6; half the burst is parked by the delay.
    assert.deepEqual(burstPlans(devConfig()), [
      { service: "product-service", path: "/products", capacity: 6, delayedFraction: 0.5, burst: 48 },
    ]);
  });
});

describe("verify main and output", () => {
  it("an unreachable gateway is reported at once, not after a hang; --json still writes why", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const argv = ["--config", join(PROJECT_ROOT, "Pulumi.dev.yaml"), "--url", "http://127.0.0.1:1", "--only", "jwt"];
    const deps = { projectRoot: PROJECT_ROOT, stdout: (t: string) => out.push(t), stderr: (l: string) => err.push(l) };
    assert.equal(await main(argv, deps), 2);
    assert.equal(err.length, 1);
    assert.match(err[0] ?? "", /^verify: cannot reach the ingress gateway at http:\/\/127\.0\.0\.1:1: ECONNREFUSED/);
    assert.deepEqual(out, []);
    assert.equal(await main([...argv, "--json"], deps), 2);
    const report = JSON.parse(out.join(""));
    assert.equal(report.passed, false);
    assert.equal(report.exitCode, 2);
    assert.match(report.error, /cannot reach the ingress gateway/);
  });

  it("a run whose --only names no in-cluster check reads no kubeconfig; one that does, reads it", async () => {
    const err: string[] = [];
    const deps = { projectRoot: PROJECT_ROOT, stdout: () => {}, stderr: (l: string) => err.push(l) };
    const base = ["--config", join(PROJECT_ROOT, "Pulumi.dev.yaml"), "--url", "http://127.0.0.1:1"];
    // A kubeconfig without the stack's context (kind-lab-cluster): the Kubernetes client refuses it.
    const dir = mkdtempSync(join(tmpdir(), "verify-kubeconfig-"));
    const file = join(dir, "kubeconfig");
    writeFileSync(file, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
    try {
      assert.equal(await main([...base, "--kubeconfig", file, "--only", "jwt"], deps), 2);
      assert.match(err[0] ?? "", /^verify: cannot reach the ingress gateway/);
      assert.equal(await main([...base, "--kubeconfig", file, "--only", "jwt,mtls"], deps), 2);
      assert.match(err[1] ?? "", /^verify: cannot use the kubeconfig: the kubeconfig has no context kind-lab-cluster/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the table and JSON carry every row, and the family-wise bound counts statistical rows", () => {
    const report = buildReport(
      [
        {
          check: "canary-split",
          subject: "split",
          expected: "v1 90%",
          observed: "…",
          verdict: "pass",
          stats: { n: 1, censored: 0, pValue: 0.5 },
        },
        {
          check: "faults",
          subject: "order-service abort rate",
          expected: "30%",
          observed: "…",
          verdict: "fail",
          stats: { n: 1, censored: 0, pValue: 0 },
        },
        { check: "jwt", subject: "/users no token", expected: "403", observed: "403", verdict: "pass" },
      ],
      { source: "stack dev", gateway: "http://localhost:8080", seed: 1, alpha: 0.001 },
    );
    assert.equal(report.passed, false);
    assert.equal(report.statisticalChecks, 2);
    assert.equal(report.familyWiseFalseAlarm, 0.002);
    const table = formatTable(report);
    assert.match(table, /^check\s+subject\s+expected\s+observed\s+verdict$/m);
    assert.match(table, /1 check\(s\) FAILED/);
  });
});
