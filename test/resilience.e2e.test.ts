import type { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildApp } from '../api/app';
import { idempotentUpdateId, requestFingerprint } from '../api/idempotency';
import { createTaskOrderService } from '../api/task-order-service';
import { defineRoute } from '../api/routes';
import { createDb, type Db } from '../db/connect';
import { migrateToLatest } from '../db/migrate';
import { apiTemporalClient } from '../platform/temporal-client';
import { startDevServer } from '../platform/temporal-env';
import { writeCounts } from './support/db';
import { placement, placementBody } from './support/fixtures';
import { crashRestart, crashStop, startAgain, startOwnPostgres } from './support/pg-control';
import { freePort } from '../platform/free-port';
import { TEST_API_TOKENS, authHeader } from './support/stack';
import { installQuietRuntime, runningWorker } from './support/temporal';
import { temporal as proto } from '@temporalio/proto';
import { acceptUpdate, taskOrderWorkflowId } from '../workflows/task-order-api';

const EventType = proto.api.enums.v1.EventType;

/**
 * SPEC §8, §10: the API and the worker survive PostgreSQL crash-restarting under them and Temporal
 * being unreachable. Meanwhile every answer is `503 unavailable` with Retry-After (never a 500),
 * GET /health says which dependency is down, and a request that failed for the fault may be
 * retried with its Idempotency-Key within seconds and then runs once.
 *
 * PostgreSQL here is a server of this file's own: crashing the shared test server would break the
 * other test files.
 */
const LEASE_SECONDS = 3; // a short Idempotency-Key lease, for the test that watches it expire
const taskQueue = `resilience-${process.pid}`;

let own: Awaited<ReturnType<typeof startOwnPostgres>>;
let env: TestWorkflowEnvironment;
let db: Db;
let worker: { stop: () => Promise<void> };
let app: FastifyInstance;
let baseUrl: string;
let temporal: { client: Client; connection: Connection };
/** The test route's state: it waits for `gate`, then uses the database, then counts a run. */
const work = { runs: 0, gate: Promise.resolve() };

beforeAll(async () => {
  installQuietRuntime();
  [own, env] = await Promise.all([startOwnPostgres(), startDevServer()]);
  db = createDb({ connectionString: own.url });
  await migrateToLatest(db);
  worker = await runningWorker(env, db, taskQueue);
  temporal = apiTemporalClient(env.address, env.namespace ?? 'default'); // the API's client, as npm start makes it
  app = withWorkRoute(buildApp({ db, client: temporal.client, taskQueue, tokens: TEST_API_TOKENS })); // the default lease (15 s)
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
}, 120_000);

function withWorkRoute(instance: FastifyInstance): FastifyInstance {
  defineRoute(instance, {
    method: 'POST',
    path: '/v1/test/work',
    roles: ['backend'],
    summary: 'waits for the gate, then uses the database, then counts one run',
    responses: { 201: { description: 'ran' } },
    handler: async (_input, _request, reply) => {
      await work.gate;
      await sql`select 1`.execute(db);
      work.runs += 1;
      return reply.code(201).send({ run: work.runs });
    },
  });
  return instance;
}

afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await temporal?.connection.close();
  await env?.teardown();
  await db?.destroy();
  await own?.stop();
});

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function call(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}, url = baseUrl): Promise<Answer> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...authHeader('backend'), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: text ? JSON.parse(text) : undefined };
}

/** SPEC §8's fault answer, exactly. */
function expectUnavailable(answer: Answer, dependency: 'postgres' | 'temporal'): void {
  expect({ status: answer.status, retryAfter: answer.retryAfter, code: answer.body?.error?.code, dependency: answer.body?.error?.details?.dependency }).toEqual({
    status: 503,
    retryAfter: '1',
    code: 'unavailable',
    dependency,
  });
  expect(answer.body.error.message).toEqual(expect.any(String));
}

/** Polls `probe` every 100 ms until it holds; the seconds it took. */
async function secondsUntil(probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return (Date.now() - started) / 1000;
}

