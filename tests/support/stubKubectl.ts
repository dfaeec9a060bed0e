/**
 * A stand-in for kubectl that keeps state, for tools that drive a cluster with apply / wait / logs /
 * get / delete (the bench's --in-cluster mode first). It prints what kubectl prints and fails as it
 * fails, following kubectl's own messages (kubernetes/kubectl: pkg/cmd/apply, pkg/cmd/wait,
 * pkg/cmd/delete and the API server's NotFound status):
 *
 *   apply -f -      `<resource>/<name> created|configured`; an object in a namespace that does not
 *                   exist: `Error from server (NotFound): error when creating "STDIN": namespaces "x"
 *                   not found`, exit 1
 *   wait            `<resource>/<name> condition met`; a missing object: NotFound, exit 1; a Job that
 *                   fails never meets Complete: `error: timed out waiting for the condition on
 *                   jobs/<name>`, exit 1 (printed at once: the stub has no clock to wait on)
 *   logs job/x      the Job's pod log: fortio's JSON log lines and its JSON result (see below)
 *   get job -o jsonpath={.status.completionTime}, get --raw <API path>  (Prometheus through the
 *                   API server's service proxy; a missing Service: NotFound, exit 1)
 *   delete namespace x --ignore-not-found   `namespace "x" deleted`, or nothing if absent; its objects go too
 *   delete httproute x --namespace ns [--ignore-not-found]   `httproute.gateway.networking.k8s.io "x"
 *                   deleted from ns namespace` (kubectl 1.34+ names the namespace of a namespaced object:
 *                   kubernetes/kubernetes#126619, pkg/cmd/delete/delete.go PrintObj; the stub is v1.35.0);
 *                   absent: nothing with --ignore-not-found, else `Error from server (NotFound):
 *                   httproutes.gateway.networking.k8s.io "x" not found`, exit 1; a type the server does
 *                   not serve: `error: the server doesn't have a resource type "t"`, exit 1
 *   get deployment/x -o name   `deployment.apps/x`; a missing one: NotFound, exit 1
 *   rollout restart deployment/x   sets the pod template's kubectl.kubernetes.io/restartedAt to now, to
 *                   the second, and prints `deployment.apps/x restarted`; a second restart within the same
 *                   second makes no patch and fails as kubectl does (pkg/cmd/rollout/rollout_restart.go:
 *                   `error: failed to create patch for x: if restart has already been triggered within the
 *                   past second, please wait before attempting to trigger another`, exit 1)
 *   rollout status deployment/x   `deployment "x" successfully rolled out`; `behaviour.failRollout`:
 *                   `error: deployment "x" exceeded its progress deadline`, exit 1 (pkg/polymorphichelpers/
 *                   rollout_status.go DeploymentStatusViewer)
 *   version -o json  {clientVersion, kustomizeVersion, serverVersion} (pkg/cmd/version: serverVersion is
 *                   k8s.io/apimachinery's version.Info, `minor` "35+" on EKS/GKE builds); an unreachable
 *                   server: the client part alone on stdout, `The connection to the server … was refused`
 *                   on stderr, exit 1
 *   get deployments|services|daemonsets|configmaps|namespaces|mutatingwebhookconfigurations|
 *                   customresourcedefinitions [--namespace ns |
 *                   --all-namespaces] [-l k=v,k,...] -o json   a `List` of the matching objects (pkg/cmd/get:
 *                   several objects print as {apiVersion: v1, items, kind: List, metadata}; an empty List when
 *                   none match, exit 0). A namespaced type without a namespace flag lists `default`; a
 *                   cluster-scoped one (webhook configurations; CRDs, apiextensions.k8s.io/v1 `scope: Cluster`,
 *                   listed whole with their annotations) ignores both flags. `-l` terms are `key=value` or
 *                   `key` (exists), ANDed
 *                   (k8s.io/apimachinery pkg/labels/selector.go Parse); other selector syntax is refused here.
 *   get <resource> <name>... [--namespace ns] [--ignore-not-found] -o json   by name, as
 *                   pkg/cmd/get/get.go printGeneric prints it: one name gives the object itself (cli-runtime
 *                   pkg/resource/builder.go visitByName: singleItemImplied is len(names) == 1), several a
 *                   `List` of those found; a missing one is `Error from server (NotFound): <resource> "<name>"
 *                   not found` (apimachinery pkg/api/errors/errors.go NewNotFound; <resource> group-qualified:
 *                   deployments.apps), exit 1, or left out with --ignore-not-found, which prints nothing at all
 *                   when none is found (get.go: `len(infos) == 0 && o.IgnoreNotFound`). Errors are one line
 *                   each on stderr (pkg/cmd/util/helpers.go MultipleErrors); with several names the found ones
 *                   are still printed before exit 1.
 *   Forbidden       `behaviour.forbidden` names a resource ("secrets": every get and list of it) or one
 *                   object ("secrets/x", as RBAC resourceNames grants the rest): `Error from server
 *                   (Forbidden): secrets "x" is forbidden: User "mesh-tenant" cannot get resource "secrets" in
 *                   API group "" in the namespace "ns"` (apiserver pkg/endpoints/handlers/responsewriters/
 *                   errors.go forbiddenMessage, apimachinery errors.go NewForbidden; a list names no object:
 *                   `secrets is forbidden: User … cannot list …`, and is refused for a one-object entry too:
 *                   RBAC's resourceNames never authorize a list, whose name is empty (kubernetes
 *                   pkg/apis/rbac/v1/evaluation_helpers.go ResourceNameMatches, from plugin/pkg/auth/
 *                   authorizer/rbac/rbac.go RuleAllows)), exit 1.
 *                   An unreachable server: as kubectl v1.32.4 run against one, five klog lines of client-go's
 *                   discovery cache (`E… memcache.go:265] "Unhandled Error" err="couldn't get current server
 *                   API group list: …"`, client-go v0.32.4 discovery/cached/memory/memcache.go:265) and
 *                   then `The connection to the server … was refused`, exit 1
 *
 * The fortio result is computed from the Job's own arguments (-qps, -c, -t, -labels), with latencies
 * per path from `behaviour.latencyMs`, so a test can assert the exact figures the bench derives.
 * Every call is appended to `<state>/calls.log` as a JSON array of its arguments, and every object
 * `apply` created or configured to `<state>/applied.log`.
 *
 * Each call is still a process of its own, started, piped, killed and exiting as kubectl does, but a
 * cheap one: the `kubectl` file is a bash script that hands its arguments (and stdin, for `apply`)
 * over 127.0.0.1 to one server thread of the test process, which runs the behaviour above and sends
 * back stdout, stderr and the exit code (stubServer.ts, shared with the stub pulumi). A node process
 * per call cost ~0.13 s of CPU; bash costs a few ms.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { startStubServer, stubClient } from "./stubServer";

export interface StubKubectlBehaviour {
  /** p50/p90/p99/p99.9 in ms of each Job's fortio run, by the Job's -labels value. */
  readonly latencyMs?: Readonly<Record<string, readonly [number, number, number, number]>>;
  /** This Job fails: `wait --for=condition=Complete` times out on it. */
  readonly failJob?: string;
  /** `wait` on this Job blocks until kubectl is killed (a run interrupted by Ctrl-C). */
  readonly hangOnJob?: string;
  /** No Prometheus Service: `get --raw` through its proxy answers NotFound. */
  readonly noPrometheus?: boolean;
  /** Prometheus's answers by pod prefix: [CPU cores, working-set bytes]. */
  readonly proxyUsage?: Readonly<Record<string, readonly [number, number]>>;
  /** This Deployment's rollout never completes: `rollout status` reports its progress deadline exceeded. */
  readonly failRollout?: string;
  /** The API server's version.Info (default: v1.35.0). */
  readonly serverVersion?: { readonly major: string; readonly minor: string; readonly gitVersion: string };
  /** No API server answers: every call that needs one fails as kubectl does. */
  readonly unreachable?: boolean;
  /** RBAC denies get and list of these: a resource ("secrets") or one object of it ("secrets/grafana-admin"). */
  readonly forbidden?: readonly string[];
}

