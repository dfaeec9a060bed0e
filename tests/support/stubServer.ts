/**
 * How the stand-ins that keep their behaviour in the test process (stubKubectl.ts, stubPulumi.ts) are
 * called: each call is still a process of its own, started, piped, signalled, killed and exiting as the
 * real tool's, but a bash one. The executable (stubClient) hands the call over 127.0.0.1 to one worker
 * thread of the test process that wrote it (startStubServer), which runs the tool's behaviour and sends
 * back stdout, stderr and the exit code. Bash has /dev/tcp, so a call costs a few ms of CPU, where a node
 * process per call cost ~0.1 s to start and ~0.05 s more to load the behaviour. The server is a worker
 * thread so that it answers while the test's own thread waits in execFileSync or spawnSync.
 *
 * The protocol, one line per item on one connection per call. The client sends `t<tool>`, `d<state dir>`,
 * `c<working directory>` (bash's $PWD: the environment's PWD when it names the current directory, else
 * getcwd's, the rule of Go's os.Getwd in both tools), `i` / `o` when stdin / stdout is a terminal, `e<NAME>=<value>` per variable of
 * the environment the tool reads, `a<argument>` per argument, then `END` (values escaped: `\\` for a
 * backslash, `\n` for a newline). If the tool reads stdin the server asks `STDIN` and gets `.<line>`s and
 * `END` (the final newline is not kept). After `END`, a signal the client traps goes as `s<SIGNAL>`.
 * The server streams output as it is written: a line per line, `1` stdout / `2` stderr, `3` / `4` for a
 * last line without a newline; then `x<exit code>`, or `k<SIGNAL>` for a process that dies by a signal.
 * A call that never ends (a tool waiting until it is killed) gets no answer. A stub whose test process
 * has ended finds no server and fails with one line, exit 2; so does one whose port another tool's server
 * took (a server runs only its own tool's calls, `t`; the same tool's would serve it: the call names its
 * state dir).
 */
import { Worker } from "node:worker_threads";
import { which } from "./stubTools";

/**
 * The server thread's half, as plain JavaScript (no tsx in the thread): `serveCalls(tool)` listens and
 * hands each call to `tool.run(call, output)`, where call = {tool, dir, cwd, env, args, stdinIsTTY,
 * stdoutIsTTY, stdin} and output = {stdout(text), stderr(text)}; run returns {done, signal?}: `done`
 * resolves to the exit code or the signal the process dies by, `signal(name)` takes a forwarded signal.
 * `tool.readsStdin(call)` says whether to ask for stdin first.
 */
const SERVE_CALLS = String.raw`
const net = require("node:net");
const { workerData } = require("node:worker_threads");

const unescape = (text) => text.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
function encode(text, line, last) {
  if (text === "") return "";
  const lines = text.split("\n");
  const tail = lines.pop();
  return lines.map((l) => line + l + "\n").join("") + (tail === "" ? "" : last + tail + "\n");
}

function serveCalls(tool) {
  const server = net.createServer((socket) => {
    socket.setEncoding("utf8");
    socket.on("error", () => {});
    const call = { tool: "", dir: "", cwd: "", env: {}, args: [], stdinIsTTY: false, stdoutIsTTY: false, stdin: "" };
    let ended = false;
    const send = (text) => {
      if (!ended && text !== "") socket.write(text);
    };
    const output = { stdout: (text) => send(encode(text, "1", "3")), stderr: (text) => send(encode(text, "2", "4")) };
    const finish = (outcome) => {
      if (ended) return;
      ended = true;
      socket.end((typeof outcome === "number" ? "x" : "k") + outcome + "\n");
    };
    socket.on("close", () => {
      ended = true;
    });
    let stdin;
    let running;
    // What node does with an uncaught exception: the stack on stderr, exit 1.
    const crash = (error) => {
      output.stderr(String((error && error.stack) || error) + "\n");
      finish(1);
    };
    const start = () => {
      try {
        running = tool.run(call, output);
      } catch (error) {
        running = { done: Promise.reject(error) };
      }
      running.done.then(finish, crash);
    };
    const receive = (line) => {
      if (running) {
        if (line[0] !== "s" || !running.signal || ended) return;
        try {
          running.signal(line.slice(1));
        } catch (error) {
          crash(error);
        }
      } else if (stdin) {
        if (line !== "END") stdin.push(line.slice(1));
        else {
          call.stdin = stdin.join("\n");
          start();
        }
      } else if (line === "END") {
        if (call.tool !== workerData.tool) {
          // A stub whose own server has gone, and whose port another one took.
          const port = server.address().port;
          output.stderr(call.tool + " stub: 127.0.0.1:" + port + " is not its server (the test process that wrote it has ended)\n");
          finish(2);
        } else if (tool.readsStdin && tool.readsStdin(call)) {
          stdin = [];
          socket.write("STDIN\n");
        } else start();
      } else {
        const value = unescape(line.slice(1));
        if (line[0] === "t") call.tool = value;
        else if (line[0] === "d") call.dir = value;
        else if (line[0] === "c") call.cwd = value;
        else if (line[0] === "i") call.stdinIsTTY = true;
        else if (line[0] === "o") call.stdoutIsTTY = true;
        else if (line[0] === "a") call.args.push(value);
        else if (line[0] === "e") {
          const eq = value.indexOf("=");
          call.env[value.slice(0, eq)] = value.slice(eq + 1);
        }
      }
    };
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk;
      for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        receive(line);
      }
    });
  });
  server.listen(0, "127.0.0.1", () => {
    Atomics.store(workerData.port, 0, server.address().port);
    Atomics.notify(workerData.port, 0);
  });
}
`;

