/**
 * Ports on 127.0.0.1 that nothing listens on, and that no other test takes while a test relies on that.
 * A port from `listen(0)`, closed again, goes back to the kernel's ephemeral range
 * (net.ipv4.ip_local_port_range, 32768-60999 by default), from which every `listen(0)` and every
 * outgoing connection of the other test processes takes its port: once, a stub server of another shard
 * got the port tests/prereqs.test.ts had chosen as free, and every check of that file saw it IN-USE.
 * These come from below that range, where nothing is handed out unasked.
 */
import * as fs from "node:fs";
import * as net from "node:net";

/**
 * The first port of the ephemeral range (Linux's setting; 32768, its default, where it cannot be read
 * or is implausibly low: there would be no room below it for these ports).
 */
function ephemeralStart(): number {
  try {
    const low = Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

/** `count` distinct ports, free now, from 10000 up to the ephemeral range, picked at random. */
export async function quietPorts(count: number): Promise<number[]> {
  const end = ephemeralStart();
  const ports: number[] = [];
  for (let tries = 0; ports.length < count && tries < 200; tries++) {
    const port = 10_000 + Math.floor(Math.random() * (end - 10_000));
    if (!ports.includes(port) && (await canListen(port))) ports.push(port);
  }
  if (ports.length < count) throw new Error(`no ${count} free ports below ${end}`);
  return ports;
}
