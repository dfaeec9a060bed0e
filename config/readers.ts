import { PROJECT } from "./defaults";
import type { ConfigIssue } from "./issues";
import { didYouMean } from "./suggest";

/** Raw stack config of this project: key without the `istio-mesh:` prefix → value. */
export type RawConfig = Readonly<Record<string, unknown>>;

/** The full key users type and see in messages: `istio-mesh:<name>`. */
export const configKey = (name: string) => `${PROJECT}:${name}`;

/** This project's keys out of a full `namespace:key` config map, prefix stripped. */
export function projectConfig(all: Readonly<Record<string, unknown>>): RawConfig {
  const prefix = `${PROJECT}:`;
  return Object.fromEntries(
    Object.entries(all)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => [k.slice(prefix.length), v]),
  );
}

/** Runs `parse` on a key's value only when the key is set. */
export function optional<T>(
  raw: RawConfig,
  name: string,
  parse: (value: unknown, fullKey: string) => T | undefined,
): T | undefined {
  return raw[name] === undefined ? undefined : parse(raw[name], configKey(name));
}

/**
 * Typed readers over raw config values. Pulumi hands every value over as a string (objects as JSON);
 * a stack file read by the render script hands over real YAML types. Both are accepted.
 * Readers never throw: they record an issue and return undefined.
 */
export class Readers {
  readonly issues: ConfigIssue[] = [];
  /** Objects with an unknown field: a required field missing there is that field, misspelt. */
  private readonly withUnknownField = new Set<string>();

  fail(key: string, value: unknown, allowed: string): undefined {
    this.issues.push({ key, value, allowed });
    return undefined;
  }

  /**
   * A required field of the object at `objectKey` is absent. Not reported when the object has an
   * unknown field, so one misspelt field (`precent`) gives one message, not two.
   */
  missing(objectKey: string, key: string, allowed: string): undefined {
    if (this.withUnknownField.has(objectKey)) return undefined;
    return this.fail(key, undefined, allowed);
  }

  int(key: string, value: unknown, min: number, max: number): number | undefined {
    const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof n === "number" && Number.isInteger(n) && n >= min && n <= max) return n;
    return this.fail(key, value, `an integer from ${min} to ${max}`);
  }

  percent(key: string, value: unknown): number | undefined {
    const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof n === "number" && Number.isFinite(n) && n > 0 && n <= 100) return n;
    return this.fail(key, value, "a number greater than 0 and at most 100");
  }

  string(key: string, value: unknown, pattern: RegExp, allowed: string): string | undefined {
    if (typeof value === "string" && pattern.test(value)) return value;
    return this.fail(key, value, allowed);
  }

  bool(key: string, value: unknown): boolean | undefined {
    if (value === true || value === "true") return true;
    if (value === false || value === "false") return false;
    return this.fail(key, value, "true or false");
  }

  oneOf<T extends string>(key: string, value: unknown, options: readonly T[]): T | undefined {
    const match = options.find((o) => o === value);
    if (match !== undefined) return match;
    return this.fail(key, value, `one of ${options.map((o) => JSON.stringify(o)).join(", ")}`);
  }

  /** A non-empty list of strings matching `pattern`; a JSON string is decoded. */
  stringList(key: string, value: unknown, pattern: RegExp, allowed: string): string[] | undefined {
    let decoded = value;
    if (typeof value === "string") {
      try {
        decoded = JSON.parse(value);
      } catch {
        decoded = value;
      }
    }
    if (
      Array.isArray(decoded) &&
      decoded.length > 0 &&
      decoded.every((v) => typeof v === "string" && pattern.test(v))
    ) {
      return decoded as string[];
    }
    return this.fail(key, value, `a non-empty list of ${allowed}`);
  }

  duration(key: string, value: unknown): string | undefined {
    if (typeof value === "string" && durationMillis(value) !== undefined) return value;
    return this.fail(key, value, 'a duration such as "500ms", "2s", "3m" or "1h"');
  }

  /** An object value; JSON strings are decoded. Unknown fields are reported against `fields`. */
  object(key: string, value: unknown, fields?: readonly string[]): Record<string, unknown> | undefined {
    let decoded = value;
    if (typeof value === "string") {
      try {
        decoded = JSON.parse(value);
      } catch {
        return this.fail(key, value, "an object (set it with `pulumi config set --path`)");
      }
    }
    if (typeof decoded !== "object" || decoded === null || Array.isArray(decoded)) {
      return this.fail(key, value, "an object");
    }
    const record = decoded as Record<string, unknown>;
    if (fields) {
      for (const field of Object.keys(record)) {
        if (fields.includes(field)) continue;
        this.withUnknownField.add(key);
        this.fail(
          `${key}.${field}`,
          record[field],
          `not a field here; ${didYouMean(field, fields)}allowed: ${fields.join(", ")}`,
        );
      }
    }
    return record;
  }
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a single-unit duration ("2s", "1.5m"); undefined if it is not one or is zero. */
export function durationMillis(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (!match) return undefined;
  const [, amount, unit] = match;
  const ms = Number(amount) * (UNIT_MS[unit ?? ""] ?? Number.NaN);
  return ms > 0 ? ms : undefined;
}

/** True for a pinned image reference: a tag other than `latest`, or a sha256 digest. */
export function isPinnedImage(ref: string): boolean {
  const [name = "", digest] = ref.split("@");
  if (digest !== undefined && !/^sha256:[a-f0-9]{64}$/.test(digest)) return false;
  const lastSegment = name.slice(name.lastIndexOf("/") + 1);
  const colon = lastSegment.indexOf(":");
  const tag = colon === -1 ? undefined : lastSegment.slice(colon + 1);
  if (!/^[a-z0-9]+(?:[._/:-][a-z0-9]+)*$/.test(name.replace(/:[^/]*$/, ""))) return false;
  if (tag !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) return false;
  if (tag === "latest") return false;
  return tag !== undefined || digest !== undefined;
}
