/**
 * What kubectl's stderr says, as one line for a user. kubectl's stderr mixes two things:
 *
 * - klog's log lines, e.g. four of client-go's discovery cache (v0.32.4 discovery/cached/memory/
 *   memcache.go:265) before any command that looks up a resource type on an unreachable server:
 *   `E1202 14:20:01.123456   12345 memcache.go:265] "Unhandled Error" err="couldn't get current server
 *   API group list: Get \"https://127.0.0.1:1/api?timeout=32s\": dial tcp 127.0.0.1:1: connect: connection refused"`.
 *   Their header is k8s.io/klog's `Lmmdd hh:mm:ss.uuuuuu threadid file:line] ` (kubernetes/klog
 *   internal/buffer/buffer.go:117-152 FormatHeader: severity letter from "IWEF" (internal/severity/
 *   severity.go:39), month and day, time to the microsecond, the pid space-padded to 7, file:line).
 *   A value with a newline in it is written over several lines, none with a header: `err=<`, then each
 *   of its lines after a tab, then ` >` (klog v2.130.1 internal/serialize/keyvalues.go:250-292
 *   writeStringValue, for strings and errors: keyvalues_slog.go:69-71, keyvalues_no_slog.go:59-61).
 * - kubectl's own message, last: cmdutil.CheckErr's (kubernetes/kubectl pkg/cmd/util/helpers.go,
 *   v0.30-v0.35), which begins with one of a few fixed phrases (`CHECKERR` below) and may run over
 *   several lines: a usage error ends with `See 'kubectl X -h' for help and examples` (helpers.go:
 *   339-341). For a server it cannot reach it is `The connection to the server HOST:PORT was refused -
 *   did you specify the right host or port?` (helpers.go:271) or `Unable to connect to the server:
 *   <error>` (helpers.go:273), the error being Go's dial or TLS one: `dial tcp: lookup HOST on …: no
 *   such host`, `dial tcp ADDR: i/o timeout`, `net/http: TLS handshake timeout`, `dial tcp ADDR:
 *   connect: no route to host`.
 *
 * So: klog lines dropped, kubectl's own line kept, and a server that is not there said as such, naming
 * the server and the context from the kubeconfig.
 */
import { kubectlTarget } from "./kubeconfig";
import type { ClusterAccess } from "./target";

/** klog's header (see above); `file` may carry a directory with klog's -add_dir_header. */
export const KLOG_HEADER = /^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ [^\s:\]]+:\d+\] /;

/**
 * How each message of kubectl's cmdutil.CheckErr begins (kubernetes/kubectl v0.35.0 pkg/cmd/util/
 * helpers.go): `The request is invalid` (:168), `The KIND "NAME" is invalid` (:178), `Error in
 * configuration: ` (:192), `the server doesn't have a resource type` (:198-204), `error: ` (:215, and
 * :253 `error: You must be logged in to the server`), `Error from server (REASON): ` or `Error from
 * server: ` (:255, :257), `Server returned an unexpected response: ` (:260), `The connection to the
 * server ` (:271), `Unable to connect to the server: ` (:273).
 */