const key = () => `k-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
const healthy = async () => (await call('GET', '/health')).status === 200;
const report = (line: string) => (process.env.RESILIENCE_REPORT ? process.stdout.write(`${line}\n`) : undefined);

describe('§10 PostgreSQL crash-restarts under load', () => {
  test('§8 §10 pg_ctl restart -m immediate with requests in flight: every answer is a success or 503 with Retry-After, never a 500; then all succeed', async () => {
    const placed = new Map<string, number>();
    const statuses: number[] = [];
    let running = true;
    const client = async (n: number) => {
      for (let i = 0; running; i += 1) {
        const p = placement({ clientId: `c-load-${n}` });
        const k = key();
        let answer = await call('POST', '/v1/task-orders', placementBody(p), { 'idempotency-key': k });
        statuses.push(answer.status);
        if (answer.status === 503) expectUnavailable(answer, 'postgres');
        // A well-behaved client retries a 503 (and a 409 "in progress") with the same key.
        while (answer.status === 503 || answer.status === 409) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          answer = await call('POST', '/v1/task-orders', placementBody(p), { 'idempotency-key': k });
          statuses.push(answer.status);
          if (answer.status === 503) expectUnavailable(answer, 'postgres');
        }
        placed.set(p.orderId, answer.status);
        const read = await call('GET', `/v1/task-orders/${p.orderId}`);
        statuses.push(read.status);
        if (read.status === 503) expectUnavailable(read, 'postgres');
      }
    };
    const reader = async () => {
      while (running) {
        const read = await call('GET', '/v1/task-orders?limit=5');
        statuses.push(read.status);
        if (read.status === 503) expectUnavailable(read, 'postgres');
      }
    };
    const clients = [...Array.from({ length: 6 }, (_, n) => client(n)), reader(), reader()];
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const crashed = Date.now();
    await crashRestart(own.pg);
    const restartedAfter = (Date.now() - crashed) / 1000;
    const healthyAfter = await secondsUntil(healthy);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the clients carry on after it
    running = false;
    await Promise.all(clients);

    expect(statuses.filter((s) => s >= 500 && s !== 503)).toEqual([]); // never a 500
    expect([...placed.values()].filter((s) => ![200, 201, 202].includes(s))).toEqual([]);
    // Every placement is there exactly once (its workflow's activities retried through the crash).
    const orderIds = [...placed.keys()];
    await secondsUntil(async () => (await db.selectFrom('task_orders').select('order_id').where('order_id', 'in', orderIds).execute()).length === orderIds.length);
    const events = await db.selectFrom('order_events').select(({ fn }) => ['order_id', fn.countAll<string>().as('n')]).where('order_id', 'in', orderIds).groupBy('order_id').execute();
    expect(events.map((e) => Number(e.n))).toEqual(orderIds.map(() => 1));
    report(`restart under load: ${statuses.length} answers, ${statuses.filter((s) => s === 503).length}×503, ${statuses.filter((s) => s === 500).length}×500; pg_ctl restart took ${restartedAfter} s, /health 200 ${healthyAfter} s after; ${placed.size} orders placed`);
  }, 60_000);

  test('§8 §10 while PostgreSQL is down: 503 unavailable with Retry-After and /health 503; after it restarts, /health 200 and a request that got 503 runs once on a retry with its Idempotency-Key', async () => {
    // A request that has claimed its key when the database goes away (it waits at the gate).
    let open: () => void = () => undefined;
    work.gate = new Promise<void>((resolve) => (open = resolve));
    const inFlightKey = key();
    const inFlight = call('POST', '/v1/test/work', { n: 1 }, { 'idempotency-key': inFlightKey });
    await secondsUntil(async () => (await db.selectFrom('idempotency_keys').select('key').where('key', '=', inFlightKey).execute()).length === 1);
    const runsBefore = work.runs;

    await crashStop(own.pg);
    open();
    expectUnavailable(await inFlight, 'postgres'); // its key could not be released: the database is down
    work.gate = Promise.resolve();

    const p = placement();
    const placeKey = key();
    expectUnavailable(await call('POST', '/v1/task-orders', placementBody(p), { 'idempotency-key': placeKey }), 'postgres');
    expectUnavailable(await call('GET', `/v1/task-orders/${p.orderId}`), 'postgres');
    expectUnavailable(await call('POST', `/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } }), 'postgres');
    const health = await call('GET', '/health');
    expect([health.status, health.retryAfter, health.body.status]).toEqual([503, '1', 'unavailable']);
    expect(health.body.dependencies).toEqual({
      postgres: { status: 'down', latencyMs: expect.any(Number), reason: 'unreachable' },
      temporal: { status: 'up', latencyMs: expect.any(Number) },
    });

    await startAgain(own.pg);
    const healthyAfter = await secondsUntil(healthy);
    // The in-flight request's key is released by the API once the database is back, long before
    // its lease (15 s) would have freed it: a retry, through any API instance, runs it once. (A
    // released key keeps its request's fingerprint, its lease lapsed: another request under it is 422.)
    const released = async () => {
      const { rows } = await sql<{ released: boolean }>`select status_code is null and created_at < now() - interval '15 seconds' as released from idempotency_keys where key = ${inFlightKey}`.execute(db);
      return rows[0]?.released === true;
    };
    const keyFreeAfter = await secondsUntil(released);
    expect(keyFreeAfter).toBeLessThan(3);
    const retry = await call('POST', '/v1/test/work', { n: 1 }, { 'idempotency-key': inFlightKey });
    expect([retry.status, retry.body]).toEqual([201, { run: runsBefore + 1 }]);
    const replay = await call('POST', '/v1/test/work', { n: 1 }, { 'idempotency-key': inFlightKey });
    expect([replay.status, replay.body, work.runs]).toEqual([201, { run: runsBefore + 1 }, runsBefore + 1]);

    // The placement that got 503 runs once on its retry: one order, one event, one payment.
    const before = await writeCounts(db);
    const placedAgain = await call('POST', '/v1/task-orders', placementBody(p), { 'idempotency-key': placeKey });
    expect(placedAgain.status).toBe(201);
    expect((await call('POST', '/v1/task-orders', placementBody(p), { 'idempotency-key': placeKey })).status).toBe(201);
    const after = await writeCounts(db);
    const added = (table: string) => (after[table] ?? 0) - (before[table] ?? 0);
    expect([added('task_orders'), added('order_events'), added('ledger_transactions')]).toEqual([1, 1, 1]);
    report(`PostgreSQL down: /health 200 ${healthyAfter} s after pg_ctl start; the in-flight key was free ${keyFreeAfter} s after that`);
  }, 60_000);
});

