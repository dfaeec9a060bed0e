import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import * as YAML from "yaml";
import { type DashboardDeps, main, TOOL_ORDER } from "../tools/dashboards/main";
import { type PulumiCli, TargetError } from "../tools/lib/target";
import { asPulumiConfig, devStackConfig } from "./support/configs";

/** A stand-in for `kubectl port-forward`: records its arguments, exits when killed. */
class FakeChild extends EventEmitter {
  static nextPid = 4000;
  readonly pid = FakeChild.nextPid++;
  readonly signals: string[] = [];
  constructor(readonly args: readonly string[]) {
    super();
  }
  kill(signal?: NodeJS.Signals | number): boolean {
    this.signals.push(String(signal));
    setImmediate(() => this.emit("exit", null, signal));
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
      for (let i = 0; i < 300 && children.length < TOOL_ORDER.length; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    out,
    err,
    captured: cli.calls,
    stop: () => stop?.(),
    kubeconfig: () => kubeconfigAtSpawn,
  };
}

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
    const plain = main(["--config", file], { ...h.deps, pulumi: async () => assert.fail("no CLI with --config") });
    await h.settle();
    assert.deepEqual(h.children[0]?.args.slice(0, 2), ["--context", "kind-lab-cluster"]);
    h.stop();
    assert.equal(await plain, 0);

    const own = path.join(dir, "kind.yaml");
    writeFileSync(own, KUBECONFIG);
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
    h.children[2]?.emit("exit", 1, null);
    assert.match(h.err.join("\n"), /prometheus: port-forward ended \(exit 1\)/);
    h.stop();
    assert.equal(await done, 0);
    assert.deepEqual(
      h.children.map((c) => c.signals.length),
      [1, 1, 0, 1],
    );
  });

  test("when every port-forward fails (kubectl missing), it ends with an error", async () => {
    const h = harness();
    const done = main(["--stack", "dev"], h.deps);
    await h.settle();
    for (const c of h.children) c.emit("error", new Error("spawn kubectl ENOENT"));
    assert.equal(await done, 1);
    assert.equal(h.err.length, 4);
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

  test("an existing cluster: no kubeconfig output; its configured file and context", async () => {
    const h = harness(
      {
        "istio-mesh:clusterMode": "existing",
        "istio-mesh:kubeconfig": "/etc/mesh/kubeconfig",
        "istio-mesh:kubeContext": "prod-east",
      },
      { kubeconfig: null },
    );
    const done = main([], h.deps);
    await h.settle();
    assert.deepEqual(h.children[0]?.args.slice(0, 4), [
      "--kubeconfig",
      "/etc/mesh/kubeconfig",
      "--context",
      "prod-east",
    ]);
    h.stop();
    assert.equal(await done, 0);
  });
});
