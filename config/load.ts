import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "./defaults";
import { ConfigError } from "./issues";
import { parseMeshConfig, type RawConfig } from "./parse";
import type { MeshConfig } from "./types";

/** This project's keys out of a full `namespace:key` config map, prefix stripped. */
export function projectConfig(all: Readonly<Record<string, unknown>>): RawConfig {
  const prefix = `${PROJECT}:`;
  return Object.fromEntries(
    Object.entries(all)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => [k.slice(prefix.length), v]),
  );
}

/** Reads the stack's config once; a bad value stops the program with a RunError (no stack trace). */
export function loadMeshConfig(): MeshConfig {
  try {
    return parseMeshConfig(projectConfig(pulumi.runtime.allConfig()));
  } catch (error) {
    if (error instanceof ConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}
