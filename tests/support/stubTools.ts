/**
 * Stand-ins for kind and docker that keep state, so scripts can be run for real against them:
 * a kind cluster is a file under `<state>/clusters/<name>` holding the kind config it was created
 * with; an emptied file is a deleted cluster. Every call is appended to `<state>/calls.log`.
 *
 * Scripts see a private PATH: a stub dir plus a "sys" dir with symlinks to just the shells, `mkdir`
 * and `timeout` (this machine has real docker and kubectl on the usual PATH; they must stay hidden).
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Resolves `name` on the test process's own PATH, like `command -v`. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A dir of symlinks to bash, sh, mkdir and (when present) timeout: everything the scripts need but the stubs. */
export function systemDir(root: string): { dir: string; bash: string; sh: string } {
  const dir = path.join(root, "sys");
  fs.mkdirSync(dir);
  const resolve = (name: string) => {
    const found = which(name);
    if (!found) throw new Error(`${name} must be installed to run these tests`);
    return fs.realpathSync(found);
  };
  const bash = resolve("bash");
  const sh = resolve("sh");
  fs.symlinkSync(bash, path.join(dir, "bash"));
  fs.symlinkSync(sh, path.join(dir, "sh"));
  fs.symlinkSync(resolve("mkdir"), path.join(dir, "mkdir"));
  const timeout = which("timeout");
  if (timeout) fs.symlinkSync(fs.realpathSync(timeout), path.join(dir, "timeout"));
  return { dir, bash, sh };
}

/**
 * kind v0.33 on the commands kind-cluster.sh and the scripts run, after kubernetes-sigs/kind:
 * `get clusters` prints "No kind clusters found." on stderr and exits 0 when there are none
 * (pkg/cmd/kind/get/clusters/clusters.go); `get kubeconfig` of a missing cluster fails with
 * "could not locate any control plane nodes…" (pkg/cluster/internal/kubeconfig/kubeconfig.go);
 * `create cluster` refuses a name in use ("node(s) already exist…", pkg/cluster/internal/create/create.go)
 * and a config that is not kind.x-k8s.io/v1alpha4 Cluster; `delete cluster` of a missing cluster
 * succeeds (pkg/cmd/kind/delete/cluster/deletecluster.go). Failures print `ERROR: …` and exit 1
 * (cmd/kind/app/main.go).
 */
const KIND = `
printf 'kind %s\\n' "$*" >> "$STUB_STATE/calls.log"
clusters="$STUB_STATE/clusters"
name=""
prev=""
for arg in "$@"; do
  if [ "$prev" = --name ]; then name="$arg"; fi
  prev="$arg"
done
case "$1 \${2:-}" in
  "version "*) echo "kind \${STUB_KIND_VERSION:-v0.33.0} go1.24.0 linux/amd64" ;;
  "get clusters")
    if [ -n "\${STUB_KIND_FAIL:-}" ]; then
      echo 'ERROR: failed to list clusters: command "docker ps -a" failed with error: exit status 1' >&2
      exit 1
    fi
    found=""
    for f in "$clusters"/*; do
      if [ -s "$f" ]; then echo "\${f##*/}"; found=1; fi
    done
    if [ -z "$found" ]; then echo "No kind clusters found." >&2; fi ;;
  "get kubeconfig")
    if [ ! -s "$clusters/$name" ]; then
      echo "ERROR: could not locate any control plane nodes for cluster named '$name'. Use the --name option to select a different cluster" >&2
      exit 1
    fi
    printf 'apiVersion: v1\\nkind: Config\\n# kubeconfig of %s\\n' "$name" ;;
  "create cluster")
    config=""
    while IFS= read -r line || [ -n "$line" ]; do config+="$line"$'\\n'; done
    if [ -s "$clusters/$name" ]; then
      echo "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \\"$name\\"" >&2
      exit 1
    fi
    if [[ "$config" != *'"kind": "Cluster"'* || "$config" != *'"apiVersion": "kind.x-k8s.io/v1alpha4"'* ]]; then
      echo "ERROR: failed to create cluster: unknown apiVersion or kind in the cluster config" >&2
      exit 1
    fi
    echo "Creating cluster \\"$name\\" ..." >&2
    printf '%s' "$config" > "$clusters/$name"
    : > "$STUB_STATE/labels/$name" ;;
  "delete cluster")
    echo "Deleting cluster \\"$name\\" ..." >&2
    : > "$clusters/$name" 2>/dev/null || true
    : > "$STUB_STATE/labels/$name" ;;
  *) echo "kind stub: unexpected $*" >&2; exit 2 ;;
esac
`;

