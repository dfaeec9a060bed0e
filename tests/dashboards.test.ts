import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { existsSync, readFileSync, statSync } from "node:fs";
import { describe, test } from "node:test";
import { type DashboardDeps, main } from "../scripts/dashboards";
import { devStackConfig } from "./support/configs";

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

function harness(stack: Record<string, unknown> = devStackConfig(), capture?: DashboardDeps["capture"]) {
  const children: FakeChild[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const captured: string[][] = [];
  let stop: (() => void) | undefined;
  let kubeconfigAtSpawn: { path: string; mode: number; contents: string } | undefined;
  const deps: DashboardDeps = {
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
    capture:
      capture ??
      (async (command, args) => {
        captured.push([command, ...args]);
        return KUBECONFIG;
      }),
    readStack: () => stack,
    onStop: (handler) => {
      stop = handler;
    },
    stdout: (line) => out.push(line),
    stderr: (line) => err.push(line),
  };
  return {
    deps,
    children,
    out,
    err,
    captured,
    stop: () => stop?.(),
    kubeconfig: () => kubeconfigAtSpawn,
  };
}

/** Lets the script reach the point where all four children run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("npm run dashboards", () => {
  test("opens four port-forwards with the stack's kubeconfig in a 0600 file, prints the URLs, closes on Ctrl-C", async () => {
    const h = harness();
    const done = main(["--stack", "dev"], h.deps);
    await settle();
    assert.deepEqual(h.captured, [["pulumi", "stack", "output", "kubeconfig", "--show-secrets", "--stack", "dev"]]);
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

  test("--kubeconfig PATH is used as given, and pulumi is not asked", async () => {
    const h = harness();
    const done = main(["--kubeconfig", "/home/me/kind.yaml"], h.deps);
    await settle();
    assert.deepEqual(h.captured, []);
    assert.ok(h.children.every((c) => c.args.slice(0, 2).join(" ") === "--kubeconfig /home/me/kind.yaml"));
    h.stop();
    h.stop();
    assert.equal(await done, 0);
    for (const c of h.children) assert.equal(c.signals.length, 1, "a second Ctrl-C does not signal again");
  });

  test("a port-forward that dies is reported; the others keep running until Ctrl-C", async () => {
    const h = harness();
    const done = main(["--kubeconfig", "/k"], h.deps);
    await settle();
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
    const done = main(["--kubeconfig", "/k"], h.deps);
    await settle();
    for (const c of h.children) c.emit("error", new Error("spawn kubectl ENOENT"));
    assert.equal(await done, 1);
    assert.equal(h.err.length, 4);
  });

  test("a stack with observability off, an unreadable stack output and bad arguments end with a message", async () => {
    const off = harness({ "istio-mesh:observability": { enabled: false } });
    assert.equal(await main([], off.deps), 2);
    assert.match(off.err.join(), /observability\.enabled = false/);

    const noPulumi = harness(devStackConfig(), async () => {
      throw new Error("spawn pulumi ENOENT");
    });
    assert.equal(await main([], noPulumi.deps), 2);
    assert.match(
      noPulumi.err.join(),
      /could not read stack dev's kubeconfig \(spawn pulumi ENOENT\); pass --kubeconfig PATH/,
    );
    assert.equal(noPulumi.children.length, 0);

    const bad = harness();
    assert.equal(await main(["--port", "1"], bad.deps), 2);
    assert.match(bad.err.join(), /usage: npm run dashboards/);
  });

  test("an existing cluster with no kubeconfig in the stack uses its configured context", async () => {
    const h = harness({ "istio-mesh:clusterMode": "existing", "istio-mesh:kubeContext": "prod-east" }, async () => "");
    const done = main([], h.deps);
    await settle();
    assert.deepEqual(h.children[0]?.args.slice(0, 2), ["--context", "prod-east"]);
    h.stop();
    assert.equal(await done, 0);
  });
});
