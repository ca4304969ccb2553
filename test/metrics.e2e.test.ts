/**
 * SPEC §10 GET /metrics, as Prometheus uses it: a real API + worker in one process (as `npm start`
 * runs them, with the Temporal SDK's Prometheus exporter merged in), orders and commands driven
 * through HTTP, and the exposition parsed and checked against what the database says happened.
 * Then a standalone worker (worker/main.ts, as docker compose runs it) and its own endpoint.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parse } from 'yaml';
import { sql } from 'kysely';
import { Runtime } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app';
import { createDb } from '../db/connect';
import { startDevServer } from '../platform/temporal-env';
import { temporalExecutable } from '../platform/temporal-tools';
import { countWebhookAttempt } from '../platform/metrics';
import { startWebhookDelivery } from '../worker/webhook-delivery';
import { startWorkerMetricsServer } from '../worker/metrics-server';
import { parseExposition, sampleValue, type Sample } from '../platform/metrics-text';
import { createTestDatabase, type TestDatabase } from './support/db';
import { placement, placementBody } from './support/fixtures';
import { freePort } from '../platform/free-port';
import { TEST_API_TOKENS, TEST_TOKENS, authHeader, http, requests } from './support/stack';
import { runningWorker } from './support/temporal';

const root = join(__dirname, '..');
let sdkPort: number;
let env: TestWorkflowEnvironment;
let database: TestDatabase;
let worker: { stop: () => Promise<void> };
let app: FastifyInstance;
let baseUrl: string;
const taskQueue = `metrics-${process.pid}`;

beforeAll(async () => {
  // As scripts/start.ts: the SDK's exporter is installed before any connection to Temporal.
  sdkPort = await freePort();
  Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkPort}` } } } });
  [env, database] = await Promise.all([startDevServer(), createTestDatabase()]);
  worker = await runningWorker(env, database.db, taskQueue);
  app = buildApp({
    db: database.db,
    client: env.client,
    taskQueue,
    tokens: TEST_API_TOKENS,
    metrics: { collectIntervalMs: 200, sdkMetricsUrl: `http://127.0.0.1:${sdkPort}/metrics` },
  });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await env?.teardown();
  await database?.drop();
});

async function scrape(headers: Record<string, string> = authHeader('metrics')): Promise<{ status: number; contentType: string | null; text: string }> {
  const response = await fetch(`${baseUrl}/metrics`, { headers });
  return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() };
}

async function samples(): Promise<Sample[]> {
  const { status, text } = await scrape();
  expect(status).toBe(200);
  return parseExposition(text);
}

/** Scrapes until `check` passes (the order gauges are collected at most every 200 ms here). */
async function eventually(check: (s: Sample[]) => void, timeoutMs = 10_000): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await samples();
    try {
      check(current);
      return current;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const { post } = requests(() => baseUrl);

describe('GET /metrics is protected (SPEC §10, docs/operations.md)', () => {
  test('refuses without a token (401) and with a token of another role (403); serves the metrics role the text format', async () => {
    expect((await scrape({})).status).toBe(401);
    expect((await scrape({ authorization: 'Bearer not-a-configured-token-000' })).status).toBe(401);
    for (const role of ['backend', 'ops', 'finance'] as const) expect({ role, status: (await scrape(authHeader(role))).status }).toEqual({ role, status: 403 });
    const ok = await scrape();
    expect(ok.status).toBe(200);
    expect(ok.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(ok.text).toContain('# TYPE xingtu_http_request_duration_seconds histogram');
  });

  test('a metrics token may call nothing else', async () => {
    const response = await http(baseUrl, 'GET', '/v1/task-orders', undefined, { authorization: `Bearer ${TEST_TOKENS.metrics}` });
    expect(response.status).toBe(403);
  });
});

describe('the figures match what happened', () => {
  const full = placement();
  const rejected = placement();
  const deposit = placement({ paymentMode: 'deposit' });

  beforeAll(async () => {
    expect((await post('/v1/task-orders', placementBody(full), { 'idempotency-key': `place-${full.orderId}` })).status).toBe(201);
    // The same request again: replayed from the Idempotency-Key, not a second command.
    expect((await post('/v1/task-orders', placementBody(full), { 'idempotency-key': `place-${full.orderId}` })).status).toBe(201);
    expect((await post('/v1/task-orders', placementBody(rejected))).status).toBe(201);
    expect((await post('/v1/task-orders', placementBody(deposit))).status).toBe(201);
    // Two concurrent accepts of one order: one is applied, the other refused with invalid_state.
    const accepts = await Promise.all([1, 2].map(() => post(`/v1/task-orders/${full.orderId}/accept`, { actor: { type: 'creator', id: full.creatorId } })));
    expect(accepts.map((a) => a.status).sort()).toEqual([200, 409]);
    expect((await post(`/v1/task-orders/${rejected.orderId}/reject`, { actor: { type: 'creator', id: rejected.creatorId }, reason: 'busy' })).status).toBe(200);
    expect((await post(`/v1/task-orders/${deposit.orderId}/accept`, { actor: { type: 'nobody' } })).status).toBe(400);
  }, 60_000);

  test('commands by command and outcome, from the route pattern and the answer', async () => {
    const s = await samples();
    const commands = (command: string, outcome: string) => sampleValue(s, 'xingtu_commands_total', { command, outcome });
    expect({
      placedApplied: commands('place_task_order', 'applied'),
      placedReplayed: commands('place_task_order', 'replayed'),
      acceptApplied: commands('accept', 'applied'),
      acceptRefused: commands('accept', 'invalid_state'),
      acceptInvalid: commands('accept', 'validation_failed'),
      rejectApplied: commands('reject', 'applied'),
    }).toEqual({ placedApplied: 3, placedReplayed: 1, acceptApplied: 1, acceptRefused: 1, acceptInvalid: 1, rejectApplied: 1 });
  });

  test('HTTP requests by route pattern (never the raw URL) and status, with latency histograms', async () => {
    const refusedBefore = sampleValue(await samples(), 'xingtu_http_request_duration_seconds_count', { method: 'GET', route: '/metrics', status: '401' }) ?? 0;
    expect((await scrape({})).status).toBe(401);
    const s = await samples();
    const route = '/v1/task-orders/:orderId/accept';
    expect(sampleValue(s, 'xingtu_http_request_duration_seconds_count', { method: 'POST', route, status: '200' })).toBe(1);
    expect(sampleValue(s, 'xingtu_http_request_duration_seconds_count', { method: 'POST', route, status: '409' })).toBe(1);
    expect(sampleValue(s, 'xingtu_http_request_duration_seconds_count', { method: 'POST', route, status: '400' })).toBe(1);
    expect(sampleValue(s, 'xingtu_http_request_duration_seconds_bucket', { method: 'POST', route, status: '200', le: '+Inf' })).toBe(1);
    expect(sampleValue(s, 'xingtu_http_request_duration_seconds_count', { method: 'GET', route: '/metrics', status: '401' })).toBe(refusedBefore + 1);
    expect(s.filter((sample) => Object.values(sample.labels).some((v) => v.includes(full.orderId)))).toEqual([]);
    const accepted = sampleValue(s, 'xingtu_http_request_duration_seconds_sum', { method: 'POST', route, status: '200' });
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(30);
  });

  test('ledger postings by kind: exactly the transactions the ledger holds (L3: none counted twice)', async () => {
    const { rows } = await sql<{ kind: string; n: string }>`select kind, count(*)::text as n from ledger_transactions group by kind order by kind`.execute(database.db);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const s = await samples();
    const counted = Object.fromEntries(rows.map((r) => [r.kind, sampleValue(s, 'xingtu_ledger_postings_total', { kind: r.kind })]));
    expect(counted).toEqual(Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)])));
    expect(s.filter((x) => x.name === 'xingtu_ledger_postings_total').reduce((sum, x) => sum + x.value, 0)).toBe(rows.reduce((sum, r) => sum + Number(r.n), 0));
  });

  test('open orders by kind and status, every open status present (zero where none)', async () => {
    const s = await eventually((current) => {
      expect(sampleValue(current, 'xingtu_open_orders', { kind: 'task', status: 'in_production' })).toBe(1);
    });
    const open = (kind: string, status: string) => sampleValue(s, 'xingtu_open_orders', { kind, status });
    expect({ awaiting: open('task', 'awaiting_acceptance'), production: open('task', 'in_production'), balance: open('task', 'awaiting_balance'), boosting: open('boost', 'boosting') }).toEqual({
      awaiting: 1,
      production: 1,
      balance: 0,
      boosting: 0,
    });
    expect(s.some((x) => x.name === 'xingtu_open_orders' && ['completed', 'cancelled', 'closed'].includes(x.labels.status ?? ''))).toBe(false);
    expect(sampleValue(s, 'xingtu_metrics_collection_up', { source: 'open_orders' })).toBe(1);
  });

  test('stuck orders by reason: an acceptance deadline 10 minutes overdue (no worker fired it) shows as deadline_overdue (O1)', async () => {
    const before = await samples();
    expect(sampleValue(before, 'xingtu_stuck_orders', { reason: 'deadline_overdue' })).toBe(0);
    // What a dead worker leaves behind: the read model's deadline passed and nothing moved.
    await database.db.updateTable('task_orders').set({ next_deadline_at: new Date(Date.now() - 10 * 60_000) }).where('order_id', '=', deposit.orderId).execute();
    const s = await eventually((current) => expect(sampleValue(current, 'xingtu_stuck_orders', { reason: 'deadline_overdue' })).toBe(1));
    expect(sampleValue(s, 'xingtu_stuck_orders', { reason: 'refund_overdue' })).toBe(0);
    expect(sampleValue(s, 'xingtu_stuck_orders', { reason: 'awaiting_arbitration' })).toBe(0);
    expect(sampleValue(s, 'xingtu_metrics_collection_up', { source: 'stuck_orders' })).toBe(1);
  });

  test('activity retries: an append that fails twice is retried twice, by activity type', async () => {
    const p = placement();
    // A fault for this order's first two appends only (a sequence is not rolled back with the
    // failed transaction), installed by the database's owner (the app's role may not).
    const owner = createDb({ connectionString: database.url, role: null });
    await sql`create sequence metrics_fault_seq`.execute(owner);
    await sql.raw(`create function metrics_fault() returns trigger language plpgsql as $$
      begin
        if new.order_id = '${p.orderId}' and nextval('metrics_fault_seq') <= 2 then raise exception 'injected fault (metrics test)'; end if;
        return new;
      end $$`).execute(owner);
    await sql`create trigger metrics_fault before insert on order_events for each row execute function metrics_fault()`.execute(owner);
    try {
      const before = await samples();
      const retriesBefore = sampleValue(before, 'xingtu_activity_retries_total', { activity: 'recordTaskEvents' }) ?? 0;
      const failuresBefore = sampleValue(before, 'xingtu_activity_failures_total', { activity: 'recordTaskEvents' }) ?? 0;
      expect((await post('/v1/task-orders', placementBody(p))).status).toBe(201);
      const s = await samples();
      expect(sampleValue(s, 'xingtu_activity_retries_total', { activity: 'recordTaskEvents' })).toBe(retriesBefore + 2);
      expect(sampleValue(s, 'xingtu_activity_failures_total', { activity: 'recordTaskEvents' })).toBe(failuresBefore + 2);
    } finally {
      await sql`drop trigger metrics_fault on order_events`.execute(owner);
      await owner.destroy();
    }
  }, 60_000);
});

