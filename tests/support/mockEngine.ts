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
  mockProgram.runWithMocks(program, { generatedOutputs: tlsOutputs, ...options });
