#!/usr/bin/env bash
# Wrapper the npm scripts call: scripts/pulumi.sh <up|preview|destroy> [extra pulumi args...]
#
# Selects (creating if needed) the stack named by $STACK (default: dev), checks prerequisites for
# the stack's clusterMode before up/preview, then runs the pulumi verb from the project root.
#
# The stack's kind cluster is checked first, because a local.Command has no read and a refresh
# can't notice what happened to it outside Pulumi:
#   deleted (kind doesn't list it):
#     up       forgets it and everything in it (pulumi state delete --target-dependents), so the
#              up creates them again. A plain `pulumi up` would instead keep the Command and try
#              to reach the gone cluster with its old kubeconfig, and fail.
#     preview  says so; changes nothing
#     destroy  a plain destroy: every in-cluster object is deletedWith the cluster's Command, so the
#              engine skips their deletes (no uninstall, no request to the gone cluster), the
#              Command's delete step finds the cluster already gone, and the state ends empty.
#              Only state written before deletedWith (an object of type kubernetes:* without it,
#              i.e. no `up` since) needs more: those deletes would fail against the gone cluster, so
#              a refresh with PULUMI_K8S_DELETE_UNREACHABLE=true first drops them from state.
#   replaced by a same-named cluster this stack's state didn't create (no node has its owner label,
#     the state's own id): the same, but up and preview then stop and say how to proceed (delete
#     that cluster or set clusterName); destroy's delete step leaves a foreign cluster alone
# Nothing is assumed when kind or Docker can't answer.
# up and preview on an existing cluster first run the pre-flight (tools/preflight/main.ts).
# up and preview run the policy pack in policies/ (with policies/config/<stack>.json when it exists).
set -euo pipefail

usage() {
  printf 'usage: %s <up|preview|destroy> [extra pulumi args...]\n' "${0##*/}"
  printf '  STACK=<name> selects the stack (default: dev)\n'
}

