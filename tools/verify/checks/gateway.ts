import { generateKeyPair, SignJWT } from "jose";
import { RATE_LIMIT_HEADER } from "../../../components/security/rateLimit";
import { BETA_HEADER } from "../../../components/traffic/routes";
import { durationMillis } from "../../../config/readers";
import type { BackendServiceName, MeshConfig } from "../../../config/types";
import { HttpClient, type Reply, tlsHandshake } from "../http";
import { admittedBound, BETA_SAMPLE, betaBudget, burstPlans, canaryPacing, delaySample } from "../plan";
import { runPaced } from "../pool";
import { proportionTest, splitTest } from "../stats";
import type { CheckRow, VerifyContext } from "../types";
import { describeSplit, percent, range } from "./format";

/** Checks through the ingress gateway, as a user's client sees the mesh. */

/** The first `v<digits>` token of a body names the version that answered. */
export function versionOf(body: string): string | undefined {
  return /(?:^|[^A-Za-z0-9])(v\d+)(?![A-Za-z0-9])/.exec(body)?.[1];
}

/** Envoy marks a 503 it returned because a circuit breaker overflowed (flag UO). */
export const isOverflow = (r: Reply): boolean =>
  r.status === 503 && (r.headers["x-envoy-overloaded"] === "true" || /reset reason: overflow/i.test(r.body));

function pathOf(cfg: MeshConfig, name: BackendServiceName): string {
  return cfg.backend.services.find((s) => s.name === name)?.pathPrefix ?? `/${name}`;
}

const auth = (token: string | undefined): Record<string, string> =>
  token === undefined ? {} : { authorization: `Bearer ${token}` };

/** A per-run request id keeps any cache out of the way and lets access logs be matched to a run. */
function url(ctx: VerifyContext, path: string): string {
  return `${ctx.target.url}${path}?verify=${Math.floor(ctx.random() * 2 ** 32).toString(16)}`;
}

function statusSummary(replies: readonly Reply[]): string {
  const by = new Map<string, number>();
  for (const r of replies) {
    const key = r.error ? (r.error.split(":")[0] ?? "error") : String(r.status);
    by.set(key, (by.get(key) ?? 0) + 1);
  }
  return [...by].map(([k, n]) => `${n}×${k}`).join(", ");
}

export async function canarySplit(ctx: VerifyContext): Promise<CheckRow[]> {
  const { cfg, options } = ctx;
  const pacing = canaryPacing(cfg);
  const userFault = cfg.faults["user-service"];
  const replies = await runPaced(
    options.requests,
    () => ctx.http.get(url(ctx, pathOf(cfg, "user-service")), { headers: auth(ctx.target.token) }),
    {
      concurrency: options.concurrency,
      intervalMs: pacing.intervalMs,
      random: ctx.random,
      sleep: ctx.sleep,
      onDone: (d) => ctx.progress(d, options.requests),
    },
  );
  const counts: Record<string, number> = {};
  // A 429 or an injected abort hides which version was chosen: censored, never guessed.
  const censoredReplies = replies.filter((r) => r.status === 429 || (userFault && r.status === userFault.status));
  const errors = replies.filter((r) => r.status !== 200 && !censoredReplies.includes(r));
  for (const r of replies.filter((r) => r.status === 200)) {
    const label = versionOf(r.body) ?? "unlabelled";
    counts[label] = (counts[label] ?? 0) + 1;
  }
  const result = splitTest(counts, cfg.canaryWeights, { alpha: options.alpha, censored: censoredReplies.length });
  // The interval reported in stats is the canary's: the live version with the smallest weight.
  const canary = Object.values(result.shares)
    .filter((s) => s.expected > 0 && s.expected < 1)
    .sort((a, b) => a.expected - b.expected)[0];
  const notes = [
    `n=${result.n}`,
    ...(result.censored > 0 ? [`${result.censored} censored (429/abort)`] : []),
    ...(errors.length > 0 ? [`errors: ${statusSummary(errors)}`] : []),
    `p=${result.pValue.toPrecision(2)}`,
  ];
  return [
    {
      check: "canary-split",
      subject: "user-service split",
      expected: Object.entries(cfg.canaryWeights)
        .map(([v, w]) => `${v} ${w}%`)
        .join(", "),
      observed: `${describeSplit(result.shares)}; ${notes.join(", ")}`,
      verdict: errors.length > 0 ? "fail" : result.verdict,
      stats: {
        n: result.n,
        censored: result.censored,
        pValue: result.pValue,
        ...(canary && { interval: canary.interval }),
      },
    },
  ];
}

