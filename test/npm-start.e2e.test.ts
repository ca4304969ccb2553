import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { placement, placementBody } from './support/fixtures';
import { crashRestart, crashStop, startAgain } from './support/pg-control';
import { freePort } from '../platform/free-port';
import { http } from './support/stack';

/**
 * SPEC §9, README: `npm start` brings up the whole system (embedded Postgres, Temporal dev server,
 * migrations, worker, API) with nothing else, keeps its data across restarts and stops cleanly.
 */
const root = join(__dirname, '..');
let dataDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'xingtu-start-'));
  chmodSync(dataDir, 0o755);
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function start(ports: Record<string, number>, dir = dataDir): Promise<{ child: ChildProcess; output: () => string; baseUrl: string }> {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'] /* what npm start runs */, {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: '',
      TEMPORAL_ADDRESS: '',
      DATA_DIR: dir,
      PORT: String(ports.api),
      EMBEDDED_PG_PORT: String(ports.pg),
      TEMPORAL_PORT: String(ports.temporal),
      TEMPORAL_UI_PORT: String(ports.ui),
      API_TOKENS: '', // unset: npm start generates tokens and prints them once
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const baseUrl = `http://127.0.0.1:${ports.api}`;
  for (let i = 0; i < 600; i += 1) {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
    const healthy = await fetch(`${baseUrl}/health`).then((r) => r.ok, () => false);
    if (healthy) return { child, output: () => output, baseUrl };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`npm start did not become healthy in 60 s:\n${output}`);
}

/** The backend token npm start printed (API_TOKENS unset): `   backend  <token>`. */
function printedBackendToken(output: string): Record<string, string> {
  const tokens = [...output.matchAll(/^ {3}backend +(\S+)$/gm)].map((m) => m[1] as string);
  const token = tokens[tokens.length - 1];
  if (!token) throw new Error(`npm start printed no backend token:\n${output}`);
  return { authorization: `Bearer ${token}` };
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });
}

