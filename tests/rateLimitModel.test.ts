/**
 * The local rate limit's arithmetic under Envoy's continuous token bucket (AtomicTokenBucket in
 * source/extensions/filters/common/local_ratelimit/local_ratelimit_impl.cc): a pod holds at most
 * `requests` tokens and regains them at `requests / per`, so it admits a burst of `requests`, then
 * one request every `per / requests`. The docs' worked examples and verify's bound are this.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { RATE_LIMIT_PRIORITY, rateLimitFilter } from "../components/security/rateLimit";
import { admittedBound, betaBudget } from "../tools/verify/plan";
import { meshConfig, PROJECT_ROOT } from "./support/configs";

const MINUTE = 60_000;

describe("continuous refill", () => {
  test("the default 100 a minute: a burst of 100, then one more every 0.6 s", () => {
    assert.deepEqual(admittedBound(100, MINUTE, 0), { bound: 100, refilled: 0 });
    assert.equal(admittedBound(100, MINUTE, 599).bound, 100);
    assert.equal(admittedBound(100, MINUTE, 600).bound, 101);
    // The docs' 120-request loop, if it takes 3 s: 105 admitted at most, not "100, then 429s until the minute is up".
    assert.equal(admittedBound(100, MINUTE, 3_000).bound, 105);
    assert.equal(admittedBound(100, MINUTE, MINUTE).bound, 200, "a full minute: the burst plus a minute's refill");
  });

  test("user-service as a whole: a burst of 400 (4 pods × 100), then 400 a minute", () => {
    const cfg = meshConfig();
    const pods = cfg.backend.services
      .find((s) => s.name === "user-service")
      ?.versions.reduce((n, v) => n + v.replicas, 0);
    assert.equal(pods, 4);
    assert.equal(admittedBound(100 * (pods ?? 0), MINUTE, MINUTE).bound, 800, "in the first minute at most 800");
  });

  test("the docs' 50/50 burst: 150 requests on v2's one pod within seconds, about 50 get 429", () => {
    const admitted = Math.min(150, admittedBound(100, MINUTE, 2_000).bound);
    assert.equal(admitted, 103);
    assert.equal(150 - admitted, 47);
  });

  test("verify's bound is the burst plus what refilled while it sent, not a bucket per started period", () => {
    const cfg = meshConfig({ rateLimit: { requests: 400, per: "10s" } });
    const budget = betaBudget(cfg);
    assert.equal(budget, 400, "v2 has one pod");
    assert.deepEqual(admittedBound(budget, 10_000, 1_150), { bound: 446, refilled: 46 });
    // The timer model allowed budget × (1 + ⌈elapsed / per⌉) = 800 here: far looser than Envoy ever admits.
  });

  test("the EnvoyFilter has a priority (a relative INSERT_BEFORE without one is IST0151)", () => {
    const filter = rateLimitFilter(meshConfig());
    assert.equal(filter?.spec?.priority, RATE_LIMIT_PRIORITY);
    assert.notEqual(RATE_LIMIT_PRIORITY, 0, "the analyzer reports priority 0, the default");
    assert.equal(filter?.spec?.configPatches?.[0]?.patch?.operation, "INSERT_BEFORE");
  });

  test("the docs describe the continuous model, not a refill every `per`", () => {
    const security = readFileSync(join(PROJECT_ROOT, "docs/security.md"), "utf8");
    assert.doesNotMatch(security, /refilled every/);
    assert.doesNotMatch(security, /100 × 200, then 429s/);
    assert.doesNotMatch(security, /400 requests a minute/);
    assert.match(security, /one request every `per \/ requests`/);
    const verify = readFileSync(join(PROJECT_ROOT, "docs/verify.md"), "utf8");
    assert.doesNotMatch(verify, /one bucket per refill/);
    assert.doesNotMatch(verify, /\d+ refills?\)/);
  });
});
