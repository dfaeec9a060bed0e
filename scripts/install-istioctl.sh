#!/usr/bin/env bash
# Installs istioctl <version> from Istio's GitHub release into <dir>, after checking the archive
# against the release's own .sha256 (CI only; nothing here runs it locally).
#   usage: scripts/install-istioctl.sh <version> <dir>
set -euo pipefail
version="${1:?usage: scripts/install-istioctl.sh <version> <dir>}"
dir="${2:?usage: scripts/install-istioctl.sh <version> <dir>}"
asset="istioctl-${version}-linux-amd64.tar.gz"
base="https://github.com/istio/istio/releases/download/${version}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
curl -fsSLo "$tmp/$asset" "$base/$asset"
curl -fsSLo "$tmp/$asset.sha256" "$base/$asset.sha256"
(cd "$tmp" && sha256sum -c "$asset.sha256")
mkdir -p "$dir"
tar -xzf "$tmp/$asset" -C "$dir" istioctl
"$dir/istioctl" version --remote=false
