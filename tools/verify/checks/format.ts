import type { Interval, SplitShare } from "../stats";

export const percent = (x: number): string => (Number.isNaN(x) ? "–" : `${(x * 100).toFixed(1)}%`);
export const range = ([lo, hi]: Interval): string => `[${(lo * 100).toFixed(1)}–${(hi * 100).toFixed(1)}%]`;

/** "v1 89.6% [86.9–92.0%], v2 10.4% [8.0–13.1%]" */
export function describeSplit(shares: Readonly<Record<string, SplitShare>>): string {
  return Object.entries(shares)
    .map(([label, s]) => `${label} ${percent(s.observed)} ${range(s.interval)}`)
    .join(", ");
}
