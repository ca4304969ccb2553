import Fastify, { type FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import { createActivities } from '../activities';
import { buildApp } from '../api/app';
import { installAuth } from '../api/auth';
import { ApiError } from '../api/errors';
import { registerFinanceRoutes } from '../api/finance-routes';
import { DEFAULT_READ_LIMITS, TokenBuckets, createReadGuards, type ReadLimits } from '../api/rate-limit';
import type { WorkflowOutcome, WorkflowOutcomes } from '../db/audit/audit-orders';
import { DEFAULT_TASK_POLICY, placementEvent, type TaskPlacement } from '../domain/task-order';
import { TtlCache } from '../platform/ttl-cache';
import { createTestDatabase, type TestDatabase } from './support/db';
import { placement } from './support/fixtures';
import { until } from './support/until';

/**
 * SPEC §8 Security, F3, F6 (issue 18): an audit runs one at a time per instance, an abandoned
 * audit stops, and sign-in and the expensive reads are rate limited (429 rate_limited with
 * Retry-After). The slow-readers export and the stuck list's paging run on the whole stack
 * (test/expensive-reads.e2e.test.ts).
 */
jest.setTimeout(60_000);

const FINANCE_TOKEN = 'finance_reads_token_0123456789abcdef';
const OPS_TOKEN = 'ops_reads_token_0123456789abcdef';
const TOKENS = [
  { role: 'finance' as const, token: FINANCE_TOKEN },
  { role: 'ops' as const, token: OPS_TOKEN },
];
const CLOSED_ORDERS = 4;
const T0 = Date.parse('2025-06-01T00:00:00Z');

let database: TestDatabase;

/** Closed orders (placed, then rejected: T7), so the audit has workflows to compare (L6). */
async function closedOrders(): Promise<void> {
  const activities = createActivities({ db: database.db });
  for (let i = 0; i < CLOSED_ORDERS; i += 1) {
    const p: TaskPlacement = placement();
    const at = T0 + i * 60_000;
    await activities.recordTaskEvents({
      orderId: p.orderId,
      causation: 'test',
      events: [
        { version: 1, occurredAt: at, event: placementEvent(p, DEFAULT_TASK_POLICY) },
        {
          version: 2,
          occurredAt: at + 1000,
          event: { type: 'TaskOrderCancelled', reason: 'rejected_by_creator', by: { type: 'creator', id: p.creatorId }, refundFen: 110_000n, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: 0n },
        },
      ],
    });
  }
}

/** Temporal's answers for L6, slow (each takes `delayMs`) and counted, to watch an audit's progress. */
function slowWorkflows(delayMs: number): WorkflowOutcomes & { asked: number } {
  const outcomes = {
    asked: 0,
    async outcomeOf(): Promise<WorkflowOutcome> {
      outcomes.asked += 1;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return { status: 'unavailable', reason: 'test: not asked for real' };
    },
  };
  return outcomes;
}

/** The finance routes alone, as api/app.ts mounts them (auth, §8 error bodies), with a slow Temporal. */
async function financeApp(workflows: WorkflowOutcomes, guards = createReadGuards(DEFAULT_READ_LIMITS)): Promise<{ app: FastifyInstance; baseUrl: string }> {
  const app = Fastify();
  installAuth(app, TOKENS);
  app.setReplySerializer((payload) => JSON.stringify(payload, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
  app.setErrorHandler((error, _request, reply) => (error instanceof ApiError ? reply.code(error.status).send(error.toBody()) : reply.code(500).send({ error: { code: 'internal', message: String(error) } })));
  // One order per batch, one Temporal question at a time: the audit takes CLOSED_ORDERS × the delay.
  registerFinanceRoutes(app, { db: database.db, workflows, guards, audit: { batchSize: 1, workflowConcurrency: 1, workerThreads: 0 } });
  return { app, baseUrl: await app.listen({ host: '127.0.0.1', port: 0 }) };
}

const finance = { authorization: `Bearer ${FINANCE_TOKEN}` };

beforeAll(async () => {
  database = await createTestDatabase();
  await closedOrders();
}, 60_000);

afterAll(async () => {
  await database?.drop();
});

describe('F3 audit, bounded (SPEC §8 Security, issue 18)', () => {
  test('F3/§8: a second audit while one runs gets 429 rate_limited with Retry-After; after the first ends, another runs', async () => {
    const workflows = slowWorkflows(400);
    const { app, baseUrl } = await financeApp(workflows);
    try {
      const first = fetch(`${baseUrl}/v1/ledger/audit`, { headers: finance });
      await until('the first audit asks Temporal', () => workflows.asked > 0);
      const second = await fetch(`${baseUrl}/v1/ledger/audit`, { headers: finance });
      expect(second.status).toBe(429);
      expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await second.json()).toEqual({ error: { code: 'rate_limited', message: expect.stringContaining('audits already running'), details: { retryAfterSeconds: expect.any(Number) } } });
      expect((await first).status).toBe(200);
      expect(workflows.asked).toBe(CLOSED_ORDERS);
      expect((await fetch(`${baseUrl}/v1/ledger/audit?sinceCheckpoint=false`, { headers: finance })).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  test('F3/F6: an audit whose client disconnects stops asking (no more batches, no more Temporal questions) and frees its slot', async () => {
    const delayMs = 1500;
    const workflows = slowWorkflows(delayMs);
    const guards = createReadGuards(DEFAULT_READ_LIMITS);
    const startedAt = Date.now();
    const { app, baseUrl } = await financeApp(workflows, guards);
    try {
      const client = new AbortController();
      const abandoned = fetch(`${baseUrl}/v1/ledger/audit`, { headers: finance, signal: client.signal }).catch(() => 'aborted');
      await until('the audit asks Temporal', () => workflows.asked > 0);
      client.abort();
      expect(await abandoned).toBe('aborted');
      // The slot comes back once the audit has stopped, at the end of the one question in flight.
      await until('the abandoned audit stops', () => guards.audits.inUse === 0, 10_000);
      // Carried on, it would have asked about every closed order by now (one question at a time).
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, CLOSED_ORDERS * delayMs + 500 - (Date.now() - startedAt))));
      expect(workflows.asked).toBeLessThanOrEqual(2); // the one in flight at the abort (two if the abort came late)
      expect(workflows.asked).toBeLessThan(CLOSED_ORDERS);
    } finally {
      await app.close();
    }
  });
});

describe('Rate limits (SPEC §8: sign-in and expensive routes, 429 rate_limited with Retry-After)', () => {
  const tight: ReadLimits = { ...DEFAULT_READ_LIMITS, signIn: { burst: 3, perMinute: 3 }, expensiveRead: { burst: 2, perMinute: 2 } };
  let app: FastifyInstance;
  let baseUrl: string;
  beforeAll(async () => {
    app = buildApp({ db: database.db, client: {} as Client, taskQueue: 'unused', tokens: TOKENS, readLimits: tight });
    baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => app?.close());

  test('§8/F6: a burst of console sign-in attempts from one address gets 429 with Retry-After (before the token is even checked)', async () => {
    const attempt = () =>
      fetch(`${baseUrl}/console/sign-in`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'operator=eve&token=guess', redirect: 'manual' });
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 5; i += 1) {
      const response = await attempt();
      statuses.push(response.status);
      if (response.status === 429) limited = response;
    }
    expect(statuses.slice(0, 3).every((s) => s !== 429)).toBe(true);
    expect(statuses.slice(3)).toEqual([429, 429]);
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  test('§8/F3/O1: a burst on the audit or the stuck list gets 429 rate_limited with Retry-After, per token', async () => {
    const audit = async () => fetch(`${baseUrl}/v1/ledger/audit?sinceCheckpoint=true`, { headers: finance });
    expect((await audit()).status).toBe(200);
    expect((await audit()).status).toBe(200);
    const refused = await audit();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    // Another route has its own bucket; another token too (ops' stuck list is not limited by finance's audits).
    const stuck = () => fetch(`${baseUrl}/v1/ops/stuck`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
    expect((await stuck()).status).toBe(200);
    expect((await stuck()).status).toBe(200);
    const refusedStuck = await stuck();
    expect(refusedStuck.status).toBe(429);
    expect(Number(refusedStuck.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe('the limiter and the cache themselves', () => {
  test('§8: a token bucket refills with time and keeps at most maxKeys keys', () => {
    let now = 0;
    const buckets = new TokenBuckets({ burst: 2, perMinute: 60 }, 3, () => now);
    expect([buckets.take('a').ok, buckets.take('a').ok, buckets.take('a')]).toEqual([true, true, { ok: false, retryAfterSeconds: 1 }]);
    now += 1000;
    expect(buckets.take('a').ok).toBe(true);
    for (const key of ['b', 'c', 'd', 'e']) buckets.take(key);
    expect(buckets.size).toBe(3);
  });

  test('O1: a description is reused within its TTL, loaded again after it; the cache keeps at most its size', async () => {
    let now = 0;
    const cache = new TtlCache<number>(15_000, 2, () => now);
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get('wf-1/run-1', load)).toBe(1);
    expect(await cache.get('wf-1/run-1', load)).toBe(1);
    now += 15_001;
    expect(await cache.get('wf-1/run-1', load)).toBe(2);
    await cache.get('wf-2/run-1', load);
    await cache.get('wf-3/run-1', load);
    expect(cache.size).toBe(2);
  });
});