/** An object already in the cluster, as `kubectl get -o json` returns it. */
export interface SeededObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  /** A workload's spec (a Deployment's pod template), as the API server returns it. */
  readonly spec?: unknown;
  /** A ConfigMap's data. */
  readonly data?: Readonly<Record<string, string>>;
}

export interface StubKubectl {
  readonly bin: string;
  behave(behaviour: StubKubectlBehaviour): void;
  /** Every call's arguments, in order, global flags included. */
  calls(): string[][];
  /** Namespaces that exist now. */
  namespaces(): string[];
  /** Namespaced objects that exist now, as `<Kind> <namespace>/<name>`. */
  objects(): string[];
  /** Every namespaced object `apply` created or configured, in order, as `<Kind> <namespace>/<name>`. */
  applied(): string[];
  /** `rollout restart`s that took effect, by `<namespace>/<deployment>`. */
  restarts(): Record<string, number>;
  /** Puts namespaces and objects in the cluster before a test, as if someone else had applied them. */
  seed(namespaces: readonly string[], objects?: readonly SeededObject[]): void;
}

/**
 * kubectl's behaviour, as plain JavaScript run by the server thread (see SERVER): one call's
 * arguments (and its stdin, read only by `apply -f -`) → what kubectl prints and its exit code, or
 * "hang" for a call that never ends until it is killed.
 */
