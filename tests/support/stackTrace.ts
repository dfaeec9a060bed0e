/** A Node stack frame (`    at fn (file.ts:1:2)`): never in what a CLI prints, whatever failed. */
export const STACK_TRACE = /^\s+at .+[:(]\d+/m;
