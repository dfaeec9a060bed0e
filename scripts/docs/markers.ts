/**
 * Generated parts of the docs sit between a pair of HTML comments, invisible on GitHub:
 *
 *   <!-- example:verify:begin -->
 *   ...written by `npm run docs:examples`, never by hand...
 *   <!-- example:verify:end -->
 */

export const beginMarker = (name: string) => `<!-- example:${name}:begin -->`;
export const endMarker = (name: string) => `<!-- example:${name}:end -->`;

export class MarkerError extends Error {
  override name = "MarkerError";
}

/** Markers count on a line of their own only, so prose can quote them in backticks. */
const lineIndex = (text: string, marker: string, from = 0): number => {
  for (let at = text.indexOf(marker, from); at !== -1; at = text.indexOf(marker, at + 1)) {
    const ownLine = (at === 0 || text[at - 1] === "\n") && [undefined, "\n"].includes(text[at + marker.length]);
    if (ownLine) return at;
  }
  return -1;
};

function span(text: string, name: string, file: string): { start: number; end: number } {
  const begin = beginMarker(name);
  const start = lineIndex(text, begin);
  const end = lineIndex(text, endMarker(name));
  if (start === -1 || end === -1 || end < start) {
    throw new MarkerError(`${file} has no ${begin} … ${endMarker(name)} pair`);
  }
  if (lineIndex(text, begin, start + 1) !== -1) throw new MarkerError(`${file} has ${begin} twice`);
  return { start: start + begin.length, end };
}

/** What stands between the markers now, without the newlines that frame it. */
export function between(text: string, name: string, file: string): string {
  const { start, end } = span(text, name, file);
  return text.slice(start, end).replace(/^\n/, "").replace(/\n$/, "");
}

/** `text` with `content` between the markers. */
export function replaceBetween(text: string, name: string, content: string, file: string): string {
  const { start, end } = span(text, name, file);
  return `${text.slice(0, start)}\n${content}\n${text.slice(end)}`;
}

/** Every example name a page has markers for. */
export const markerNames = (text: string): string[] =>
  [...text.matchAll(/^<!-- example:([\w-]+):begin -->$/gm)].map((m) => m[1] as string);
