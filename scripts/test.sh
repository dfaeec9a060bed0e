#!/usr/bin/env bash
# npm test: type check, lint (Biome over tracked files, scripts/lint.sh) and every test under tests/
# (node:test; the workflow lint is one).
# The type check is TypeScript 7 (the native compiler, package alias `typescript7`): ~5 s of CPU for the
# whole project where TypeScript 6's tsc took ~32 s. `typescript` itself stays 6: `pulumi up` compiles
# the program with it through ts-node (@pulumi/pulumi's peer range is < 7), and tests/entrypoint.test.ts
# loads the program exactly that way, type check included. It is incremental (bin/, git-ignored).
#
#   bash scripts/test.sh              type check, lint and tests (npm test)
#   bash scripts/test.sh --unit-only  the tests alone (npm run test:unit)
#
# The test files run in shards that take them from one queue directory per run (tests/support/shards.ts).
set -uo pipefail
cd "$(dirname "$0")/.."

queue="$(mktemp -d)"
report="$(mktemp)"
typecheck_log="$(mktemp)"
lint_log="$(mktemp)"
trap 'rm -rf "$queue" "$report" "$typecheck_log" "$lint_log"' EXIT
unit_tests() {
  # Node's own choice of reporter (spec on a terminal, else TAP), plus a TAP copy to read afterwards.
  local shown=tap code
  [[ -t 1 ]] && shown=spec
  local shards=(tests/shards/*.test.ts) # all of them at once: one process each
  ISTIO_MESH_TEST_QUEUE="$queue" node --import tsx --test --test-concurrency="${#shards[@]}" \
    --test-reporter="$shown" --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$report" "${shards[@]}"
  code=$?
  # Node 24.11 exits 0 when a suite's own callback throws (nodejs/node#58687, fixed after it): the
  # report still says `not ok`.
  if ((code == 0)) && grep -E '^ *not ok ' "$report" | grep -vqE '# (TODO|SKIP)'; then
    printf '\na suite failed (see `not ok` above) though node exited 0\n' >&2
    code=1
  fi
  return "$code"
}

if [[ "${1:-}" == --unit-only ]]; then
  unit_tests
  exit
fi

# The type check and the lint run beside the tests (~5 s and ~2.5 s of CPU that would otherwise hold
# up the start); their findings print after the tests, and any failure fails the run.
node node_modules/typescript7/bin/tsc --noEmit --incremental -p . >"$typecheck_log" 2>&1 &
typecheck_pid=$!
bash scripts/lint.sh >"$lint_log" 2>&1 &
lint_pid=$!

unit_tests
tests=$?

wait "$lint_pid"
lint=$?
if ((lint != 0)); then
  printf '\nlint failed:\n' >&2
  cat "$lint_log" >&2
fi
wait "$typecheck_pid"
typecheck=$?
if ((typecheck != 0)); then
  printf '\ntype check failed:\n' >&2
  cat "$typecheck_log" >&2
fi
((tests == 0 && lint == 0 && typecheck == 0))
