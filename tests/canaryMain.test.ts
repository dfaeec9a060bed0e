/**
 * tools/canary/main.ts in-process, with a recording workspace and a Prometheus stand-in: the flags
 * Flagger and Argo Rollouts have (pause on failure, confirmation webhooks, notifications, event log)
 * and the checks made before the first change. tests/canaryStack.test.ts drives the real wiring.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { type CanaryMainDeps, main } from "../tools/canary/main";
import type { Weights } from "../tools/canary/plan";
import { PrometheusError, type PromSample } from "../tools/canary/prometheus";
import { EXIT, runCli } from "../tools/lib/cli";
import { PROJECT_ROOT } from "./support/configs";

/** Answers /users with exact proportions of the deployed weights; records webhook POSTs. */
function standIn(
  deployed: () => Weights,
  posts: { path: string; body: unknown }[],
  confirmStatus: () => number,
): Server {
  let served = 0;
  return createServer((req, res) => {
    if (req.method === "POST") {
      let body = "";
      req.on("data", (d: Buffer) => {
        body += d.toString();
      });
      req.on("end", () => {
        posts.push({ path: req.url ?? "", body: JSON.parse(body) });
        res.writeHead(req.url === "/confirm" ? confirmStatus() : 200).end();
      });
      return;
    }
    const share = deployed().v2 ?? 0;
    const i = served++;
    const isCanary = Math.floor(((i + 1) * share) / 100) > Math.floor((i * share) / 100);
    res.writeHead(200).end(isCanary ? "User Service v2 - canary (NEW)\n" : "User Service v1 - stable\n");
  });
}