describe('§10 Speed, O1: a local write that keeps failing falls back to the regular activity', () => {
  test('§10 O1 E1 L3: PostgreSQL down during a command\'s local write: it falls back to the regular activity, O1 lists it with its attempts and last failure, and once PostgreSQL is back the order recovers, its event and postings stored once', async () => {
    const p = placement();
    expect((await call('POST', '/v1/task-orders', placementBody(p))).status).toBe(201);
    const before = await writeCounts(db);
    const handle = temporal.client.workflow.getHandle(taskOrderWorkflowId(p.orderId));
    const activity = async () => (await handle.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === 'recordTaskEvents');

    await crashStop(own.pg);
    // The API's own call (it reads nothing first); its answer comes once the write is done.
    const answer = handle.executeUpdate(acceptUpdate, { args: [{ actor: { type: 'creator', id: p.creatorId } }] });
    // Attempt 4 has failed (1 s, 2 s, 4 s backoff): attempt 5 is 8 s away, time to look at O1.
    await secondsUntil(async () => ((await activity())?.attempt ?? 0) >= 5, 60_000);
    await startAgain(own.pg);
    await secondsUntil(healthy);
    const stuck = await call('GET', '/v1/ops/stuck', undefined, authHeader('ops'));
    expect(stuck.status).toBe(200);
    const entry = stuck.body.entries.find((e: { orderId: string; reason: string }) => e.orderId === p.orderId && e.reason === 'activity_retrying');
    expect(entry).toMatchObject({ kind: 'task', attempt: expect.any(Number), detail: expect.stringContaining('recordTaskEvents is on attempt') });
    expect(entry.attempt).toBeGreaterThanOrEqual(5);
    expect(entry.lastFailure).toEqual(expect.any(String));

    // Recovered: the Update is answered, the order accepted once, nothing left pending.
    expect((await answer).state.status).toBe('in_production');
    expect(await activity()).toBeUndefined();
    const order = await call('GET', `/v1/task-orders/${p.orderId}`);
    expect([order.body.status, order.body.version]).toEqual(['in_production', 2]);
    const after = await writeCounts(db);
    expect((after.order_events ?? 0) - (before.order_events ?? 0)).toBe(1);
    // The history: the local attempt's marker, then the regular activity scheduled once.
    const types = ((await handle.fetchHistory()).events ?? []).map((e) => e.eventType);
    const marker = types.lastIndexOf(EventType.EVENT_TYPE_MARKER_RECORDED);
    expect(types.filter((t) => t === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)).toHaveLength(1);
    expect(types.indexOf(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)).toBeGreaterThan(marker);
  }, 120_000);
});

describe('§8 a retried command runs once', () => {
  test('§8 the retry of a command whose answer was lost joins its first Update (the same id), instead of running it again', async () => {
    const p = placement();
    expect((await call('POST', '/v1/task-orders', placementBody(p))).status).toBe(201);
    const orders = createTaskOrderService({ db, client: temporal.client, taskQueue });
    const accept = { actor: { type: 'creator' as const, id: p.creatorId } };
    const updateId = idempotentUpdateId({ role: 'backend', key: key(), hash: 'h', token: 0n, lost: false });
    // The first attempt reached the workflow (its HTTP answer was the 503 of a fault); the retry
    // sends the same Update id and gets the first one's outcome, not "already accepted".
    const first = await orders.commandWithin(p.orderId, 'accept', accept, updateId);
    const retry = await orders.commandWithin(p.orderId, 'accept', accept, updateId);
    expect([first.order.status, retry.order.status, retry.order.version]).toEqual(['in_production', 'in_production', first.order.version]);
    await expect(orders.commandWithin(p.orderId, 'accept', accept)).rejects.toMatchObject({ code: 'invalid_state' }); // without the id: run again, refused
  }, 60_000);
});

