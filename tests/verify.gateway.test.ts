import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { MeshConfig } from "../config/types";
import {
  betaHeader,
  canarySplit,
  circuitBreaker,
  faults,
  httpsCheck,
  jwtCheck,
  rateLimit,
  versionOf,
} from "../tools/verify/checks/gateway";
import { HttpClient } from "../tools/verify/http";
import { seededRandom } from "../tools/verify/main";
import type { Check, CheckRow, VerifyContext } from "../tools/verify/types";
import { meshConfig } from "./support/configs";
import { GOOD, makeTestKeys, type StandinBehaviour, startStandin, type TestKeys } from "./support/standinGateway";

/** The dev stack's shape with delays and the rate-limit window shortened for a test. */
const cfgRaw = {
  canaryWeights: { v1: 90, v2: 10 },
  faults: {
    "product-service": { percent: 50, delay: "1s" },
    "order-service": { percent: 30, status: 500 },
  },
  rateLimit: { requests: 400, per: "1s" },
};
const cfg: MeshConfig = meshConfig(cfgRaw);

let keys: TestKeys;
before(async () => {
  keys = await makeTestKeys();
});

async function run(
  check: Check,
  change: Partial<StandinBehaviour> = {},
  {
    requests = 400,
    token = true,
    tlsLeaf,
    config = cfg,
  }: { requests?: number; token?: boolean; tlsLeaf?: { cert: string; key: string }; config?: MeshConfig } = {},
): Promise<CheckRow[]> {
  const standin = await startStandin({ seed: 7, ...GOOD, ...change }, keys, tlsLeaf);
  const http = new HttpClient(10);
  const ctx: VerifyContext = {
    cfg: config,
    target: {
      url: standin.httpUrl,
      httpsUrl: standin.httpsUrl,
      ...(token && { token: keys.validToken }),
      caCert: keys.ca.cert,
    },
    options: { requests, concurrency: 10, seed: 1, offline: true, alpha: 0.001 },
    http,
    accessCases: [],
    progress: () => {},
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    random: seededRandom(1),
  };
  try {
    return await check(ctx);
  } finally {
    http.close();
    await standin.close();
  }
}

const verdicts = (rows: CheckRow[]) => Object.fromEntries(rows.map((r) => [r.subject, r.verdict]));
const allPass = (rows: CheckRow[]) => {
  assert.ok(rows.length > 0);
  for (const r of rows) assert.equal(r.verdict, "pass", `${r.subject}: ${r.observed}`);
};