const CHECKERR =
  /^(?:error: |Error from server[ :]|Error in configuration: |The connection to the server |Unable to connect to the server: |Server returned an unexpected response: |the server doesn't have a resource type |The request is invalid|The \S+ ".*" is invalid)/;

/** The network failures that mean nothing answers at the server's address (Go's net and net/http errors). */
const UNREACHABLE =
  /connection refused|no such host|i\/o timeout|TLS handshake timeout|no route to host|network is unreachable/;
const REFUSED = /^The connection to the server (\S+) was refused - did you specify the right host or port\?$/;
const UNABLE = /^Unable to connect to the server: (.*)$/;
/**
 * client-go's exec credential plugin failing (client-go v0.35.0 plugin/pkg/client/auth/exec/exec.go:368
 * `getting credentials: %v`, in kubectl's line or inside a klog `err=`): a client-side failure, whatever
 * words follow, never an unreachable server.
 */
const CREDENTIALS = /getting credentials: /;
/**
 * kubectl port-forward whose local port is taken (a second `npm run dashboards`, a port-forward left
 * running): client-go prints `Unable to listen on port N: Listeners failed to create with the following
 * errors: [… bind: address already in use …]` (client-go v0.35.0 tools/portforward/portforward.go:347,
 * :386, :411), then kubectl's CheckErr `error: unable to listen on any of the requested ports: [{N M}]`
 * (:353; kubectl pkg/cmd/util/helpers.go:211-216 adds `error: `). The reason is in the first.
 */
const LISTEN_FAILED = /^error: unable to listen on any of the requested ports/;
const PORT_TAKEN = /^Unable to listen on port (\d+): .*\bbind: address already in use/;

/** A Go-quoted string (strconv.Quote), as klog writes a message and a value; JSON reads its common escapes. */
const GO_QUOTED = String.raw`"(?:[^"\\]|\\.)*"`;
const KLOG_STRUCTURED = new RegExp(`^(${GO_QUOTED})(?: err=(${GO_QUOTED}))?(.*)$`);

const unquote = (quoted: string): string => {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    // \a, \x.. and the like: Go's, not JSON's; the text as klog wrote it.
    return quoted.slice(1, -1);
  }
};

/**
 * A klog line's message, its header left out; undefined for a line that is no klog line. klog's
 * structured lines (klog.ErrorS, which apimachinery's runtime.HandleError calls with "Unhandled Error":
 * v0.32.4 pkg/util/runtime/runtime.go:150-156,195-199) are `"MESSAGE" err="ERROR" key=value…`, both
 * strings Go-quoted (kubernetes/klog v2.130.1 klog.go:817-819, internal/serialize/keyvalues.go:250-256);
 * they read as `ERROR` for "Unhandled Error", else `MESSAGE: ERROR`, any key=value pairs after.
 */
export function klogMessage(line: string): string | undefined {
  const header = KLOG_HEADER.exec(line);
  if (!header) return undefined;
  const rest = line.slice(header[0].length).trim();
  const structured = KLOG_STRUCTURED.exec(rest);
  if (!structured) return rest;
  const [, message = '""', error, more = ""] = structured;
  const said = unquote(message);
  const text = error === undefined ? said : said === "Unhandled Error" ? unquote(error) : `${said}: ${unquote(error)}`;
  // A value of several lines (`key=<`, its lines after a tab, ` >`: klog internal/serialize/keyvalues.go
  // :275-291) is on the lines after this one, which are no klog lines: its opening is left out here.
  return `${text}${more.replace(/ [\w.-]+=<$/, "")}`.trim();
}

/** kubectl's stderr split: klog's records (a header line and its value's continuation lines) and kubectl's own lines. */
function splitStderr(stderr: string): { klog: string[]; own: string[] } {
  const klog: string[] = [];
  const own: string[] = [];
  let inKlog = false;
  for (const raw of stderr.split("\n")) {
    const line = raw.trimEnd();
    if (KLOG_HEADER.test(line)) {
      klog.push(line);
      inKlog = true;
    } else if (inKlog && (raw.startsWith("\t") || raw.startsWith(" >"))) {
      // A multi-line value's line (`\t…`, an empty one is a lone tab) or its end (` >`, maybe ` > key=…`).
      klog[klog.length - 1] += `\n${line}`;
    } else {
      inKlog = false;
      if (line.trim() !== "") own.push(line);
    }
  }
  return { klog, own };
}

/** kubectl's own lines on stderr: klog's log lines (with their continuation lines) and blank lines left out. */
export function kubectlLines(stderr: string): string[] {
  return splitStderr(stderr).own;
}

