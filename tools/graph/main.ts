/**
 * `npm run graph`: a picture of the mesh a stack would build, drawn from the program's own specs
 * (no cluster, no Pulumi CLI), as SVG and as Mermaid text.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../../config/issues";
import { readStackFile, StackFileError, secretProjectKeys } from "../../config/stackFile";
import { CliError, EXIT, parseCli, runCli, stackChoice } from "../lib/cli";
import { meshGraph, meshTitle } from "./graph";
import { toMermaid } from "./mermaid";
import { toSvg } from "./svg";

const HELP = `npm run graph -- [--stack dev] [--out rendered]

Draws the mesh the stack's config would build, from the same specs as \`npm run render\`: the
ingress gateway and its routes (path, header match, weights, faults, retries, circuit breakers),
who may call whom (AuthorizationPolicies over mTLS identities, JWT conditions), callers refused by
STRICT mTLS, and egress to external hosts (through the egress gateway where the mesh routes it).

  --stack NAME   the stack file Pulumi.NAME.yaml (default: $STACK, else dev)
  --out DIR      where to write mesh-<stack>.svg and mesh-<stack>.mmd (default: rendered)

Exit status: 0 written, 2 could not run (bad flag, stack file or config).
`;

export interface Io {
  readonly stdout: (line: string) => void;
}

export function main(argv: readonly string[], projectRoot: string, io: Io): number {
  const cli = parseCli("graph", argv, { stack: { type: "string" }, out: { type: "string" } });
  if (cli === undefined) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const stack = stackChoice(cli.values.stack) ?? "dev";
  const outDir = path.resolve(projectRoot, cli.values.out ?? "rendered");
  let graph: ReturnType<typeof meshGraph>;
  try {
    const stackConfig = readStackFile(path.join(projectRoot, `Pulumi.${stack}.yaml`));
    const secret = secretProjectKeys(stackConfig);
    if (secret.length > 0)
      throw new CliError(`graph cannot decrypt secrets (${secret.join(", ")}); drop them or use another stack`);
    graph = meshGraph(stackConfig);
  } catch (error) {
    if (error instanceof StackFileError || error instanceof ConfigError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
  mkdirSync(outDir, { recursive: true });
  const svg = path.join(outDir, `mesh-${stack}.svg`);
  const mermaid = path.join(outDir, `mesh-${stack}.mmd`);
  writeFileSync(svg, toSvg(graph, meshTitle(stack)));
  writeFileSync(mermaid, `${toMermaid(graph)}\n`);
  io.stdout(
    `graph: ${graph.nodes.length} nodes, ${graph.edges.length} edges for stack ${stack}: ` +
      `${path.relative(projectRoot, svg)}, ${path.relative(projectRoot, mermaid)}`,
  );
  return EXIT.ok;
}

if (require.main === module) {
  runCli("graph", () => main(process.argv.slice(2), path.resolve(__dirname, "..", ".."), { stdout: console.log })).then(
    (code) => {
      process.exitCode = code;
    },
  );
}
