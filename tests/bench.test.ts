/**
 * `npm run bench` against stand-ins on 127.0.0.1 that this test starts. Loads are short and mostly
 * fixed counts, so the assertions are about counts and structure, never about wall-clock speed.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { MESH_ROUTES, type StandIn, startStandIn } from "../scripts/dev/standInBackend";
import { ArgsError, parseBenchArgs } from "../tools/bench/args";
import { type LoadStats, runLoad } from "../tools/bench/load";
import { type BenchIo, main } from "../tools/bench/main";
import { progressDisplay, progressLine } from "../tools/bench/progress";
import { errorsCell, formatReport, ms } from "../tools/bench/report";
import type { BenchReport } from "../tools/bench/run";
import type { ForwardRequest, PortForwarder } from "../tools/lib/portForward";

const ROUTES = ["/users", "/products", "/orders"];

function assertOrderedLatency(stats: LoadStats, label: string) {
  const { p50, p90, p99, max, mean } = stats.latencyMs;
  assert.ok(p50 > 0, `${label}: p50 ${p50}`);
  assert.ok(p50 <= p90 && p90 <= p99 && p99 <= max, `${label}: ${p50} ≤ ${p90} ≤ ${p99} ≤ ${max}`);
  assert.ok(mean > 0 && mean <= max, `${label}: mean ${mean}`);
}

/** Runs the CLI with captured output; the progress stream is a TTY only when asked. */
async function runCli(argv: string[], extra: { forwarder?: PortForwarder; tty?: boolean; signal?: AbortSignal } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const drawn: string[] = [];
  const io: BenchIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    progress: { isTTY: extra.tty ?? false, columns: 120, write: (t) => drawn.push(t) },
  };
  const pulumi = async () => assert.fail("the Pulumi CLI must not run with --url");
  const code = await main(argv, {
    projectRoot: "/nonexistent",
    io,
    pulumi,
    ...(extra.forwarder && { forwarder: extra.forwarder }),
    ...(extra.signal && { signal: extra.signal }),
  });
  return { code, stdout: out.join("\n"), stderr: err.join("\n"), drawn };
}