export interface KubectlFailure {
  /** One line: kubectl's own (first or last), or, for a server nothing answers at, a sentence saying so. */
  readonly line: string;
  /** The line says there is no cluster to reach: name no command before it, the command is not the matter. */
  readonly unreachable: boolean;
  /** Set when a port-forward's local port is taken (the line says which): it could not start. */
  readonly localPortInUse?: true;
}

/**
 * kubectl's failure as one line. `pick`: which of kubectl's own lines, when it printed several (a
 * multi-object apply prints one per object, the first is the one to read); CheckErr's lines are
 * preferred to the rest, so a usage error's closing hint or a credential plugin's help text (its URL
 * last) is not the line. `cluster`: the access kubectl was given, for the server and context to name.
 * `klog`: when kubectl printed no line of its own (it is still running: port-forward before our timer
 * fires), an unreachable server in one of klog's `err=` values counts, as kubectl would say it later.
 */
export function kubectlFailure(
  stderr: string,
  options: { pick?: "first" | "last"; cluster?: ClusterAccess; env?: NodeJS.ProcessEnv; klog?: boolean } = {},
): KubectlFailure {
  const { klog, own } = splitStderr(stderr);
  const checkErr = own.filter((line) => CHECKERR.test(line));
  const lines = checkErr.length > 0 ? checkErr : own;
  const line = (options.pick === "first" ? lines[0] : lines.at(-1)) ?? "";
  const taken = LISTEN_FAILED.test(line) ? own.map((l) => PORT_TAKEN.exec(l)).find((m) => m !== null) : undefined;
  if (taken) {
    return {
      line: `local port ${taken[1]} is in use (bind: address already in use): is another port-forward running?`,
      unreachable: false,
      localPortInUse: true,
    };
  }
  const refused = REFUSED.exec(line);
  const error = UNABLE.exec(line)?.[1] ?? (line === "" && options.klog ? klogUnreachable(klog) : undefined);
  const why = refused
    ? "connection refused"
    : error !== undefined && !CREDENTIALS.test(error)
      ? UNREACHABLE.exec(error)?.[0]
      : undefined;
  if (why === undefined) return { line, unreachable: false };
  const { context, server } = options.cluster ? kubectlTarget(options.cluster, options.env) : {};
  // Without a kubeconfig that names it, the address kubectl's own message (or klog's) gives.
  const address =
    server ??
    refused?.[1] ??
    /(?:dial tcp |lookup )(\[[^\]]+\]:\d+|[^\s:]+(?::\d+)?)/.exec(error ?? "")?.[1] ??
    /Get \\?"(https?:\/\/[^/\\"]+)/.exec(error ?? "")?.[1];
  const at = address !== undefined ? ` at ${address}` : "";
  const named = context !== undefined ? ` (context ${context})` : "";
  return { line: `no cluster to reach${at}${named}: ${why}; is the cluster up?`, unreachable: true };
}

/** The last of klog's `err=` values that names an unreachable server, if any. */
function klogUnreachable(records: readonly string[]): string | undefined {
  for (const record of [...records].reverse()) {
    const error = / err=(.*)$/s.exec(record)?.[1];
    if (error !== undefined && !CREDENTIALS.test(error) && UNREACHABLE.test(error)) return error;
  }
  return undefined;
}

/** Why kubectl could not be started at all (spawn's error): a missing binary said as such. */
export const kubectlSpawnFailure = (error: NodeJS.ErrnoException): string =>
  error.code === "ENOENT" ? "kubectl is not installed (see `npm run prereqs`)" : error.message;

/** The ClusterAccess that kubectl arguments carry in `--kubeconfig FILE` and `--context NAME`. */
export function clusterOfArgs(args: readonly string[]): ClusterAccess {
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const kubeconfigPath = value("--kubeconfig");
  const context = value("--context");
  return {
    ...(kubeconfigPath !== undefined && { kubeconfigPath }),
    ...(context !== undefined && { context }),
  };
}
