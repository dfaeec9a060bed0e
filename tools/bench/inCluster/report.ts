/** The in-cluster report for people; `--json` prints the InClusterReport itself. */
import { ms, table as textTable } from "../report";
import type { AddedLatency, InClusterReport, ProxyUsage } from "./run";

export function formatInClusterReport(r: InClusterReport): string {
  const { load, published: pub } = r;
  const lines = [
    `in-cluster bench: ${r.image}, ${load.rate} req/s, ${load.connections} connections, ${load.durationSeconds}s per path, ` +
      `${load.payloadBytes / 1024} kB payload (namespace ${r.namespace}, deleted after the run)`,
    "",
    ...table(
      ["path", "req/s", "p50", "p90", "p99", "p99.9", "max", "requests", "statuses"],
      (["baseline", "mesh", "ingress"] as const).map((path) => {
        const p = r.paths[path];
        const statuses = Object.entries(p.statuses)
          .map(([code, n]) => `${code}×${n}`)
          .join(", ");
        const l = p.latencyMs;
        return [
          path,
          String(p.achievedRate),
          ms(l.p50),
          ms(l.p90),
          ms(l.p99),
          ms(l.p999),
          ms(l.max),
          String(p.requests),
          statuses,
        ];
      }),
    ),
    "",
    ...table(
      ["latency added over the baseline", "p50", "p90", "p99"],
      [
        ["mesh: 2 sidecars, STRICT mTLS", ...addedCells(r.added.mesh)],
        ["ingress: gateway + server sidecar", ...addedCells(r.added.ingress)],
        [
          `Istio ${pub.latencyIstioVersion} published (2 sidecars)`,
          "",
          `+${ms(pub.addedP90Ms)}`,
          `+${ms(pub.addedP99Ms)}`,
        ],
      ],
    ),
    "",
  ];
  if ("unavailable" in r.proxies) lines.push(`istio-proxy CPU and memory: not measured: ${r.proxies.unavailable}`);
  else {
    lines.push(
      ...table(
        ["istio-proxy, mesh run", "vCPU", "MB", "vCPU per 1000 req/s", "MB per 1000 req/s"],
        [
          ["client sidecar", ...usageCells(r.proxies.client)],
          ["server sidecar", ...usageCells(r.proxies.server)],
          [
            `Istio ${pub.istioVersion} published, per sidecar`,
            "",
            "",
            String(pub.sidecarVcpuPer1000Rps),
            String(pub.sidecarMemoryMb),
          ],
        ],
      ),
      `(Prometheus container metrics over the ${r.proxies.windowSeconds}s before the mesh Job completed, ${r.proxies.windowEnd})`,
    );
  }
  lines.push(
    "",
    `Istio's figures: ${pub.settings}; hardware ${pub.hardware}.`,
    `Sources: ${pub.source} (resources), ${pub.latencySource} (latency).`,
  );
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join("\n");
}

/** Only the first column is text, and the statuses of the path table. */
const table = (header: string[], rows: string[][]) =>
  textTable(header, rows, header.at(-1) === "statuses" ? [0, header.length - 1] : [0]);

function addedCells(a: AddedLatency): string[] {
  const signed = (n: number) => `${n >= 0 ? "+" : "−"}${ms(Math.abs(n))}`;
  return [signed(a.p50Ms), signed(a.p90Ms), signed(a.p99Ms)];
}

function usageCells(u: ProxyUsage): string[] {
  return [u.vcpu.toFixed(3), u.memoryMb.toFixed(1), u.vcpuPer1000Rps.toFixed(3), u.memoryMbPer1000Rps.toFixed(1)];
}
