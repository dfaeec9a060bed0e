#!/usr/bin/env bash
# Checks the command-line tools this project needs and prints, for each, OK with its version
# or MISSING with where to install it from.
#
#   scripts/check-prereqs.sh                     # kind mode: docker, kind, kubectl, pulumi
#   scripts/check-prereqs.sh --existing-cluster  # existing cluster: kubectl, pulumi
#
# Exits 0 when everything required is present, 1 otherwise (2 on bad usage).
# Uses only bash builtins plus the tools it probes, so it runs on a bare PATH.
set -euo pipefail

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
    kind) printf 'install kind v0.33.0 or newer (needed for the pinned node image): https://kind.sigs.k8s.io/docs/user/quick-start/#installation' ;;
    kubectl) printf 'install kubectl: https://kubernetes.io/docs/tasks/tools/' ;;
    pulumi) printf 'install the Pulumi CLI: https://www.pulumi.com/docs/iac/download-install/' ;;
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

missing=0

check_tool() {
  local tool="$1"
  shift
  if command -v "$tool" >/dev/null 2>&1; then
    printf 'OK       %-8s %s\n' "$tool" "$(version_line "$@")"
    return 0
  fi
  printf 'MISSING  %-8s %s\n' "$tool" "$(hint_for "$tool")"
  missing=$((missing + 1))
  return 1
}

if ((existing_cluster == 0)); then
  if check_tool docker docker --version; then
    if ! probe docker info >/dev/null 2>&1; then
      printf 'MISSING  %-8s the Docker daemon isn'"'"'t running (`docker info` failed); start Docker, kind needs it\n' "dockerd"
      missing=$((missing + 1))
    fi
  fi
  check_tool kind kind version || true
fi
check_tool kubectl kubectl version --client || true
check_tool pulumi pulumi version || true

if ((missing > 0)); then
  printf 'prerequisites: %d missing\n' "$missing"
  exit 1
fi
printf 'prerequisites: all present\n'