describe("npm run canary (in-process)", () => {
  let server: Server;
  let url = "";
  let deployed: Weights = { v1: 90, v2: 10 };
  let observability = false;
  let confirmStatus = 200;
  const posts: { path: string; body: unknown }[] = [];
  const events: string[] = [];

  before(async () => {
    server = standIn(
      () => deployed,
      posts,
      () => confirmStatus,
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  /** The Pulumi CLI as main calls it: the selected stack, then (resolveTarget) its config and outputs. */
  const pulumi = async (args: readonly string[]) => {
    if (args.join(" ") === "stack ls --json --non-interactive") return JSON.stringify([{ name: "dev", current: true }]);
    assert.ok(args.includes("--stack") && args[args.indexOf("--stack") + 1] === "dev", "always names the stack");
    if (args[0] === "stack") return JSON.stringify({ gatewayUrls: { http: url, https: url }, demoToken: "demo-token" });
    return JSON.stringify({
      "istio-mesh:canaryWeights": { value: JSON.stringify(deployed), secret: false },
      "istio-mesh:observability": { value: JSON.stringify({ enabled: observability }), secret: false },
      "istio-mesh:rateLimit": { value: "false", secret: false },
    });
  };
  let tag: Weights | undefined;
  const workspace = async () => ({
    stackName: "dev",
    setWeights: async (w: Weights) => {
      events.push(`set ${w.v1}/${w.v2}`);
      deployed = w;
    },
    up: async () => void events.push("up"),
    lastGood: async () => tag,
    recordLastGood: async (w: Weights) => {
      tag = w;
    },
  });
  /** Prometheus reporting a share of the canary's attempts as 5xx, at the destination; none below 20%. */
  const prometheus =
    (failingShare: number) =>
    async () =>
    async (promql: string): Promise<PromSample[]> => {
      if (promql === "vector(1)") return [{ metric: {}, value: 1 }];
      const v2 = (deployed.v2 ?? 0) * 20;
      const v1 = (deployed.v1 ?? 0) * 20;
      const at = (v: string, value: number, le?: string) => ({
        metric: { destination_version: v, ...(le && { le }) },
        value,
      });
      if (promql.includes("_bucket")) {
        return [at("v1", v1 / 2, "25"), at("v1", v1, "+Inf"), at("v2", v2 / 2, "25"), at("v2", v2, "+Inf")];
      }
      const v2FailedShare = (deployed.v2 ?? 0) >= 20 ? failingShare : 0;
      if (promql.includes("5..")) return [at("v2", Math.round(v2 * v2FailedShare))];
      return [at("v1", v1), at("v2", v2)];
    };

  function harness(extra: Partial<CanaryMainDeps> = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const deps: CanaryMainDeps = {
      projectRoot: PROJECT_ROOT,
      io: { stdout: (l) => out.push(l), stderr: (l) => err.push(l), progress: () => {}, isTTY: false },
      env: {},
      pulumi,
      workspace,
      preflight: async (stack) => assert.equal(stack, "dev"),
      wait: async () => {},
      ...extra,
    };
    return {
      out,
      err,
      run: (argv: string[]) =>
        runCli(
          "canary",
          () => main(argv, deps),
          (l) => err.push(l),
        ),
    };
  }
  const reset = (weights: Weights, obs = false) => {
    deployed = weights;
    observability = obs;
    events.length = 0;
    posts.length = 0;
    tag = undefined;
    confirmStatus = 200;
  };
  /** No gate that reads the wall clock: the stand-in answers both versions alike, on a loaded machine. */
  const FAST = [
    "--pause",
    "1s",
    "--requests",
    "50",
    "--max-error-rate",
    "none",
    "--max-p99",
    "60s",
    "--min-slowdown",
    "1000%",
  ];

  test("--dry-run with --config prints the plan with no Pulumi CLI", async () => {
    const h = harness({ pulumi: async () => assert.fail("no CLI for --dry-run --config") });
    const code = await h.run([
      "--to",
      "50",
      "--step",
      "20",
      "--dry-run",
      "--config",
      path.join(PROJECT_ROOT, "Pulumi.dev.yaml"),
    ]);
    assert.equal(code, 0, h.err.join("\n"));
    const text = h.out.join("\n");
    assert.match(text, /canary plan: v2 from 10% \(now v1 90% \/ v2 10%\)/);
    assert.match(text, /first: gate the weights deployed now/);
    assert.match(text, /step 1\/2: v1 70% \/ v2 30%; up, 60s interval, 300 requests, paced at [\d.]+ req\/s/);
  });

  test("--json prints one event per line and --notify-url receives each of them", async () => {
    reset({ v1: 90, v2: 10 });
    const h = harness();
    const code = await h.run(["--steps", "20,30", ...FAST, "--json", "--notify-url", `${url}/notify`]);
    assert.equal(code, 0, h.err.join("\n"));
    const lines = h.out.map((l) => JSON.parse(l) as { event: string });
    assert.deepEqual(
      lines.map((e) => e.event),
      ["started", "check", "passed", "step", "check", "passed", "step", "check", "passed", "promoted"],
    );
    // Notifications are sent without waiting; give the last one its round trip (a bound, not a timing).
    for (let i = 0; i < 3000 && posts.length < lines.length; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      posts.map((p) => (p.body as { event: string }).event),
      lines.map((e) => e.event),
    );
    assert.deepEqual(events, ["set 80/20", "up", "set 70/30", "up"]);
  });

  test("with Prometheus, a canary failing 30% of attempts is caught although retries hide it from clients", async () => {
    reset({ v1: 90, v2: 10 }, true);
    const h = harness({ prometheus: prometheus(0.3) });
    const code = await h.run(["--steps", "20", "--pause", "60s", "--requests", "50"]);
    assert.equal(code, EXIT.failed);
    assert.match(h.out.join("\n"), /FAIL canary error rate\s+expected ≤ 1\.00%; observed 30\.00% of 400 attempts/);
    assert.match(h.err.join("\n"), /rolled back to v1 90% \/ v2 10%/);
  });

  test("--on-fail pause restores the last good weights and exits 3 with the command that resumes", async () => {
    reset({ v1: 90, v2: 10 }, true);
    const h = harness({ prometheus: prometheus(0.3) });
    const argv = ["--steps", "20", "--pause", "60s", "--requests", "50", "--on-fail", "pause"];
    const code = await h.run(argv);
    assert.equal(code, 3);
    assert.match(
      h.err.join("\n"),
      new RegExp(`paused at v1 90% / v2 10%: .*Resume with: npm run canary -- ${argv.join(" ")}`),
    );
    assert.deepEqual(deployed, { v1: 90, v2: 10 });
  });

  test("Prometheus refusing (403) stops the run before anything changes", async () => {
    reset({ v1: 90, v2: 10 }, true);
    const refusing = async () => async () => {
      throw new PrometheusError("the kubeconfig's user may not proxy to the Prometheus service (403)");
    };
    const h = harness({ prometheus: refusing });
    const code = await h.run(["--steps", "20", "--pause", "60s"]);
    assert.equal(code, EXIT.usage);
    assert.match(
      h.err.join("\n"),
      /Prometheus is needed by the gates and did not answer: .*\(403\) \(nothing was changed\)/,
    );
    assert.deepEqual(events, []);
  });

  test("--confirm without a terminal or --confirm-url is refused rather than hanging", async () => {
    reset({ v1: 90, v2: 10 });
    const h = harness();
    assert.equal(await h.run(["--steps", "20", ...FAST, "--confirm"]), EXIT.usage);
    assert.match(h.err.join("\n"), /--confirm needs a terminal to ask on, or --confirm-url/);
    assert.deepEqual(events, []);
  });

  test("--confirm-url: a 2xx promotes, anything else restores the last good weights", async () => {
    reset({ v1: 90, v2: 10 });
    const ok = harness();
    assert.equal(await ok.run(["--steps", "20", ...FAST, "--confirm-url", `${url}/confirm`]), 0, ok.err.join("\n"));
    assert.deepEqual(posts.filter((p) => p.path === "/confirm").length, 1);
    reset({ v1: 90, v2: 10 });
    confirmStatus = 403;
    const refused = harness();
    assert.equal(await refused.run(["--steps", "20", ...FAST, "--confirm-url", `${url}/confirm`]), EXIT.failed);
    assert.match(refused.err.join("\n"), /step 1 was not approved/);
    assert.deepEqual(deployed, { v1: 90, v2: 10 });
  });

  test("bad flags are all reported at once, exit 2", async () => {
    const h = harness();
    const code = await h.run(["--step", "0", "--pause", "soon", "--max-error-rate", "200%", "--on-fail", "later"]);
    assert.equal(code, EXIT.usage);
    const text = h.err.join("\n");
    for (const expected of [
      /--to PERCENT or --steps LIST is required/,
      /--step "0"/,
      /--pause "soon"/,
      /--max-error-rate "200%"/,
      /--on-fail "later"/,
    ]) {
      assert.match(text, expected);
    }
  });

  test("--config is for --dry-run only: a real run goes through the Pulumi CLI", async () => {
    const h = harness();
    assert.equal(await h.run(["--to", "50", "--config", "Pulumi.dev.yaml"]), EXIT.usage);
    assert.match(h.err.join("\n"), /--config reads a stack file for --dry-run/);
  });
});
