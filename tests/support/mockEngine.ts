/**
 * The mock engine of tools/lib/mockProgram.ts with the outputs @pulumi/tls would compute (a real
 * RSA key, placeholder certificates), so the program's JWKS and demo token are derived for real.
 */
import * as mockProgram from "../../tools/lib/mockProgram";
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

export const runWithMocks: typeof mockProgram.runWithMocks = (program, options = {}) =>
  withPlainStacks(() => mockProgram.runWithMocks(program, { generatedOutputs: tlsOutputs, ...options }));

/**
 * The SDK reads `new Error().stack` for every resource and every input it awaits (debuggablePromise,
 * for its leak report); under tsx each of those stacks is mapped back to the .ts sources, which was
 * two thirds of a program run's CPU here. A mock engine never shows those stacks, so source maps are
 * off while any run is under way, and back on after: a failing test's stack still points at its .ts
 * lines, except one thrown in another suite while a run is in flight.
 */
let runsInFlight = 0;
let sourceMapsBefore = false;
async function withPlainStacks<T>(run: () => Promise<T>): Promise<T> {
  if (runsInFlight++ === 0) {
    sourceMapsBefore = process.sourceMapsEnabled;
    process.setSourceMapsEnabled(false);
  }
  try {
    return await run();
  } finally {
    if (--runsInFlight === 0) process.setSourceMapsEnabled(sourceMapsBefore);
  }
}
