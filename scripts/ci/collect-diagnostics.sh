#!/usr/bin/env bash
# What every job of .github/workflows/e2e.yml that runs a cluster (kind, upgrade, existing-istio)
# collects after a failure, a step's timeout or a cancelled run: one list, so no job collects less.
#   usage: scripts/ci/collect-diagnostics.sh <output-dir> <kind-cluster-name>
# $STACK, when set, names the stack whose config is kept too. kubectl's current context is the
# cluster's (kind, and the stack's kind cluster, make it so).
#
# The cluster may be half up or gone, and a tool may be missing: each command has its own time
# limit, writes its output and errors to its own file (a failure adds "(exit N)" or "(timed out …)"),
# and the script goes on to the next. It exits 0 unless called wrongly. The limits add up to under 15
# minutes with two revisions (the collect steps' timeout-minutes), so a hung API server cannot cost
# kind export logs. tests/workflows.test.ts runs it against stand-in tools.
#
# What each job has: every job deploys the lab's gateways, so both gateways' logs are collected
# everywhere; the egress gateway is `istio-egressgateway` (sidecar cells, the upgrade and the
# existing-istio job) or the waypoint named `waypoint` (ambient cells), and the file of the one a job
# does not run says NotFound. Likewise ztunnel and istio-cni exist only in the ambient cells. Every
# job installs istioctl for this script; without it, the istioctl files say so.
set -uo pipefail

out="${1:?usage: scripts/ci/collect-diagnostics.sh <output-dir> <kind-cluster-name>}"
cluster="${2:?usage: scripts/ci/collect-diagnostics.sh <output-dir> <kind-cluster-name>}"
mkdir -p "$out"

# The namespaces the stack uses (components/meta.ts; tests/workflows.test.ts checks they agree).
ISTIO_NS=istio-system
INGRESS_NS=istio-ingress
EGRESS_NS=istio-egress

# keep <seconds> <file> <command...>: the command's stdout and stderr into $out/<file>, within the limit.
keep() {
  local limit="$1" file="$2"
  shift 2
  local status=0
  timeout "$limit" "$@" > "$out/$file" 2>&1 || status=$?
  if [[ "$status" -eq 124 ]]; then
    echo "(timed out after ${limit}s)" >> "$out/$file"
  elif [[ "$status" -ne 0 ]]; then
    echo "(exit $status)" >> "$out/$file"
  fi
  return 0
}

keep 30 pods.txt kubectl get pods --all-namespaces -o wide
keep 30 events.txt kubectl get events --all-namespaces --sort-by=.lastTimestamp
keep 60 pods-describe.txt kubectl describe pods --all-namespaces
keep 30 webhooks.yaml kubectl get mutatingwebhookconfigurations,validatingwebhookconfigurations -o yaml
# istiod by label, not by name: with revisions (the upgrade job, existing-istio) it is istiod-<rev>,
# and during an upgrade there are two.
keep 30 istiod.log kubectl -n "$ISTIO_NS" logs -l app=istiod --all-containers --tail=2000 --prefix --max-log-requests=10
keep 30 istio-ingressgateway.log kubectl -n "$INGRESS_NS" logs deploy/istio-ingressgateway --all-containers --tail=2000
keep 30 istio-egressgateway.log kubectl -n "$EGRESS_NS" logs deploy/istio-egressgateway --all-containers --tail=2000
# ambient's egress gateway: the waypoint istiod deploys for Gateway istio-egress/waypoint.
keep 30 istio-egress-waypoint.log kubectl -n "$EGRESS_NS" logs deploy/waypoint --all-containers --tail=2000
# Istio's kinds by full name: `gateway` alone may mean the Gateway API's.
keep 30 istio-config.yaml kubectl get gateways.networking.istio.io,virtualservices.networking.istio.io,destinationrules.networking.istio.io,serviceentries.networking.istio.io,authorizationpolicies.security.istio.io,peerauthentications.security.istio.io \
  --all-namespaces -o yaml
# The Gateway API's (the gateway-api cells' routes; every ambient cell's waypoints), with status.
keep 30 gateway-api.yaml kubectl get gateways.gateway.networking.k8s.io,httproutes.gateway.networking.k8s.io \
  --all-namespaces -o yaml
# The ambient data plane: ztunnel on every node, istio-cni's node agent.
keep 30 ztunnel.log kubectl -n "$ISTIO_NS" logs ds/ztunnel --all-containers --tail=2000
keep 30 istio-cni-node.log kubectl -n "$ISTIO_NS" logs ds/istio-cni-node --all-containers --tail=2000

if command -v istioctl > /dev/null; then
  # proxy-status asks every pod labelled app=istiod (or --xds-label's) and checks its certificate for
  # istiod-<revision> (istio 1.30.3 istioctl/pkg/multixds/gather.go:84-103, makeSan at :186), a name a
  # revisioned istiod's certificate carries (pilot/pkg/bootstrap/server.go:1060-1062). So one call per
  # revision, each asking only that revision's istiods; one plain call when there is no revision.
  revisions="$(timeout 30 kubectl -n "$ISTIO_NS" get deployments -l app=istiod \
    -o jsonpath='{range .items[*]}{.metadata.labels.istio\.io/rev}{"\n"}{end}' 2> /dev/null | sort -u | grep -vx -e '' -e default)"
  if [[ -z "$revisions" ]]; then
    keep 60 istioctl-proxy-status.txt istioctl proxy-status
  else
    for rev in $revisions; do
      keep 60 "istioctl-proxy-status-$rev.txt" istioctl proxy-status --revision "$rev" --xds-label "app=istiod,istio.io/rev=$rev"
    done
  fi
  keep 120 istioctl-analyze.txt istioctl analyze --all-namespaces
else
  echo "istioctl is not installed in this job: no proxy-status, no analyze" | tee "$out/istioctl-proxy-status.txt" > "$out/istioctl-analyze.txt"
fi

if [[ -n "${STACK:-}" ]]; then keep 30 config.txt pulumi config --stack "$STACK"; fi
# From the node containers, through Docker: works when the API server does not.
keep 180 kind-export-logs.txt kind export logs "$out/kind-logs" --name "$cluster"

# The short ones in the job's log too.
for file in "$out"/pods.txt "$out"/istioctl-proxy-status*.txt "$out"/istioctl-analyze.txt; do
  if [[ -f "$file" ]]; then echo "=== ${file##*/}" && cat "$file"; fi
done
exit 0
