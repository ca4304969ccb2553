import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { placement, placementBody } from './support/fixtures';
import { freePort } from './support/ports';
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

async function start(ports: Record<string, number>): Promise<{ child: ChildProcess; output: () => string; baseUrl: string }> {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'] /* what npm start runs */, {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: '',
      TEMPORAL_ADDRESS: '',
      DATA_DIR: dataDir,
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

  const second = await start(ports);
  const auth = printedBackendToken(second.output()); // new tokens at every start
  expect(auth).not.toEqual(printedBackendToken(first.output()));
  const read = await http(second.baseUrl, 'GET', `/v1/task-orders/${p.orderId}`, undefined, auth);
  expect(read.body).toMatchObject({ orderId: p.orderId, status: 'awaiting_acceptance' });
  const accepted = await http(second.baseUrl, 'POST', `/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } }, auth);
  expect(accepted.body).toMatchObject({ status: 'in_production' }); // the workflow survived the restart
  expect(await stop(second.child)).toBe(0);
}, 180_000);