describe("runLoad", () => {
  let standIn: StandIn;
  before(async () => {
    standIn = await startStandIn({
      ...MESH_ROUTES,
      "/orders": { body: "Order Service v1", failEvery: { every: 4, status: 500 } },
      "/busy": { body: "overflow", status: 503 },
      "/hang": { body: "never", delayMs: 60_000 },
    });
  });
  after(() => standIn.close());

  test("a fixed count: every request answered once, counted, timed and classified", async () => {
    const stats = await runLoad({
      url: `${standIn.url}/users`,
      shape: { concurrency: 5, durationMs: 60_000, requests: 300, timeoutMs: 5000 },
    });
    assert.equal(stats.responses, 300);
    assert.equal(standIn.hits.get("/users"), 300);
    assert.deepEqual(stats.statuses, { 200: 300 });
    assert.deepEqual(stats.errors, {});
    assert.equal(stats.errorCount, 0);
    assertOrderedLatency(stats, "/users");
    assert.ok(stats.durationSeconds > 0);
    assert.ok(Math.abs(stats.requestsPerSecond - 300 / stats.durationSeconds) < 0.1 * stats.requestsPerSecond);
  });

  test("error statuses are counted by code, exactly", async () => {
    const orders = await runLoad({
      url: `${standIn.url}/orders`,
      shape: { concurrency: 4, durationMs: 60_000, requests: 200, timeoutMs: 5000 },
    });
    assert.deepEqual(orders.statuses, { 200: 150, 500: 50 });
    assert.deepEqual(orders.errors, { 500: 50 });
    assert.equal(orders.errorCount, 50);
    assertOrderedLatency(orders, "/orders");

    const busy = await runLoad({
      url: `${standIn.url}/busy`,
      shape: { concurrency: 2, durationMs: 60_000, requests: 20, timeoutMs: 5000 },
    });
    assert.deepEqual(busy.errors, { 503: 20 });
    assert.equal(errorsCell(busy), "100.0%: 503×20");
    assert.equal(errorsCell(orders), "25.0%: 500×50");
  });

  test("a request with no answer is a timeout error, not a response", async () => {
    const stats = await runLoad({
      url: `${standIn.url}/hang`,
      // /hang never answers, so every request times out however slow the machine: the sizes only set the wait.
      shape: { concurrency: 2, durationMs: 600, timeoutMs: 300 },
    });
    assert.equal(stats.responses, 0);
    assert.ok((stats.errors.timeout ?? 0) >= 2, JSON.stringify(stats.errors));
    assert.equal(stats.errorCount, stats.errors.timeout);
    assert.deepEqual(stats.latencyMs, { mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
  });

  test("--rate sends rate × duration requests, paced: a count, where unpaced load would send far more", async () => {
    const before = standIn.hits.get("/products") ?? 0;
    const stats = await runLoad({
      url: `${standIn.url}/products`,
      shape: { concurrency: 5, durationMs: 1500, rate: 40, timeoutMs: 5000 },
    });
    assert.equal(stats.responses, 60);
    assert.equal((standIn.hits.get("/products") ?? 0) - before, 60);
    assert.deepEqual(stats.statuses, { 200: 60 });
  });

  test("a paced run ends when every request sent is answered or timed out; unsent ones are dropped", async () => {
    const stats = await runLoad({
      url: `${standIn.url}/hang`,
      shape: { concurrency: 1, durationMs: 500, rate: 10, timeoutMs: 1000 },
    });
    assert.equal(stats.responses, 0);
    assert.deepEqual(stats.errors, { timeout: 1 }, "the one connection's request timed out");
    assert.equal(stats.open?.scheduled, 5);
    assert.equal(stats.open?.sent, 1);
    assert.equal(stats.open?.dropped, 4, "the window closed with four requests still waiting for the connection");
    assert.ok(stats.durationSeconds >= 1 && stats.durationSeconds < 5, String(stats.durationSeconds));
  });
});

describe("npm run bench (main) against a stand-in gateway", () => {
  let gateway: StandIn;
  let backend: StandIn;
  before(async () => {
    gateway = await startStandIn({
      ...MESH_ROUTES,
      "/orders": { body: "Order Service v1", failEvery: { every: 10, status: 500 } },
    });
    backend = await startStandIn();
  });
  after(async () => {
    await gateway.close();
    await backend.close();
  });

  test("--json: each default route in order, its counts, statuses and percentiles", async () => {
    const before = new Map(gateway.hits);
    const { code, stdout, stderr } = await runCli(["--url", `${gateway.url}/`, "--requests", "100", "--json"]);
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout) as BenchReport;
    assert.deepEqual(report.target, { url: gateway.url, source: "--url" });
    assert.deepEqual(report.load, {
      per: "route",
      model: "closed",
      concurrency: 10,
      requests: 100,
      threads: 1,
      repeat: 1,
      timeoutMs: 10_000,
    });
    assert.equal(report.interrupted, false);
    assert.deepEqual(
      report.routes.map((r) => [r.path, r.url]),
      ROUTES.map((p) => [p, `${gateway.url}${p}`]),
    );
    for (const route of report.routes) {
      assert.equal(route.gateway.responses, 100, route.path);
      // One preflight request, then the load.
      assert.equal((gateway.hits.get(route.path) ?? 0) - (before.get(route.path) ?? 0), 101, route.path);
      assertOrderedLatency(route.gateway, route.path);
      assert.equal(route.direct, undefined);
      assert.equal(route.meshCost, undefined);
      assert.deepEqual(Object.keys(route.gateway).sort(), [
        "durationSeconds",
        "errorCount",
        "errors",
        "histogram",
        "latencyMs",
        "localReplies",
        "requestsPerSecond",
        "responses",
        "statuses",
      ]);
      assert.deepEqual(route.warnings, []);
    }
    const orders = report.routes.find((r) => r.path === "/orders")?.gateway;
    assert.deepEqual(orders?.statuses, { 200: 90, 500: 10 });
    assert.deepEqual(orders?.errors, { 500: 10 });
  });

  test("the table: a row per route, errors by status, the load described", async () => {
    const { code, stdout } = await runCli(["--url", gateway.url, "--requests", "50", "--concurrency", "2"]);
    assert.equal(code, 0);
    const lines = stdout.split("\n");
    assert.equal(lines[0], `bench ${gateway.url} (--url)`);
    assert.equal(lines[1], "load per route: 2 connections · 50 requests · as fast as it goes");
    assert.match(lines[3] ?? "", /^route\s+via\s+req\/s\s+p50\s+p90\s+p99\s+p99\.9\s+max\s+responses\s+errors$/);
    for (const path of ROUTES) {
      const row = lines.find((l) => l.startsWith(path));
      assert.match(row ?? "", new RegExp(`^${path}\\s+gateway\\s+[\\d.]+(\\s+[\\d.]+ms){5}\\s+50\\s+`), path);
    }
    assert.match(lines.find((l) => l.startsWith("/users")) ?? "", /\snone$/);
    assert.match(lines.find((l) => l.startsWith("/orders")) ?? "", /\s10\.0%: 500×5$/);
  });

  test("--token is sent as a bearer token; --path picks the routes", async () => {
    const { code, stdout } = await runCli([
      "--url",
      gateway.url,
      "--token",
      "header.payload.sig",
      "--path",
      "/products",
      "--requests",
      "5",
      "--json",
    ]);
    assert.equal(code, 0);
    assert.deepEqual(
      (JSON.parse(stdout) as BenchReport).routes.map((r) => r.path),
      ["/products"],
    );
    assert.equal(gateway.lastHeaders()?.authorization, "Bearer header.payload.sig");
  });

  test("--direct: the same load on each route's backend through the forwarder, and the difference", async () => {
    const opened: ForwardRequest[] = [];
    let closed = 0;
    const forwarder: PortForwarder = async (request) => {
      opened.push(request);
      return { url: backend.url, close: async () => void closed++ };
    };
    const before = new Map(backend.hits);
    const { code, stdout, stderr } = await runCli(
      ["--url", gateway.url, "--requests", "40", "--direct", "--json", "--path", "/users", "--path", "/orders"],
      { forwarder },
    );
    assert.equal(code, 0, stderr);
    assert.deepEqual(
      opened.map((r) => [r.namespace, r.service, r.port]),
      [
        ["backend", "user-service", 80],
        ["backend", "order-service", 80],
      ],
    );
    assert.equal(closed, 2);
    const report = JSON.parse(stdout) as BenchReport;
    for (const route of report.routes) {
      assert.ok(route.direct && route.meshCost, route.path);
      assert.equal(route.direct.url, `${backend.url}${route.path}`);
      assert.equal(route.direct.stats.responses, 40);
      assert.equal((backend.hits.get(route.path) ?? 0) - (before.get(route.path) ?? 0), 41);
      assertOrderedLatency(route.direct.stats, `${route.path} direct`);
      const g = route.gateway;
      const d = route.direct.stats;
      const close = (a: number, b: number) => Math.abs(a - b) < 0.0015;
      assert.ok(close(route.meshCost.p50Ms, g.latencyMs.p50 - d.latencyMs.p50));
      assert.ok(close(route.meshCost.p99Ms, g.latencyMs.p99 - d.latencyMs.p99));
      assert.ok(Math.abs(route.meshCost.requestsPerSecond - (g.requestsPerSecond - d.requestsPerSecond)) < 0.15);
    }
    // The backend has no fault: the /orders 500s happen on the gateway path only.
    assert.deepEqual(report.routes[1]?.direct?.stats.errors, {});
  });

  test("--direct names a route without a backend before sending any load", async () => {
    const before = gateway.hits.get("other") ?? 0;
    const forwarder: PortForwarder = async () => assert.fail("no forward for an unknown route");
    const { code, stderr } = await runCli(["--url", gateway.url, "--direct", "--path", "/health"], { forwarder });
    assert.equal(code, 2);
    assert.match(stderr, /no backend serves \/health/);
    assert.equal(gateway.hits.get("other") ?? 0, before);
  });

  test("a progress display on a terminal, nothing elsewhere", async () => {
    const tty = await runCli(["--url", gateway.url, "--duration", "300ms", "--path", "/users"], { tty: true });
    assert.equal(tty.code, 0);
    assert.ok(
      tty.drawn.some((t) => /\/users gateway {2}\[#*-*\] {2}\d+\.\ds\/0\.3s {2}\d+ responses {2}0 errors/.test(t)),
      tty.drawn.join("|"),
    );
    assert.equal(tty.drawn.at(-1), "\r\x1b[2K", "the line is cleared before the report");
    const piped = await runCli(["--url", gateway.url, "--requests", "10", "--path", "/users"]);
    assert.deepEqual(piped.drawn, []);
  });

  test("Ctrl-C (abort) stops the load and reports what was measured, exit 130", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const { code, stdout } = await runCli(["--url", gateway.url, "--duration", "30s", "--json"], {
      signal: controller.signal,
    });
    assert.equal(code, 130);
    const report = JSON.parse(stdout) as BenchReport;
    assert.equal(report.interrupted, true);
    assert.deepEqual(
      report.routes.map((r) => r.path),
      ["/users"],
    );
    assert.ok((report.routes[0]?.gateway.durationSeconds ?? 99) < 30);
  });

  test("an unreachable gateway: a clear message, exit 2, no load", async () => {
    const { code, stderr, stdout } = await runCli(["--url", "http://127.0.0.1:1", "--duration", "30s"]);
    assert.equal(code, 2);
    assert.match(stderr, /cannot reach http:\/\/127\.0\.0\.1:1\/users: ECONNREFUSED/);
    assert.equal(stdout, "");
  });
});

describe("bench flags", () => {
  test("defaults: 10 connections for 10s per route, the mesh's routes, no rate", () => {
    const plan = parseBenchArgs([]);
    assert.deepEqual(plan.shape, { concurrency: 10, durationMs: 10_000, timeoutMs: 10_000 });
    assert.deepEqual(plan.paths, []);
    assert.equal(plan.direct, false);
    assert.equal(plan.json, false);
  });

  test("the lab's runs: ab -n 1000 -c 10 and fortio -c 8 -qps 100 -t 60s", () => {
    assert.deepEqual(parseBenchArgs(["--requests", "1000", "--concurrency", "10"]).shape, {
      concurrency: 10,
      durationMs: 10_000,
      requests: 1000,
      timeoutMs: 10_000,
    });
    assert.deepEqual(parseBenchArgs(["--concurrency", "8", "--rate", "100", "--duration", "60s"]).shape, {
      concurrency: 8,
      durationMs: 60_000,
      rate: 100,
      timeoutMs: 10_000,
    });
  });

  test("every bad flag is named at once, with the usage", () => {
    assert.throws(
      () =>
        parseBenchArgs([
          "--concurrency",
          "0",
          "--duration",
          "ten",
          "--rate",
          "0",
          "--path",
          "users",
          "--timeout",
          "100ms",
        ]),
      (e: unknown) =>
        e instanceof ArgsError &&
        ['--concurrency "0"', '--duration "ten"', '--rate "0"', '--path "users"', '--timeout "100ms"', "usage:"].every(
          (part) => e.message.includes(part),
        ),
    );
    assert.throws(() => parseBenchArgs(["--duration", "5s", "--requests", "9"]), /use one/);
    assert.throws(
      () => parseBenchArgs(["--verbose"]),
      (e: unknown) => e instanceof ArgsError && /usage:/.test(e.message),
    );
  });
});

describe("bench display helpers", () => {
  test("milliseconds keep about three significant digits", () => {
    assert.deepEqual([0.0421, 1.5, 12.345, 123.4].map(ms), ["0.04ms", "1.50ms", "12.3ms", "123ms"]);
  });

  test("the progress line follows time, or the count with --requests", () => {
    const timed = { concurrency: 1, durationMs: 10_000, timeoutMs: 1000 };
    assert.equal(
      progressLine("/users gateway", timed, { responses: 12, errors: 1, elapsedMs: 5000 }),
      "/users gateway  [##########----------]  5.0s/10s  12 responses  1 errors",
    );
    const counted = { ...timed, requests: 40 };
    assert.equal(
      progressLine("/orders direct", counted, { responses: 9, errors: 1, elapsedMs: 5 }),
      "/orders direct  [#####---------------]  10/40 requests  9 responses  1 errors",
    );
    const writes: string[] = [];
    const quiet = progressDisplay({ write: (t) => writes.push(t) });
    quiet.start("x", timed);
    quiet.update({ responses: 1, errors: 0, elapsedMs: 1 });
    quiet.end();
    assert.deepEqual(writes, []);
  });

  test("a report with direct runs explains the mesh cost row; an interrupted one says so", () => {
    const stats = (p50: number, rps: number): LoadStats => ({
      responses: 10,
      durationSeconds: 1,
      requestsPerSecond: rps,
      latencyMs: { mean: p50, p50, p90: p50, p99: p50, p999: p50, max: p50 },
      statuses: { 200: 10 },
      errors: {},
      errorCount: 0,
      localReplies: 0,
      histogram: "",
    });
    const text = formatReport({
      target: { url: "http://localhost:8080", source: "Pulumi.dev.yaml" },
      load: {
        per: "route",
        model: "open",
        concurrency: 8,
        durationMs: 60_000,
        rate: 100,
        arrivals: "constant",
        threads: 1,
        repeat: 1,
        timeoutMs: 10_000,
      },
      routes: [
        {
          path: "/users",
          url: "http://localhost:8080/users",
          gateway: stats(4.5, 100),
          direct: { service: "user-service", url: "http://127.0.0.1:5/users", stats: stats(1.25, 100) },
          meshCost: { p50Ms: 3.25, p90Ms: 3.25, p99Ms: 3.25, requestsPerSecond: 0 },
          warnings: [],
        },
      ],
      interrupted: true,
    });
    assert.match(
      text,
      /^load per route: 8 connections · 60s · 100 req\/s constant arrivals, latency from each intended start$/m,
    );
    assert.match(text, /^\s+direct \(user-service\)\s+100\.0\s+1\.25ms/m);
    assert.match(text, /^\s+mesh cost\s+±0\.0\s+\+3\.25ms\s+\+3\.25ms\s+\+3\.25ms$/m);
    assert.match(text, /mesh cost = gateway − direct/);
    assert.match(text, /^interrupted:/m);
  });
});
