/**
 * The kind-cluster Command's create and delete steps, run the way @pulumi/command runs them
 * (`/bin/sh -c <command>`, the Command's environment, the kind config on stdin) against stateful
 * kind and docker stand-ins on a private PATH.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  kindClusterSpec,
  kindCommands,
  OWNER_LABEL_KEY,
  STACK_LABEL_KEY,
  stackLabelValue,
} from "../components/cluster/kindConfig";
import { devConfig } from "./support/configs";
import { KindWorld, systemDir } from "./support/stubTools";

let root = "";
let sys = { dir: "", bash: "", sh: "" };
let worlds = 0;

before(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "kind-cluster-test-")));
  sys = systemDir(root);
});
after(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

const cfg = devConfig();
if (cfg.cluster.mode !== "kind") throw new Error("the dev stack is a kind stack");
const spec = kindClusterSpec(cfg.cluster, cfg.ingress);
/** This state's id (the RandomId's hex) and its stack label. */
const OWNER = { stack: stackLabelValue("istio-mesh", "dev"), id: "5eed0f15a1b2c3d4" };
const commands = kindCommands(spec, OWNER);
/** Another state of a stack with the same project and name: a second clone, a wiped or moved state. */
const TWIN = kindCommands(spec, { stack: OWNER.stack, id: "0ddba11c0ffee000" });
/** The kind config code before the owner id fed: the stack label only (it is today's trigger). */
const LEGACY_CONFIG = commands.trigger;

/** The lab's own cluster from setup-cluster.sh: same name, no owner label. */
const LAB_CONFIG = JSON.stringify({ kind: "Cluster", apiVersion: "kind.x-k8s.io/v1alpha4", name: "lab-cluster" });

function world(): KindWorld {
  return new KindWorld(path.join(root, `world-${worlds++}`), sys.bash);
}

