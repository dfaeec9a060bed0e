/**
 * The kubectl port-forward transport of `bench --direct`, against stub kubectl programs: one that
 * forwards (serves HTTP itself and prints kubectl's "Forwarding from" line), one that fails, one whose
 * server is not there (klog lines, then kubectl's own line); and kubectl's stderr made one line for
 * every tool that runs kubectl (tools/lib/kubectlStderr.ts).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { main as bench } from "../tools/bench/main";
import { EXIT } from "../tools/lib/cli";
import { kubectlSession } from "../tools/lib/kubectl";
import { KLOG_HEADER, klogMessage, kubectlFailure, kubectlLines } from "../tools/lib/kubectlStderr";
import { kubectlArgs, kubectlPortForwarder, PortForwardError } from "../tools/lib/portForward";
import {
  deletedClusterKubeconfig as deletedClusterKubeconfigIn,
  writeUnreachableKubectl,
} from "./support/portForwardKubectl";
import { STACK_TRACE } from "./support/stackTrace";
import { writeStubKubectl } from "./support/stubKubectl";

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

/** A kind cluster's kubeconfig once the cluster is gone (tests/support/portForwardKubectl.ts). */
const deletedClusterKubeconfig = (server: string) => deletedClusterKubeconfigIn(dir, server);

/** kubectl port-forward against a server nothing answers at, as kubectl v1.32.4 prints it (see the stub). */
const unreachableKubectl = writeUnreachableKubectl(dir);

describe("no cluster at the kubeconfig's server: one line", () => {
  // Our ready timeout, 20 s, is 0.8 s at the stub's pace (see unreachableKubectl).
  const READY = 800;
  // [server, why, ready timeout]: a refused connection or a failed lookup kubectl reports itself; a TLS
  // handshake timeout (10 s) is in a klog line before our timer fires; a dial timeout (30 s) only when
  // we wait longer than it (1.6 s standing for 40 s); for our 20 s see the next test.
  const cases: [string, string, number | undefined][] = [
    ["https://127.0.0.1:1", "connection refused", undefined],
    ["https://no-such-host.invalid:6443", "no such host", undefined],
    ["https://10.0.0.1:6443", "i/o timeout", 2 * READY],
    ["https://10.0.0.2:6443", "TLS handshake timeout", READY],
  ];
  for (const [server, why, readyTimeoutMs] of cases) {
    test(`${why}: the server and the context, no klog line`, async () => {
      const cluster = { kubeconfigPath: deletedClusterKubeconfig(server) };
      const forwarder = kubectlPortForwarder({
        kubectl: unreachableKubectl,
        ...(readyTimeoutMs !== undefined && { readyTimeoutMs }),
      });
      await assert.rejects(forwarder({ ...request, cluster }), {
        name: "PortForwardError",
        message: `no cluster to reach at ${server} (context kind-lab-cluster): ${why}; is the cluster up?`,
      });
    });
  }

  test("no dial answered by our timeout: the server named, and the other thing kubectl may wait on", async () => {
    const cluster = { kubeconfigPath: deletedClusterKubeconfig("https://10.0.0.1:6443") };
    const forwarder = kubectlPortForwarder({ kubectl: unreachableKubectl, readyTimeoutMs: READY });
    await assert.rejects(forwarder({ ...request, cluster }), {
      name: "PortForwardError",
      message:
        "kubectl port-forward backend/svc/user-service: not forwarding after 0.8s: no answer from the server " +
        "https://10.0.0.1:6443 (context kind-lab-cluster), or no pod of service user-service running yet; is the cluster up?",
    });
  });

  test("bench --direct: exit 2 (could not measure), one line on stderr, no klog line, no stack trace", async () => {
    const gateway = createServer((_req, res) => res.end("through the gateway"));
    await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
    const { port } = gateway.address() as AddressInfo;
    const stdout: string[] = [];
    const stderr: string[] = [];
    try {
      const code = await bench(
        ["--url", `http://127.0.0.1:${port}`, "--direct", "--path", "/users", "--requests", "5"].concat(
          "--kubeconfig",
          deletedClusterKubeconfig("https://127.0.0.1:1"),
        ),
        {
          projectRoot: "/nonexistent",
          pulumi: async () => assert.fail("no Pulumi CLI with --url"),
          kubectl: unreachableKubectl,
          env: { HOME: dir },
          io: {
            stdout: (t) => stdout.push(t),
            stderr: (t) => stderr.push(t),
            progress: { isTTY: false, write: () => true },
          },
        },
      );
      assert.equal(code, EXIT.usage);
      assert.deepEqual(stderr, [
        "bench: no cluster to reach at https://127.0.0.1:1 (context kind-lab-cluster): connection refused; is the cluster up?",
      ]);
      assert.deepEqual(stdout, []);
      assert.doesNotMatch(stderr.join("\n"), KLOG_HEADER);
      assert.doesNotMatch(stderr.join("\n"), STACK_TRACE);
    } finally {
      gateway.close();
    }
  });

  test("kubectl for bench --in-cluster and upgrade: the same line, not the first klog line", async () => {
    const stub = writeStubKubectl(dir);
    stub.behave({ unreachable: true });
    const session = kubectlSession({ kubeconfigPath: deletedClusterKubeconfig("https://127.0.0.1:6443") }, stub.bin);
    try {
      await assert.rejects(session.run(["get", "namespaces", "-o", "json"]), {
        name: "KubectlError",
        message:
          "no cluster to reach at https://127.0.0.1:6443 (context kind-lab-cluster): connection refused; is the cluster up?",
      });
    } finally {
      session.close();
    }
  });
});