describe('webhook deliveries (E5) by outcome, and the backlog', () => {
  test("each attempt of the delivery loop is counted by its outcome, as the receiver saw them", async () => {
    // A receiver that refuses its first request (500) and takes every later one (200).
    const seen = { refused: 0, taken: 0 };
    const receiver = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        if (seen.refused === 0) {
          seen.refused += 1;
          response.writeHead(500).end();
        } else {
          seen.taken += 1;
          response.writeHead(200).end();
        }
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as { port: number }).port;
    // As worker/main.ts runs it: the loop reports every attempt to the metrics.
    const loop = startWebhookDelivery(database.db, { urlPolicy: { allowHttpLoopback: true, allowPrivateTargets: false }, pollIntervalMs: 100, backoffBaseMs: 200, backoffMaxMs: 400, onAttempt: countWebhookAttempt });
    try {
      const before = await samples();
      const count = (s: Sample[], outcome: string) => sampleValue(s, 'xingtu_webhook_deliveries_total', { outcome }) ?? 0;
      const registered = await post('/v1/webhook-endpoints', { url: `http://127.0.0.1:${port}/hook` });
      expect(registered.status).toBe(201);
      expect((await post('/v1/task-orders', placementBody(placement()))).status).toBe(201);
      const s = await eventually((current) => {
        expect(sampleValue(current, 'xingtu_webhook_deliveries_pending')).toBe(0);
        expect(seen.taken).toBeGreaterThan(0);
        expect(count(current, 'delivered') - count(before, 'delivered')).toBe(seen.taken);
      }, 20_000);
      expect(count(s, 'http_error') - count(before, 'http_error')).toBe(seen.refused);
      expect(sampleValue(s, 'xingtu_webhook_delivery_duration_seconds_count', { outcome: 'delivered' })).toBeGreaterThanOrEqual(seen.taken);
    } finally {
      await loop.stop();
      await new Promise((resolve) => receiver.close(resolve));
    }
  }, 60_000);
});

