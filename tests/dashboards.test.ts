import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { finished } from "node:stream/promises";
import { after, describe, test } from "node:test";
import * as YAML from "yaml";
import type { ToolName } from "../components/observability/access";
import { type DashboardDeps, HELP, main, systemDeps, TOOL_ORDER } from "../tools/dashboards/main";
import { EXIT } from "../tools/lib/cli";
import { KLOG_HEADER } from "../tools/lib/kubectlStderr";
import { type PulumiCli, TargetError } from "../tools/lib/target";
import { asPulumiConfig, devStackConfig } from "./support/configs";
import {
  deletedClusterKubeconfig,
  writeForwardingKubectl,
  writeUnreachableKubectl,
} from "./support/portForwardKubectl";
import { STACK_TRACE } from "./support/stackTrace";

/**
 * A stand-in for `kubectl port-forward`: records its arguments, writes what kubectl writes to its
 * stdout and stderr pipes, exits when killed. Like a ChildProcess, "exit" then, once both pipes are
 * read to their end, "close".
 */
class FakeChild extends EventEmitter {
  static nextPid = 4000;
  readonly pid = FakeChild.nextPid++;
  readonly signals: string[] = [];
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  constructor(readonly args: readonly string[]) {
    super();
  }
  /**
   * kubectl's lines once it listens on the default address `localhost`, on stdout (client-go v0.32.4
   * tools/portforward/portforward.go:303-304, `pf.out` = kubectl's os.Stdout).
   */
  forward(): void {
    const [local, remote] = (this.args.at(-1) ?? "").split(":");
    this.stdout.write(`Forwarding from 127.0.0.1:${local} -> ${remote}\nForwarding from [::1]:${local} -> ${remote}\n`);
  }
  /** kubectl writing to its stderr. */
  say(text: string): void {
    this.stderr.write(text);
  }
  exit(code: number | null, signal: NodeJS.Signals | number | null = null): void {
    this.emit("exit", code, signal);
    this.stdout.end();
    this.stderr.end();
    Promise.all([finished(this.stdout), finished(this.stderr)]).then(() => this.emit("close", code, signal));
  }
  kill(signal?: NodeJS.Signals | number): boolean {
    this.signals.push(String(signal));
    setImmediate(() => this.exit(null, signal ?? "SIGTERM"));
    return true;
  }
}

const KUBECONFIG = "apiVersion: v1\nkind: Config\n# from the stack\n";