const KUBECTL = String.raw`
// Global flags come first, as the bench passes them.
function withoutGlobalFlags(args) {
  const rest = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--kubeconfig" || args[i] === "--context") { i++; continue; }
    rest.push(args[i]);
  }
  return rest;
}
const readsStdin = (args) => withoutGlobalFlags(args)[0] === "apply";

class Exit { constructor(code) { this.code = code; } }

// klog's line header, \`Lmmdd hh:mm:ss.uuuuuu threadid file:line] \` (kubernetes/klog internal/buffer/buffer.go:117
// FormatHeader: the pid space-padded to 7).
function klogHeader(severity, file, line) {
  const now = new Date();
  const two = (n) => String(n).padStart(2, "0");
  const micros = String(now.getMilliseconds() * 1000).padStart(6, "0");
  return severity + two(now.getMonth() + 1) + two(now.getDate()) + " " + two(now.getHours()) + ":" + two(now.getMinutes()) +
    ":" + two(now.getSeconds()) + "." + micros + " " + String(process.pid).padStart(7) + " " + file + ":" + line + "] ";
}

function kubectl(STATE, args, stdin) {
  let stdout = "";
  let stderr = "";
  let hanging = false;
  const console = { log: (text) => { stdout += text + "\n"; } };
  const process = {
    stdout: { write: (text) => { stdout += text; } },
    stderr: { write: (text) => { stderr += text; } },
    exit: (code) => { throw new Exit(code); },
    // Like an open timer: the call goes on after its work is done, until it is killed.
    hang: () => { hanging = true; },
  };
  try {
    run(STATE, args, stdin, console, process);
    return hanging ? "hang" : { code: 0, stdout, stderr };
  } catch (error) {
    if (error instanceof Exit) return { code: error.code, stdout, stderr };
    // What node would do with an uncaught exception: the stack on stderr, exit 1.
    return { code: 1, stdout, stderr: stderr + String(error && error.stack || error) + "\n" };
  }
}

function run(STATE, args, stdin, console, process) {
fs.appendFileSync(path.join(STATE, "calls.log"), JSON.stringify(args) + "\n");
const behaviour = JSON.parse(fs.readFileSync(path.join(STATE, "behaviour.json"), "utf8"));
const statePath = path.join(STATE, "state.json");
const state = fs.existsSync(statePath) ? JSON.parse(fs.readFileSync(statePath, "utf8")) : { namespaces: [], objects: [] };
const save = () => fs.writeFileSync(statePath, JSON.stringify(state));
const fail = (message) => { process.stderr.write(message + "\n"); process.exit(1); };

const rest = withoutGlobalFlags(args);
const flag = (name) => { const i = rest.indexOf(name); return i >= 0 ? rest[i + 1] : undefined; };
const namespace = flag("--namespace") || flag("-n");
const RESOURCE = {
  Namespace: "namespace", Deployment: "deployment.apps", Service: "service", Job: "job.batch",
  PeerAuthentication: "peerauthentication.security.istio.io", VirtualService: "virtualservice.networking.istio.io",
  HTTPRoute: "httproute.gateway.networking.k8s.io", ReferenceGrant: "referencegrant.gateway.networking.k8s.io",
};
// What \`kubectl delete <type> <name>\` accepts, by the singular name it is given.
const DELETABLE = { httproute: "HTTPRoute" };
const PLURAL = { deployment: "deployments.apps", job: "jobs.batch" };
// What \`kubectl get <type> -o json\` lists, by the plural it is given, and the API group its errors name.
const LISTED = {
  deployments: { kind: "Deployment", group: "apps" }, services: { kind: "Service", group: "" },
  daemonsets: { kind: "DaemonSet", group: "apps" }, configmaps: { kind: "ConfigMap", group: "" },
  secrets: { kind: "Secret", group: "" },
  "telemetries.telemetry.istio.io": { kind: "Telemetry", group: "telemetry.istio.io" },
  mutatingwebhookconfigurations: { kind: "MutatingWebhookConfiguration", group: "admissionregistration.k8s.io", clusterScoped: true },
  customresourcedefinitions: { kind: "CustomResourceDefinition", group: "apiextensions.k8s.io", clusterScoped: true },
};
// The user RBAC refuses, in the API server's Forbidden message.
const USER = "mesh-tenant";
const find = (kind, ns, name) => state.objects.find((o) => o.kind === kind && o.ns === ns && o.name === name);

const verb = rest[0];
if (verb === "apply") {
  const input = stdin;
  const doc = JSON.parse(input);
  const items = doc.kind === "List" ? doc.items : [doc];
  let failed = false;
  for (const item of items) {
    const resource = (RESOURCE[item.kind] || item.kind.toLowerCase()) + "/" + item.metadata.name;
    if (item.kind === "Namespace") {
      const existed = state.namespaces.includes(item.metadata.name);
      if (!existed) state.namespaces.push(item.metadata.name);
      console.log(resource + (existed ? " configured" : " created"));
      continue;
    }
    const ns = item.metadata.namespace;
    if (!state.namespaces.includes(ns)) {
      process.stderr.write('Error from server (NotFound): error when creating "STDIN": namespaces "' + ns + '" not found\n');
      failed = true;
      continue;
    }
    const existing = find(item.kind, ns, item.metadata.name);
    if (existing) existing.obj = item; else state.objects.push({ kind: item.kind, ns, name: item.metadata.name, obj: item });
    fs.appendFileSync(path.join(STATE, "applied.log"), item.kind + " " + ns + "/" + item.metadata.name + "\n");
    console.log(resource + (existing ? " configured" : " created"));
  }
  save();
  process.exit(failed ? 1 : 0);
}

if (verb === "wait") {
  const targets = rest.slice(1).filter((a) => !a.startsWith("-") && a.includes("/") && a !== namespace);
  for (const target of targets) {
    const [type, name] = target.split("/");
    const kind = type === "deployment" ? "Deployment" : "Job";
    if (!find(kind, namespace, name)) fail('Error from server (NotFound): ' + PLURAL[type] + ' "' + name + '" not found');
    if (kind === "Job" && behaviour.hangOnJob === name) process.hang();
    else if (kind === "Job" && behaviour.failJob === name) fail("error: timed out waiting for the condition on jobs/" + name);
    else console.log((kind === "Job" ? "job.batch/" : "deployment.apps/") + name + " condition met");
  }
}

else if (verb === "logs") {
  const name = rest.find((a) => a.startsWith("job/")).slice(4);
  const job = find("Job", namespace, name);
  if (!job) fail('error: error from server (NotFound): jobs.batch "' + name + '" not found in namespace "' + namespace + '"');
  const a = job.obj.spec.template.spec.containers[0].args;
  const arg = (f) => a[a.indexOf(f) + 1];
  const qps = Number(arg("-qps"));
  const seconds = Number(arg("-t").replace(/s$/, ""));
  const label = arg("-labels");
  const [p50, p90, p99, p999] = (behaviour.latencyMs || {})[label] || [1, 2, 3, 4];
  const count = qps * seconds;
  const result = {
    RunType: "HTTP", Labels: label, StartTime: "2026-12-02T00:00:00Z", RequestedQPS: String(qps),
    RequestedDuration: seconds + "s", ActualQPS: qps * 0.999, ActualDuration: seconds * 1e9, NumThreads: Number(arg("-c")),
    Version: "1.75.2",
    DurationHistogram: {
      Count: count, Min: p50 / 2000, Max: (p999 * 2) / 1000, Sum: (count * p50) / 1000, Avg: p50 / 1000, StdDev: 0.0001,
      Data: [], Percentiles: [[50, p50], [90, p90], [99, p99], [99.9, p999]].map(([p, v]) => ({ Percentile: p, Value: v / 1000 })),
    },
    RetCodes: { 200: count },
  };
  console.log(JSON.stringify({ ts: 1733097600, level: "info", msg: "Starting http test", url: a[a.length - 1] }));
  console.log(JSON.stringify(result, null, 2));
  console.log(JSON.stringify({ ts: 1733097630, level: "info", msg: "All done", count }));
}

else if (verb === "get" && rest[1] === "--raw") {
  const url = new URL("http://api" + rest[2]);
  if (behaviour.noPrometheus) fail('Error from server (NotFound): services "prometheus" not found');
  const query = url.searchParams.get("query");
  const pod = /pod=~"([a-z0-9-]+)-\.\*"/.exec(query)[1];
  const [cpu, bytes] = (behaviour.proxyUsage || {})[pod] || [0, 0];
  const value = query.includes("container_cpu_usage_seconds_total") ? cpu : bytes;
  console.log(JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [1733097630, String(value)] }] } }));
}

else if (verb === "get" && rest[1] === "job") {
  if (!find("Job", namespace, rest[2])) fail('Error from server (NotFound): jobs.batch "' + rest[2] + '" not found');
  process.stdout.write("2026-12-02T00:00:30Z");
}

else if (verb === "delete" && rest[1] === "namespace") {
  const name = rest[2];
  if (!state.namespaces.includes(name)) {
    if (rest.includes("--ignore-not-found")) process.exit(0);
    fail('Error from server (NotFound): namespaces "' + name + '" not found');
  }
  state.namespaces = state.namespaces.filter((n) => n !== name);
  state.objects = state.objects.filter((o) => o.ns !== name);
  save();
  console.log('namespace "' + name + '" deleted');
}

else if (verb === "delete" && rest[1] !== "namespace") {
  const kind = DELETABLE[rest[1]];
  if (!kind) fail('error: the server doesn\'t have a resource type "' + rest[1] + '"');
  const name = rest[2];
  const ns = namespace || "default";
  const resource = RESOURCE[kind];
  if (!find(kind, ns, name)) {
    if (rest.includes("--ignore-not-found")) process.exit(0);
    fail('Error from server (NotFound): ' + resource.replace(/^([a-z]+)\./, "$1s.") + ' "' + name + '" not found');
  }
  state.objects = state.objects.filter((o) => !(o.kind === kind && o.ns === ns && o.name === name));
  save();
  console.log(resource + ' "' + name + '" deleted from ' + ns + " namespace");
}

else if (verb === "get" && /^deployment\//.test(rest[1])) {
  const name = rest[1].slice("deployment/".length);
  if (!find("Deployment", namespace, name)) fail('Error from server (NotFound): deployments.apps "' + name + '" not found');
  console.log("deployment.apps/" + name);
}

else if (verb === "rollout" && (rest[1] === "restart" || rest[1] === "status") && /^deployment\//.test(rest[2])) {
  const name = rest[2].slice("deployment/".length);
  const deployment = find("Deployment", namespace, name);
  if (!deployment) fail('Error from server (NotFound): deployments.apps "' + name + '" not found');
  if (rest[1] === "restart") {
    const template = deployment.obj.spec.template;
    const annotations = ((template.metadata = template.metadata || {}).annotations = template.metadata.annotations || {});
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    if (annotations["kubectl.kubernetes.io/restartedAt"] === now) {
      fail("error: failed to create patch for " + name + ": if restart has already been triggered within the past second, please wait before attempting to trigger another");
    }
    annotations["kubectl.kubernetes.io/restartedAt"] = now;
    deployment.restarts = (deployment.restarts || 0) + 1;
    save();
    console.log("deployment.apps/" + name + " restarted");
  } else if (behaviour.failRollout === name) {
    fail('error: deployment "' + name + '" exceeded its progress deadline');
  } else console.log('deployment "' + name + '" successfully rolled out');
}

else if (verb === "version") {
  const client = { clientVersion: { major: "1", minor: "35", gitVersion: "v1.35.0", platform: "linux/amd64" }, kustomizeVersion: "v5.7.1" };
  if (behaviour.unreachable) {
    console.log(JSON.stringify(client, null, 2));
    fail("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?");
  }
  const server = behaviour.serverVersion || { major: "1", minor: "35", gitVersion: "v1.35.0" };
  console.log(JSON.stringify({ ...client, serverVersion: { ...server, platform: "linux/amd64" } }, null, 2));
}

else if (verb === "get" && (rest[1] in LISTED || rest[1] === "namespaces") && flag("-o") === "json") {
  if (behaviour.unreachable) {
    // kubectl v1.32.4 \`get\` on a server that refuses, as run: five klog lines of client-go's discovery
    // cache (v0.32.4 discovery/cached/memory/memcache.go:265), then kubectl's own line.
    for (let i = 0; i < 5; i++) {
      process.stderr.write(klogHeader("E", "memcache.go", 265) + '"Unhandled Error" err="couldn\'t get current server API group list: Get \\"https://127.0.0.1:6443/api?timeout=32s\\": dial tcp 127.0.0.1:6443: connect: connection refused"\n');
    }
    fail("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?");
  }
  const type = rest[1];
  const { kind, group, clusterScoped } = LISTED[type] || { group: "" };
  // The resource as the API server names it in errors: its plural, group-qualified (deployments.apps).
  const plural = type.split(".")[0];
  const qualified = group ? plural + "." + group : plural;
  const ns = clusterScoped ? undefined : namespace || "default";
  const where = ns ? ' in the namespace "' + ns + '"' : " at the cluster scope";
  const denied = (name) => (behaviour.forbidden || []).some((f) => f === type || f === type + "/" + name);
  const forbiddenLine = (verbName, name) => "Error from server (Forbidden): " + qualified + (name ? ' "' + name + '"' : "") +
    ' is forbidden: User "' + USER + '" cannot ' + verbName + ' resource "' + plural + '" in API group "' + group + '"' + where;
  const VALUED = ["--namespace", "-n", "-l", "-o", "--kubeconfig", "--context"];
  const names = [];
  for (let i = 2; i < rest.length; i++) {
    if (VALUED.includes(rest[i])) i++;
    else if (!rest[i].startsWith("-")) names.push(rest[i]);
  }
  if (names.length > 0) {
    const found = [];
    const errors = [];
    for (const name of names) {
      if (denied(name)) { errors.push(forbiddenLine("get", name)); continue; }
      const o = find(kind, ns, name);
      if (o) found.push(o.obj);
      else if (!rest.includes("--ignore-not-found")) errors.push("Error from server (NotFound): " + qualified + ' "' + name + '" not found');
    }
    if (names.length === 1 && errors.length > 0) fail(errors[0]);
    if (found.length > 0 || !rest.includes("--ignore-not-found")) {
      const doc = names.length === 1 ? found[0] : { apiVersion: "v1", items: found, kind: "List", metadata: { resourceVersion: "" } };
      console.log(JSON.stringify(doc, null, 4));
    }
    if (errors.length > 0) fail(errors.join("\n"));
    process.exit(0);
  }
  // A grant limited to some names (RBAC resourceNames) never covers a list: the list is refused too.
  if ((behaviour.forbidden || []).some((f) => f === type || f.startsWith(type + "/"))) fail(forbiddenLine("list"));
  const selector = (flag("-l") || "").split(",").filter(Boolean).map((p) => {
    if (!/^[A-Za-z0-9./_-]+(=[A-Za-z0-9._-]*)?$/.test(p)) fail("stub kubectl: selector term '" + p + "' is not supported");
    return p.split("=");
  });
  const all = rest.includes("--all-namespaces") || rest.includes("-A");
  const matches = (o) => selector.every(([k, v]) => {
    const labels = (o.metadata || {}).labels || {};
    return v === undefined ? k in labels : labels[k] === v;
  });
  const objects = rest[1] === "namespaces"
    ? state.namespaces.map((n) => (state.namespaceObjects || {})[n] || { apiVersion: "v1", kind: "Namespace", metadata: { name: n } })
    : state.objects.filter((o) => o.kind === kind && (clusterScoped || all || o.ns === (namespace || "default"))).map((o) => o.obj);
  console.log(JSON.stringify({ apiVersion: "v1", items: objects.filter(matches), kind: "List", metadata: { resourceVersion: "" } }, null, 4));
}

else fail('error: unknown command "' + verb + '" for "kubectl"');
}
`;