# The script's own directory, without relying on dirname/readlink, so any cwd works.
script_src="${BASH_SOURCE[0]}"
if [[ "$script_src" == */* ]]; then
  script_dir="${script_src%/*}"
else
  script_dir="."
fi
script_dir="$(cd "$script_dir" && pwd)"
project_root="$(cd "$script_dir/.." && pwd)"
prereqs="$script_dir/check-prereqs.sh"
# kind_cluster_owned_nodes: the same ownership check the cluster's create and delete steps make.
# shellcheck source=SCRIPTDIR/../components/cluster/kind-cluster.sh
. "$project_root/components/cluster/kind-cluster.sh"

verb="${1:-}"
case "$verb" in
  up | preview | destroy) shift ;;
  *)
    if [[ -n "$verb" ]]; then printf 'unknown command: %s\n' "$verb" >&2; fi
    usage >&2
    exit 2
    ;;
esac

STACK="${STACK:-dev}"

if ! command -v pulumi >/dev/null 2>&1; then
  printf 'pulumi CLI not found on PATH.\n' >&2
  bash "$prereqs" || true
  exit 1
fi

cd "$project_root"

# Pulumi.yaml pins a local file backend (file://./.pulumi-state), so no login is needed. The DIY
# backend never creates its directory: every command fails with "unable to open state directory …
# no such file or directory" until it exists (pulumi/pulumi issue 15841; massageBlobPath and
# newDIYBackend in pkg/backend/diy/backend.go). A clone ships it (.pulumi-state/.gitignore), so a
# plain `pulumi up` works too; this recreates it after an `rm -rf .pulumi-state`. Only a relative
# file:// path is created, the project's own: any other backend is the user's to provide.
backend_url="${PULUMI_BACKEND_URL:-}"
if [[ -z "$backend_url" ]]; then
  url_re='^[[:space:]]+url:[[:space:]]*"?(file://[^"[:space:]]*)'
  while IFS= read -r line || [[ -n "$line" ]]; do
    if [[ "$line" =~ $url_re ]]; then backend_url="${BASH_REMATCH[1]}"; fi
  done <Pulumi.yaml
fi
state_dir="${backend_url#file://}"
state_dir="${state_dir%%\?*}"
if [[ "$backend_url" == file://* && "$state_dir" != /* && "$state_dir" != "~"* && -n "$state_dir" ]]; then
  mkdir -p "$state_dir"
fi

# Creating the stack makes the CLI write `encryptionsalt:` into Pulumi.<stack>.yaml (appended to a
# file that is there: pkg/secrets/passphrase and sdk/go/common/util/yamlutil/edit.go in pulumi/pulumi).
# For a stack file the clone brought (dev, ambient) that modifies a tracked file: the salt is this
# clone's, bound to its state and passphrase, and must not be committed. Said once, on the run that
# wrote it. Bash alone reads the file: the wrapper needs no grep.
has_salt() {
  [[ -f "$1" ]] || return 1
  local line
  while IFS= read -r line || [[ -n "$line" ]]; do
    if [[ "$line" == encryptionsalt:* ]]; then return 0; fi
  done <"$1"
  return 1
}
# A salt line lost from the stack file (a `git checkout` of it, a bad merge) is recovered from the stack's
# state rather than replaced by a new salt, under which the stack file's `secure:` values (encrypted with
# the old one) no longer decrypt: `up`, `preview` and `refresh` fall back to the state's secrets manager,
# and write its salt back, only when asked (env.FallbackToStateSecretsManager, pkg/cmd/pulumi/stack/
# secrets.go; `destroy` always does).
export PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER="${PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER:-true}"
stack_file="Pulumi.$STACK.yaml"
salt_missing=no
if [[ -f "$stack_file" ]] && ! has_salt "$stack_file"; then salt_missing=yes; fi

pulumi stack select --create "$STACK"

if [[ "$salt_missing" == yes ]] && has_salt "$stack_file"; then
  printf '%s\n' \
    "pulumi.sh: Pulumi added this clone's encryptionsalt to $stack_file, so git shows the file modified." \
    "Leave that line out of your commits and in the file: it belongs to this clone's state (.pulumi-state)" \
    "and passphrase; committed, every other clone's \`pulumi stack init $STACK\` would need your passphrase." \
    "See docs/development.md, \"The stack file's encryptionsalt\"." >&2
fi

if [[ "$verb" == up || "$verb" == preview ]]; then
  mode="$(pulumi config get clusterMode --stack "$STACK" 2>/dev/null || echo kind)"
  mode="${mode:-kind}"
  prereq_args=()
  if [[ "$mode" == existing ]]; then
    prereq_args+=(--existing-cluster)
  fi
  # ${a[@]+...}: an empty array under `set -u` is an error in bash 3.2 (macOS).
  if ! bash "$prereqs" ${prereq_args[@]+"${prereq_args[@]}"}; then
    printf 'aborting %s: prerequisites not met for clusterMode %s (see above)\n' "$verb" "$mode" >&2
    exit 1
  fi
  # An existing cluster is someone's: its Kubernetes version, an istiod or namespace this stack does
  # not own are checked before any resource (tools/preflight; npm run preflight -- --help).
  if [[ "$mode" == existing ]] && ! node --import tsx tools/preflight/main.ts --stack "$STACK"; then
    printf 'aborting %s: the pre-flight checks of the existing cluster failed (see above)\n' "$verb" >&2
    exit 1
  fi
fi

# What the stack's state says about its kind cluster: sets state_urn, state_name, state_owner
# (the owner label selector; empty in state written before there was one) and state_before_deleted_with
# (1 when some kubernetes:* object is not deletedWith the cluster). 1 when there is no cluster.
read_state_cluster() {
  state_urn="" state_name="" state_owner="" state_before_deleted_with=0
  local state line objects=0 deleted_with=0
  local urn_re='(urn:pulumi:[^"]*command:local:Command::kind-cluster)'
  local name_re='"KIND_CLUSTER_NAME": *"([^"]*)"'
  local owner_re='"KIND_CLUSTER_OWNER": *"([^"]*)"'
  local object_re='^ *"type": *"kubernetes:'
  state="$(pulumi stack export --stack "$STACK" 2>/dev/null)" || return 1
  [[ "$state" =~ $urn_re ]] || return 1
  state_urn="${BASH_REMATCH[1]}"
  while IFS= read -r line; do
    if [[ "$line" =~ $object_re ]]; then objects=$((objects + 1)); fi
    if [[ "$line" == *'"deletedWith": "'"$state_urn"'"'* ]]; then deleted_with=$((deleted_with + 1)); fi
  done <<<"$state"
  if ((deleted_with < objects)); then state_before_deleted_with=1; fi
  if [[ "$state" =~ $name_re ]]; then
    state_name="${BASH_REMATCH[1]}"
  else
    state_name="$(pulumi stack output clusterName --stack "$STACK" 2>/dev/null)" || state_name=""
  fi
  if [[ "$state" =~ $owner_re ]]; then state_owner="${BASH_REMATCH[1]}"; fi
  [[ -n "$state_name" ]]
}

# Prints gone, foreign or present for the cluster read_state_cluster found; nothing when kind or
# Docker can't tell.
kind_cluster_status() {
  local clusters cluster nodes
  clusters="$(kind get clusters 2>/dev/null)" || return 0
  while IFS= read -r cluster; do
    if [[ "$cluster" == "$state_name" ]]; then
      if [[ -n "$state_owner" ]]; then
        nodes="$(KIND_CLUSTER_NAME="$state_name" KIND_CLUSTER_OWNER="$state_owner" kind_cluster_owned_nodes 2>/dev/null)" ||
          return 0
        if [[ -z "$nodes" ]]; then
          printf 'foreign'
          return 0
        fi
      fi
      printf 'present'
      return 0
    fi
  done <<<"$clusters"
  printf 'gone'
}

cluster_status=""
if command -v kind >/dev/null 2>&1 && read_state_cluster; then cluster_status="$(kind_cluster_status)"; fi
case "$cluster_status" in
  gone)
    printf 'kind cluster "%s" of stack %s is gone: kind does not list it (deleted outside Pulumi).\n' \
      "$state_name" "$STACK" >&2
    ;;
  foreign)
    printf 'kind cluster "%s" is not the one stack %s created (no node has the label %s):\n' \
      "$state_name" "$STACK" "$state_owner" >&2
    printf 'the stack'"'"'s own was deleted outside Pulumi, and another cluster took its name.\n' >&2
    ;;
esac
case "$cluster_status:$verb" in
  gone:up | foreign:up)
    printf 'Forgetting it and everything that ran in it, so that up creates them again.\n' >&2
    pulumi state delete --stack "$STACK" --target-dependents --yes "$state_urn"
    ;;
  gone:preview | foreign:preview)
    printf 'npm run up will forget it and everything that ran in it; this preview still shows them.\n' >&2
    ;;
  gone:destroy | foreign:destroy)
    if ((state_before_deleted_with)); then
      printf 'This state predates deletedWith: dropping what ran in it from state first (refresh), then destroying the rest.\n' >&2
      PULUMI_K8S_DELETE_UNREACHABLE=true pulumi refresh --stack "$STACK" --yes
    else
      printf 'Everything that ran in it is deletedWith it: destroy skips those deletes and empties the state.\n' >&2
    fi
    ;;
esac
if [[ "$cluster_status" == foreign && "$verb" != destroy ]]; then
  # The create step would refuse the foreign cluster anyway; say how to proceed now.
  printf 'To proceed, either\n' >&2
  printf '  - delete that cluster, if nothing else needs it (kind delete cluster --name %s), and run npm run up\n' \
    "$state_name" >&2
  printf '  - or leave it, and give this stack a cluster of its own: pulumi config set clusterName <another-name>\n' >&2
  exit 1
fi

# The pack resolves @pulumi/policy from the project's node_modules: `npm ci` here is all it needs.
policy_args=(--policy-pack policies)
if [[ -f "policies/config/$STACK.json" ]]; then
  policy_args+=(--policy-pack-config "policies/config/$STACK.json")
fi

case "$verb" in
  up) exec pulumi up --stack "$STACK" "${policy_args[@]}" "$@" ;;
  preview) exec pulumi preview --stack "$STACK" "${policy_args[@]}" "$@" ;;
  destroy) exec pulumi destroy --stack "$STACK" "$@" ;;
esac