describe("kubectl's stderr as one line (kubectlStderr.ts)", () => {
  // As kubectl v1.32.4 printed them, and one with klog's -add_dir_header and a 7-digit pid.
  const KLOG_LINES = [
    String.raw`E1202 14:17:32.032831    6985 memcache.go:265] "Unhandled Error" err="couldn't get current server API group list: Get \"https://127.0.0.1:1/api?timeout=32s\": dial tcp 127.0.0.1:1: connect: connection refused"`,
    "I1202 14:17:32.085737 1234567 rest/round_trippers.go:553] GET https://127.0.0.1:1/api?timeout=32s  in 0 milliseconds",
    "W1202 14:17:32.000001       1 loader.go:223] Config not found: /nope",
  ];
  const KUBECTL_LINES = [
    'Error from server (NotFound): services "user-service" not found',
    "error: TYPE/NAME and list of ports are required for port-forward",
    "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?",
    "E1202 is not a klog line without its time",
  ];

  test("klog's header is recognised; kubectl's own lines are not", () => {
    for (const line of KLOG_LINES) assert.match(line, KLOG_HEADER);
    for (const line of KUBECTL_LINES) assert.doesNotMatch(line, KLOG_HEADER);
  });

  test("klog lines and blank lines dropped; the first or the last of kubectl's own lines", () => {
    const stderr = `${KLOG_LINES.join("\n")}\nerror: one\n\n${KLOG_LINES[0]}\nerror: two\n`;
    assert.deepEqual(kubectlFailure(stderr), { line: "error: two", unreachable: false });
    assert.deepEqual(kubectlFailure(stderr, { pick: "first" }), { line: "error: one", unreachable: false });
    assert.deepEqual(kubectlFailure(KLOG_LINES.join("\n")), { line: "", unreachable: false });
  });

  test("an unreachable server without a kubeconfig naming it: the address kubectl's line gives", () => {
    const refused = `${KLOG_LINES[0]}\n${KUBECTL_LINES[2]}\n`;
    assert.equal(
      kubectlFailure(refused).line,
      "no cluster to reach at 127.0.0.1:1: connection refused; is the cluster up?",
    );
    assert.equal(
      kubectlFailure("Unable to connect to the server: dial tcp: lookup kind.example on 127.0.0.53:53: no such host\n")
        .line,
      "no cluster to reach at kind.example: no such host; is the cluster up?",
    );
    const content = { kubeconfig: readFileSync(deletedClusterKubeconfig("https://10.0.0.1:6443"), "utf8") };
    assert.equal(
      kubectlFailure("Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout\n", { cluster: content })
        .line,
      "no cluster to reach at https://10.0.0.1:6443 (context kind-lab-cluster): i/o timeout; is the cluster up?",
    );
  });

  test("a klog line's message: its header left out; klog's structured error said as the error", () => {
    assert.equal(
      klogMessage(KLOG_LINES[0] ?? ""),
      'couldn\'t get current server API group list: Get "https://127.0.0.1:1/api?timeout=32s": dial tcp 127.0.0.1:1: connect: connection refused',
    );
    assert.equal(klogMessage(KLOG_LINES[2] ?? ""), "Config not found: /nope");
    // client-go after v0.32 logs with a message of its own and key/value pairs (portforward.go HandleErrorWithLogger).
    assert.equal(
      klogMessage(
        'E1202 14:20:01.123456   12345 portforward.go:549] "An error occurred forwarding" err="pod gone" localPort=20001 remotePort=20001',
      ),
      "An error occurred forwarding: pod gone localPort=20001 remotePort=20001",
    );
    // A multi-line value opens on this line and goes on below it: its opening is not part of the message.
    assert.equal(
      klogMessage(
        'E1202 14:20:01.123456   12345 portforward.go:549] "An error occurred forwarding" localPort=20001 err=<',
      ),
      "An error occurred forwarding localPort=20001",
    );
    for (const line of KUBECTL_LINES) assert.equal(klogMessage(line), undefined);
  });

  /**
   * A kubeconfig whose exec credential plugin is not installed (`aws` for EKS). client-go's error is
   * `exec: executable aws not found` and, the first ten times an hour, a help text of several lines
   * ending in a URL (client-go v0.35.0 plugin/pkg/client/auth/exec/exec.go:57-62 installHintVerboseHelp,
   * :548-558, sometimes threshold 10 at :206-210); the round tripper prefixes `getting credentials: `
   * (:368) and net/http makes it a *url.Error, so kubectl's CheckErr says `Unable to connect to the
   * server: <it>` (kubectl v0.35.0 pkg/cmd/util/helpers.go:273): the reason on the first line, the
   * help after it. Each discovery attempt logs the same error as a klog multi-line value: `err=<`,
   * the lines after a tab, ` >` (klog v2.130.1 internal/serialize/keyvalues.go:275-291).
   */
  const HELP = [
    "",
    "It looks like you are trying to use a client-go credential plugin that is not installed.",
    "",
    "To learn more about this feature, consult the documentation available at:",
    "      https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins",
  ];
  const EKS = "https://0123ABCD.gr7.eu-west-1.eks.amazonaws.com";
  const NOT_FOUND = "getting credentials: exec: executable aws not found";
  const klogRecord = (error: string[]) =>
    [
      'E1202 14:17:32.032831    6985 memcache.go:265] "Unhandled Error" err=<',
      ...error.map((line) => `\t${line}`),
      " >",
    ].join("\n");
  const EXEC_STDERR = `${[1, 2, 3, 4]
    .map(() =>
      klogRecord([`couldn't get current server API group list: Get "${EKS}/api?timeout=32s": ${NOT_FOUND}`, ...HELP]),
    )
    .join("\n")}\nUnable to connect to the server: ${NOT_FOUND}\n${HELP.join("\n")}\n`;

  test("klog's multi-line values are klog's too: `err=<`, tab-indented lines, ` >`", () => {
    const own = `Unable to connect to the server: ${NOT_FOUND}`;
    assert.deepEqual(kubectlLines(EXEC_STDERR), [own, ...HELP.filter((line) => line !== "")]);
    // Two multi-line values in one record: ` > key=<` closes one and opens the next.
    const two = `${KLOG_LINES[0]} a=<\n\tone\n\ttwo\n > b=<\n\tthree\n >\nerror: mine\n\tnot klog's\n`;
    assert.deepEqual(kubectlLines(two), ["error: mine", "\tnot klog's"]);
  });

  test("a credential plugin that is not installed: its reason, not its help's URL, and no unreachable server", () => {
    const line = `Unable to connect to the server: ${NOT_FOUND}`;
    const cluster = { kubeconfig: readFileSync(deletedClusterKubeconfig(EKS), "utf8") };
    assert.deepEqual(kubectlFailure(EXEC_STDERR, { cluster }), { line, unreachable: false });
    assert.deepEqual(kubectlFailure(EXEC_STDERR, { pick: "first", cluster, klog: true }), { line, unreachable: false });
    // Still running, only klog's records so far: no reason to give, and none taken from the help text.
    const running = EXEC_STDERR.slice(0, EXEC_STDERR.indexOf("Unable to connect"));
    assert.deepEqual(kubectlFailure(running, { cluster, klog: true }), { line: "", unreachable: false });
  });

  test("a port-forward's local port taken: client-go's reason, not CheckErr's bare line", () => {
    // client-go v0.35.0 tools/portforward/portforward.go:347 and :386, then kubectl's CheckErr (:353).
    const stderr =
      "Unable to listen on port 20001: Listeners failed to create with the following errors: [unable to create listener: Error listen tcp4 127.0.0.1:20001: bind: address already in use unable to create listener: Error listen tcp6 [::1]:20001: bind: address already in use]\n" +
      "error: unable to listen on any of the requested ports: [{20001 20001}]\n";
    assert.deepEqual(kubectlFailure(stderr), {
      line: "local port 20001 is in use (bind: address already in use): is another port-forward running?",
      unreachable: false,
      localPortInUse: true,
    });
    // Another reason (a port below 1024 without the right): kubectl's line as it is.
    const denied = stderr.replaceAll("bind: address already in use", "bind: permission denied");
    assert.deepEqual(kubectlFailure(denied), {
      line: "error: unable to listen on any of the requested ports: [{20001 20001}]",
      unreachable: false,
    });
  });

  test("CheckErr's line rather than a usage error's closing hint (kubectl helpers.go:339-341)", () => {
    const stderr =
      "error: TYPE/NAME and list of ports are required for port-forward\nSee 'kubectl port-forward -h' for help and examples\n";
    assert.equal(kubectlFailure(stderr).line, "error: TYPE/NAME and list of ports are required for port-forward");
    // Lines none of which is CheckErr's: the last (or first), as before.
    assert.equal(kubectlFailure("one\ntwo\n").line, "two");
    assert.equal(kubectlFailure("one\ntwo\n", { pick: "first" }).line, "one");
  });

  test("klog: an unreachable server in klog's err= counts only when asked, and only without a line of kubectl's own", () => {
    const tls = String.raw`E1202 14:17:42.032831    6985 memcache.go:265] "Unhandled Error" err="couldn't get current server API group list: Get \"https://10.0.0.2:6443/api?timeout=32s\": net/http: TLS handshake timeout"`;
    assert.deepEqual(kubectlFailure(`${tls}\n`), { line: "", unreachable: false });
    assert.deepEqual(kubectlFailure(`${tls}\n`, { klog: true }), {
      line: "no cluster to reach at https://10.0.0.2:6443: TLS handshake timeout; is the cluster up?",
      unreachable: true,
    });
    assert.equal(
      kubectlFailure(`${KLOG_LINES[0]}\n`, { klog: true }).line,
      "no cluster to reach at 127.0.0.1:1: connection refused; is the cluster up?",
    );
    const own = 'Error from server (NotFound): services "user-service" not found';
    assert.deepEqual(kubectlFailure(`${tls}\n${own}\n`, { klog: true }), { line: own, unreachable: false });
  });

  test("a server that answers but is not trusted is no unreachable one: kubectl's line as it is", () => {
    const line =
      "Unable to connect to the server: tls: failed to verify certificate: x509: certificate signed by unknown authority";
    assert.deepEqual(kubectlFailure(`${line}\n`), { line, unreachable: false });
  });
});