describe("the Temporal SDK's metrics (its runtime's Prometheus exporter)", () => {
  test('the exporter serves temporal_ metrics, and the API of this process (npm start) includes them', async () => {
    const direct = await (await fetch(`http://127.0.0.1:${sdkPort}/metrics`)).text();
    const names = new Set(parseExposition(direct).map((s) => s.name));
    expect([...names].filter((n) => n.startsWith('temporal_')).length).toBeGreaterThan(5);
    expect(names).toContain('temporal_workflow_task_execution_latency_bucket');
    const s = await samples();
    expect(sampleValue(s, 'xingtu_sdk_metrics_up')).toBe(1);
    expect(s.some((x) => x.name === 'temporal_workflow_task_execution_latency_bucket')).toBe(true);
    expect(sampleValue(s, 'temporal_worker_start', { task_queue: taskQueue })).toBeGreaterThanOrEqual(1);
  });

  test("every temporal_ metric of the Grafana dashboard (deploy/grafana) is one this SDK exports", async () => {
    const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/dashboards/xingtu.json'), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const used = new Set(dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => [...t.expr.matchAll(/\b(temporal_[a-z0-9_]+)\b/g)].map((m) => m[1]!))));
    expect(used.size).toBeGreaterThan(3);
    const exported = new Set(parseExposition(await (await fetch(`http://127.0.0.1:${sdkPort}/metrics`)).text()).map((x) => x.name));
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });
});

