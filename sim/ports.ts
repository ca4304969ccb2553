import { createServer } from 'node:net';

/**
 * Free loopback ports for the simulation's servers, taken BELOW the kernel's ephemeral range
 * (32768–60999 on Linux) so that a server restarted on its old port (a fault) cannot find it taken
 * by some outgoing connection meanwhile. Each port is checked by binding it on 127.0.0.1;
 * `span` > 1 asks for that many consecutive free ports (the Temporal dev server's services).
 */
export async function pickPorts(count: number, span = 1, taken = new Set<number>()): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count; attempt++) {
    if (attempt > 2000) throw new Error('no free loopback port found in 20000–32000');
    const base = 20_000 + Math.floor(Math.random() * (12_000 - span));
    const range = Array.from({ length: span }, (_, i) => base + i);
    if (range.some((p) => taken.has(p))) continue;
    if (!(await allFree(range))) continue;
    range.forEach((p) => taken.add(p));
    ports.push(base);
  }
  return ports;
}

async function allFree(ports: readonly number[]): Promise<boolean> {
  for (const port of ports) if (!(await isFree(port))) return false;
  return true;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}
