import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./issues";
import { parseStackConfig } from "./parse";
import type { MeshConfig } from "./types";

/** Reads the stack's config once; a bad value stops the program with a RunError (no stack trace). */
export function loadMeshConfig(): MeshConfig {
  try {
    return parseStackConfig(pulumi.runtime.allConfig());
  } catch (error) {
    if (error instanceof ConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}