describe('docker-compose.yml runs the Temporal version of the dev server these tests run', () => {
  test('temporal --version of the provisioned CLI names the server and UI versions of the compose images', () => {
    const cli = temporalExecutable('TEMPORAL_CLI_PATH');
    expect(cli).toBeDefined(); // provisioned (npm run provision), as in CI
    const version = execFileSync(cli!.path, ['--version'], { encoding: 'utf8' });
    const [, server, ui] = /\(Server (\d+\.\d+\.\d+), UI (\d+\.\d+\.\d+)\)/.exec(version) ?? [];
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { image?: string }> };
    expect(compose.services.temporal?.image).toBe(`temporalio/server:${server}`);
    expect(compose.services['temporal-schema']?.image).toBe(`temporalio/admin-tools:${server}`);
    expect(compose.services['temporal-ui']?.image).toBe(`temporalio/ui:${ui}`);
  });
});

describe('a standalone worker (worker/main.ts) serves its own metrics endpoint', () => {
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  test('without METRICS_TOKEN it serves loopback only, and refuses to listen anywhere else', async () => {
    await expect(startWorkerMetricsServer({ host: '0.0.0.0', port: 0, token: undefined, sdkMetricsUrl: undefined })).rejects.toThrow(/set METRICS_TOKEN/);
    const open = await startWorkerMetricsServer({ host: '127.0.0.1', port: 0, token: undefined, sdkMetricsUrl: undefined });
    try {
      const answer = await fetch(`http://127.0.0.1:${open.port}/metrics`);
      expect(answer.status).toBe(200);
      expect(await answer.text()).toContain('# TYPE xingtu_ledger_postings_total counter');
    } finally {
      await open.close();
    }
  });

  test('behind METRICS_TOKEN: its registry and its SDK exporter in one exposition', async () => {
    const [port, exporterPort] = [await freePort(), await freePort()];
    const token = 'worker-metrics-token-0123456789';
    const childQueue = `${taskQueue}-standalone`;
    let output = '';
    child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: env.address,
        TASK_QUEUE: childQueue,
        WORKER_METRICS_PORT: String(port),
        WORKER_METRICS_HOST: '127.0.0.1',
        METRICS_TOKEN: token,
        TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${exporterPort}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = `http://127.0.0.1:${port}/metrics`;
    const deadline = Date.now() + 90_000;
    let text = '';
    while (Date.now() < deadline) {
      const answer = await fetch(url, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
      text = answer?.ok ? await answer.text() : '';
      if (text.includes('temporal_worker_start')) break;
      if (child.exitCode !== null) throw new Error(`worker exited: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const s = parseExposition(text);
    expect({ output: output.slice(-500), started: sampleValue(s, 'temporal_worker_start', { task_queue: childQueue }) }).toEqual({ output: output.slice(-500), started: 1 });
    expect(sampleValue(s, 'xingtu_sdk_metrics_up')).toBe(1);
    expect(text).toContain('# TYPE xingtu_activity_retries_total counter');
    expect(text).toContain('# TYPE xingtu_ledger_postings_total counter');
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong-token-0123456789abc' } })).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${port}/other`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
  }, 120_000);
});