function step(w: KindWorld, which: "create" | "delete", env: Record<string, string> = {}, steps = commands) {
  const res = spawnSync(sys.sh, ["-c", steps[which]], {
    env: { PATH: `${w.stubs}:${sys.dir}`, STUB_STATE: w.state, ...steps.environment, ...env },
    input: which === "create" ? steps.stdin : "",
    encoding: "utf8",
    timeout: 30_000,
  });
  // A script that stops before reading its stdin (kind failing first) makes the write fail with EPIPE,
  // a race Node 24 lost in a run. The command provider runs it with Go's os/exec, which drops an EPIPE
  // from copying stdin (exec.go skipStdinCopyError): the exit status is the result.
  if (res.error && (res.error as NodeJS.ErrnoException).code !== "EPIPE") throw res.error;
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** The Ready wait the create step runs with the node's own kubectl. */
const WAIT_READY =
  "docker exec lab-cluster-control-plane kubectl --kubeconfig=/etc/kubernetes/admin.conf wait " +
  "--for=condition=Ready nodes --all --timeout=180s";

const creates = (w: KindWorld) => w.calls().filter((c) => c.startsWith("kind create"));
const deletes = (w: KindWorld) => w.calls().filter((c) => c.startsWith("kind delete"));

test("the step's PATH hides the machine's real tools", () => {
  const w = world();
  const res = spawnSync(sys.sh, ["-c", "for t in kubectl pulumi grep cat; do command -v $t || true; done"], {
    env: { PATH: `${w.stubs}:${sys.dir}` },
    encoding: "utf8",
  });
  assert.equal(res.stdout, "");
});

describe("create", () => {
  test("a fresh name: creates the cluster from stdin, labelled as this stack's; stdout is only the kubeconfig", () => {
    const w = world();
    const r = step(w, "create");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(creates(w), ["kind create cluster --name lab-cluster --config=-"]);
    assert.ok(w.calls().includes(WAIT_READY), w.calls().join("\n"));
    assert.deepEqual(w.clusters(), ["lab-cluster"]);
    const created = JSON.parse(w.config("lab-cluster"));
    assert.deepEqual(created.nodes[0].labels, {
      [STACK_LABEL_KEY]: "istio-mesh.dev",
      [OWNER_LABEL_KEY]: "5eed0f15a1b2c3d4",
    });
    assert.deepEqual(created.nodes[0].extraPortMappings, spec.nodes[0]?.extraPortMappings);
    assert.equal(r.stdout, "apiVersion: v1\nkind: Config\n# kubeconfig of lab-cluster\n");
    assert.match(r.stderr, /Creating cluster "lab-cluster"/, "kind's progress goes to stderr");
    assert.match(r.stderr, /node\/lab-cluster-control-plane condition met/, "kubectl's too");
  });

  test("nodes that never turn Ready: stops with one line and no kubeconfig (kind's own --wait only warns)", () => {
    const w = world();
    const r = step(w, "create", { STUB_NODES_NOT_READY: "1" });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, "", "no kubeconfig: Helm must not install onto nodes that are not Ready");
    assert.ok(w.calls().includes(WAIT_READY), w.calls().join("\n"));
    const last = r.stderr.trimEnd().split("\n").at(-1);
    assert.equal(
      last,
      'kind-cluster: the nodes of kind cluster "lab-cluster" are not Ready after 180s; see `kubectl get nodes` and ' +
        "`kind export logs --name lab-cluster`, or delete it (kind delete cluster --name lab-cluster) and retry",
    );
    assert.match(r.stderr, /error: timed out waiting for the condition on nodes\/lab-cluster-control-plane/);
    // A rerun finds its own cluster, waits again and goes on once the nodes are Ready.
    const again = step(w, "create");
    assert.equal(again.status, 0, again.stderr);
    assert.equal(creates(w).length, 1);
    assert.match(again.stdout, /kubeconfig of lab-cluster/);
  });

  test("this stack's own cluster is reused: no second create, same kubeconfig", () => {
    const w = world();
    const first = step(w, "create");
    const again = step(w, "create");
    assert.equal(again.status, 0, again.stderr);
    assert.equal(creates(w).length, 1);
    assert.equal(again.stdout, first.stdout);
    assert.match(
      again.stderr,
      /reusing kind cluster "lab-cluster", created by this stack \(istio-mesh\/owner=5eed0f15a1b2c3d4\)/,
    );
    assert.ok(
      w
        .calls()
        .includes(
          "docker exec lab-cluster-control-plane kubectl --kubeconfig=/etc/kubernetes/admin.conf get nodes " +
            "--selector=istio-mesh/owner=5eed0f15a1b2c3d4 --output=name",
        ),
      w.calls().join("\n"),
    );
  });

  test("a same-named cluster this stack did not create (the lab's): stops with how to proceed, creates nothing", () => {
    const w = world();
    w.addCluster("lab-cluster", LAB_CONFIG);
    const r = step(w, "create");
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, "", "no kubeconfig: the provider must not reach a foreign cluster");
    assert.deepEqual(creates(w), []);
    assert.deepEqual(deletes(w), []);
    assert.equal(w.config("lab-cluster"), LAB_CONFIG, "left as it was");
    assert.match(r.stderr, /a kind cluster named "lab-cluster" already exists, and this stack did not create it/);
    assert.match(r.stderr, /no node has the label istio-mesh\/owner=5eed0f15a1b2c3d4/);
    assert.match(r.stderr, /kind delete cluster --name lab-cluster/);
    assert.match(r.stderr, /pulumi config set clusterName <another-name>/);
  });

  test("a cluster another stack of this project created is foreign too", () => {
    const w = world();
    w.addCluster(
      "lab-cluster",
      kindCommands(spec, { stack: stackLabelValue("istio-mesh", "ci"), id: "c1c1c1c1" }).stdin,
    );
    const r = step(w, "create");
    assert.equal(r.status, 1);
    assert.deepEqual(creates(w), []);
    assert.match(r.stderr, /this stack did not create it/);
  });

  test("the same project and stack name in another state (second clone, wiped state): refused, not adopted", () => {
    const w = world();
    assert.equal(step(w, "create", {}, TWIN).status, 0, "the other state made the cluster");
    const r = step(w, "create");
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, "", "no kubeconfig: Helm would find the other state's releases ('name in use')");
    assert.equal(creates(w).length, 1);
    assert.match(r.stderr, /this stack did not create it/);
    assert.match(r.stderr, /the id this stack's state keeps/);
    // A fresh state's create has no previous stdout: the stack label alone never adopts.
    const again = step(w, "create", { PULUMI_COMMAND_STDOUT: "" });
    assert.equal(again.status, 1);
  });

  test("state from before the owner id: create reruns (previous stdout set), labels the nodes with the id, reuses", () => {
    const w = world();
    w.addCluster("lab-cluster", LEGACY_CONFIG);
    const r = step(w, "create", { PULUMI_COMMAND_STDOUT: "apiVersion: v1\nkind: Config\n" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(creates(w), []);
    assert.match(r.stdout, /kubeconfig of lab-cluster/);
    assert.ok(
      w
        .calls()
        .includes(
          "docker exec lab-cluster-control-plane kubectl --kubeconfig=/etc/kubernetes/admin.conf label nodes " +
            "--selector=istio-mesh/stack=istio-mesh.dev,!istio-mesh/owner istio-mesh/owner=5eed0f15a1b2c3d4",
        ),
      w.calls().join("\n"),
    );
    // From now on the id alone decides: the delete step finds the cluster ours.
    assert.equal(step(w, "delete").status, 0);
    assert.deepEqual(deletes(w), ["kind delete cluster --name lab-cluster"]);
  });

  test("a legacy cluster and a fresh state (no previous stdout): refused", () => {
    const w = world();
    w.addCluster("lab-cluster", LEGACY_CONFIG);
    const r = step(w, "create");
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(creates(w), []);
  });

  test("a cluster already labelled by another state is never relabelled, even on a rerun", () => {
    const w = world();
    assert.equal(step(w, "create", {}, TWIN).status, 0);
    const r = step(w, "create", { PULUMI_COMMAND_STDOUT: "apiVersion: v1\n" });
    assert.equal(r.status, 1, r.stderr);
    assert.ok(!w.calls().some((c) => c.includes(" label nodes ")), w.calls().join("\n"));
  });

  test("kind can't list clusters (Docker stopped): stops, assumes nothing", () => {
    const w = world();
    const r = step(w, "create", { STUB_KIND_FAIL: "1" });
    assert.equal(r.status, 1);
    assert.deepEqual(creates(w), []);
    assert.match(r.stderr, /`kind get clusters` failed; is Docker running\?/);
  });

  test("the cluster exists but its nodes can't be read: stops, neither adopts nor recreates", () => {
    const w = world();
    w.addCluster("lab-cluster", commands.stdin);
    const r = step(w, "create", { STUB_DOCKER_EXEC_FAIL: "1" });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.deepEqual(creates(w), []);
    assert.match(r.stderr, /its nodes can't be read, so there is no\s+telling whether this stack created it/);
    assert.match(r.stderr, /docker start lab-cluster-control-plane/);
  });
});

describe("delete", () => {
  test("this stack's cluster is deleted", () => {
    const w = world();
    step(w, "create");
    const r = step(w, "delete");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(deletes(w), ["kind delete cluster --name lab-cluster"]);
    assert.deepEqual(w.clusters(), []);
  });

  test("the same stack name's cluster from another state is left alone: neither state deletes the other's", () => {
    const w = world();
    step(w, "create", {}, TWIN);
    const r = step(w, "delete");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(deletes(w), []);
    assert.deepEqual(w.clusters(), ["lab-cluster"]);
  });

  test("a cluster this stack did not create is left alone, and the step succeeds", () => {
    const w = world();
    w.addCluster("lab-cluster", LAB_CONFIG);
    const r = step(w, "delete");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(deletes(w), []);
    assert.deepEqual(w.clusters(), ["lab-cluster"]);
    assert.match(r.stderr, /was not created by this stack's state .*; leaving it/);
  });

  test("a cluster already gone: nothing to do", () => {
    const w = world();
    const r = step(w, "delete");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(deletes(w), []);
    assert.match(r.stderr, /already gone/);
  });

  test("kind can't list clusters: fails rather than guess", () => {
    const w = world();
    step(w, "create");
    const r = step(w, "delete", { STUB_KIND_FAIL: "1" });
    assert.equal(r.status, 1);
    assert.deepEqual(w.clusters(), ["lab-cluster"]);
  });
});

describe("the node's kubectl wait (stub), as strict as kubectl's pkg/cmd/wait", () => {
  const wait = (w: KindWorld, args: string[], env: Record<string, string> = {}) => {
    const argv = ["exec", "lab-cluster-control-plane", "kubectl", "--kubeconfig=/etc/kubernetes/admin.conf", "wait"];
    return spawnSync(path.join(w.stubs, "docker"), [...argv, ...args], {
      env: { PATH: `${w.stubs}:${sys.dir}`, STUB_STATE: w.state, ...env },
      encoding: "utf8",
    });
  };
  const created = () => {
    const w = world();
    w.addCluster("lab-cluster", commands.stdin);
    return w;
  };

  test("Ready nodes: `node/<name> condition met` on stdout, exit 0", () => {
    const r = wait(created(), ["--for=condition=Ready", "nodes", "--all", "--timeout=180s"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "node/lab-cluster-control-plane condition met\n");
  });

  test("refuses what kubectl refuses: no --for, an unknown condition, no name nor --all, a bad duration", () => {
    const w = created();
    const refusals: [string[], RegExp][] = [
      [["nodes", "--all"], /^error: unrecognized condition: \[\]$/],
      [["--for=Ready", "nodes", "--all"], /^error: unrecognized condition: "Ready"$/],
      [["--for=condition=Ready", "nodes"], /^error: resource\(s\) were provided, but no name was specified$/],
      [["--for=condition=Ready", "nodes", "--all", "--timeout=180"], /invalid duration "180"/],
      [["--for=condition=Ready", "nodes/elsewhere"], /nodes "elsewhere" not found/],
    ];
    for (const [args, message] of refusals) {
      const r = wait(w, args);
      assert.equal(r.status, 1, args.join(" "));
      assert.equal(r.stdout, "");
      assert.match(r.stderr.split("\n")[0] ?? "", message, args.join(" "));
    }
  });

  test("never Ready: the timeout error, exit 1; no container: docker's error", () => {
    const r = wait(created(), ["--for=condition=Ready", "nodes", "--all"], { STUB_NODES_NOT_READY: "1" });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, "error: timed out waiting for the condition on nodes/lab-cluster-control-plane\n");
    const gone = wait(world(), ["--for=condition=Ready", "nodes", "--all"]);
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /No such container: lab-cluster-control-plane/);
  });
});

describe("labels", () => {
  test("stack label: project.stack, or a digest where that is no valid label value", () => {
    assert.equal(stackLabelValue("istio-mesh", "dev"), "istio-mesh.dev");
    const long = stackLabelValue("istio-mesh", "x".repeat(60));
    assert.match(long, /^stack-[0-9a-f]{32}$/);
    assert.notEqual(long, stackLabelValue("istio-mesh", "y".repeat(60)));
    assert.match(stackLabelValue("istio-mesh", "ends-with-"), /^stack-/);
  });

  test("the trigger is the config without the id, byte for byte what older code fed on stdin", () => {
    // Older code: JSON of the spec with nodes[].labels = { "istio-mesh/stack": "<project>.<stack>" }.
    const older = JSON.stringify(
      { ...spec, nodes: spec.nodes.map((n) => ({ ...n, labels: { "istio-mesh/stack": "istio-mesh.dev" } })) },
      null,
      2,
    );
    assert.equal(commands.trigger, older, "an upgrade reruns create instead of replacing the cluster");
    assert.notEqual(commands.stdin, commands.trigger);
    assert.equal(TWIN.trigger, commands.trigger, "the id never replaces a cluster");
  });
});
