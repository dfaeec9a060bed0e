#!/usr/bin/env bash
# How long `npm test` takes on a fresh clone, the figure docs/development.md quotes: clones a commit of
# this repository into a temporary directory, runs `npm ci` with an empty TMPDIR (no tsx cache, no
# incremental type-check state), then times `npm test` with GNU time. The machine's speed moves during a
# day on a shared host, so each run is printed beside a CPU reference taken just before and after it: the
# best of three runs of a fixed JavaScript loop (user seconds; lower is a faster machine).
#
#   bash scripts/dev/fresh-clone-time.sh [--runs N] [<commit>]     default: 1 run of HEAD
#
# Exit: 0 every run passed; 1 a run failed (its failed tests are printed, its log kept), or the clone or `npm ci`
# did; 2 bad arguments.
set -uo pipefail

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
runs=1
ref=HEAD
while (($#)); do
  case "$1" in
  -h | --help) usage; exit 0 ;;
  --runs)
    [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "fresh-clone-time: --runs wants a positive integer" >&2; exit 2; }
    runs=$2
    shift 2
    ;;
  -*) echo "fresh-clone-time: unknown option $1 (see --help)" >&2; exit 2 ;;
  *) ref=$1; shift ;;
  esac
done
repo="$(cd "$(dirname "$0")/../.." && pwd)"
commit="$(git -C "$repo" rev-parse --verify --quiet "$ref^{commit}")" || {
  echo "fresh-clone-time: $ref is not a commit of $repo" >&2
  exit 2
}

cpu_reference() {
  local best=""
  for _ in 1 2 3; do
    local t
    t=$({ /usr/bin/time -f %U node -e 'let x = 0; for (let i = 0; i < 3e8; i++) x += i % 7;'; } 2>&1)
    if [[ -z "$best" ]] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
  done
  printf '%s' "$best"
}

status=0
for ((run = 1; run <= runs; run++)); do
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  if ! git clone --quiet --no-checkout "$repo" "$work/repo" || ! git -C "$work/repo" checkout --quiet "$commit"; then
    echo "fresh-clone-time: cannot clone $repo at ${commit:0:7}" >&2
    exit 1
  fi
  mkdir "$work/tmp"
  (cd "$work/repo" && TMPDIR="$work/tmp" npm ci --no-audit --no-fund >"$work/ci.log" 2>&1) || {
    echo "fresh-clone-time: npm ci failed:" >&2
    tail -5 "$work/ci.log" >&2
    exit 1
  }
  before=$(cpu_reference)
  (cd "$work/repo" && TMPDIR="$work/tmp" /usr/bin/time -f 'TIME %e %U %S' npm test >"$work/test.log" 2>&1)
  code=$?
  after=$(cpu_reference)
  read -r _ wall user sys < <(grep '^TIME ' "$work/test.log" | tail -1)
  tests=$(grep -E '^# (pass|fail) ' "$work/test.log" | tr '\n' ' ')
  printf 'run %d of %s: npm test %s s wall, %s s CPU (%s user + %s sys), %s| CPU reference %s s before, %s s after\n' \
    "$run" "${commit:0:7}" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')" "$user" "$sys" \
    "$tests" "$before" "$after"
  if ((code != 0)); then
    status=1
    # The failed tests by name, and the whole log kept for their errors.
    kept="$(mktemp "${TMPDIR:-/tmp}/fresh-clone-time-run$run.XXXXXX.log")"
    cp "$work/test.log" "$kept"
    grep -E '^ *not ok ' "$work/test.log"
    echo "fresh-clone-time: run $run failed; its log: $kept" >&2
  fi
  rm -rf "$work"
  trap - EXIT
done
exit "$status"
