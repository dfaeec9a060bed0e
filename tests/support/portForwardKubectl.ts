/**
 * Bash stand-ins for `kubectl port-forward`, for every tool that runs one (bench --direct through
 * tools/lib/portForward.ts, dashboards): one whose cluster is not there, and one that forwards and
 * stays up. Bash, not Node: a node stub costs ~0.06 s of CPU per call, and dashboards runs four.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { which } from "./stubTools";

/** Writes `dir/name`, an executable bash script of `body`, and returns its path. */
function writeBashStub(dir: string, name: string, body: string): string {
  const bash = which("bash");
  if (!bash) throw new Error("bash must be installed to run these tests");
  const bin = path.join(dir, name);
  writeFileSync(bin, `#!${bash}\n${body}`, { mode: 0o755 });
  return bin;
}

/**
 * A kind cluster's kubeconfig once the cluster is gone: a stack's kubeconfig output after the cluster was
 * deleted by hand (`kind delete cluster` takes the context out of ~/.kube/config itself: kind
 * pkg/cluster/internal/delete/delete.go:37, but not out of a copy), or any stale copy. Nothing serves it.
 */
export function deletedClusterKubeconfig(dir: string, server: string): string {
  const file = path.join(dir, `kubeconfig-${new URL(server).host.replace(/\W/g, "-")}`);
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
current-context: kind-lab-cluster
clusters:
- name: kind-lab-cluster
  cluster: {server: "${server}"}
contexts:
- name: kind-lab-cluster
  context: {cluster: kind-lab-cluster, user: kind-lab-cluster}
users:
- name: kind-lab-cluster
  user: {token: s3cret}
`,
  );
  return file;
}

/**
 * kubectl port-forward against a server nothing answers at (the --kubeconfig's, written by
 * deletedClusterKubeconfig), as kubectl v1.32.4 prints it (run against https://127.0.0.1:1 and an
 * unresolvable host): four klog lines of client-go's discovery cache (client-go v0.32.4
 * discovery/cached/memory/memcache.go:265, "Unhandled Error"), each with klog's header
 * `Lmmdd hh:mm:ss.uuuuuu threadid file:line] ` (kubernetes/klog internal/buffer/buffer.go:117
 * FormatHeader, the pid space-padded to 7), then kubectl's own line (kubernetes/kubectl
 * pkg/cmd/util/helpers.go:271 for a refused connection, :273 `Unable to connect to the server: <error>`
 * for the rest), exit 1. The dial or TLS error follows the kubeconfig's server, in Go's own words.
 * A refused connection and a failed DNS lookup fail at once. The other two take client-go's timeouts
 * (client-go v0.35.0 transport/cache.go:112 `Timeout: 30 * time.Second` for the dial, :136
 * `TLSHandshakeTimeout: 10 * time.Second`) for each attempt, so each klog line comes that long after
 * the one before, and kubectl's own line only after the last; here one second of those is 40 ms (the
 * dial 1.2 s, the handshake 0.4 s), against a ready timeout of 0.8 s for our 20 s. Killed meanwhile
 * (SIGTERM, as portForward and dashboards stop it), it stops at once.
 */
export function writeUnreachableKubectl(dir: string): string {
  return writeBashStub(
    dir,
    "kubectl-unreachable",
    `while [ $# -gt 0 ]; do [ "$1" = --kubeconfig ] && kubeconfig=$2; shift; done
server=$(sed -n 's/^ *cluster: {server: "\\([^"]*\\)".*/\\1/p' "$kubeconfig")
attempt=0
case "$server" in
  https://127.0.0.1:1) dial="dial tcp 127.0.0.1:1: connect: connection refused" ;;
  https://no-such-host.invalid:6443) dial="dial tcp: lookup no-such-host.invalid on 127.0.0.53:53: no such host" ;;
  https://10.0.0.1:6443) dial="dial tcp 10.0.0.1:6443: i/o timeout"; attempt=1.2 ;;
  https://10.0.0.2:6443) dial="net/http: TLS handshake timeout"; attempt=0.4 ;;
  *) echo "stub kubectl: no case for server '$server' (kubeconfig \${kubeconfig:-none})" >&2; exit 99 ;;
esac
trap 'kill $! 2>/dev/null; exit 143' TERM
for i in 1 2 3 4; do
  [ "$attempt" = 0 ] || { sleep "$attempt" & wait $!; }
  header="E$(date +'%m%d %H:%M:%S').$(printf '%06d %7d' $((RANDOM * 30)) $$) memcache.go:265] "
  printf '%s"Unhandled Error" err="couldn'\\''t get current server API group list: Get \\\\"%s/api?timeout=32s\\\\": %s"\\n' "$header" "$server" "$dial" >&2
done
case "$dial" in
  *"connection refused") echo "The connection to the server \${server#https://} was refused - did you specify the right host or port?" >&2 ;;
  *) echo "Unable to connect to the server: $dial" >&2 ;;
esac
exit 1
`,
  );
}

/**
 * kubectl port-forward that forwards and stays up: for its last argument `LOCAL:REMOTE` it prints
 * kubectl's two lines for the default address `localhost` on stdout (client-go v0.32.4
 * tools/portforward/portforward.go:303-304, `pf.out`, kubectl's os.Stdout), then becomes a `sleep`
 * (exec: SIGTERM ends it, no orphan), as kubectl runs until a signal (kubernetes/kubectl v0.32.4
 * pkg/cmd/portforward/portforward.go:432-445). Listens on nothing: the tests read what is printed.
 */
export function writeForwardingKubectl(dir: string): string {
  return writeBashStub(
    dir,
    "kubectl-forwarding",
    `ports=\${!#}
echo "Forwarding from 127.0.0.1:\${ports%%:*} -> \${ports#*:}"
echo "Forwarding from [::1]:\${ports%%:*} -> \${ports#*:}"
exec sleep 60
`,
  );
}
