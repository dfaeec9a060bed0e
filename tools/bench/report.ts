/** The bench report as a table for people; `--json` prints the BenchReport itself. */
import type { LoadStats, OpenModelStats } from "./load";
import type { MedianInterval, RepeatSummary } from "./repeat";
import type { BenchReport, MeshCost, ReportedLoad } from "./run";

export function formatReport(report: BenchReport): string {
  const header = ["route", "via", "req/s", "p50", "p90", "p99", "p99.9", "max", "responses", "errors"];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const route of report.routes) {
    rows.push([route.path, "gateway", ...statsCells(route.gateway)]);
    if (route.direct) rows.push(["", `direct (${route.direct.service})`, ...statsCells(route.direct.stats)]);
    if (route.meshCost) rows.push(["", "mesh cost", ...costCells(route.meshCost)]);
    const open = route.gateway.open;
    if (open) notes.push(`${route.path}: ${describeOpen(open)}`);
    if (route.repeat) notes.push(`${route.path}: ${describeRepeat(route.repeat.summary)}`);
    for (const warning of route.warnings) notes.push(`${route.path}: warning: ${warning}`);
  }
  const lines = [
    `bench ${report.target.url} (${report.target.source})`,
    `load per route: ${describeShape(report.load)}`,
    "",
    ...table(header, rows),
  ];
  if (notes.length > 0) lines.push("", ...notes);
  if (report.routes.some((r) => r.meshCost)) {
    lines.push(
      "",
      "mesh cost = gateway − direct. direct goes through kubectl port-forward to the pod's app port: no gateway, no sidecar.",
    );
  }
  if (report.interrupted) lines.push("", "interrupted: the routes above were measured, the rest were not.");
  return lines.join("\n");
}

export function describeShape(shape: ReportedLoad): string {
  const parts = [
    `${shape.concurrency} connection${shape.concurrency === 1 ? "" : "s"}`,
    shape.requests !== undefined ? `${shape.requests} requests` : formatSeconds(shape.durationMs ?? 0),
    shape.rate !== undefined
      ? `${shape.rate} req/s ${shape.arrivals ?? "constant"} arrivals, latency from each intended start`
      : "as fast as it goes",
  ];
  if (shape.threads > 1) parts.push(`${shape.threads} threads`);
  if (shape.repeat > 1) parts.push(`${shape.repeat} runs`);
  return parts.join(" · ");
}

/** `offered 100 req/s, achieved 99.8, 0 dropped · send lag p99 0.41ms · service time p50 0.31ms p99 1.20ms (uncorrected)` */
export function describeOpen(open: OpenModelStats): string {
  return (
    `offered ${open.offeredRate} req/s, achieved ${open.achievedRate}, ${open.dropped} of ${open.scheduled} dropped` +
    ` · send lag p99 ${ms(open.sendLagMs.p99)} max ${ms(open.sendLagMs.max)}` +
    ` · service time p50 ${ms(open.serviceTimeMs.p50)} p99 ${ms(open.serviceTimeMs.p99)} (from the actual send, uncorrected)`
  );
}

/** `median of 5 runs [93.8% interval]: 1234 req/s [1200–1302] · p50 ... · p99 ...` */
export function describeRepeat(s: RepeatSummary): string {
  const range = (i: MedianInterval, f: (n: number) => string) => `${f(i.median)} [${f(i.low)}–${f(i.high)}]`;
  const rps = (n: number) => n.toFixed(1);
  return (
    `median of ${s.runs} runs [${(100 * s.confidence).toFixed(1)}% interval]: ${range(s.requestsPerSecond, rps)} req/s` +
    ` · p50 ${range(s.p50Ms, ms)} · p90 ${range(s.p90Ms, ms)} · p99 ${range(s.p99Ms, ms)} · p99.9 ${range(s.p999Ms, ms)}`
  );
}

function statsCells(s: LoadStats): string[] {
  return [
    s.requestsPerSecond.toFixed(1),
    ms(s.latencyMs.p50),
    ms(s.latencyMs.p90),
    ms(s.latencyMs.p99),
    ms(s.latencyMs.p999),
    ms(s.latencyMs.max),
    String(s.responses),
    errorsCell(s),
  ];
}

function costCells(c: MeshCost): string[] {
  const sign = (n: number) => (n > 0 ? "+" : n < 0 ? "−" : "±");
  return [
    `${sign(c.requestsPerSecond)}${Math.abs(c.requestsPerSecond).toFixed(1)}`,
    `${sign(c.p50Ms)}${ms(Math.abs(c.p50Ms))}`,
    `${sign(c.p90Ms)}${ms(Math.abs(c.p90Ms))}`,
    `${sign(c.p99Ms)}${ms(Math.abs(c.p99Ms))}`,
    "",
    "",
    "",
    "",
  ];
}

/** `none`, or the share of failed requests and each cause: `30.2%: 500×302, timeout×1`. */
export function errorsCell(s: LoadStats): string {
  if (s.errorCount === 0) return "none";
  const transport = Object.entries(s.errors)
    .filter(([k]) => !/^\d+$/.test(k))
    .reduce((n, [, v]) => n + v, 0);
  const attempts = s.responses + transport;
  const share = attempts === 0 ? 100 : (100 * s.errorCount) / attempts;
  const causes = Object.entries(s.errors).map(([k, v]) => `${k}×${v}`);
  return `${share.toFixed(1)}%: ${causes.join(", ")}`;
}

/** Milliseconds with about three significant digits. */
export function ms(value: number): string {
  if (value >= 100) return `${value.toFixed(0)}ms`;
  if (value >= 10) return `${value.toFixed(1)}ms`;
  return `${value.toFixed(2)}ms`;
}

function formatSeconds(millis: number): string {
  return millis % 1000 === 0 ? `${millis / 1000}s` : `${millis}ms`;
}

/** Left-aligned text columns (default: the first two and the last, free text), right-aligned figures. */
export function table(header: string[], rows: string[][], textColumns = [0, 1, header.length - 1]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  const leftAligned = new Set(textColumns);
  return all.map((row) =>
    row
      .map((cell, i) => (leftAligned.has(i) ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}
