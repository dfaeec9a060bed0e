/**
 * `--svg FILE` / `--html FILE`: the latency distribution of every run as a percentile plot, drawn as
 * HdrHistogram's plotter draws it: the x axis is the percentile on a log scale of 1 / (1 − p), so
 * 90%, 99%, 99.9% and 99.99% are equally spaced and the tail gets the room it deserves; the y axis is
 * the latency in milliseconds. Pure functions of the report; main.ts writes the files.
 */
import { writeFileSync } from "node:fs";
import * as hdr from "hdr-histogram-js";
import type { LoadStats } from "./load";
import type { BenchReport } from "./run";

export interface PlotSeries {
  readonly label: string;
  /** The run's `histogram`: microseconds, HdrHistogram compressed base64. */
  readonly histogram: string;
}

export interface PlotPoint {
  /** log10(1 / (1 − p)): 0 at the median's left end (0%), 1 at 90%, 2 at 99%, ... */
  readonly x: number;
  readonly percentile: number;
  readonly ms: number;
}

const WIDTH = 900;
const HEIGHT = 520;
const MARGIN = { left: 70, right: 20, top: 40, bottom: 60 } as const;
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const TICK_LABELS = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"];

/** Every route's run(s) as plot series: the gateway run, each repeat, the direct run. */
export function seriesOf(report: BenchReport): PlotSeries[] {
  const series: PlotSeries[] = [];
  const add = (label: string, stats: LoadStats) => {
    series.push({ label, histogram: stats.histogram });
  };
  for (const route of report.routes) {
    if (route.repeat) {
      for (const [i, run] of route.repeat.runs.entries()) add(`${route.path} gateway run ${i + 1}`, run);
    } else add(`${route.path} gateway`, route.gateway);
    if (route.direct) add(`${route.path} direct (${route.direct.service})`, route.direct.stats);
  }
  return series;
}

/** The percentile curve of one histogram, sampled evenly along the log axis up to the resolution its count allows. */
export function percentileCurve(histogram: string, step = 0.025): PlotPoint[] {
  const h = hdr.decodeFromCompressedBase64(histogram);
  try {
    if (h.totalCount === 0) return [];
    const maxX = Math.min(6, Math.log10(h.totalCount));
    const points: PlotPoint[] = [];
    for (let x = 0; x <= maxX + 1e-9; x += step) {
      const percentile = 100 * (1 - 10 ** -x);
      points.push({ x, percentile, ms: Math.min(h.getValueAtPercentile(percentile), h.maxValue) / 1000 });
    }
    points.push({ x: maxX, percentile: 100 * (1 - 10 ** -maxX), ms: h.maxValue / 1000 });
    return points;
  } finally {
    h.destroy();
  }
}

export function percentilePlotSvg(series: readonly PlotSeries[], title: string): string {
  const curves = series.map((s) => ({ label: s.label, points: percentileCurve(s.histogram) }));
  const all = curves.flatMap((c) => c.points);
  const maxX = Math.max(1, Math.ceil(Math.max(0, ...all.map((p) => p.x))));
  const maxMs = niceCeiling(Math.max(0.001, ...all.map((p) => p.ms)));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => MARGIN.left + (x / maxX) * plotW;
  const py = (ms: number) => MARGIN.top + plotH - (ms / maxMs) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
  for (let i = 0; i <= maxX; i++) {
    out.push(
      `<line x1="${px(i)}" y1="${MARGIN.top}" x2="${px(i)}" y2="${MARGIN.top + plotH}" stroke="#ddd"/>`,
      `<text x="${px(i)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${TICK_LABELS[i] ?? ""}</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const v = (maxMs * i) / 5;
    out.push(
      `<line x1="${MARGIN.left}" y1="${py(v)}" x2="${MARGIN.left + plotW}" y2="${py(v)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 8}" y="${py(v) + 4}" text-anchor="end">${formatMs(v)}</text>`,
    );
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 18}" text-anchor="middle">percentile (log scale of 1/(1−p))</text>`,
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency (ms)</text>`,
  );
  curves.forEach((curve, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const d = curve.points
      .map((p, j) => `${j === 0 ? "M" : "L"}${px(p.x).toFixed(1)},${py(p.ms).toFixed(1)}`)
      .join(" ");
    if (d) out.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    const y = MARGIN.top + 16 + i * 18;
    out.push(
      `<line x1="${MARGIN.left + 12}" y1="${y - 4}" x2="${MARGIN.left + 36}" y2="${y - 4}" stroke="${colour}" stroke-width="3"/>`,
      `<text x="${MARGIN.left + 42}" y="${y}">${escapeXml(curve.label)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n");
}

export function percentilePlotHtml(series: readonly PlotSeries[], title: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title></head>
<body style="margin:16px;font-family:sans-serif">
${percentilePlotSvg(series, title)}
</body></html>
`;
}

/** Writes `--svg` and `--html`, if asked for. */
export function writePlots(files: { readonly svg?: string; readonly html?: string }, report: BenchReport): void {
  const title = `bench ${report.target.url}: latency by percentile`;
  const series = seriesOf(report);
  if (files.svg) writeFileSync(files.svg, `${percentilePlotSvg(series, title)}\n`);
  if (files.html) writeFileSync(files.html, percentilePlotHtml(series, title));
}

/** 1, 2 or 5 × a power of ten, at or above `v`. */
export function niceCeiling(v: number): number {
  const power = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * power >= v - 1e-12) ?? 10) * power;
}

function formatMs(v: number): string {
  return `${Number(v.toPrecision(3))}`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
