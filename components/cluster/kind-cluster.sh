# The kind-cluster Command's create and delete steps. POSIX sh: @pulumi/command runs them with
# `/bin/sh -c`. This file only defines functions; kindConfig.ts appends the call, and the whole text
# is stored in the stack's state, so `destroy` runs the delete step this stack was created with.
#
# Environment (the Command's `environment`; @pulumi/command adds PULUMI_COMMAND_STDOUT):
#   KIND_CLUSTER_NAME   the cluster's name (a DNS label)
#   KIND_CLUSTER_OWNER  key=value node label that marks a cluster this stack's state created: the value
#                       is a random id kept in the state, so another state with the same stack name
#                       has another one. kind puts it on the nodes at creation (nodes[].labels).
#   KIND_CLUSTER_STACK  key=value label naming the project and stack; the owner label of older code
#   PULUMI_COMMAND_STDOUT  set by @pulumi/command when create reruns for a Command this state already
#                       created (its previous stdout, the kubeconfig); empty on a first create
# create: stdin is the kind config; stdout is the kubeconfig and nothing else (logs go to stderr).
set -eu

kind_cluster_fail() {
  printf '%s\n' "$@" >&2
  exit 1
}

# Whether kind lists the cluster. A failed listing (Docker not running) stops the step: "gone" and
# "not ours" are never guessed.
kind_cluster_listed() {
  clusters=$(kind get clusters) ||
    kind_cluster_fail "kind-cluster: \`kind get clusters\` failed; is Docker running?"
  newline='
'
  case "$newline$clusters$newline" in
  *"$newline$KIND_CLUSTER_NAME$newline"*) return 0 ;;
  esac
  return 1
}

# kubectl inside the control-plane node, as kind itself runs it, so neither a host kubectl nor a
# kubeconfig context is needed.
kind_cluster_kubectl() {
  docker exec "$KIND_CLUSTER_NAME-control-plane" kubectl --kubeconfig=/etc/kubernetes/admin.conf "$@"
}

# The names of the cluster's nodes that carry this state's owner label; fails when they can't be
# read. scripts/pulumi.sh uses it too.
kind_cluster_owned_nodes() {
  kind_cluster_kubectl get nodes --selector="$KIND_CLUSTER_OWNER" --output=name
}

kind_cluster_unreadable() {
  kind_cluster_fail \
    "kind-cluster: kind cluster \"$KIND_CLUSTER_NAME\" exists, but its nodes can't be read, so there is no" \
    "telling whether this stack created it. Start it (docker start $KIND_CLUSTER_NAME-control-plane) and retry," \
    "or delete it yourself (kind delete cluster --name $KIND_CLUSTER_NAME)."
}

# Whether this state created the cluster. Nodes that can't be read stop the step.
kind_cluster_owned() {
  nodes=$(kind_cluster_owned_nodes) || kind_cluster_unreadable
  [ -n "$nodes" ]
}

# A cluster made by code older than the owner id carries only the stack label. It is this state's
# when create reruns for a Command this state created (PULUMI_COMMAND_STDOUT holds the kubeconfig
# it printed then): its nodes get the id, and from then on only the id counts. A fresh state (an
# empty PULUMI_COMMAND_STDOUT) never adopts it.
kind_cluster_adopt_legacy() {
  [ -n "${PULUMI_COMMAND_STDOUT:-}" ] || return 1
  legacy="$KIND_CLUSTER_STACK,!${KIND_CLUSTER_OWNER%%=*}"
  nodes=$(kind_cluster_kubectl get nodes --selector="$legacy" --output=name) || kind_cluster_unreadable
  [ -n "$nodes" ] || return 1
  kind_cluster_kubectl label nodes --selector="$legacy" "$KIND_CLUSTER_OWNER" >&2 || kind_cluster_unreadable
}

# How long the nodes get to turn Ready. `kind create cluster --wait` is no such bound: when it runs
# out, kind prints "WARNING: Timed out waiting for Ready" and exits 0 (kubernetes-sigs/kind,
# pkg/cluster/internal/create/actions/waitforready), and Helm would then install onto NotReady nodes.
KIND_CLUSTER_READY_TIMEOUT=180s

# Waits until every node reports Ready, with the node's own kubectl (as kind's wait does); fails
# with one line when they don't. kubectl's "condition met" lines go to stderr: stdout is the kubeconfig.
kind_cluster_wait_ready() {
  kind_cluster_kubectl wait --for=condition=Ready nodes --all --timeout="$KIND_CLUSTER_READY_TIMEOUT" >&2 ||
    kind_cluster_fail "kind-cluster: the nodes of kind cluster \"$KIND_CLUSTER_NAME\" are not Ready after $KIND_CLUSTER_READY_TIMEOUT; see \`kubectl get nodes\` and \`kind export logs --name $KIND_CLUSTER_NAME\`, or delete it (kind delete cluster --name $KIND_CLUSTER_NAME) and retry"
}

kind_cluster_create() {
  if ! kind_cluster_listed; then
    kind create cluster --name "$KIND_CLUSTER_NAME" --config=- >&2
  elif kind_cluster_owned || kind_cluster_adopt_legacy; then
    printf 'kind-cluster: reusing kind cluster "%s", created by this stack (%s)\n' \
      "$KIND_CLUSTER_NAME" "$KIND_CLUSTER_OWNER" >&2
  else
    kind_cluster_fail \
      "kind-cluster: a kind cluster named \"$KIND_CLUSTER_NAME\" already exists, and this stack did not create it" \
      "(no node has the label $KIND_CLUSTER_OWNER, the id this stack's state keeps; another state of a" \
      "same-named stack, a hand-made cluster or the lab's). It is left alone: adopting it would let" \
      "\`pulumi destroy\` delete it. To proceed, either" \
      "  - delete it, if nothing else needs it:    kind delete cluster --name $KIND_CLUSTER_NAME" \
      "  - or give this stack a cluster of its own: pulumi config set clusterName <another-name>"
  fi
  kind_cluster_wait_ready
  kind get kubeconfig --name "$KIND_CLUSTER_NAME"
}

kind_cluster_delete() {
  if ! kind_cluster_listed; then
    printf 'kind-cluster: kind cluster "%s" is already gone\n' "$KIND_CLUSTER_NAME" >&2
  elif kind_cluster_owned; then
    kind delete cluster --name "$KIND_CLUSTER_NAME" >&2
  else
    printf 'kind-cluster: kind cluster "%s" was not created by this stack'"'"'s state (no node has the label %s); leaving it\n' \
      "$KIND_CLUSTER_NAME" "$KIND_CLUSTER_OWNER" >&2
  fi
}
