import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { parseCanaryArgs } from "../tools/canary/args";
import { main } from "../tools/canary/main";
import type { Weights } from "../tools/canary/plan";
import { PROJECT_ROOT } from "./support/configs";

/**
 * A gateway stand-in that answers /users with exact proportions of the weights the fake workspace
 * last deployed, and a 500 from the canary version when `canaryFails` is set.
 */
function standIn(deployed: () => Weights, canaryFails: () => boolean): Server {
  let served = 0;
  return createServer((req, res) => {
    assert.equal(req.headers.authorization, "Bearer demo-token");
    const share = deployed().v2 ?? 0;
    const i = served++;
    const isCanary = Math.floor(((i + 1) * share) / 100) > Math.floor((i * share) / 100);
    if (isCanary && canaryFails()) res.writeHead(500).end("upstream error");
    else res.writeHead(200).end(isCanary ? "User Service v2 - canary (NEW)\n" : "User Service v1 - stable\n");
  });
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l), progress: () => {} },
  };
}

describe("npm run canary", () => {
  let server: Server;
  let url = "";
  let deployed: Weights = { v1: 90, v2: 10 };
  let failAbove = 101;
  const events: string[] = [];

  before(async () => {
    server = standIn(
      () => deployed,
      () => (deployed.v2 ?? 0) >= failAbove,
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  /** The Pulumi CLI as resolveTarget calls it: the dev stack's config and outputs. */
  const pulumi = async (args: readonly string[]) => {
    if (args[0] === "stack") return JSON.stringify({ gatewayUrls: { http: url, https: url }, demoToken: "demo-token" });
    return JSON.stringify({
      "istio-mesh:canaryWeights": { value: JSON.stringify(deployed), secret: false },
      "istio-mesh:observability": { value: '{"enabled":false}', secret: false },
    });
  };
  const workspace = async () => ({
    setWeights: async (w: Weights) => {
      events.push(`set ${w.v1}/${w.v2}`);
      deployed = w;
    },
    up: async () => void events.push("up"),
  });
  const deps = (o: ReturnType<typeof io>) => ({
    projectRoot: PROJECT_ROOT,
    io: o.io,
    pulumi,
    workspace,
    sleep: async () => {},
  });

  test("--dry-run with --config prints each step's weights and gates, with no Pulumi CLI", async () => {
    const o = io();
    const code = await main(
      ["--to", "50", "--step", "20", "--dry-run", "--config", path.join(PROJECT_ROOT, "Pulumi.dev.yaml")],
      {
        projectRoot: PROJECT_ROOT,
        io: o.io,
      },
    );
    assert.equal(code, 0, o.err.join("\n"));
    const text = o.out.join("\n");
    assert.match(text, /canary plan: v2 from 10% \(now v1 90% \/ v2 10%\)/);
    assert.match(text, /step 1\/2: v1 70% \/ v2 30%; up, wait 60s, split test on 300 requests, paced at [\d.]+ req\/s/);
    assert.match(text, /step 2\/2: v1 50% \/ v2 50%/);
    assert.match(text, /error rate ≤ 1\.00% and p99 ≤ 500 ms, from Prometheus over the pause/);
  });

  test("a healthy canary is promoted step by step through the workspace", async () => {
    deployed = { v1: 90, v2: 10 };
    failAbove = 101;
    events.length = 0;
    const o = io();
    const code = await main(["--to", "30", "--step", "10", "--pause", "1s", "--requests", "200"], deps(o));
    assert.equal(code, 0, o.err.join("\n"));
    assert.deepEqual(events, ["set 80/20", "up", "set 70/30", "up"]);
    assert.match(o.out.join("\n"), /promoted: canaryWeights v1 70% \/ v2 30%/);
  });

  test("a canary that fails its gate is rolled back to the last good weights, exit 1", async () => {
    deployed = { v1: 90, v2: 10 };
    failAbove = 30;
    events.length = 0;
    const o = io();
    const code = await main(["--to", "50", "--step", "10", "--pause", "1s", "--requests", "200"], deps(o));
    assert.equal(code, 1);
    assert.deepEqual(events, ["set 80/20", "up", "set 70/30", "up", "set 80/20", "up"]);
    assert.match(o.err.join("\n"), /rolled back to v1 80% \/ v2 20%: step 2 \(v1 70% \/ v2 30%\) failed/);
    assert.match(o.err.join("\n"), /canary error rate: expected ≤ 1\.00%/);
  });
});

describe("canary flags", () => {
  test("every bad flag is reported at once", () => {
    assert.throws(
      () => parseCanaryArgs(["--step", "0", "--pause", "soon", "--max-error-rate", "200%"]),
      (e: Error) =>
        /--to is required/.test(e.message) &&
        /--step "0"/.test(e.message) &&
        /--pause "soon"/.test(e.message) &&
        /--max-error-rate "200%"/.test(e.message),
    );
  });

  test("--config is for --dry-run only: a real run goes through the Pulumi CLI", () => {
    assert.throws(
      () => parseCanaryArgs(["--to", "50", "--config", "Pulumi.dev.yaml"]),
      /--config reads a stack file for --dry-run/,
    );
  });
});