/**
 * docker on what the scripts run: `--version`, `info` (docker/cli), and `docker exec
 * <name>-control-plane kubectl … get nodes --selector=… --output=name` / `label nodes --selector=…
 * key=value` inside a kind node. A missing container is "Error response from daemon: No such
 * container: …", exit 1. Selectors follow kubernetes/apimachinery pkg/labels: comma-separated
 * `key=value` (must match) and `!key` (must be absent); `get … --output=name` prints `node/<name>`
 * per match and nothing when none match; `label` prints `node/<name> labeled` (kubectl pkg/cmd/label).
 * The node's labels are the kind config's nodes[].labels, kept in the cluster's file.
 *
 * `docker exec … kubectl … wait --for=condition=Ready nodes --all --timeout=<d>` follows kubernetes/kubectl
 * pkg/cmd/wait (wait.go, condition.go): no `--for` is `error: unrecognized condition: []`, a `--for` that is
 * none of create|delete|condition=…|jsonpath=… is `error: unrecognized condition: "<it>"`, a resource type
 * with neither a name nor `--all`/`--selector` is `error: resource(s) were provided, but no name was specified`
 * (cli-runtime's builder, as pkg/cmd/delete and label's tests show), a `--timeout` that is no Go duration is
 * a flag error; met: `node/<name> condition met` on stdout; nodes that never turn Ready
 * (STUB_NODES_NOT_READY): `error: timed out waiting for the condition on nodes/<name>` (extendErrWaitTimeout),
 * at once, as the stub has no clock. Every failure exits 1 (cmdutil.CheckErr).
 */
