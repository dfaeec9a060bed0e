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
import { kindClusterSpec, kindCommands, OWNER_LABEL_KEY, ownerLabelValue } from "../components/cluster/kindConfig";
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
const OWNER = ownerLabelValue("istio-mesh", "dev");
const commands = kindCommands(spec, OWNER);

/** The lab's own cluster from setup-cluster.sh: same name, no owner label. */
const LAB_CONFIG = JSON.stringify({ kind: "Cluster", apiVersion: "kind.x-k8s.io/v1alpha4", name: "lab-cluster" });

function world(): KindWorld {
  return new KindWorld(path.join(root, `world-${worlds++}`), sys.bash);
}

function step(w: KindWorld, which: "create" | "delete", env: Record<string, string> = {}) {
  const res = spawnSync(sys.sh, ["-c", commands[which]], {
    env: { PATH: `${w.stubs}:${sys.dir}`, STUB_STATE: w.state, ...commands.environment, ...env },
    input: which === "create" ? commands.stdin : "",
    encoding: "utf8",
    timeout: 30_000,
  });
  if (res.error) throw res.error;
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

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
    assert.deepEqual(creates(w), ["kind create cluster --name lab-cluster --config=- --wait 180s"]);
    assert.deepEqual(w.clusters(), ["lab-cluster"]);
    const created = JSON.parse(w.config("lab-cluster"));
    assert.deepEqual(created.nodes[0].labels, { [OWNER_LABEL_KEY]: "istio-mesh.dev" });
    assert.deepEqual(created.nodes[0].extraPortMappings, spec.nodes[0]?.extraPortMappings);
    assert.equal(r.stdout, "apiVersion: v1\nkind: Config\n# kubeconfig of lab-cluster\n");
    assert.match(r.stderr, /Creating cluster "lab-cluster"/, "kind's progress goes to stderr");
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
      /reusing kind cluster "lab-cluster", created by this stack \(istio-mesh\/stack=istio-mesh\.dev\)/,
    );
    assert.ok(
      w
        .calls()
        .includes(
          "docker exec lab-cluster-control-plane kubectl --kubeconfig=/etc/kubernetes/admin.conf get nodes " +
            "--selector=istio-mesh/stack=istio-mesh.dev --output=name",
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
    assert.match(r.stderr, /no node has the label istio-mesh\/stack=istio-mesh\.dev/);
    assert.match(r.stderr, /kind delete cluster --name lab-cluster/);
    assert.match(r.stderr, /pulumi config set clusterName <another-name>/);
  });

  test("a cluster another stack of this project created is foreign too", () => {
    const w = world();
    w.addCluster("lab-cluster", kindCommands(spec, ownerLabelValue("istio-mesh", "ci")).stdin);
    const r = step(w, "create");
    assert.equal(r.status, 1);
    assert.deepEqual(creates(w), []);
    assert.match(r.stderr, /this stack did not create it/);
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

  test("a cluster this stack did not create is left alone, and the step succeeds", () => {
    const w = world();
    w.addCluster("lab-cluster", LAB_CONFIG);
    const r = step(w, "delete");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(deletes(w), []);
    assert.deepEqual(w.clusters(), ["lab-cluster"]);
    assert.match(r.stderr, /was not created by this stack .*; leaving it/);
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

describe("owner label", () => {
  test("project.stack, or a digest where that is no valid label value", () => {
    assert.equal(ownerLabelValue("istio-mesh", "dev"), "istio-mesh.dev");
    const long = ownerLabelValue("istio-mesh", "x".repeat(60));
    assert.match(long, /^stack-[0-9a-f]{32}$/);
    assert.notEqual(long, ownerLabelValue("istio-mesh", "y".repeat(60)));
    assert.match(ownerLabelValue("istio-mesh", "ends-with-"), /^stack-/);
  });
});