describe("verify through a stand-in gateway", () => {
  it("classifies a body by its first v<digits> token", () => {
    assert.equal(versionOf("User Service v2 - canary (NEW)"), "v2");
    assert.equal(versionOf("v10 first, then v2"), "v10");
    assert.equal(versionOf("nov3x dev4 v"), undefined);
  });

  it("canary split: passes 90/10, fails 85/15 at N = 1000", async () => {
    const [good, skewed] = await Promise.all([
      run(canarySplit),
      run(canarySplit, { v2Share: 0.15 }, { requests: 1000 }),
    ]);
    allPass(good);
    assert.match(good[0]?.observed ?? "", /v1 \d+\.\d% \[.*\], v2/);
    const [lo, hi] = good[0]?.stats?.interval ?? [1, 0];
    assert.ok(lo < 0.1 && 0.1 < hi, "the reported interval is v2's and covers 10%");
    assert.equal(skewed[0]?.verdict, "fail", skewed[0]?.observed);
    assert.ok((skewed[0]?.stats?.pValue ?? 1) <= 0.001);
  });

  it("canary split: a rate limit that bites is censored, not counted as a version", async () => {
    const rows = await run(canarySplit, { rateLimit: { perPod: 10, header: true } });
    assert.ok((rows[0]?.stats?.censored ?? 0) > 0, rows[0]?.observed);
    // With most v1 answers throttled the observed share is biased; the censoring-aware test must not cry wolf.
    assert.equal(rows[0]?.verdict, "pass", rows[0]?.observed);
  });

  it("beta header: v2 only; fails when beta traffic is split", async () => {
    const [good, split] = await Promise.all([run(betaHeader), run(betaHeader, { betaToV2: false })]);
    allPass(good);
    assert.equal(split[0]?.verdict, "fail");
  });

  it("faults: delay rate and size, abort rate; each fails its faulty stand-in", async () => {
    const [good, rare, long, aborts] = await Promise.all([
      run(faults),
      run(faults, { productDelay: { fraction: 0.2, ms: 1000 } }).then(verdicts),
      run(faults, { productDelay: { fraction: 0.5, ms: 2000 } }).then(verdicts),
      run(faults, { orderAbort: { fraction: 0.1, status: 500 } }).then(verdicts),
    ]);
    assert.deepEqual(Object.keys(verdicts(good)).sort(), [
      "order-service abort rate",
      "product-service delay rate",
      "product-service delay size",
    ]);
    allPass(good);
    assert.equal(rare["product-service delay rate"], "fail");
    assert.equal(long["product-service delay rate"], "pass");
    assert.equal(long["product-service delay size"], "fail");
    assert.equal(aborts["order-service abort rate"], "fail");
  });

  it("circuit breaker: overflow 503s pass; no overflow or unmarked 503s fail", async () => {
    const [good, noPool, unmarked] = await Promise.all([
      run(circuitBreaker),
      run(circuitBreaker, { productPool: false }),
      run(circuitBreaker, { productPool: { capacity: 6, marked: false } }),
    ]);
    allPass(good);
    assert.match(good[0]?.subject ?? "", /product-service burst of 48/);
    assert.equal(noPool[0]?.verdict, "fail");
    assert.equal(unmarked[0]?.verdict, "fail");
    assert.match(unmarked[0]?.observed ?? "", /other: \d+×503/);
  });

  it("jwt: none 403, bad/expired/malformed 401, valid 200; an accept-all mesh fails", async () => {
    const [good, open, skipped] = await Promise.all([
      run(jwtCheck),
      run(jwtCheck, { jwt: { verify: false, required: false } }).then(verdicts),
      run(jwtCheck, {}, { token: false }),
    ]);
    assert.equal(good.length, 5);
    allPass(good);
    assert.equal(open["/users no token"], "fail");
    assert.equal(open["/users bad signature token"], "fail");
    assert.equal(open["/users expired token"], "fail");
    assert.equal(skipped.at(-1)?.verdict, "skip");
  });

  it("rate limit: 429 with its header once the beta pod's burst is spent", async () => {
    // A minute's fill interval: the continuous refill (400 a minute) stays far below any send rate, so
    // the outcome does not depend on how fast this machine sends.
    const minute = { config: meshConfig({ ...cfgRaw, rateLimit: { requests: 400, per: "60s" } }) };
    const bucket = { perPod: 400, perMs: 60_000, header: true };
    const [good, unlimited, bare, loose] = await Promise.all([
      run(rateLimit, { rateLimit: bucket }, minute),
      run(rateLimit, { rateLimit: false }, minute),
      run(rateLimit, { rateLimit: { ...bucket, header: false } }, minute),
      run(rateLimit, { rateLimit: { ...bucket, perPod: 2000 } }, minute),
    ]);
    allPass(good);
    assert.match(good[0]?.expected ?? "", /after ≤ 4\d\d admitted \(burst 400 \+ \d+ refilled\)/);
    assert.equal(unlimited[0]?.verdict, "fail");
    assert.equal(bare[0]?.verdict, "fail");
    assert.match(bare[0]?.observed ?? "", /0\/\d+ with the header/);
    assert.equal(loose[0]?.verdict, "fail", "a bucket far above the configured one is not the configured limit");
  });

  it("https: verifies against the test CA and names the host; a wrong-host certificate fails", async () => {
    const [good, wrongHost, untrusted] = await Promise.all([
      run(httpsCheck),
      run(httpsCheck, {}, { tlsLeaf: keys.wrongHostLeaf }),
      run(httpsCheck, {}, { tlsLeaf: keys.ca }),
    ]);
    assert.equal(good.length, 2);
    allPass(good);
    assert.equal(wrongHost[0]?.verdict, "fail");
    assert.equal(untrusted[0]?.verdict, "fail");
  });
});