export async function betaHeader(ctx: VerifyContext): Promise<CheckRow[]> {
  const { cfg, options } = ctx;
  const n = Math.min(BETA_SAMPLE, options.requests);
  const replies = await runPaced(
    n,
    () =>
      ctx.http.get(url(ctx, pathOf(cfg, "user-service")), {
        headers: { ...auth(ctx.target.token), [BETA_HEADER]: "beta" },
      }),
    { concurrency: options.concurrency, onDone: (d) => ctx.progress(d, n) },
  );
  const ok = replies.filter((r) => r.status === 200);
  const versions = ok.map((r) => versionOf(r.body) ?? "unlabelled");
  const beta = versions.filter((v) => v === cfg.betaVersion).length;
  const others = replies.filter((r) => r.status !== 200 && r.status !== 429);
  const wrong = versions.length - beta;
  return [
    {
      check: "beta-header",
      subject: `${BETA_HEADER}: beta`,
      expected: `${cfg.betaVersion} only`,
      observed:
        `${cfg.betaVersion} ${beta}/${ok.length}` +
        (wrong > 0 ? `, other versions ${wrong}` : "") +
        (others.length > 0 ? `, errors: ${statusSummary(others)}` : ""),
      verdict: beta > 0 && wrong === 0 && others.length === 0 ? "pass" : "fail",
    },
  ];
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0
    ? Number.NaN
    : sorted.length % 2
      ? (sorted[mid] ?? 0)
      : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/** The delay estimate may differ from the configured delay by this share (plus 50 ms of network noise). */
export const DELAY_TOLERANCE = 0.2;

export async function faults(ctx: VerifyContext): Promise<CheckRow[]> {
  const { cfg, options } = ctx;
  const rows: CheckRow[] = [];
  for (const [service, fault] of Object.entries(cfg.faults) as [
    BackendServiceName,
    NonNullable<MeshConfig["faults"][BackendServiceName]>,
  ][]) {
    const delayMs = fault.delay !== undefined ? (durationMillis(fault.delay) ?? 0) : undefined;
    const n = delayMs !== undefined ? delaySample(options.requests) : options.requests;
    const replies = await runPaced(
      n,
      () =>
        ctx.http.get(url(ctx, pathOf(cfg, service)), {
          headers: service === "user-service" ? auth(ctx.target.token) : {},
          timeoutMs: (delayMs ?? 0) + 15_000,
        }),
      { concurrency: options.concurrency, onDone: (d) => ctx.progress(d, n) },
    );
    const answered = replies.filter((r) => !r.error && r.status !== 429);
    const censored = replies.length - answered.length;
    const p = fault.percent / 100;
    if (delayMs !== undefined) {
      const slow = answered.filter((r) => r.ms >= delayMs / 2);
      const fast = answered.filter((r) => r.ms < delayMs / 2);
      const t = proportionTest(slow.length, answered.length, p, { alpha: options.alpha, censored });
      rows.push({
        check: "faults",
        subject: `${service} delay rate`,
        expected: `${fault.percent}% slow (≥ ${delayMs / 2} ms)`,
        observed: `${percent(t.observed)} ${range(t.interval)}; n=${t.n}${censored ? `, ${censored} censored` : ""}, p=${t.pValue.toPrecision(2)}`,
        verdict: t.verdict,
        stats: { n: t.n, censored, pValue: t.pValue, interval: t.interval },
      });
      const estimate = median(slow.map((r) => r.ms)) - (fast.length > 0 ? median(fast.map((r) => r.ms)) : 0);
      const slack = delayMs * DELAY_TOLERANCE + 50;
      rows.push({
        check: "faults",
        subject: `${service} delay size`,
        expected: `${delayMs} ms ± ${Math.round(slack)} ms`,
        observed: slow.length > 0 ? `${Math.round(estimate)} ms (median slow − median fast)` : "no slow responses",
        verdict: slow.length > 0 && Math.abs(estimate - delayMs) <= slack ? "pass" : p === 0 ? "pass" : "fail",
      });
    }
    if (fault.status !== undefined) {
      const aborted = answered.filter((r) => r.status === fault.status).length;
      const t = proportionTest(aborted, answered.length, p, { alpha: options.alpha, censored });
      rows.push({
        check: "faults",
        subject: `${service} abort rate`,
        expected: `${fault.percent}% HTTP ${fault.status}`,
        observed: `${percent(t.observed)} ${range(t.interval)}; n=${t.n}${censored ? `, ${censored} censored` : ""}, p=${t.pValue.toPrecision(2)}`,
        verdict: t.verdict,
        stats: { n: t.n, censored, pValue: t.pValue, interval: t.interval },
      });
    }
  }
  return rows;
}

const BURST_ROUNDS = 3;

export async function circuitBreaker(ctx: VerifyContext): Promise<CheckRow[]> {
  const { cfg } = ctx;
  const rows: CheckRow[] = [];
  for (const plan of burstPlans(cfg)) {
    const fault = cfg.faults[plan.service];
    const delayMs = fault?.delay !== undefined ? (durationMillis(fault.delay) ?? 0) : 0;
    const all: Reply[] = [];
    // A pool of its own: each request of the burst needs its own connection to arrive at once.
    const client = new HttpClient(plan.burst);
    try {
      // Bounded: a few bursts, stopping at the first that overflows.
      for (let round = 0; round < BURST_ROUNDS && !all.some(isOverflow); round++) {
        // Open every connection first (a request to an unrouted path, answered by the gateway itself),
        // so the burst's requests leave together instead of trickling out behind TCP handshakes.
        await Promise.all(Array.from({ length: plan.burst }, () => client.get(`${ctx.target.url}/`)));
        const burst = await Promise.all(
          Array.from({ length: plan.burst }, () => client.get(url(ctx, plan.path), { timeoutMs: delayMs + 15_000 })),
        );
        all.push(...burst);
        ctx.progress(round + 1, BURST_ROUNDS);
      }
    } finally {
      client.close();
    }
    const overflow = all.filter(isOverflow).length;
    const unexplained = all.filter(
      (r) => !isOverflow(r) && r.status !== 200 && !(fault?.status !== undefined && r.status === fault.status),
    );
    rows.push({
      check: "circuit-breaker",
      subject: `${plan.service} burst of ${plan.burst}`,
      expected: `503 overflow (UO) beyond ${plan.capacity} in flight; no other errors`,
      observed: `${overflow} overflow 503 of ${all.length}${unexplained.length ? `; other: ${statusSummary(unexplained)}` : ""}`,
      verdict: overflow > 0 && unexplained.length === 0 ? "pass" : "fail",
    });
  }
  return rows;
}

/** Tokens the mesh must refuse, signed with a key of our own (no stack key needed). */
export async function refusedTokens(
  cfg: MeshConfig,
): Promise<Record<"bad signature" | "expired" | "malformed", string>> {
  const { privateKey } = await generateKeyPair("ES256");
  const { jwt } = cfg.security;
  const now = Math.floor(Date.now() / 1000);
  const sign = (iat: number, exp: number) =>
    new SignJWT({ [jwt.roleClaim]: jwt.roles[0] ?? "user" })
      .setProtectedHeader({ alg: "ES256", kid: "verify" })
      .setIssuer(jwt.issuer)
      .setAudience(jwt.audiences[0] ?? "")
      .setSubject("verify")
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(privateKey);
  return {
    "bad signature": await sign(now, now + 300),
    expired: await sign(now - 7200, now - 3600),
    malformed: "not-a.jwt",
  };
}

export async function jwtCheck(ctx: VerifyContext): Promise<CheckRow[]> {
  const { cfg } = ctx;
  const path = pathOf(cfg, "user-service");
  const refused = await refusedTokens(cfg);
  const cases: { subject: string; token?: string; expect: number }[] = [
    { subject: "no token", expect: cfg.security.jwt.required ? 403 : 200 },
    ...Object.entries(refused).map(([kind, token]) => ({ subject: `${kind} token`, token, expect: 401 })),
    ...(ctx.target.token ? [{ subject: "valid token", token: ctx.target.token, expect: 200 }] : []),
  ];
  const rows: CheckRow[] = [];
  for (const [i, c] of cases.entries()) {
    const r = await ctx.http.get(url(ctx, path), { headers: auth(c.token) });
    ctx.progress(i + 1, cases.length);
    rows.push({
      check: "jwt",
      subject: `${path} ${c.subject}`,
      expected: String(c.expect),
      observed: r.error ?? String(r.status),
      verdict: r.status === c.expect ? "pass" : "fail",
    });
  }
  if (!ctx.target.token) {
    rows.push({
      check: "jwt",
      subject: `${path} valid token`,
      expected: "200",
      observed: "no token to send: pass --token",
      verdict: "skip",
    });
  }
  return rows;
}

export async function rateLimit(ctx: VerifyContext): Promise<CheckRow[]> {
  const { cfg } = ctx;
  const limit = cfg.security.rateLimit;
  if (limit === false) return [];
  const budget = betaBudget(cfg);
  // Beta traffic reaches one version's pods only, so one bucket (per pod) is what we spend. The buckets
  // refill continuously while we send; sent at least twice as fast as they refill, they run dry within
  // two buckets' worth (budget × rate / (rate − refill) ≤ 2 × budget).
  const cap = 2 * budget + 20;
  const perMs = durationMillis(limit.per) ?? 60_000;
  const started = performance.now();
  let limited = 0;
  const replies = await runPaced(
    cap,
    () =>
      ctx.http.get(url(ctx, pathOf(cfg, "user-service")), {
        headers: { ...auth(ctx.target.token), [BETA_HEADER]: "beta" },
      }),
    {
      concurrency: ctx.options.concurrency,
      onDone: (d, r) => {
        if (r.status === 429) limited++;
        ctx.progress(d, cap);
      },
      stop: () => limited >= 3,
    },
  );
  const firstLimited = replies.findIndex((r) => r.status === 429);
  // What the buckets can have regained while we sent, at budget / per (measured to the last reply, an upper bound).
  const { bound: allowed, refilled } = admittedBound(budget, perMs, performance.now() - started);
  const admitted =
    firstLimited < 0 ? replies.length : replies.slice(0, firstLimited).filter((r) => r.status === 200).length;
  const throttled = replies.filter((r) => r.status === 429);
  // Our filter marks its own 429s (components/security/rateLimit.ts); an upstream's 429 is not ours.
  const marked = throttled.filter((r) => r.headers[RATE_LIMIT_HEADER.key] === RATE_LIMIT_HEADER.value);
  const ok = throttled.length > 0 && marked.length === throttled.length && admitted <= allowed;
  return [
    {
      check: "rate-limit",
      subject: `${cfg.betaVersion} pod bucket, ${limit.requests}/${limit.per}`,
      expected: `429 with ${RATE_LIMIT_HEADER.key}: ${RATE_LIMIT_HEADER.value} after ≤ ${allowed} admitted (burst ${budget} + ${refilled} refilled)`,
      observed:
        throttled.length === 0
          ? `no 429 in ${replies.length} requests (${statusSummary(replies)})`
          : `first 429 after ${admitted} admitted; ${marked.length}/${throttled.length} with the header`,
      verdict: ok ? "pass" : "fail",
    },
  ];
}

export async function httpsCheck(ctx: VerifyContext): Promise<CheckRow[]> {
  const { cfg, target } = ctx;
  const host = cfg.security.httpsHost;
  const ca = target.caCert ?? "";
  // The plan skips this check without an HTTPS URL.
  const httpsUrl = target.httpsUrl ?? "";
  const tls = await tlsHandshake(httpsUrl, host, ca);
  const rows: CheckRow[] = [
    {
      check: "https",
      subject: `TLS to ${host}`,
      expected: "verifies against the stack's CA; certificate names the host",
      observed:
        tls.error ??
        (tls.authorized
          ? `verified; ${tls.subjectAltName ?? "no SAN"}${tls.hostError ? `; ${tls.hostError}` : ""}`
          : `not verified: ${tls.authorizationError}`),
      verdict: tls.authorized && !tls.hostError && !tls.error ? "pass" : "fail",
    },
  ];
  if (tls.authorized && !tls.hostError) {
    const path = pathOf(cfg, "product-service");
    const r = await ctx.http.get(`${httpsUrl}${path}`, { headers: { host }, ca, servername: host });
    rows.push({
      check: "https",
      subject: `GET https://${host}${path}`,
      expected: "200",
      observed: r.error ?? String(r.status),
      verdict: r.status === 200 ? "pass" : "fail",
    });
  }
  return rows;
}