describe('§8 Idempotency-Key lease', () => {
  test('§8 a claim whose process died frees itself after the lease; a running request renews its own', async () => {
    const leased = withWorkRoute(buildApp({ db, client: temporal.client, taskQueue, tokens: TEST_API_TOKENS, idempotencyLeaseSeconds: LEASE_SECONDS }));
    const url = await leased.listen({ host: '127.0.0.1', port: 0 });
    try {
      await watchLeases(url);
    } finally {
      await leased.close();
    }
  }, 60_000);
});

/** The lease of an app whose lease is LEASE_SECONDS, at `url`. */
async function watchLeases(url: string): Promise<void> {
  const post = (body: unknown, idempotencyKey: string) => call('POST', '/v1/test/work', body, { 'idempotency-key': idempotencyKey }, url);
  // A claim no process renews (its API instance was killed mid-request).
  const dead = key();
  const body = { n: 2 };
  await db.insertInto('idempotency_keys').values({ role: 'backend', key: dead, request_hash: requestFingerprint('POST', '/v1/test/work', body) }).execute();
  expect((await post(body, dead)).status).toBe(409);
  const freedAfter = await secondsUntil(async () => (await post(body, dead)).status === 201, 10_000);
  expect(freedAfter).toBeLessThan(LEASE_SECONDS + 1);

  // A request running longer than the lease keeps its key: duplicates wait, then get its response.
  let open: () => void = () => undefined;
  work.gate = new Promise<void>((resolve) => (open = resolve));
  const slow = key();
  const first = post(body, slow);
  await new Promise((resolve) => setTimeout(resolve, 2.5 * LEASE_SECONDS * 1000));
  const duplicate = await post(body, slow);
  expect([duplicate.status, duplicate.body.error.code, duplicate.retryAfter]).toEqual([409, 'invalid_state', '1']);
  open();
  work.gate = Promise.resolve();
  const done = await first;
  expect(done.status).toBe(201);
  expect(await post(body, slow)).toMatchObject({ status: 201, body: done.body });
  report(`a dead process's claim was free after ${freedAfter} s (lease ${LEASE_SECONDS} s)`);
}

describe('§10 Temporal unreachable', () => {
  test('§8 §10 the API answers 503 unavailable with Retry-After within seconds, and /health 503 names temporal', async () => {
    const nowhere = apiTemporalClient(`127.0.0.1:${await freePort()}`, 'default');
    const cut = buildApp({ db, client: nowhere.client, taskQueue, tokens: TEST_API_TOKENS });
    const url = await cut.listen({ host: '127.0.0.1', port: 0 });
    try {
      // An order placed while Temporal was there, commanded while it is not.
      const p = placement();
      expect((await call('POST', '/v1/task-orders', placementBody(p))).status).toBe(201);
      const started = Date.now();
      expectUnavailable(await call('POST', `/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } }, { 'idempotency-key': key() }, url), 'temporal');
      const answeredAfter = (Date.now() - started) / 1000;
      expectUnavailable(await call('POST', '/v1/task-orders', placementBody(placement()), {}, url), 'temporal');
      expectUnavailable(await call('GET', '/v1/ops/stuck', undefined, authHeader('ops'), url), 'temporal');
      const health = await call('GET', '/health', undefined, {}, url);
      expect([health.status, health.retryAfter, health.body.status]).toEqual([503, '1', 'unavailable']);
      expect(health.body.dependencies).toEqual({
        postgres: { status: 'up', latencyMs: expect.any(Number) },
        temporal: { status: 'down', latencyMs: expect.any(Number), reason: expect.stringMatching(/^(unreachable|timeout)$/) },
      });
      expect(health.body.dependencies.temporal.latencyMs).toBeLessThan(3000);
      // Reads that need only PostgreSQL still work; the order is untouched.
      expect((await call('GET', `/v1/task-orders/${p.orderId}`, undefined, {}, url)).body.status).toBe('awaiting_acceptance');
      expect(answeredAfter).toBeLessThan(10);
      report(`Temporal unreachable: a command answered 503 after ${answeredAfter} s`);
    } finally {
      await cut.close();
      await nowhere.connection.close();
    }
  }, 60_000);
});
