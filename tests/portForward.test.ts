/**
 * The kubectl port-forward transport of `bench --direct`, against stub kubectl programs: one that
 * forwards (serves HTTP itself and prints kubectl's "Forwarding from" line), one that fails.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { kubectlArgs, kubectlPortForwarder, PortForwardError } from "../tools/lib/portForward";

const dir = mkdtempSync(path.join(tmpdir(), "port-forward-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const KUBECONFIG = "apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: s3cret}}]\n";
const request = {
  namespace: "backend",
  service: "user-service",
  port: 80,
  cluster: { kubeconfig: KUBECONFIG, context: "kind-lab-cluster" },
};

/**
 * A Node program standing in for kubectl; `body` runs with `args` = its argv and `log` = a file.
 * Like kubectl (kubernetes/kubectl pkg/cmd/portforward/portforward.go) it takes `port-forward`
 * only with a TYPE/NAME and a [LOCAL]:REMOTE port, else "error: …" and exit 1, before `body` runs.
 */
function stubKubectl(name: string, body: string): { bin: string; log: string } {
  const bin = path.join(dir, name);
  const log = path.join(dir, `${name}.log`);
  const usage = `const verb = args.indexOf("port-forward");
const rest = verb < 0 ? [] : args.slice(verb + 1).filter((a, i, all) => !a.startsWith("--") && !all[i - 1]?.match(/^--(namespace|address)$/));
if (verb < 0 || rest.length !== 2 || !/^[a-z]+\\/[a-z0-9-]+$/.test(rest[0]) || !/^\\d*:\\d+$/.test(rest[1])) {
  console.error("error: TYPE/NAME and list of ports are required for port-forward");
  process.exit(1);
}`;
  writeFileSync(
    bin,
    `#!${process.execPath}\nconst fs = require("node:fs");\nconst args = process.argv.slice(2);\nconst log = ${JSON.stringify(log)};\n${usage}\n${body}\n`,
  );
  chmodSync(bin, 0o755);
  return { bin, log };
}

describe("kubectlArgs", () => {
  test("a kubeconfig given as content goes to a private file that cleanup removes", () => {
    const { args, cleanup } = kubectlArgs(request);
    const file = args[args.indexOf("--kubeconfig") + 1] ?? "";
    assert.equal(readFileSync(file, "utf8"), KUBECONFIG);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(args.slice(2), [
      "--context",
      "kind-lab-cluster",
      "port-forward",
      "--namespace",
      "backend",
      "--address",
      "127.0.0.1",
      "service/user-service",
      ":80",
    ]);
    cleanup();
    assert.ok(!existsSync(file));
  });

  test("the kubeconfig copy is removed even when the process exits without cleanup (second Ctrl-C)", () => {
    const module = path.join(__dirname, "..", "tools", "lib", "portForward.ts");
    const program = `const { kubectlArgs } = require(${JSON.stringify(module)});
const { args } = kubectlArgs(${JSON.stringify(request)});
console.log(args[1]);
process.exit(130);`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "-e", program], { encoding: "utf8" });
    assert.equal(child.status, 130, child.stderr);
    const file = child.stdout.trim();
    assert.match(file, /istio-mesh-kube-.*\/kubeconfig$/);
    assert.ok(!existsSync(file));
  });

  test("a kubeconfig path is passed as is; nothing set means kubectl's defaults", () => {
    const withPath = kubectlArgs({ ...request, cluster: { kubeconfigPath: "/k/config" } }).args;
    assert.deepEqual(withPath.slice(0, 3), ["--kubeconfig", "/k/config", "port-forward"]);
    assert.equal(kubectlArgs({ ...request, cluster: {} }).args[0], "port-forward");
  });
});

describe("kubectlPortForwarder", () => {
  test("waits for kubectl's Forwarding line, serves through it, and stops kubectl on close", async () => {
    const { bin, log } = stubKubectl(
      "kubectl-ok",
      `const kubeconfig = fs.readFileSync(args[args.indexOf("--kubeconfig") + 1], "utf8");
fs.writeFileSync(log, JSON.stringify({ args, kubeconfig, pid: process.pid }));
const server = require("node:http").createServer((req, res) => res.end("pod says hi " + req.url));
server.listen(0, "127.0.0.1", () => {
  // client-go tools/portforward/portforward.go: "Forwarding from <address>:<local> -> <remote>".
  setTimeout(() => console.log("Forwarding from 127.0.0.1:" + server.address().port + " -> 8080"), 100);
});
process.on("SIGTERM", () => process.exit(0));`,
    );
    const forward = await kubectlPortForwarder({ kubectl: bin })(request);
    assert.match(forward.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${forward.url}/users`);
    assert.equal(await response.text(), "pod says hi /users");

    const seen = JSON.parse(readFileSync(log, "utf8")) as { args: string[]; kubeconfig: string; pid: number };
    assert.equal(seen.kubeconfig, KUBECONFIG);
    assert.deepEqual(seen.args.slice(-3), ["127.0.0.1", "service/user-service", ":80"]);
    const kubeconfigFile = seen.args[seen.args.indexOf("--kubeconfig") + 1] ?? "";

    await forward.close();
    assert.throws(() => process.kill(seen.pid, 0), /ESRCH/, "kubectl is stopped");
    assert.ok(!existsSync(kubeconfigFile), "the kubeconfig copy is removed");
  });

  test("kubectl failing before it forwards: its message, and no kubeconfig left behind", async () => {
    const { bin, log } = stubKubectl(
      "kubectl-fail",
      `fs.writeFileSync(log, args[args.indexOf("--kubeconfig") + 1]);
console.error('Error from server (NotFound): services "user-service" not found');
process.exit(1);`,
    );
    await assert.rejects(
      kubectlPortForwarder({ kubectl: bin })(request),
      (e: unknown) =>
        e instanceof PortForwardError &&
        e.message.includes("backend/svc/user-service") &&
        e.message.includes('services "user-service" not found'),
    );
    assert.ok(!existsSync(readFileSync(log, "utf8")));
  });

  test("kubectl that never forwards times out; a missing kubectl is named", async () => {
    const { bin } = stubKubectl("kubectl-silent", `setInterval(() => {}, 1000);`);
    await assert.rejects(
      kubectlPortForwarder({ kubectl: bin, readyTimeoutMs: 300 })(request),
      /not forwarding after 0\.3s/,
    );
    await assert.rejects(
      kubectlPortForwarder({ kubectl: path.join(dir, "no-kubectl") })(request),
      /kubectl is not installed/,
    );
  });
});
