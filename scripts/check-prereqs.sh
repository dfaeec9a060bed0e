#!/usr/bin/env bash
# Checks the command-line tools this project needs and prints, for each, OK with its version
# or what is wrong with where to get it.
#
#   scripts/check-prereqs.sh                     # kind mode: node, docker, kind, kubectl, pulumi, ports
#   scripts/check-prereqs.sh --existing-cluster  # existing cluster: node, kubectl, pulumi
#
# Node must satisfy package.json's engines (read from there: @pulumi/pulumi 3.270 and
# @kubernetes-models/* declare node >=22). In kind mode it also needs kind >= KIND_MIN (the pinned
# node image is built for it), Docker on cgroup v2 (Kubernetes 1.35, the pinned node, refuses
# cgroup v1 by default, and kind would fail with a kubelet error), and the stack's gateway host
# ports (hostHttpPort, hostHttpsPort of $STACK, default dev) free on 127.0.0.1, unless the stack's
# own kind cluster already holds them. The Pulumi CLI must be PULUMI_MIN or newer (stack tags on a
# file backend). istioctl is optional: it is listed, never counted.
# Exits 0 when everything is in order, 1 otherwise (2 on bad usage).
# Uses only bash builtins plus the tools it probes, so it runs on a bare PATH.
set -euo pipefail

KIND_MIN=0.33.0
STACK="${STACK:-dev}"
project_root="${BASH_SOURCE[0]%/*}/.."
# Where the host's cgroup hierarchy is mounted; consulted only when Docker doesn't say (tests move it).
CGROUP_ROOT="${ISTIO_MESH_CGROUP_ROOT:-/sys/fs/cgroup}"

usage() {
  printf 'usage: %s [--existing-cluster]\n' "${0##*/}"
  printf '  --existing-cluster  skip docker and kind (an existing cluster needs only kubectl and pulumi)\n'
}

existing_cluster=0
for arg in "$@"; do
  case "$arg" in
    --existing-cluster) existing_cluster=1 ;;
    -h | --help) usage; exit 0 ;;
    *) printf 'unknown argument: %s\n' "$arg" >&2; usage >&2; exit 2 ;;
  esac
done

hint_for() {
  case "$1" in
    docker) printf 'install Docker: https://docs.docker.com/get-docker/' ;;
    kind) printf 'install kind v%s or newer (needed for the pinned node image): https://kind.sigs.k8s.io/docs/user/quick-start/#installation' "$KIND_MIN" ;;
    kubectl) printf 'install kubectl: https://kubernetes.io/docs/tasks/tools/' ;;
    pulumi) printf 'install the Pulumi CLI: https://www.pulumi.com/docs/iac/download-install/' ;;
    node) printf 'install Node.js %s or newer (an LTS release; 24 is used in CI): https://nodejs.org/en/download' "$NODE_MIN" ;;
    istioctl) printf 'optional, for the checks in docs/verify.md and istioctl analyze; install the release matching the mesh: https://istio.io/latest/docs/setup/additional-setup/download-istio-release/' ;;
  esac
}

# Runs a probe with a time limit when coreutils' timeout is around; never fails the script.
probe() {
  if command -v timeout >/dev/null 2>&1; then
    timeout 20 "$@"
  else
    "$@"
  fi
}

# First non-empty line of a tool's version output; "version unknown" when the probe fails.
version_line() {
  local out line
  out="$(probe "$@" 2>/dev/null)" || out=""
  while IFS= read -r line; do
    if [[ -n "${line//[[:space:]]/}" ]]; then
      printf '%s' "$line"
      return 0
    fi
  done <<<"$out"
  printf 'version unknown'
}

problems=0

report() { # STATUS TOOL TEXT
  printf '%-8s %-8s %s\n' "$1" "$2" "$3"
  if [[ "$1" != OK ]]; then problems=$((problems + 1)); fi
}

check_tool() {
  local tool="$1"
  shift
  if command -v "$tool" >/dev/null 2>&1; then
    report OK "$tool" "$(version_line "$@")"
    return 0
  fi
  report MISSING "$tool" "$(hint_for "$tool")"
  return 1
}