const dir = mkdtempSync(path.join(tmpdir(), "dashboards-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The Pulumi CLI as tools/lib/target.ts calls it: `stack output --json` and `config --json`. */
function fakePulumi(stack: Record<string, unknown>, kubeconfig: unknown) {
  const calls: string[][] = [];
  const config = Object.fromEntries(
    Object.entries(asPulumiConfig(stack)).map(([k, value]) => [k, { value, secret: false }]),
  );
  const pulumi: PulumiCli = async (args) => {
    calls.push([...args]);
    if (args[0] === "stack" && args[1] === "output") return JSON.stringify({ kubeconfig });
    if (args[0] === "config") return JSON.stringify(config);
    throw new Error(`unexpected pulumi ${args.join(" ")}`);
  };
  return { pulumi, calls };
}

function harness(
  stack: Record<string, unknown> = devStackConfig(),
  {
    kubeconfig = KUBECONFIG as unknown,
    pulumi = undefined as PulumiCli | undefined,
    envStack = undefined as string | undefined,
    /** Each kubectl says it is forwarding as soon as it starts. */
    forwards = true,
  } = {},
) {
  const cli = fakePulumi(stack, kubeconfig);
  const children: FakeChild[] = [];
  const out: string[] = [];
  const err: string[] = [];
  let stop: (() => void) | undefined;
  let kubeconfigAtSpawn: { path: string; mode: number; contents: string } | undefined;
  const deps: DashboardDeps = {
    projectRoot: dir,
    pulumi: pulumi ?? cli.pulumi,
    env: envStack === undefined ? {} : { STACK: envStack },
    spawn(command, args) {
      assert.equal(command, "kubectl");
      const i = args.indexOf("--kubeconfig");
      const file = i >= 0 ? args[i + 1] : undefined;
      if (file && existsSync(file) && !kubeconfigAtSpawn) {
        kubeconfigAtSpawn = { path: file, mode: statSync(file).mode & 0o777, contents: readFileSync(file, "utf8") };
      }
      const child = new FakeChild(args);
      children.push(child);
      if (forwards) setImmediate(() => child.forward());
      return child as never;
    },
    onStop: (handler) => {
      stop = handler;
    },
    stdout: (line) => out.push(line),
    stderr: (line) => err.push(line),
  };
  return {
    deps,
    children,
    /** Lets the script reach the point where all four children run (a stack file loads the program's modules first). */
    async settle() {
      await until(() => children.length >= TOOL_ORDER.length);
      await ticks();
    },
    out,
    err,
    captured: cli.calls,
    stop: () => stop?.(),
    kubeconfig: () => kubeconfigAtSpawn,
  };
}

/** Lets the fake children's pipes deliver what was written to them. */
const ticks = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

const devStackFile = () => {
  const file = path.join(dir, "Pulumi.dev.yaml");
  writeFileSync(file, YAML.stringify({ config: devStackConfig() }));
  return file;
};

describe("npm run dashboards", () => {
  test("opens four port-forwards with the stack's kubeconfig in a 0600 file, prints the URLs, closes on Ctrl-C", async () => {
    const h = harness();
    const done = main(["--stack", "dev"], h.deps);
    await h.settle();
    assert.deepEqual(h.captured, [
      ["stack", "output", "--json", "--show-secrets", "--stack", "dev"],
      ["config", "--json", "--show-secrets", "--stack", "dev"],
    ]);
    const file = h.kubeconfig();
    assert.ok(file);
    assert.equal(file.mode, 0o600);
    assert.equal(file.contents, KUBECONFIG);
    assert.deepEqual(
      h.children.map((c) => c.args.join(" ")),
      [
        `--kubeconfig ${file.path} -n istio-system port-forward svc/kiali 20001:20001`,
        `--kubeconfig ${file.path} -n istio-system port-forward svc/tracing 16686:80`,
        `--kubeconfig ${file.path} -n istio-system port-forward svc/prometheus 9090:9090`,
        `--kubeconfig ${file.path} -n istio-system port-forward svc/grafana 3000:3000`,
      ],
    );
    const printed = h.out.join("\n");
    for (const url of [
      "http://localhost:20001/kiali",
      "http://localhost:16686/jaeger",
      "http://localhost:9090",
      "http://localhost:3000",
    ]) {
      assert.ok(printed.includes(url), url);
    }

    h.stop();
    assert.equal(await done, 0);
    for (const c of h.children) assert.deepEqual(c.signals, ["SIGTERM"], `pid ${c.pid} is stopped once, by handle`);
    assert.equal(existsSync(file.path), false, "the kubeconfig copy is removed");
    assert.deepEqual(h.err, [], "a requested stop is not reported as a failure");
  });

  test("--config reads the stack file (no Pulumi CLI): kind's context, as every tool uses it; --kubeconfig FILE replaces the default file", async () => {
    const h = harness();
    const file = devStackFile();
    // kind's context, in the kubeconfig kubectl reads ($KUBECONFIG here), as `kind create cluster` left it.
    const kindKubeconfig = deletedClusterKubeconfig(dir, "https://127.0.0.1:36117");
    const plain = main(["--config", file], {
      ...h.deps,
      env: { KUBECONFIG: kindKubeconfig },
      pulumi: async () => assert.fail("no CLI with --config"),
    });
    await h.settle();
    assert.deepEqual(h.children[0]?.args.slice(0, 2), ["--context", "kind-lab-cluster"]);
    h.stop();
    assert.equal(await plain, 0);

    const own = path.join(dir, "kind.yaml");
    writeFileSync(own, readFileSync(kindKubeconfig, "utf8"));
    const g = harness();
    const done = main(["--config", file, "--kubeconfig", own], g.deps);
    await g.settle();
    assert.deepEqual(g.captured, []);
    assert.ok(
      g.children.every((c) => c.args.slice(0, 4).join(" ") === `--kubeconfig ${own} --context kind-lab-cluster`),
    );
    g.stop();
    g.stop();
    assert.equal(await done, 0);
    for (const c of g.children) assert.equal(c.signals.length, 1, "a second Ctrl-C does not signal again");
    assert.ok(existsSync(own), "the user's own kubeconfig is left alone");

    // After `kind delete cluster`, which takes its context out of the kubeconfig (kind
    // pkg/cluster/internal/delete/delete.go:37): one line before any kubectl starts, exit 2.
    const gone = harness();
    const empty = path.join(dir, "kubeconfig-after-delete");
    writeFileSync(empty, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
    const code = await main(["--config", file], { ...gone.deps, env: { KUBECONFIG: empty } });
    assert.equal(code, EXIT.usage);
    assert.deepEqual(gone.err, [
      `dashboards: no cluster to reach: context kind-lab-cluster is not in ${empty}; is the cluster up?`,
    ]);
    assert.equal(gone.children.length, 0, "no kubectl started");
  });

  test("$STACK picks the stack when --stack is absent, as for npm run up", async () => {
    const h = harness(devStackConfig(), { envStack: "mine" });
    const done = main([], h.deps);
    await h.settle();
    assert.deepEqual(h.captured[0], ["stack", "output", "--json", "--show-secrets", "--stack", "mine"]);
    h.stop();
    assert.equal(await done, 0);
  });

  test("a port-forward that dies is reported; the others keep running until Ctrl-C", async () => {
    const h = harness();
    const done = main(["--stack", "dev"], h.deps);
    await h.settle();
    h.children[2]?.exit(1);
    await ticks();
    assert.match(h.err.join("\n"), /prometheus: port-forward ended \(exit 1\)/);
    h.stop();
    assert.equal(await done, 0);
    assert.deepEqual(
      h.children.map((c) => c.signals.length),
      [1, 1, 0, 1],
    );
  });

  test("when every port-forward fails to start (kubectl missing), it says so once and could not start", async () => {
    const h = harness(devStackConfig(), { forwards: false });
    const done = main(["--stack", "dev"], h.deps);
    await h.settle();
    for (const c of h.children) c.emit("error", Object.assign(new Error("spawn kubectl ENOENT"), { code: "ENOENT" }));
    assert.equal(await done, 2);
    assert.deepEqual(h.err, ["dashboards: kubectl is not installed (see `npm run prereqs`)"]);
  });

  test("a stack with observability off, an unreadable stack output and bad arguments end with a message", async () => {
    const off = harness({ "istio-mesh:observability": { enabled: false } });
    assert.equal(await main([], off.deps), 2);
    assert.match(off.err.join(), /observability\.enabled = false/);

    const noPulumi = harness(devStackConfig(), {
      pulumi: async () => {
        throw new TargetError("the Pulumi CLI is not installed: pass --config Pulumi.<stack>.yaml instead");
      },
    });
    assert.equal(await main([], noPulumi.deps), 2);
    assert.match(noPulumi.err.join(), /Pulumi CLI is not installed: pass --config Pulumi.<stack>.yaml instead/);
    assert.equal(noPulumi.children.length, 0);

    const badValue = harness({ "istio-mesh:clusterMode": "minikube" });
    assert.equal(await main([], badValue.deps), 2);
    assert.match(badValue.err.join(), /istio-mesh:clusterMode = "minikube"/);

    const bad = harness();
    assert.equal(await main(["--port", "1"], bad.deps), 2);
    assert.deepEqual(bad.err, ["dashboards: Unknown option '--port' (see npm run dashboards -- --help)"]);
  });

  /** The platform team's kubeconfig, with the context the stack names. */
  const PLATFORM_KUBECONFIG = path.join(dir, "platform-kubeconfig");
  writeFileSync(
    PLATFORM_KUBECONFIG,
    "apiVersion: v1\nkind: Config\nclusters: [{name: east, cluster: {server: https://10.1.0.1:6443}}]\n" +
      "contexts: [{name: prod-east, context: {cluster: east, user: me}}]\nusers: [{name: me, user: {token: t}}]\n",
  );

  test("an existing cluster: no kubeconfig output; its configured file and context", async () => {
    const h = harness(
      {
        "istio-mesh:clusterMode": "existing",
        "istio-mesh:kubeconfig": PLATFORM_KUBECONFIG,
        "istio-mesh:kubeContext": "prod-east",
      },
      { kubeconfig: null },
    );
    const done = main([], h.deps);
    await h.settle();
    assert.deepEqual(h.children[0]?.args.slice(0, 4), ["--kubeconfig", PLATFORM_KUBECONFIG, "--context", "prod-east"]);
    h.stop();
    assert.equal(await done, 0);
  });
});

/** Waits (up to 3 s) for `done()`; fails the test if it never is. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(done(), "waited 3 s for a condition that never held");
}

const REFUSED = "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?";
/** client-go v0.32.4 discovery/cached/memory/memcache.go:265 through klog, as kubectl v1.32.4 prints it. */
const MEMCACHE = String.raw`E1202 14:20:01.123456   12345 memcache.go:265] "Unhandled Error" err="couldn't get current server API group list: Get \"https://127.0.0.1:1/api?timeout=32s\": dial tcp 127.0.0.1:1: connect: connection refused"`;
/**
 * The pod behind a forward gone (restarted), as kubectl v1.32.4 says it: client-go's
 * runtime.HandleError of the pod side's error (tools/portforward/portforward.go:424, through klog.ErrorS:
 * apimachinery pkg/util/runtime/runtime.go:156,195-199), which closes the connection (:425); the forward
 * then returns ErrLostConnectionToPod (:244), which kubectl's CheckErr prints with "error: "
 * (kubernetes/kubectl pkg/cmd/util/helpers.go:214-215), exit 1.
 */
const POD_GONE = String.raw`E1202 14:25:07.654321   12345 portforward.go:424] "Unhandled Error" err="an error occurred forwarding 20001 -> 20001: error forwarding port 20001 to pod kiali-7d9f, uid : failed to find sandbox \"3f2a\" in store: not found"`;
const POD_GONE_SAID =
  'an error occurred forwarding 20001 -> 20001: error forwarding port 20001 to pod kiali-7d9f, uid : failed to find sandbox "3f2a" in store: not found';
const URL_LINE: Record<ToolName, RegExp> = {
  kiali: /^kiali +http:\/\/localhost:20001\/kiali +login: /,
  jaeger: /^jaeger +http:\/\/localhost:16686\/jaeger +login: /,
  prometheus: /^prometheus +http:\/\/localhost:9090 +login: /,
  grafana: /^grafana +http:\/\/localhost:3000 +login: /,
};

describe("npm run dashboards: what kubectl says, one line per tool", () => {
  /** The real spawn (systemDeps: stdout and stderr piped) of a stand-in kubectl; its children kept. */
  function realKubectl(bin: string) {
    const started: ChildProcess[] = [];
    const { spawn } = systemDeps(dir, bin);
    return {
      started,
      spawn: ((command, args) => {
        const child = spawn(command, args) as ChildProcess;
        started.push(child);
        return child;
      }) satisfies DashboardDeps["spawn"],
    };
  }

  test("a cluster deleted by hand (the stack's kubeconfig output still names it): one line, exit 2, no URL, no klog line", async () => {
    const kubeconfig = readFileSync(deletedClusterKubeconfig(dir, "https://127.0.0.1:1"), "utf8");
    const h = harness(devStackConfig(), { kubeconfig });
    const kubectl = realKubectl(writeUnreachableKubectl(dir));
    const code = await main(["--stack", "dev"], { ...h.deps, spawn: kubectl.spawn });
    assert.equal(code, EXIT.usage);
    assert.match(HELP, /2 could not start \([^)]*no cluster to reach/);
    assert.deepEqual(h.err, [
      "dashboards: no cluster to reach at https://127.0.0.1:1 (context kind-lab-cluster): connection refused; is the cluster up?",
    ]);
    assert.deepEqual(h.out, [], "no URL is printed for a forward that never was");
    assert.doesNotMatch(h.err.join("\n"), KLOG_HEADER);
    assert.doesNotMatch(h.err.join("\n"), STACK_TRACE);
    assert.equal(kubectl.started.length, 4);
    const file = kubectl.started[0]?.spawnargs[kubectl.started[0].spawnargs.indexOf("--kubeconfig") + 1] ?? "";
    assert.match(file, /istio-mesh-kube-/);
    assert.equal(existsSync(file), false, "the kubeconfig copy is removed");
  });

  test("kubectl forwarding: each URL once its kubectl says so, then the Ctrl-C line; Ctrl-C stops the four, exit 0", async () => {
    const h = harness();
    const kubectl = realKubectl(writeForwardingKubectl(dir));
    const done = main(["--stack", "dev"], { ...h.deps, spawn: kubectl.spawn });
    await until(() => h.out.length === 5);
    assert.equal(h.out.at(-1), "Ctrl-C closes all four port-forwards.");
    for (const name of TOOL_ORDER) {
      assert.equal(h.out.slice(0, 4).filter((line) => URL_LINE[name].test(line)).length, 1, name);
    }
    h.stop();
    assert.equal(await done, EXIT.ok);
    assert.deepEqual(h.err, []);
    assert.deepEqual(
      kubectl.started.map((c) => c.signalCode),
      ["SIGTERM", "SIGTERM", "SIGTERM", "SIGTERM"],
      "each kubectl stopped by its own handle",
    );
  });

  test("a forward that ends later: one line naming the tool, its klog error said with kubectl's own line", async () => {
    const h = harness();
    const done = main(["--stack", "dev"], h.deps);
    await h.settle();
    assert.equal(h.out.length, 5);
    const [kiali, jaeger, , grafana] = h.children;
    assert.ok(kiali && jaeger && grafana);

    kiali.say(`${POD_GONE}\nerror: lost connection to pod\n`);
    kiali.exit(1);
    await until(() => h.err.length > 0);
    assert.deepEqual(h.err, [`kiali: port-forward ended: error: lost connection to pod (${POD_GONE_SAID})`]);

    // A klog line while kubectl forwards on: passed through, its header left out.
    grafana.say(
      'E1202 14:26:00.000001   12345 portforward.go:404] "Unhandled Error" err="error copying from local connection to remote stream: read tcp4 127.0.0.1:3000->127.0.0.1:51234: read: connection reset by peer"\n',
    );
    await until(() => h.err.length > 1);
    assert.equal(
      h.err[1],
      "grafana: error copying from local connection to remote stream: read tcp4 127.0.0.1:3000->127.0.0.1:51234: read: connection reset by peer",
    );

    // Only a klog line, then the exit: the exit code, with it.
    jaeger.say(`${POD_GONE.replaceAll("20001", "16686")}\n`);
    jaeger.exit(1);
    await until(() => h.err.length > 2);
    assert.deepEqual(h.err.slice(2), [
      `jaeger: port-forward ended (exit 1): ${POD_GONE_SAID.replaceAll("20001", "16686")}`,
    ]);

    h.stop();
    assert.equal(await done, EXIT.ok);
    assert.equal(h.err.length, 3);
    assert.doesNotMatch(h.err.join("\n"), KLOG_HEADER);
    assert.deepEqual(
      h.children.map((c) => c.signals.length),
      [0, 0, 1, 1],
    );
  });

  test("every forward ending on its own after it was up: a line each, exit 1", async () => {
    const h = harness();
    const done = main(["--stack", "dev"], h.deps);
    await h.settle();
    for (const c of h.children) {
      c.say("error: lost connection to pod\n");
      c.exit(1);
    }
    assert.equal(await done, EXIT.failed);
    assert.deepEqual(
      h.err,
      TOOL_ORDER.map((name) => `${name}: port-forward ended: error: lost connection to pod`),
    );
  });

  test("URLs as each forward comes up, the Ctrl-C line once all are; a forward that never comes up is named", async () => {
    const h = harness(devStackConfig(), { forwards: false });
    const done = main(["--stack", "dev"], h.deps);
    await h.settle();
    assert.deepEqual(h.out, [], "nothing printed before kubectl forwards");
    const [kiali, jaeger, prometheus, grafana] = h.children;
    assert.ok(kiali && jaeger && prometheus && grafana);
    grafana.forward();
    kiali.forward();
    await ticks();
    assert.equal(h.out.length, 2);
    assert.match(h.out[0] ?? "", URL_LINE.grafana);
    assert.match(h.out[1] ?? "", URL_LINE.kiali);
    prometheus.say(`${MEMCACHE}\nError from server (NotFound): services "prometheus" not found\n`);
    prometheus.exit(1);
    await until(() => h.err.length > 0);
    assert.deepEqual(h.err, [
      'prometheus: port-forward ended: Error from server (NotFound): services "prometheus" not found',
    ]);
    jaeger.forward();
    await ticks();
    assert.equal(h.out.length, 4);
    assert.equal(h.out[3], "Ctrl-C closes the port-forwards still open.");
    assert.match(h.out[2] ?? "", URL_LINE.jaeger);
    h.stop();
    assert.equal(await done, EXIT.ok);
  });

  test("every local port taken (a second npm run dashboards): could not start, one line, exit 2", async () => {
    const h = harness(devStackConfig(), { forwards: false });
    const done = main(["--stack", "dev"], h.deps);
    await h.settle();
    for (const c of h.children) {
      // client-go v0.35.0 tools/portforward/portforward.go:347 and :386, then kubectl's CheckErr (:353).
      const [local, remote] = (c.args.at(-1) ?? "").split(":");
      c.say(
        `Unable to listen on port ${local}: Listeners failed to create with the following errors: [unable to create listener: Error listen tcp4 127.0.0.1:${local}: bind: address already in use unable to create listener: Error listen tcp6 [::1]:${local}: bind: address already in use]\n` +
          `error: unable to listen on any of the requested ports: [{${local} ${remote}}]\n`,
      );
      c.exit(1);
    }
    assert.equal(await done, EXIT.usage);
    assert.equal(h.err.length, 1);
    assert.match(
      h.err[0] ?? "",
      /^dashboards: local port \d+ is in use \(bind: address already in use\): is another port-forward running\?(; local port \d+ is in use \(bind: address already in use\): is another port-forward running\?){3}$/,
    );
    assert.deepEqual(h.out, []);
  });

  test("forwards failing before any is up, not all for want of a cluster: each named, exit 1", async () => {
    const h = harness(devStackConfig(), { forwards: false });
    const done = main(["--stack", "dev"], h.deps);
    await h.settle();
    for (const c of h.children.slice(0, 3)) {
      c.say(`${MEMCACHE}\n${MEMCACHE}\n${REFUSED}\n`);
      c.exit(1);
    }
    h.children[3]?.say("error: unable to listen on any of the requested ports: [{3000 3000}]\n");
    h.children[3]?.exit(1);
    assert.equal(await done, EXIT.failed);
    const unreachable =
      "port-forward ended: no cluster to reach at 127.0.0.1:1: connection refused; is the cluster up?";
    assert.deepEqual(h.err, [
      "grafana: port-forward ended: error: unable to listen on any of the requested ports: [{3000 3000}]",
      `kiali: ${unreachable}`,
      `jaeger: ${unreachable}`,
      `prometheus: ${unreachable}`,
    ]);
    assert.deepEqual(h.out, []);
  });
});
