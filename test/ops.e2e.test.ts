import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app';
import { createDb } from '../db/connect';
import { DEFAULT_TASK_POLICY } from '../domain/task-order';
import { startDevServer, startTimeSkippingServer } from '../platform/temporal-env';
import { createWorker } from '../worker/create-worker';
import { TASK_ORDER_WORKFLOW, placementUpdate, taskOrderWorkflowId, type TaskOrderInput } from '../workflows/task-order-api';
import { createOpsService } from '../api/ops-service';
import { createTestDatabase, type TestDatabase } from './support/db';
import { placement, placementBody } from './support/fixtures';
import { balances } from './support/ledger';
import { TEST_API_TOKENS, TEST_TOKENS, authHeader, http } from './support/stack';
import { tokenFingerprint } from '../api/auth';
import { installQuietRuntime, runningWorker, workflowBundle } from './support/temporal';

/** O1, O4: ops find stuck orders, with the reason, and fix them through the API. */
jest.setTimeout(90_000);
const COMMAND_WAIT_MS = 2_000;

interface Setup {
  env: TestWorkflowEnvironment;
  database: TestDatabase;
  app: FastifyInstance;
  baseUrl: string;
}

async function setUp(mode: 'dev' | 'sandbox', taskQueue: string): Promise<Setup> {
  installQuietRuntime();
  const [env, database] = await Promise.all([mode === 'dev' ? startDevServer() : startTimeSkippingServer(), createTestDatabase()]);
  const clock = mode === 'sandbox' ? { nowMs: () => env.currentTimeMs(), advance: (ms: number) => env.sleep(ms) } : undefined;
  const app = buildApp({ db: database.db, client: env.client, taskQueue, tokens: TEST_API_TOKENS, commandWaitMs: COMMAND_WAIT_MS, ...(clock ? { clock } : {}) });
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  return { env, database, app, baseUrl };
}

async function tearDown(s: Setup | undefined) {
  await s?.app.close();
  await s?.env.teardown();
  await s?.database.drop();
}

const ops = authHeader('ops');
const stuckOf = async (baseUrl: string, orderId: string) =>
  ((await http(baseUrl, 'GET', '/v1/ops/stuck', undefined, ops)).body.entries as Array<Record<string, unknown>>).filter((e) => e.orderId === orderId);

describe('sandbox (time-skipping server)', () => {
  const taskQueue = 'ops-sandbox';
  let s: Setup;
  beforeAll(async () => {
    s = await setUp('sandbox', taskQueue);
  }, 120_000);
  afterAll(() => tearDown(s));

  test('O1, O4, T22: a cancellation with no answer is listed as awaiting arbitration; the ops decision applies T20\'s money', async () => {
    const worker = await runningWorker(s.env, s.database.db, taskQueue);
    try {
      const clientId = `c-arb-${Date.now()}`;
      const creatorId = `k-arb-${Date.now()}`;
      const p = placement({ clientId, creatorId });
      const o = `/v1/task-orders/${p.orderId}`;
      await http(s.baseUrl, 'POST', '/v1/task-orders', placementBody(p));
      await http(s.baseUrl, 'POST', `${o}/accept`, { actor: { type: 'creator', id: creatorId } });
      await http(s.baseUrl, 'POST', `${o}/videos`, { actor: { type: 'creator', id: creatorId }, draftId: 'd1' });
      await http(s.baseUrl, 'POST', `${o}/cancel`, { actor: { type: 'client', id: clientId }, reason: 'brand withdrew' });
      await http(s.baseUrl, 'POST', '/v1/sandbox/clock/advance', { hours: 73 });

      let entries = await stuckOf(s.baseUrl, p.orderId);
      for (let i = 0; i < 50 && !entries.some((e) => e.reason === 'awaiting_arbitration'); i += 1) {
        await new Promise((r) => setTimeout(r, 100));
        entries = await stuckOf(s.baseUrl, p.orderId);
      }
      expect(entries.map((e) => e.reason)).toContain('awaiting_arbitration');
      // SPEC §1 (issue 12): the entry says since when, as an ISO instant named …At.
      const arbitration = entries.find((e) => e.reason === 'awaiting_arbitration') as { stuckSinceAt: string };
      expect(new Date(Date.parse(arbitration.stuckSinceAt)).toISOString()).toBe(arbitration.stuckSinceAt);

      const forbidden = await http(s.baseUrl, 'POST', `/v1/ops/orders/${p.orderId}/actions`, { action: 'arbitrate', decision: 'confirm', reason: 'x' });
      expect(forbidden.status).toBe(403); // the backend's token is not ops
      // O4/issue 18: the operator is the token's, never a name in the body.
      const named = await http(s.baseUrl, 'POST', `/v1/ops/orders/${p.orderId}/actions`, { action: 'arbitrate', operator: 'mallory', decision: 'confirm', reason: 'x' }, ops);
      expect([named.status, named.body.error.code]).toEqual([400, 'validation_failed']);

      const decided = await http(s.baseUrl, 'POST', `/v1/ops/orders/${p.orderId}/actions`, { action: 'arbitrate', decision: 'confirm', reason: 'creator agreed by phone' }, ops);
      expect(decided.status).toBe(200);
      expect(decided.body).toMatchObject({ status: 'cancelled', cancelReason: 'cancelled_by_client_after_acceptance', settlement: { creatorFen: 50_000, serviceFeeFen: 5_000, refundFen: 55_000 } });
      expect(await balances(s.database.db, { client: `client:${clientId}`, creator: `creator:${creatorId}`, escrow: `escrow:task:${p.orderId}` })).toEqual({
        client: 55_000n,
        creator: 50_000n,
        escrow: 0n,
      });

      const inspection = (await http(s.baseUrl, 'GET', `/v1/ops/orders/${p.orderId}`, undefined, ops)).body;
      expect(inspection.events.map((e: { type: string }) => e.type).slice(-2)).toEqual(['CancellationArbitrated', 'TaskOrderCancelled']);
      // A token that names no person is recorded by its fingerprint (never the token itself).
      expect(inspection.events.at(-2).payload).toMatchObject({ by: { type: 'ops', id: tokenFingerprint(TEST_TOKENS.ops) }, reason: 'creator agreed by phone' });
      expect(tokenFingerprint(TEST_TOKENS.ops)).toMatch(/^token-[0-9a-f]{8}$/);
      expect(inspection.ledger.at(-1).transfers).toHaveLength(3);
      expect(inspection.temporal).toMatchObject({ workflowId: `task-order:${p.orderId}` });
      expect(await stuckOf(s.baseUrl, p.orderId)).toEqual([]);
    } finally {
      await worker.stop();
    }
  });
});