# kind prints "kind v0.33.0 go1.24.0 linux/amd64" (a pre-release: v0.33.0-alpha+1234abcd); only
# major.minor.patch is compared.
check_kind() {
  if ! command -v kind >/dev/null 2>&1; then
    report MISSING kind "$(hint_for kind)"
    return
  fi
  local line have need
  line="$(version_line kind version)"
  if [[ ! "$line" =~ v([0-9]+)\.([0-9]+)\.([0-9]+) ]]; then
    report UNKNOWN kind "$line: can't tell the version; $(hint_for kind)"
    return
  fi
  have=$((BASH_REMATCH[1] * 1000000 + BASH_REMATCH[2] * 1000 + BASH_REMATCH[3]))
  [[ "$KIND_MIN" =~ ([0-9]+)\.([0-9]+)\.([0-9]+) ]]
  need=$((BASH_REMATCH[1] * 1000000 + BASH_REMATCH[2] * 1000 + BASH_REMATCH[3]))
  if ((have >= need)); then
    report OK kind "$line"
  else
    report TOO-OLD kind "$line: $(hint_for kind)"
  fi
}

# Docker reports the cgroup version its containers (and so kind's node) get. Docker before 20.10
# doesn't; then a Linux host's own hierarchy tells: cgroup.controllers exists only at a v2 root.
check_docker() {
  check_tool docker docker --version || return 0
  if ! probe docker info >/dev/null 2>&1; then
    report MISSING dockerd "the Docker daemon isn't running (\`docker info\` failed); start Docker, kind needs it"
    return 0
  fi
  local cgroup
  cgroup="$(probe docker info --format '{{.CgroupVersion}}' 2>/dev/null)" || cgroup=""
  if [[ -z "$cgroup" && -d "$CGROUP_ROOT" ]]; then
    if [[ -f "$CGROUP_ROOT/cgroup.controllers" ]]; then cgroup=2; else cgroup=1; fi
  fi
  if [[ "$cgroup" == 1 ]]; then
    report CGROUP-1 docker "containers run on cgroup v1, which Kubernetes 1.35 (the pinned kind node) refuses by default. Switch the host to cgroup v2 (the default on current distributions): systemd.unified_cgroup_hierarchy=1 on the kernel command line; on WSL2, kernelCommandLine = cgroup_no_v1=all under [wsl2] in %UserProfile%\\.wslconfig, then wsl --shutdown"
  fi
}

# package.json's engines.node, ">=22" or ">=22.12.0": the dependencies' own floor.
NODE_MIN=""
engines_re='"node"[[:space:]]*:[[:space:]]*">=[[:space:]]*([0-9]+(\.[0-9]+)*)"'
while IFS= read -r line || [[ -n "$line" ]]; do
  if [[ "$line" =~ $engines_re ]]; then NODE_MIN="${BASH_REMATCH[1]}"; fi
done <"$project_root/package.json"

