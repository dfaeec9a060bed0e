const entry = require.resolve("../../index");

/** Runs index.ts, the program `pulumi up` runs; it runs on import, so every call loads a fresh copy. */
export function loadIndex(): Record<string, unknown> {
  delete require.cache[entry];
  return require(entry);
}
