#!/usr/bin/env bash
# What every job of .github/workflows/e2e.yml that runs a cluster (kind, upgrade, existing-istio)
# collects after a failure, a step's timeout or a cancelled run: one list, so no job collects less.
#   usage: scripts/ci/collect-diagnostics.sh <output-dir> <kind-cluster-name>
# $STACK, when set, names the stack whose config is kept too. kubectl's current context is the
# cluster's (kind, and the stack's kind cluster, make it so).
#
# The cluster may be half up or gone, and a tool may be missing: each command has its own time
# limit, writes its output and errors to its own file (a failure adds "(exit N)" or "(timed out …)"),
# and the script goes on to the next. It exits 0 unless called wrongly.
#
# Time budget. A cancelled run, or a job past its own timeout-minutes (the service then cancels it),
# still runs the `cancelled()` steps, but the runner kills the job's worker (cancel-timeout, at least
# 60 s) − 15 s after the cancel (actions/runner v2.336.0 src/Runner.Listener/JobDispatcher.cs:152 and
# :1279-1285, the kill at :679-685): with the default cancel-timeout of 5 minutes
# (src/Sdk/DTPipelines/Pipelines/PipelineConstants.cs:17), 4 min 45 s. This step (timeout-minutes: 3)
# and the upload after it (timeout-minutes: 1) fit in that. So the `keep` limits below add up to
# under 3 minutes with room for the rest of the script (tests/workflows.test.ts adds them up), and the
# most valuable, most robust item comes first: kind export logs reads the node containers through
# Docker and works when the API server does not; then pods and events, istiod's and the gateways'
# logs, the mesh's config, proxy-status and analyze. A kubectl call takes under 2 s on a kind cluster:
# the limits are several times that, and only a hung API server reaches them (then every call does,
# and the sum still fits). Should one ignore the signal, the step's own timeout stops the script and
# the upload keeps what was written. tests/workflows.test.ts runs it against stand-in tools.
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

# From the node containers, through Docker: works when the API server does not. A single-node
# cluster's export takes seconds.
keep 60 kind-export-logs.txt kind export logs "$out/kind-logs" --name "$cluster"

keep 8 pods.txt kubectl get pods --all-namespaces -o wide
keep 8 events.txt kubectl get events --all-namespaces --sort-by=.lastTimestamp
keep 12 pods-describe.txt kubectl describe pods --all-namespaces

# istiod by label, not by name: with revisions (the upgrade job, existing-istio) it is istiod-<rev>,
# and during an upgrade there are two. kubectl reads the pods one after another and, without
# --ignore-errors, the first that fails (a container still creating or crash-looping) ends the
# command and hides the others; with it, that pod's error is written in its place and the next is read
# (kubernetes/kubectl v0.36.0 pkg/cmd/logs/logs.go:425-434 and :437-443; v0.35.0 :431-441).
# --max-log-requests bounds only followed (-f) streams (logs.go:384-395), so it is not passed.
keep 10 istiod.log kubectl -n "$ISTIO_NS" logs -l app=istiod --all-containers --tail=2000 --prefix --ignore-errors
keep 5 istio-ingressgateway.log kubectl -n "$INGRESS_NS" logs deploy/istio-ingressgateway --all-containers --tail=2000
keep 5 istio-egressgateway.log kubectl -n "$EGRESS_NS" logs deploy/istio-egressgateway --all-containers --tail=2000
# ambient's egress gateway: the waypoint istiod deploys for Gateway istio-egress/waypoint.
keep 5 istio-egress-waypoint.log kubectl -n "$EGRESS_NS" logs deploy/waypoint --all-containers --tail=2000
# The ambient data plane: ztunnel on every node, istio-cni's node agent.
keep 5 ztunnel.log kubectl -n "$ISTIO_NS" logs ds/ztunnel --all-containers --tail=2000
keep 5 istio-cni-node.log kubectl -n "$ISTIO_NS" logs ds/istio-cni-node --all-containers --tail=2000

# Istio's kinds by full name: `gateway` alone may mean the Gateway API's.
keep 8 istio-config.yaml kubectl get gateways.networking.istio.io,virtualservices.networking.istio.io,destinationrules.networking.istio.io,serviceentries.networking.istio.io,authorizationpolicies.security.istio.io,peerauthentications.security.istio.io \
  --all-namespaces -o yaml
# The Gateway API's (the gateway-api cells' routes; every ambient cell's waypoints), with status.
keep 5 gateway-api.yaml kubectl get gateways.gateway.networking.k8s.io,httproutes.gateway.networking.k8s.io \
  --all-namespaces -o yaml
keep 5 webhooks.yaml kubectl get mutatingwebhookconfigurations,validatingwebhookconfigurations -o yaml

if command -v istioctl > /dev/null; then
  # One plain call asks every istiod, revisioned or not: it lists the running pods labelled app=istiod
  # in istio-system and queries each in turn (istio 1.30.3 istioctl/pkg/proxystatus/proxystatus.go:175
  # → istioctl/pkg/multixds/gather.go:198, :268, :84-92). The name it makes for the certificate
  # (makeSan, gather.go:186-190) is never checked: the dial skips verification and sets no server name
  # (istioctl/pkg/xds/client.go:104-113); the name is used only with --cert-dir (pkg/adsc/adsc.go:313-320,
  # :366-368). A pod that does not answer fails the whole call (gather.go:122-125); istiod.log has why.
  keep 10 istioctl-proxy-status.txt istioctl proxy-status
  keep 12 istioctl-analyze.txt istioctl analyze --all-namespaces
else
  echo "istioctl is not installed in this job: no proxy-status, no analyze" | tee "$out/istioctl-proxy-status.txt" > "$out/istioctl-analyze.txt"
fi

if [[ -n "${STACK:-}" ]]; then keep 6 config.txt pulumi config --stack "$STACK"; fi

# The short ones in the job's log too.
for file in "$out"/pods.txt "$out"/istioctl-proxy-status.txt "$out"/istioctl-analyze.txt; do
  if [[ -f "$file" ]]; then echo "=== ${file##*/}" && cat "$file"; fi
done
exit 0
