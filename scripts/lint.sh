#!/usr/bin/env bash
# npm run lint (and npm test): Biome over the files git tracks, so files git ignores or does not
# track (a user's own Pulumi.<stack>.yaml, scratch files) are never linted. biome.json's includes
# still apply. A new file is linted once it is `git add`ed. Outside a git checkout (an unpacked
# tarball) Biome checks everything biome.json includes. Extra arguments go to `biome check`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  exec npx biome check "$@" .
fi
files=()
while IFS= read -r -d '' file; do
  # Tracked but deleted in the working tree, not yet committed.
  [[ -e "$file" ]] && files+=("$file")
done < <(git ls-files -z --cached)
exec npx biome check --files-ignore-unknown=true --no-errors-on-unmatched "$@" "${files[@]}"