describe('dev server', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp('dev', 'ops-dev');
  }, 120_000);
  afterAll(() => tearDown(s));

  test('O1: an order whose worker is down past its deadline is listed as overdue, with the deadline', async () => {
    const worker = await createWorker({ connection: s.env.nativeConnection, namespace: 'default', taskQueue: 'ops-down', db: s.database.db, workflowBundle: await workflowBundle() });
    const p = placement();
    await worker.runUntil(async () => {
      const input: TaskOrderInput = { placement: p, policy: DEFAULT_TASK_POLICY };
      const handle = await s.env.client.workflow.start(TASK_ORDER_WORKFLOW, { workflowId: taskOrderWorkflowId(p.orderId), taskQueue: 'ops-down', args: [input] });
      expect((await handle.executeUpdate(placementUpdate)).placed).toBe(true);
    }); // the worker is down from here on
    const row = await s.database.db.selectFrom('task_orders').select('next_deadline_at').where('order_id', '=', p.orderId).executeTakeFirstOrThrow();
    const deadlineMs = row.next_deadline_at!.getTime();
    // Ops look 10 minutes after the deadline (the service's clock is injected, as the sandbox injects its own).
    const later = createOpsService({ db: s.database.db, client: s.env.client, nowMs: async () => deadlineMs + 10 * 60_000 });
    const entries = (await later.stuck()).entries.filter((e) => e.orderId === p.orderId);
    expect(entries).toEqual([expect.objectContaining({ reason: 'deadline_overdue', status: 'awaiting_acceptance', since: new Date(deadlineMs).toISOString() })]);
    const early = createOpsService({ db: s.database.db, client: s.env.client, nowMs: async () => deadlineMs + 4 * 60_000 });
    expect((await early.stuck()).entries.filter((e) => e.orderId === p.orderId)).toEqual([]); // within the 5-minute grace
    await s.env.client.workflow.getHandle(taskOrderWorkflowId(p.orderId)).terminate('test done');
  });

  test('SPEC §8: a command whose write keeps failing answers 202 (accepted, not saved yet) within the bound instead of hanging', async () => {
    const good = await createWorker({ connection: s.env.nativeConnection, namespace: 'default', taskQueue: 'ops-pending', db: s.database.db, workflowBundle: await workflowBundle() });
    const p = placement();
    await good.runUntil(async () => {
      const input: TaskOrderInput = { placement: p, policy: DEFAULT_TASK_POLICY };
      const handle = await s.env.client.workflow.start(TASK_ORDER_WORKFLOW, { workflowId: taskOrderWorkflowId(p.orderId), taskQueue: 'ops-pending', args: [input] });
      expect((await handle.executeUpdate(placementUpdate)).placed).toBe(true);
    });
    const unreachable = createDb({ connectionString: 'postgres://nobody:nothing@127.0.0.1:1/none', maxConnections: 1 });
    const broken = await createWorker({ connection: s.env.nativeConnection, namespace: 'default', taskQueue: 'ops-pending', db: unreachable, workflowBundle: await workflowBundle() });
    await broken.runUntil(async () => {
      const refused = await http(s.baseUrl, 'POST', `/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: 'someone-else' } });
      expect(refused.status).toBe(403); // refusals still answer at once
      const startedAt = Date.now();
      const accepted = await http(s.baseUrl, 'POST', `/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } });
      expect(accepted.status).toBe(202);
      expect(accepted.body).toMatchObject({ orderId: p.orderId, status: 'awaiting_acceptance' });
      expect(Date.now() - startedAt).toBeLessThan(COMMAND_WAIT_MS + 5_000);
    });
    await unreachable.destroy();
    await s.env.client.workflow.getHandle(taskOrderWorkflowId(p.orderId)).terminate('test done');
  });

  test('T14 §8: a combined payment whose balance payment is accepted but cannot be saved answers 503 to retry, never "paid"', async () => {
    const p = placement({ paymentMode: 'deposit', clientId: `c-comb-${Date.now()}`, funding: { source: 'account' } });
    const good = await createWorker({ connection: s.env.nativeConnection, namespace: 'default', taskQueue: 'ops-dev', db: s.database.db, workflowBundle: await workflowBundle() });
    await http(s.baseUrl, 'POST', `/v1/clients/${p.clientId}/top-ups`, { paymentRef: `top-${p.orderId}`, amountFen: 200_000 });
    await good.runUntil(async () => {
      expect((await http(s.baseUrl, 'POST', '/v1/task-orders', placementBody(p))).status).toBe(201);
      expect((await http(s.baseUrl, 'POST', `/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } })).status).toBe(200);
    });
    const unreachable = createDb({ connectionString: 'postgres://nobody:nothing@127.0.0.1:1/none', maxConnections: 1 });
    const broken = await createWorker({ connection: s.env.nativeConnection, namespace: 'default', taskQueue: 'ops-dev', db: unreachable, workflowBundle: await workflowBundle() });
    await broken.runUntil(async () => {
      const paying = await http(s.baseUrl, 'POST', '/v1/balance-payments', { clientId: p.clientId, orderIds: [p.orderId], funding: { source: 'account' } });
      expect([paying.status, paying.body.error?.code]).toEqual([503, 'unavailable']);
    });
    await unreachable.destroy();
    await s.env.client.workflow.getHandle(taskOrderWorkflowId(p.orderId)).terminate('test done');
  });

  test('SPEC §8: a placement whose payment cannot be saved answers 202 (placing) within the bound, and writes no order', async () => {
    const unreachable = createDb({ connectionString: 'postgres://nobody:nothing@127.0.0.1:1/none', maxConnections: 1 });
    const broken = await createWorker({ connection: s.env.nativeConnection, namespace: 'default', taskQueue: 'ops-dev', db: unreachable, workflowBundle: await workflowBundle() });
    const p = placement();
    await broken.runUntil(async () => {
      const startedAt = Date.now();
      const placing = await http(s.baseUrl, 'POST', '/v1/task-orders', placementBody(p));
      expect([placing.status, placing.body]).toEqual([202, { orderId: p.orderId, status: 'placing' }]);
      expect(Date.now() - startedAt).toBeLessThan(COMMAND_WAIT_MS + 5_000);
      expect((await http(s.baseUrl, 'GET', `/v1/task-orders/${p.orderId}`)).status).toBe(404);
    });
    await unreachable.destroy();
    await s.env.client.workflow.getHandle(taskOrderWorkflowId(p.orderId)).terminate('test done');
  });

  test('O1, O2: an activity failing again and again (database unreachable) is listed with its attempt count and last error', async () => {
    const unreachable = createDb({ connectionString: 'postgres://nobody:nothing@127.0.0.1:1/none', maxConnections: 1 });
    const broken = await createWorker({ connection: s.env.nativeConnection, namespace: 'default', taskQueue: 'ops-broken', db: unreachable, workflowBundle: await workflowBundle() });
    const p = placement();
    await broken.runUntil(async () => {
      const input: TaskOrderInput = { placement: p, policy: DEFAULT_TASK_POLICY };
      const handle = await s.env.client.workflow.start(TASK_ORDER_WORKFLOW, { workflowId: taskOrderWorkflowId(p.orderId), taskQueue: 'ops-broken', args: [input] });
      let entries: Array<Record<string, unknown>> = [];
      for (let i = 0; i < 300 && !entries.some((e) => e.reason === 'activity_retrying'); i += 1) {
        await new Promise((r) => setTimeout(r, 100));
        entries = await stuckOf(s.baseUrl, p.orderId);
      }
      const retrying = entries.find((e) => e.reason === 'activity_retrying');
      expect(retrying).toMatchObject({ orderId: p.orderId, attempt: expect.any(Number), lastFailure: expect.stringMatching(/ECONNREFUSED|connect/i) });
      expect(retrying?.attempt as number).toBeGreaterThanOrEqual(3);
      await handle.terminate('test done');
    });
    await unreachable.destroy();
  }, 60_000);
});