test('npm start serves the API, keeps orders across a restart and shuts down cleanly on Ctrl-C', async () => {
  const ports = { api: await freePort(), pg: await freePort(), temporal: await freePort(), ui: await freePort() };
  const first = await start(ports);
  const p = placement();
  // Without a token the API refuses; with the token npm start printed, it serves.
  expect((await http(first.baseUrl, 'POST', '/v1/task-orders', placementBody(p), { authorization: '' })).status).toBe(401);
  const placed = await http(first.baseUrl, 'POST', '/v1/task-orders', placementBody(p), printedBackendToken(first.output()));
  expect(placed.status).toBe(201);
  expect(await stop(first.child)).toBe(0);
  expect(first.output()).toContain('stopped cleanly');
  // Issue 18: npm start logs one JSON line per request (method, route, status, ms, reqId), never the token.
  const placedLine = first.output().split('\n').find((line) => line.includes('"msg":"request"') && line.includes('"route":"/v1/task-orders"') && line.includes('"status":201'));
  expect(JSON.parse(placedLine ?? '{}')).toMatchObject({ method: 'POST', route: '/v1/task-orders', status: 201, reqId: expect.any(String), ms: expect.any(Number) });
  expect(first.output()).not.toContain(printedBackendToken(first.output()).authorization as string);

  const second = await start(ports);
  const auth = printedBackendToken(second.output()); // new tokens at every start
  expect(auth).not.toEqual(printedBackendToken(first.output()));
  const read = await http(second.baseUrl, 'GET', `/v1/task-orders/${p.orderId}`, undefined, auth);
  expect(read.body).toMatchObject({ orderId: p.orderId, status: 'awaiting_acceptance' });
  const accepted = await http(second.baseUrl, 'POST', `/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } }, auth);
  expect(accepted.body).toMatchObject({ status: 'in_production' }); // the workflow survived the restart
  expect(await stop(second.child)).toBe(0);
}, 180_000);

/** One request's status and Retry-After, and whether the body is SPEC §8's `unavailable`. */
async function probe(url: string, auth: Record<string, string>): Promise<{ status: number; retryAfter: string | null; unavailable: boolean }> {
  const response = await fetch(url, { headers: auth });
  const body = (await response.json().catch(() => undefined)) as { error?: { code?: string } } | undefined;
  return { status: response.status, retryAfter: response.headers.get('retry-after'), unavailable: body?.error?.code === 'unavailable' };
}

async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check()); ) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('§10 npm start outlives its PostgreSQL crash-restarting: 503 unavailable with Retry-After meanwhile (never 500), then it carries on; Ctrl-C still stops cleanly', async () => {
  const ports = { api: await freePort(), pg: await freePort(), temporal: await freePort(), ui: await freePort() };
  const dir = join(dataDir, 'crash');
  mkdirSync(dir, { mode: 0o755 });
  const cluster = { dataDir: join(dir, 'postgres'), port: ports.pg }; // npm start's embedded PostgreSQL
  const running = await start(ports, dir);
  const auth = printedBackendToken(running.output());
  const p = placement();
  expect((await http(running.baseUrl, 'POST', '/v1/task-orders', placementBody(p), auth)).status).toBe(201);
  const orderUrl = `${running.baseUrl}/v1/task-orders/${p.orderId}`;

  // Crash-restart with requests in flight: each answer is the order or a 503, never a 500.
  const seen: Array<{ status: number; retryAfter: string | null; unavailable: boolean }> = [];
  let loading = true;
  const load = (async () => {
    while (loading) seen.push(await probe(orderUrl, auth));
  })();
  await new Promise((r) => setTimeout(r, 300));
  await crashRestart(cluster);
  await until(async () => (await fetch(`${running.baseUrl}/health`)).status === 200);
  loading = false;
  await load;
  expect(seen.filter((s) => s.status !== 200 && !(s.status === 503 && s.retryAfter === '1' && s.unavailable))).toEqual([]);
  if (process.env.RESILIENCE_REPORT) process.stdout.write(`npm start, pg_ctl restart -m immediate: ${seen.length} reads, ${seen.filter((s) => s.status === 503).length}×503, ${seen.filter((s) => s.status === 500).length}×500\n`);

  // Down for a while (a crash, then a start): 503 unavailable, /health 503; then back, by itself.
  await crashStop(cluster);
  expect(await probe(orderUrl, auth)).toEqual({ status: 503, retryAfter: '1', unavailable: true });
  const health = await fetch(`${running.baseUrl}/health`);
  expect(health.status).toBe(503);
  expect(((await health.json()) as { dependencies: { postgres: { status: string } } }).dependencies.postgres.status).toBe('down');
  expect(running.child.exitCode).toBeNull(); // npm start, its Temporal and its worker are still there
  await startAgain(cluster);
  const restarted = Date.now();
  await until(async () => (await fetch(`${running.baseUrl}/health`)).status === 200);
  if (process.env.RESILIENCE_REPORT) process.stdout.write(`npm start: /health 200 ${(Date.now() - restarted) / 1000} s after pg_ctl start\n${running.output()}\n`);
  expect((await probe(orderUrl, auth)).status).toBe(200);
  // The worker carried on too: a command goes through the order's workflow to the database.
  const accepted = await http(running.baseUrl, 'POST', `/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } }, auth);
  expect(accepted.body).toMatchObject({ status: 'in_production' });

  // The postmaster is pg_ctl's now, not npm start's child: Ctrl-C stops it all the same.
  expect(await stop(running.child)).toBe(0);
  expect(running.output()).toContain('stopped cleanly');
  expect(existsSync(join(cluster.dataDir, 'postmaster.pid'))).toBe(false); // PostgreSQL stopped too
  expect(running.output()).not.toMatch(/Unhandled 'error' event|unhandled rejection|BUG:/i);
}, 180_000);