const servers = new Map<string, number>();

/**
 * The port of this process's server thread for `tool`, started on first use from `source` (plain
 * JavaScript that calls serveCalls; it may `require`). Unref'd: it never keeps a test process alive.
 */
export function startStubServer(tool: string, source: () => string): number {
  const known = servers.get(tool);
  if (known !== undefined) return known;
  const port = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(`${SERVE_CALLS}\n${source()}`, { eval: true, workerData: { tool, port }, execArgv: [] });
  worker.unref();
  if (Atomics.wait(port, 0, 0, 60_000) === "timed-out") throw new Error(`the stub ${tool}'s server did not start`);
  const listening = Atomics.load(port, 0);
  servers.set(tool, listening);
  return listening;
}

export interface StubClient {
  /** The tool's name, in the client's own failure lines. */
  readonly tool: string;
  /** The server's port (startStubServer). */
  readonly port: number;
  /** The stand-in's state directory: the call's `dir`. */
  readonly dir: string;
  /** The environment variables the tool reads, by name; `PREFIX_*` names every variable with that prefix. */
  readonly env?: readonly string[];
  /** Signals the process traps and forwards (the tool's handlers run in the server); others act as by default. */
  readonly signals?: readonly ("INT" | "TERM")[];
}

/** The executable (see the protocol above): a bash script, bash found on PATH as stubTools.ts does. */
export function stubClient({ tool, port, dir, env = [], signals = [] }: StubClient): string {
  const bash = which("bash");
  if (!bash) throw new Error(`bash must be installed to run the stub ${tool}`);
  const escaped = dir.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
  // One case pattern: a `PREFIX_*` entry is a pattern already, and no name the tools read needs quoting.
  const names = env.join("|");
  return `#!${bash}
# The stub ${tool}: a call handed to a thread of the test process that wrote this file (tests/support/stubServer.ts).
{ exec 3<>/dev/tcp/127.0.0.1/${port}; } 2>/dev/null ||
  { echo "${tool} stub: no server on 127.0.0.1:${port} (the test process that wrote this stub has ended)" >&2; exit 2; }
printf 't%s\\nd%s\\n' ${tool} ${shellQuote(escaped)} >&3
cwd=\${PWD//\\\\/\\\\\\\\}
printf 'c%s\\n' "\${cwd//$'\\n'/\\\\n}" >&3
if [[ -t 0 ]]; then printf 'i\\n' >&3; fi
if [[ -t 1 ]]; then printf 'o\\n' >&3; fi
${
  names === ""
    ? ""
    : `# The exported variables only (compgen -e): bash itself sets TERM=dumb, unexported, when the environment
# has none. compgen and case, not \${!name@a}, so that macOS's bash 3.2 runs this too.
while IFS= read -r name; do
  case "$name" in ${names}) ;; *) continue ;; esac
  value=\${!name//\\\\/\\\\\\\\}
  printf 'e%s=%s\\n' "$name" "\${value//$'\\n'/\\\\n}" >&3
done < <(compgen -e)
`
}for arg in "$@"; do
  arg=\${arg//\\\\/\\\\\\\\}
  printf 'a%s\\n' "\${arg//$'\\n'/\\\\n}" >&3
done
printf 'END\\n' >&3
${signals.map((signal) => `trap 'printf "sSIG${signal}\\n" >&3 2>/dev/null' ${signal}\n`).join("")}while IFS= read -r -u 3 line; do
  case "$line" in
    STDIN)
      while IFS= read -r input || [[ -n $input ]]; do printf '.%s\\n' "$input" >&3; done
      printf 'END\\n' >&3 ;;
    1*) printf '%s\\n' "\${line:1}" ;;
    2*) printf '%s\\n' "\${line:1}" >&2 ;;
    3*) printf '%s' "\${line:1}" ;;
    4*) printf '%s' "\${line:1}" >&2 ;;
    x*) exit "\${line:1}" ;;
    k*) trap - "\${line:4}"; kill -s "\${line:4}" $$ ;;
  esac
done
echo "${tool} stub: the server closed the call without an answer" >&2
exit 2
`;
}

const shellQuote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;