/** The server thread (stubServer.ts): kubectl's behaviour for each call; a call that hangs never answers. */
const SERVER = `
const fs = require("node:fs");
const path = require("node:path");
${KUBECTL}
serveCalls({
  readsStdin: (call) => readsStdin(call.args),
  run: (call, output) => {
    const result = kubectl(call.dir, call.args, call.stdin);
    if (result === "hang") return { done: new Promise(() => {}) };
    output.stdout(result.stdout);
    output.stderr(result.stderr);
    return { done: Promise.resolve(result.code) };
  },
});
`;

export function writeStubKubectl(dir: string): StubKubectl {
  const state = path.join(dir, "kubectl-state");
  fs.mkdirSync(state, { recursive: true });
  const bin = path.join(dir, "kubectl");
  const port = startStubServer("kubectl", () => SERVER);
  fs.writeFileSync(bin, stubClient({ tool: "kubectl", port, dir: state }), { mode: 0o755 });
  fs.writeFileSync(path.join(state, "behaviour.json"), "{}");
  fs.writeFileSync(path.join(state, "calls.log"), "");
  const read = () =>
    fs.existsSync(path.join(state, "state.json"))
      ? (JSON.parse(fs.readFileSync(path.join(state, "state.json"), "utf8")) as {
          namespaces: string[];
          objects: { kind: string; ns: string; name: string; restarts?: number }[];
        })
      : { namespaces: [], objects: [] };
  return {
    bin,
    behave: (behaviour) => fs.writeFileSync(path.join(state, "behaviour.json"), JSON.stringify(behaviour)),
    calls: () =>
      fs
        .readFileSync(path.join(state, "calls.log"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as string[]),
    namespaces: () => read().namespaces,
    objects: () => read().objects.map((o) => `${o.kind} ${o.ns}/${o.name}`),
    applied: () =>
      fs.existsSync(path.join(state, "applied.log"))
        ? fs.readFileSync(path.join(state, "applied.log"), "utf8").split("\n").filter(Boolean)
        : [],
    restarts: () =>
      Object.fromEntries(read().objects.flatMap((o) => (o.restarts ? [[`${o.ns}/${o.name}`, o.restarts]] : []))),
    seed: (namespaces, objects = []) => {
      const current = fs.existsSync(path.join(state, "state.json"))
        ? JSON.parse(fs.readFileSync(path.join(state, "state.json"), "utf8"))
        : { namespaces: [], objects: [] };
      for (const n of namespaces) if (!current.namespaces.includes(n)) current.namespaces.push(n);
      for (const o of objects) {
        if (o.kind === "Namespace") {
          if (!current.namespaces.includes(o.metadata.name)) current.namespaces.push(o.metadata.name);
          current.namespaceObjects = { ...current.namespaceObjects, [o.metadata.name]: o };
        } else {
          // As apply would: an object of the same kind, namespace and name is replaced, never doubled.
          current.objects = current.objects.filter(
            (c: { kind: string; ns?: string; name: string }) =>
              !(c.kind === o.kind && c.ns === o.metadata.namespace && c.name === o.metadata.name),
          );
          current.objects.push({ kind: o.kind, ns: o.metadata.namespace, name: o.metadata.name, obj: o });
        }
      }
      fs.writeFileSync(path.join(state, "state.json"), JSON.stringify(current));
    },
  };
}