const DOCKER = `
printf 'docker %s\\n' "$*" >> "$STUB_STATE/calls.log"
# kubectl wait inside the node: <container> <wait's arguments>
node_wait() {
  local container="$1" cond="" all="" type="" name="" timeout=30s
  shift
  # docker fails before kubectl runs.
  if [ -n "\${STUB_DOCKER_EXEC_FAIL:-}" ]; then
    echo "Error response from daemon: container $container is not running" >&2; exit 1
  fi
  if [ ! -s "$STUB_STATE/clusters/\${container%-control-plane}" ]; then
    echo "Error response from daemon: No such container: $container" >&2; exit 1
  fi
  for arg in "$@"; do
    case "$arg" in
      --for=*) cond="\${arg#--for=}" ;;
      --all) all=1 ;;
      --selector=*) all=1 ;;
      --timeout=*) timeout="\${arg#--timeout=}" ;;
      -*) echo "error: unknown flag: $arg" >&2; echo "See 'kubectl wait --help' for usage." >&2; exit 1 ;;
      */*) type="\${arg%%/*}"; name="\${arg#*/}" ;;
      *) if [ -z "$type" ]; then type="$arg"; else name="$arg"; fi ;;
    esac
  done
  if [[ ! "$timeout" =~ ^-?([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$|^0$ ]]; then
    echo "error: invalid argument \\"$timeout\\" for \\"--timeout\\" flag: time: invalid duration \\"$timeout\\"" >&2
    echo "See 'kubectl wait --help' for usage." >&2
    exit 1
  fi
  case "$cond" in
    "") echo "error: unrecognized condition: []" >&2; exit 1 ;;
    create | delete | condition=?* | jsonpath=?*) ;;
    *) echo "error: unrecognized condition: \\"$cond\\"" >&2; exit 1 ;;
  esac
  if [ -z "$type" ]; then
    echo "error: You must provide one or more resources by argument or filename." >&2; exit 1
  fi
  if [ -z "$name" ] && [ -z "$all" ]; then
    echo "error: resource(s) were provided, but no name was specified" >&2; exit 1
  fi
  case "$type" in node | nodes) ;; *) echo "docker stub: kubectl wait on $type" >&2; exit 2 ;; esac
  if [ -n "$name" ] && [ "$name" != "$container" ]; then
    echo "Error from server (NotFound): nodes \\"$name\\" not found" >&2; exit 1
  fi
  if [ "$cond" != condition=Ready ]; then echo "docker stub: kubectl wait --for=$cond" >&2; exit 2; fi
  if [ -n "\${STUB_NODES_NOT_READY:-}" ]; then
    echo "error: timed out waiting for the condition on nodes/$container" >&2; exit 1
  fi
  echo "node/$container condition met"
}
case "$1" in
  --version) echo "Docker version 28.0.0, build 0000000" ;;
  info)
    if [ -n "\${STUB_DOCKER_INFO_FAIL:-}" ]; then
      echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
      exit 1
    fi
    if [ "\${2:-}" = --format ]; then echo "\${STUB_DOCKER_CGROUP-2}"; else echo "Server Version: 28.0.0"; fi ;;
  exec)
    container="$2"
    if [ "\${5:-}" = wait ]; then
      node_wait "$container" "\${@:6}"
      exit
    fi
    selector=""
    verb=""
    assignment=""
    for arg in "$@"; do
      case "$arg" in
        --selector=*) selector="\${arg#--selector=}" ;;
        get | label) [ -z "$verb" ] && verb="$arg" ;;
        *=*) case "$arg" in --*) ;; *) assignment="$arg" ;; esac ;;
      esac
    done
    file="$STUB_STATE/clusters/\${container%-control-plane}"
    if [ -n "\${STUB_DOCKER_EXEC_FAIL:-}" ]; then
      echo "Error response from daemon: container $container is not running" >&2
      exit 1
    fi
    if [ ! -s "$file" ]; then echo "Error response from daemon: No such container: $container" >&2; exit 1; fi
    # A label is the kind config's "key": "value" or a key=value line kubectl label added.
    labels="$(<"$file")"$'\\n'
    added="$STUB_STATE/labels/\${container%-control-plane}"
    if [ -f "$added" ]; then
      while IFS='=' read -r key value; do labels+="\\"$key\\": \\"$value\\""$'\\n'; done <"$added"
    fi
    match=1
    IFS=, read -ra terms <<<"$selector"
    for term in "\${terms[@]}"; do
      if [[ "$term" == '!'* ]]; then
        [[ "$labels" == *"\\"\${term#!}\\": "* ]] && match=""
      else
        [[ "$labels" == *"\\"\${term%%=*}\\": \\"\${term#*=}\\""* ]] || match=""
      fi
    done
    if [ -z "$match" ]; then
      if [ "$verb" = label ]; then echo "error: no objects passed to label" >&2; exit 1; fi
      exit 0
    fi
    if [ "$verb" = label ]; then
      printf '%s\\n' "$assignment" >> "$added"
      echo "node/$container labeled"
    else
      echo "node/$container"
    fi ;;
  *) echo "docker stub: unexpected $*" >&2; exit 2 ;;
esac
`;

export class KindWorld {
  readonly stubs: string;
  readonly state: string;

  /** `tools` are written to a fresh stub dir under `dir`; extra stubs can be added with `stub`. */
  constructor(
    readonly dir: string,
    private readonly bash: string,
    tools: readonly ("kind" | "docker")[] = ["kind", "docker"],
  ) {
    this.stubs = path.join(dir, "bin");
    this.state = path.join(dir, "state");
    fs.mkdirSync(this.stubs, { recursive: true });
    fs.mkdirSync(path.join(this.state, "clusters"), { recursive: true });
    fs.mkdirSync(path.join(this.state, "labels"), { recursive: true });
    fs.writeFileSync(path.join(this.state, "calls.log"), "");
    for (const tool of tools) this.stub(tool, tool === "kind" ? KIND : DOCKER);
  }

  stub(name: string, body: string): void {
    fs.writeFileSync(path.join(this.stubs, name), `#!${this.bash}\n${body}\n`, { mode: 0o755 });
  }

  /** A cluster that exists, created from this kind config (JSON, as the stack writes it). */
  addCluster(name: string, config: string): void {
    fs.writeFileSync(path.join(this.state, "clusters", name), config);
  }

  clusters(): string[] {
    const dir = path.join(this.state, "clusters");
    return fs
      .readdirSync(dir)
      .filter((f) => fs.statSync(path.join(dir, f)).size > 0)
      .sort();
  }

  config(name: string): string {
    return fs.readFileSync(path.join(this.state, "clusters", name), "utf8");
  }

  /** Every stub call so far, as `tool args…`. */
  calls(): string[] {
    return fs.readFileSync(path.join(this.state, "calls.log"), "utf8").split("\n").filter(Boolean);
  }
}
