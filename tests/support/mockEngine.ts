/**
 * The mock engine of tools/lib/mockProgram.ts with the outputs @pulumi/tls would compute (a real
 * RSA key, placeholder certificates), so the program's JWKS and demo token are derived for real.
 *
 * A program under test is offline, whatever the machine has: the pinned files it fetches when it runs
 * (Grafana's dashboards, components/pinnedFiles.ts) fail as Node's fetch fails without DNS (ENOTFOUND),
 * and their cache is an empty directory, not the user's ~/.cache. So a run is the same on a laptop with
 * a warm cache, on a CI runner with a network, and here; it writes nothing to the home directory; and a
 * network that drops packets instead of refusing them costs no fetch timeout. tests/grafanaDashboards
 * .test.ts covers the fetch itself with stand-ins.
 */
import * as mockProgram from "../../tools/lib/mockProgram";
import { scratchDir } from "./scratchDir";
import { tlsOutputs } from "./tlsMocks";

export {
  FAKE_KUBECONFIG,
  inspect,
  MOCK_RANDOM_HEX,
  type MockOptions,
  type MockRun,
  RANDOM_ID,
  RANDOM_PASSWORD,
  type Registered,
  type RegisteredOptions,
  resolved,
  unknownValue,
} from "../../tools/lib/mockProgram";

/** fetch as Node's fails with no network: DNS does not resolve (undici: TypeError, cause ENOTFOUND). */
const offlineFetch: typeof fetch = async () => {
  throw new TypeError("fetch failed", {
    cause: Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" }),
  });
};

let emptyCache: string | undefined;
function emptyCacheHome(): string {
  if (!emptyCache) {
    emptyCache = scratchDir("mock-engine-cache-");
  }
  return emptyCache;
}

/**
 * Runs `program` with fetch offline and XDG_CACHE_HOME empty. The program starts its fetches and reads
 * its cache location while it runs synchronously (loadPinnedFiles takes fetch and the directory when
 * called), so both are swapped back as soon as it returns.
 */
function offline<T>(program: () => T): () => T {
  return () => {
    const fetchBefore = globalThis.fetch;
    const cacheBefore = process.env.XDG_CACHE_HOME;
    globalThis.fetch = offlineFetch;
    process.env.XDG_CACHE_HOME = emptyCacheHome();
    try {
      return program();
    } finally {
      globalThis.fetch = fetchBefore;
      if (cacheBefore === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = cacheBefore;
    }
  };
}

export const runWithMocks: typeof mockProgram.runWithMocks = (program, options = {}) =>
  mockProgram.runWithMocks(offline(program), { generatedOutputs: tlsOutputs, ...options });