# major.minor.patch of a version as one comparable number; missing parts count as 0.
version_number() {
  local major minor patch
  IFS=. read -r major minor patch <<<"$1"
  printf '%d' $(((10#${major:-0}) * 1000000 + (10#${minor:-0}) * 1000 + (10#${patch:-0})))
}

check_node() {
  if ! command -v node >/dev/null 2>&1; then
    report MISSING node "$(hint_for node)"
    return
  fi
  local line
  line="$(version_line node --version)"
  if [[ ! "$line" =~ v([0-9]+\.[0-9]+\.[0-9]+) ]]; then
    report UNKNOWN node "$line: can't tell the version; $(hint_for node)"
  elif (($(version_number "${BASH_REMATCH[1]}") < $(version_number "$NODE_MIN"))); then
    report TOO-OLD node "$line: the dependencies need node >=$NODE_MIN (package.json engines); $(hint_for node)"
  else
    report OK node "$line"
  fi
}

# `pulumi version` prints "v3.270.0" (a dev build: "v3.271.0-alpha.1234+abcd"); major.minor.patch is
# compared. The Pulumi CLI added stack tags to DIY backends (this project's file://./.pulumi-state) in
# 3.211.0 (pulumi/pulumi CHANGELOG.md, "[backend/diy] Add stack tags support for DIY backends");
# `npm run canary` keeps the last weights that passed its gates in one.
PULUMI_MIN="3.211.0"

check_pulumi() {
  if ! command -v pulumi >/dev/null 2>&1; then
    report MISSING pulumi "$(hint_for pulumi)"
    return
  fi
  local line
  line="$(version_line pulumi version)"
  if [[ ! "$line" =~ v([0-9]+\.[0-9]+\.[0-9]+) ]]; then
    report UNKNOWN pulumi "$line: can't tell the version; $(hint_for pulumi)"
  elif (($(version_number "${BASH_REMATCH[1]}") < $(version_number "$PULUMI_MIN"))); then
    report TOO-OLD pulumi "$line: npm run canary keeps its last good weights in a stack tag, which a file backend has from Pulumi CLI $PULUMI_MIN; $(hint_for pulumi)"
  else
    report OK pulumi "$line"
  fi
}

# Optional tools are listed with what they are for, and never counted as problems.
check_optional() {
  local tool="$1"
  shift
  if command -v "$tool" >/dev/null 2>&1; then
    report OK "$tool" "$(version_line "$@")"
  else
    printf '%-8s %-8s %s\n' OPTIONAL "$tool" "$(hint_for "$tool")"
  fi
}

# Whether something accepts connections on 127.0.0.1:<port> (bash's /dev/tcp; no nc or ss needed).
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A kind-mode key of stack $STACK: Pulumi.$STACK.yaml's `istio-mesh:<key>: <value>`, else the
# program's default, read from config/defaults.ts (the one place it is written). Only plain scalars
# are read; the program's parser validates them on `pulumi up`.
stack_value() { # KEY DEFAULT_CONSTANT
  local line value="" key_re="^[[:space:]]+istio-mesh:$1:[[:space:]]*[\"']?([^\"'#[:space:]]+)"
  local default_re="^export const $2 = \"?([^\";]+)\"?;"
  if [[ -f "$project_root/Pulumi.$STACK.yaml" ]]; then
    while IFS= read -r line || [[ -n "$line" ]]; do
      if [[ "$line" =~ $key_re ]]; then value="${BASH_REMATCH[1]}"; fi
    done <"$project_root/Pulumi.$STACK.yaml"
  fi
  if [[ -z "$value" ]]; then
    while IFS= read -r line || [[ -n "$line" ]]; do
      if [[ "$line" =~ $default_re ]]; then value="${BASH_REMATCH[1]}"; fi
    done <"$project_root/config/defaults.ts"
  fi
  printf '%s' "$value"
}

# The stack's gateway host ports must be free for kind to map them, unless its cluster already does.
check_ports() {
  local name http https clusters cluster port busy=""
  name="$(stack_value clusterName DEFAULT_CLUSTER_NAME)"
  http="$(stack_value hostHttpPort DEFAULT_HOST_HTTP_PORT)"
  https="$(stack_value hostHttpsPort DEFAULT_HOST_HTTPS_PORT)"
  if [[ ! "$http" =~ ^[0-9]+$ || ! "$https" =~ ^[0-9]+$ ]]; then
    report CONFIG ports "stack $STACK: hostHttpPort ${http:-?} / hostHttpsPort ${https:-?} are not port numbers"
    return
  fi
  if clusters="$(probe kind get clusters 2>/dev/null)"; then
    while IFS= read -r cluster; do
      if [[ "$cluster" == "$name" ]]; then
        report OK ports "$http, $https: mapped by kind cluster $name already"
        return
      fi
    done <<<"$clusters"
  fi
  for port in "$http" "$https"; do
    if port_in_use "$port"; then busy+="${busy:+, }127.0.0.1:$port"; fi
  done
  if [[ -z "$busy" ]]; then
    report OK ports "127.0.0.1:$http and 127.0.0.1:$https are free (stack $STACK's gateway)"
  else
    report IN-USE ports "$busy already in use; kind maps stack $STACK's gateway there. Stop what listens there, or pulumi config set hostHttpPort / hostHttpsPort to free ports"
  fi
}

check_node
if ((existing_cluster == 0)); then
  check_docker
  check_kind
fi
check_tool kubectl kubectl version --client || true
check_pulumi
check_optional istioctl istioctl version --remote=false
if ((existing_cluster == 0)); then
  check_ports
fi

if ((problems > 0)); then
  printf 'prerequisites: %d to fix\n' "$problems"
  exit 1
fi
printf 'prerequisites: all present\n'
