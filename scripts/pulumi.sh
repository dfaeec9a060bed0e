#!/usr/bin/env bash
# Wrapper the npm scripts call: scripts/pulumi.sh <up|preview|destroy> [extra pulumi args...]
#
# Selects (creating if needed) the stack named by $STACK (default: dev), checks prerequisites for
# the stack's clusterMode before up/preview, then runs the pulumi verb from the project root.
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

# Pulumi.yaml pins a local file backend, so no login is needed.
pulumi stack select --create "$STACK"

if [[ "$verb" == up || "$verb" == preview ]]; then
  mode="$(pulumi config get clusterMode --stack "$STACK" 2>/dev/null || echo kind)"
  mode="${mode:-kind}"
  prereq_args=()
  if [[ "$mode" == existing ]]; then
    prereq_args+=(--existing-cluster)
  fi
  # ${a[@]+...}: an empty array under `set -u` is an error in bash 3.2 (macOS).
  if ! bash "$prereqs" ${prereq_args[@]+"${prereq_args[@]}"}; then
    printf 'aborting %s: prerequisites missing for clusterMode %s (see above)\n' "$verb" "$mode" >&2
    exit 1
  fi
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
