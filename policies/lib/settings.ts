/**
 * Policy settings: the defaults live in each policy's configSchema (the Pulumi CLI fills them in
 * from there) and are applied here again, so a policy behaves the same whoever calls it.
 */
export interface HasConfig {
  getConfig<T extends object>(): T;
}

export function settings<T extends object>(args: HasConfig, defaults: T): T {
  return { ...defaults, ...args.getConfig<Partial<T>>() };
}
