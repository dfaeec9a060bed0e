/**
 * Mints a JWT that this stack's RequestAuthentication accepts, signed with the stack's own key.
 * `npm run -s token -- --help` for the flags; prints the token alone, so `TOKEN=$(npm run -s token ...)`.
 *
 * Issuer, audiences and the role claim come from the stack's config, parsed by config/ like the
 * program; the stack comes from tools/lib/target.ts like every tool's. The key is the stack's
 * `jwtSigningKey` output, or a PKCS#8 PEM file given with --key-file.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { mintToken } from "../../components/security/jwt";
import { durationMillis } from "../../config/readers";
import { CliError, EXIT, parseCli, runCli } from "../lib/cli";
import { type PulumiCli, resolveStack } from "../lib/target";

export const HELP = `usage: npm run -s token -- --sub NAME [--ttl 1h] [--claim key=value]... [stack] [--key-file key.pem]

Prints a JWT the stack's RequestAuthentication accepts: issuer, audiences and the role claim from the
stack's config, signed with the stack's own key.

  --sub NAME                 the token's subject (required)
  --ttl 1h                   lifetime, up to 720h (default 1h)
  --claim key=value          an extra claim; repeat for more (iss, aud, sub, iat, exp, nbf are set here)
  --key-file key.pem         sign with this PKCS#8 PEM instead of the stack's jwtSigningKey output

stack (default: the selected stack, through the Pulumi CLI: its config and jwtSigningKey output;
PULUMI_CONFIG_PASSPHRASE for a passphrase-protected stack)
  --stack NAME               a stack other than the selected one (Pulumi CLI); or STACK=NAME
  --config Pulumi.<s>.yaml   read the stack file instead; needs no Pulumi CLI, and so --key-file

Exit status: 0 token printed, 2 could not mint one (bad flag, config, key file, Pulumi CLI or passphrase).`;

const OPTIONS = {
  sub: { type: "string" },
  ttl: { type: "string" },
  claim: { type: "string", multiple: true },
  stack: { type: "string" },
  config: { type: "string" },
  "key-file": { type: "string" },
} as const;

/** Claims the token's validation depends on; the script sets them from the stack's config. */
const RESERVED = new Set(["iss", "aud", "sub", "iat", "exp", "nbf"]);
const MAX_TTL_MS = 720 * 3_600_000;

export interface TokenIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

export interface TokenDeps {
  /** The Pulumi CLI (default: the real one, run in the project). */
  readonly pulumi?: PulumiCli;
  readonly now: () => number;
  /** STACK and PULUMI_CONFIG_PASSPHRASE* (default: process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

function parseClaims(pairs: readonly string[]): Record<string, string> {
  const claims: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq);
    if (eq <= 0) throw new CliError(`--claim ${pair}: expected key=value`);
    if (RESERVED.has(key)) throw new CliError(`--claim ${key}: set from the stack's config or --sub/--ttl`);
    claims[key] = pair.slice(eq + 1);
  }
  return claims;
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new CliError(`cannot read --key-file ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

/** The CLI; never throws: a failure is one line on stderr and the exit code --help documents. */
export function main(
  argv: readonly string[],
  projectRoot: string,
  io: TokenIo,
  deps: TokenDeps = { now: Date.now },
): Promise<number> {
  return runCli(
    "token",
    async () => {
      const parsed = parseCli("token", argv, OPTIONS);
      if (parsed === undefined) {
        io.stdout(HELP);
        return EXIT.ok;
      }
      const { values } = parsed;
      if (!values.sub) throw new CliError("--sub is required (see npm run token -- --help)");
      const ttl = values.ttl ?? "1h";
      const ttlMs = durationMillis(ttl);
      if (ttlMs === undefined || ttlMs > MAX_TTL_MS)
        throw new CliError(`--ttl ${ttl}: a duration up to 720h, e.g. 30m, 1h`);
      const claims = parseClaims(values.claim ?? []);
      if (values.config !== undefined && values["key-file"] === undefined) {
        throw new CliError("--config reads no stack outputs, so no jwtSigningKey: pass --key-file too");
      }
      // A key file first: a typo in its path costs no Pulumi CLI call.
      const keyFromFile = values["key-file"] === undefined ? undefined : readKeyFile(values["key-file"]);
      const stack = await resolveStack(
        { stack: values.stack, config: values.config },
        { projectRoot, ...(deps.pulumi && { pulumi: deps.pulumi }), ...(deps.env && { env: deps.env }) },
      );
      const key = keyFromFile ?? stack.signingKey;
      if (key === undefined) throw new CliError(`${stack.source} has no jwtSigningKey output: is it up?`);
      const issuedAt = Math.floor(deps.now() / 1000);
      let token: string;
      try {
        token = await mintToken(key, stack.config.security.jwt, {
          subject: values.sub,
          issuedAt,
          expiresAt: issuedAt + Math.floor(ttlMs / 1000),
          claims,
        });
      } catch (error) {
        // jose's own words for a key that is not a PKCS#8 PEM of the right type.
        throw new CliError(`cannot sign with the key: ${(error as Error).message}`);
      }
      io.stdout(token);
      return EXIT.ok;
    },
    io.stderr,
  );
}

if (require.main === module) {
  main(process.argv.slice(2), path.resolve(__dirname, "..", ".."), {
    stdout: (line) => console.log(line),
    stderr: (line) => console.error(line),
  }).then((code) => {
    process.exitCode = code;
  });
}
