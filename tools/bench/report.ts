/** The bench report as a table for people; `--json` prints the BenchReport itself. */
import type { LoadStats } from "./load";
import type { BenchReport, MeshCost, ReportedLoad } from "./run";

export function formatReport(report: BenchReport): string {
  const header = ["route", "via", "req/s", "p50", "p90", "p99", "max", "responses", "errors"];
  const rows: string[][] = [];
  for (const route of report.routes) {
    rows.push([route.path, "gateway", ...statsCells(route.gateway)]);
    if (route.direct) rows.push(["", `direct (${route.direct.service})`, ...statsCells(route.direct.stats)]);
    if (route.meshCost) rows.push(["", "mesh cost", ...costCells(route.meshCost)]);
  }
  const lines = [
    `bench ${report.target.url} (${report.target.source})`,
    `load per route: ${describeShape(report.load)}`,
    "",
    ...table(header, rows),
  ];
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
    shape.rate !== undefined ? `${shape.rate} req/s overall` : "as fast as it goes",
  ];
  return parts.join(" · ");
}

function statsCells(s: LoadStats): string[] {
  return [
    s.requestsPerSecond.toFixed(1),
    ms(s.latencyMs.p50),
    ms(s.latencyMs.p90),
    ms(s.latencyMs.p99),
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

/** Left-aligned text columns, right-aligned figures; the last column is free text. */
function table(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  const leftAligned = new Set([0, 1, header.length - 1]);
  return all.map((row) =>
    row
      .map((cell, i) => (leftAligned.has(i) ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}
