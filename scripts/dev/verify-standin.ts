/**
 * Runs `npm run verify` end to end against the tests' stand-in gateway on 127.0.0.1 (dev behaviour,
 * delays and the rate-limit window shortened), for README's example output and a quick manual try.
 *
 *   tsx scripts/dev/verify-standin.ts [--faulty] [verify flags, e.g. --json]
 *
 * --faulty skews the stand-in's split to 85/15 and drops the rate-limit header.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GOOD, makeTestKeys, startStandin } from "../../tests/support/standinGateway";
import { main } from "../../tools/verify/main";

const STACK_FILE = `config:
  istio-mesh:canaryWeights: { v1: 90, v2: 10 }
  istio-mesh:faults:
    product-service: { percent: 50, delay: 1s }
    order-service: { percent: 30, status: 500 }
  istio-mesh:rateLimit: { requests: 400, per: 10s }
`;

async function run(): Promise<number> {
  const args = process.argv.slice(2);
  const faulty = args.includes("--faulty");
  const keys = await makeTestKeys();
  const standin = await startStandin(
    {
      seed: 7,
      ...GOOD,
      // The stack's limit: a burst of 400 per pod, refilled continuously at 40 a second.
      rateLimit: { perPod: 400, perMs: 10_000, header: !faulty },
      ...(faulty && { v2Share: 0.15 }),
    },
    keys,
  );
  const dir = mkdtempSync(join(tmpdir(), "verify-standin-"));
  try {
    writeFileSync(join(dir, "Pulumi.standin.yaml"), STACK_FILE);
    writeFileSync(join(dir, "ca.pem"), keys.ca.cert);
    return await main([
      "--config",
      join(dir, "Pulumi.standin.yaml"),
      "--url",
      standin.httpUrl,
      "--https-url",
      standin.httpsUrl,
      "--token",
      keys.validToken,
      "--ca-cert",
      join(dir, "ca.pem"),
      "--seed",
      "42",
      ...args.filter((a) => a !== "--faulty"),
    ]);
  } finally {
    await standin.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

run().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 2;
  },
);
