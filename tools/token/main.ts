/**
 * Mints a JWT that this stack's RequestAuthentication accepts, signed with the stack's own key.
 *
 *   npm run -s token -- --sub NAME [--ttl 1h] [--claim key=value]... [--stack dev] [--key-file key.pem]
 *
 * Issuer, audiences and the role claim come from the stack's config (parsed by config/, like the
 * program). The key is the `jwtSigningKey` stack output (`pulumi stack output --show-secrets`), or
 * a PKCS#8 PEM file given with --key-file. Prints the token alone, so `TOKEN=$(npm run -s token ...)`.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { mintToken } from "../../components/security/jwt";
import { ConfigError } from "../../config/issues";
import { durationMillis } from "../../config/readers";
import { StackFileError, stackFileConfig } from "../../config/stackFile";
import type { Io } from "../render/main";

const USAGE =
  "usage: npm run -s token -- --sub NAME [--ttl 1h] [--claim key=value]... [--stack dev] [--key-file key.pem]";
/** Claims the token's validation depends on; the script sets them from the stack's config. */
const RESERVED = new Set(["iss", "aud", "sub", "iat", "exp", "nbf"]);
const MAX_TTL_MS = 720 * 3_600_000;

export class TokenError extends Error {
  override name = "TokenError";
}

export interface TokenDeps {
  /** `pulumi stack output <name> --show-secrets --stack <stack>`. */
  readonly stackOutput: (name: string, stack: string) => string;
  readonly now: () => number;
}

const pulumiStackOutput = (name: string, stack: string) =>
  execFileSync("pulumi", ["stack", "output", name, "--show-secrets", "--stack", stack], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });

function parseClaims(pairs: readonly string[]): Record<string, string> {
  const claims: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq);
    if (eq <= 0) throw new TokenError(`--claim ${pair}: expected key=value`);
    if (RESERVED.has(key)) throw new TokenError(`--claim ${key}: set from the stack's config or --sub/--ttl`);
    claims[key] = pair.slice(eq + 1);
  }
  return claims;
}

export async function main(
  argv: string[],
  projectRoot: string,
  io: Io,
  deps: TokenDeps = { stackOutput: pulumiStackOutput, now: Date.now },
): Promise<number> {
  try {
    let values: { sub?: string; ttl?: string; claim?: string[]; stack?: string; "key-file"?: string };
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          sub: { type: "string" },
          ttl: { type: "string" },
          claim: { type: "string", multiple: true },
          stack: { type: "string" },
          "key-file": { type: "string" },
        },
      }));
    } catch (error) {
      throw new TokenError(`${(error as Error).message}\n${USAGE}`);
    }
    if (!values.sub) throw new TokenError(`--sub is required\n${USAGE}`);
    const ttl = values.ttl ?? "1h";
    const ttlMs = durationMillis(ttl);
    if (ttlMs === undefined || ttlMs > MAX_TTL_MS)
      throw new TokenError(`--ttl ${ttl}: a duration up to 720h, e.g. 30m, 1h`);
    const claims = parseClaims(values.claim ?? []);
    const stack = values.stack ?? "dev";
    const cfg = stackFileConfig(projectRoot, stack);
    const key = values["key-file"]
      ? readFileSync(values["key-file"], "utf8")
      : deps.stackOutput("jwtSigningKey", stack);
    const issuedAt = Math.floor(deps.now() / 1000);
    const token = await mintToken(key, cfg.security.jwt, {
      subject: values.sub,
      issuedAt,
      expiresAt: issuedAt + Math.floor(ttlMs / 1000),
      claims,
    });
    io.stdout(token);
    return 0;
  } catch (error) {
    if (error instanceof TokenError || error instanceof ConfigError || error instanceof StackFileError) {
      io.stderr(error.message);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), path.resolve(__dirname, "..", ".."), {
    stdout: (line) => console.log(line),
    stderr: (line) => console.error(line),
  }).then((code) => {
    process.exitCode = code;
  });
}
