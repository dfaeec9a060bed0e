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
 * - kubectl's own message, last: cmdutil.CheckErr's (kubernetes/kubectl pkg/cmd/util/helpers.go), which
 *   for a server it cannot reach is `The connection to the server HOST:PORT was refused - did you specify
 *   the right host or port?` (helpers.go:272) or `Unable to connect to the server: <error>` (helpers.go:274),
 *   the error being Go's dial or TLS one: `dial tcp: lookup HOST on …: no such host`, `dial tcp ADDR:
 *   i/o timeout`, `net/http: TLS handshake timeout`, `dial tcp ADDR: connect: no route to host`.
 *
 * So: klog lines dropped, kubectl's own line kept, and a server that is not there said as such, naming
 * the server and the context from the kubeconfig.
 */
import { kubectlTarget } from "./kubeconfig";
import type { ClusterAccess } from "./target";

/** klog's header (see above); `file` may carry a directory with klog's -add_dir_header. */
export const KLOG_HEADER = /^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ [^\s:\]]+:\d+\] /;

/** The network failures that mean nothing answers at the server's address (Go's net and net/http errors). */
const UNREACHABLE =
  /connection refused|no such host|i\/o timeout|TLS handshake timeout|no route to host|network is unreachable/;
const REFUSED = /^The connection to the server (\S+) was refused - did you specify the right host or port\?$/;
const UNABLE = /^Unable to connect to the server: (.*)$/;

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
  return `${text}${more}`.trim();
}

/** kubectl's own lines on stderr: klog's log lines and blank lines left out. */
export function kubectlLines(stderr: string): string[] {
  return stderr
    .split("\n")
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== "" && !KLOG_HEADER.test(line));
}

export interface KubectlFailure {
  /** One line: kubectl's own (first or last), or, for a server nothing answers at, a sentence saying so. */
  readonly line: string;
  /** The line says there is no cluster to reach: name no command before it, the command is not the matter. */
  readonly unreachable: boolean;
}

/**
 * kubectl's failure as one line. `pick`: which of kubectl's own lines, when it printed several (a
 * multi-object apply prints one per object, the first is the one to read; a command's usage error
 * ends with its hint). `cluster`: the access kubectl was given, for the server and context to name.
 */
export function kubectlFailure(
  stderr: string,
  options: { pick?: "first" | "last"; cluster?: ClusterAccess; env?: NodeJS.ProcessEnv } = {},
): KubectlFailure {
  const lines = kubectlLines(stderr);
  const line = (options.pick === "first" ? lines[0] : lines.at(-1)) ?? "";
  const refused = REFUSED.exec(line);
  const unable = UNABLE.exec(line);
  const why = refused ? "connection refused" : unable?.[1] ? UNREACHABLE.exec(unable[1])?.[0] : undefined;
  if (why === undefined) return { line, unreachable: false };
  const { context, server } = options.cluster ? kubectlTarget(options.cluster, options.env) : {};
  // Without a kubeconfig that names it, the address kubectl's own message gives.
  const address =
    server ?? refused?.[1] ?? /(?:dial tcp |lookup )(\[[^\]]+\]:\d+|[^\s:]+(?::\d+)?)/.exec(unable?.[1] ?? "")?.[1];
  const at = address !== undefined ? ` at ${address}` : "";
  const named = context !== undefined ? ` (context ${context})` : "";
  return { line: `no cluster to reach${at}${named}: ${why}; is the cluster up?`, unreachable: true };
}

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
