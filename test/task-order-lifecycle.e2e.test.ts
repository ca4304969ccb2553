import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { placement, placementBody } from './support/fixtures';
import { writeCounts } from './support/db';
import { balances } from './support/ledger';
import { authHeader, withStack } from './support/stack';

/** SPEC §2 through the HTTP API on the Temporal dev server (paths with no timer to wait for). */
const stack = withStack('dev');

const { post, get } = stack;

async function ok(path: string, body: unknown) {
  const response = await post(path, body);
  if (response.status >= 300) throw new Error(`${path} → ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

function accountsOf(orderId: string, clientId: string, creatorId: string) {
  return {
    client: `client:${clientId}`,
    creator: `creator:${creatorId}`,
    escrow: `escrow:task:${orderId}`,
    serviceFees: 'platform:service_fees',
  };
}

describe('task-order lifecycle through the HTTP API', () => {
  test('T4, T9, T10, T12, T15–T18: deposit → +20% → restore → balance → upload → changes → upload → approve → publish → settled', async () => {
    const clientId = `c-main-${Date.now()}`;
    const p = placement({ clientId, paymentMode: 'deposit', priceFen: 100_000n });
    const o = `/v1/task-orders/${p.orderId}`;
    const creator = { type: 'creator', id: p.creatorId };
    const client = { type: 'client', id: clientId };
    const servicePlatformBefore = (await balances(stack.database.db, { s: 'platform:service_fees' })).s!;

    expect((await post('/v1/task-orders', placementBody(p))).body).toMatchObject({ status: 'awaiting_acceptance', paidInFen: 10_000, depositFen: 10_000 });
    expect(await ok(`${o}/accept`, { actor: creator, newPriceFen: 120_000 })).toMatchObject({
      status: 'awaiting_balance', priceFen: 120_000, serviceFeeFen: 12_000, balanceDueFen: 122_000,
    });
    expect(await ok(`${o}/restore-price`, { actor: client })).toMatchObject({ priceFen: 100_000, balanceDueFen: 100_000 });
    const again = await post(`${o}/restore-price`, { actor: client });
    expect([again.status, again.body.error.code]).toEqual([409, 'price_locked']);

    expect(await ok(`${o}/pay-balance`, { actor: client, funding: { source: 'external', paymentRef: `bal-${p.orderId}` } })).toMatchObject({
      status: 'in_production', paidInFen: 110_000, balanceDueFen: 0,
    });
    expect(await ok(`${o}/videos`, { actor: creator, draftId: 'draft-1' })).toMatchObject({ status: 'in_review', uploads: 1 });
    expect(await ok(`${o}/reviews`, { actor: client, decision: 'request_changes', comment: 'brighter, please' })).toMatchObject({ status: 'in_production' });
    expect(await ok(`${o}/videos`, { actor: creator, videoUrl: 'https://cdn.example.com/draft-2.mp4' })).toMatchObject({ status: 'in_review', uploads: 2 });
    expect(await ok(`${o}/reviews`, { actor: client, decision: 'approve' })).toMatchObject({ status: 'approved' });
    const done = await ok(`${o}/publish`, { actor: creator, videoId: `v-${p.orderId}`, publishedAt: new Date().toISOString() });
    expect(done).toMatchObject({ status: 'completed', paidInFen: 110_000, escrowFen: 0, settlement: { creatorFen: 100_000, serviceFeeFen: 10_000, refundFen: 0 } });

    const b = await balances(stack.database.db, accountsOf(p.orderId, clientId, p.creatorId));
    expect({ ...b, serviceFees: b.serviceFees! - servicePlatformBefore }).toEqual({ client: 0n, creator: 100_000n, escrow: 0n, serviceFees: 10_000n });
    const events = await stack.database.db.selectFrom('order_events').select('type').where('order_id', '=', p.orderId).orderBy('version').execute();
    expect(events.map((e) => e.type)).toEqual([
      'TaskOrderPlaced', 'TaskOrderAccepted', 'PriceRestored', 'BalancePaid', 'VideoUploaded', 'VideoReviewed',
      'VideoUploaded', 'VideoReviewed', 'VideoPublished', 'TaskOrderCompleted',
    ]);
  });

  test('T20, T22, T23: the client cancels after an upload, the creator confirms → 50% compensation to the creator', async () => {
    const clientId = `c-comp-${Date.now()}`;
    const p = placement({ clientId, creatorId: `k-comp-${Date.now()}`, paymentMode: 'full', priceFen: 100_000n });
    const o = `/v1/task-orders/${p.orderId}`;
    await ok('/v1/task-orders', placementBody(p));
    await ok(`${o}/accept`, { actor: { type: 'creator', id: p.creatorId } });
    await ok(`${o}/videos`, { actor: { type: 'creator', id: p.creatorId }, draftId: 'd1' });
    const requested = await ok(`${o}/cancel`, { actor: { type: 'client', id: clientId }, reason: 'campaign cancelled' });
    expect(requested.pendingCancellation).toMatchObject({ by: { type: 'client', id: clientId }, reason: 'campaign cancelled', escalated: false });
    expect(requested.deadlines.map((d: { kind: string }) => d.kind)).toContain('cancellation_answer');

    const wrongSide = await post(`${o}/cancel-response`, { actor: { type: 'client', id: clientId }, accept: true });
    expect(wrongSide.status).toBe(403);

    const cancelled = await ok(`${o}/cancel-response`, { actor: { type: 'creator', id: p.creatorId }, accept: true, reason: 'ok' });
    expect(cancelled).toMatchObject({ status: 'cancelled', cancelReason: 'cancelled_by_client_after_acceptance', settlement: { creatorFen: 50_000, serviceFeeFen: 5_000, refundFen: 55_000 } });
    const b = await balances(stack.database.db, { client: `client:${clientId}`, creator: `creator:${p.creatorId}`, escrow: `escrow:task:${p.orderId}` });
    expect(b).toEqual({ client: 55_000n, creator: 50_000n, escrow: 0n });
  });

  test('T21, T22: the creator cancels after acceptance, the client declines, then confirms a new request → full refund', async () => {
    const clientId = `c-t21-${Date.now()}`;
    const p = placement({ clientId, paymentMode: 'full' });
    const o = `/v1/task-orders/${p.orderId}`;
    const creator = { type: 'creator', id: p.creatorId };
    const client = { type: 'client', id: clientId };
    await ok('/v1/task-orders', placementBody(p));
    await ok(`${o}/accept`, { actor: creator });
    await ok(`${o}/cancel`, { actor: creator, reason: 'ill' });
    expect(await ok(`${o}/cancel-response`, { actor: client, accept: false, reason: 'please continue' })).toMatchObject({ status: 'in_production', pendingCancellation: null });
    await ok(`${o}/cancel`, { actor: creator, reason: 'still ill' });
    expect(await ok(`${o}/cancel-response`, { actor: client, accept: true })).toMatchObject({
      status: 'cancelled', cancelReason: 'cancelled_by_creator', settlement: { refundFen: 110_000, creatorFen: 0, serviceFeeFen: 0 },
    });
    expect(await balances(stack.database.db, { client: `client:${clientId}`, escrow: `escrow:task:${p.orderId}` })).toEqual({ client: 110_000n, escrow: 0n });
  });

  test('T14: combined payment — an order cancelled meanwhile keeps its share with the client, the rest is paid, a retry changes nothing', async () => {
    const clientId = `c-comb-${Date.now()}`;
    const orders = [0, 1, 2].map(() => placement({ clientId, paymentMode: 'deposit', priceFen: 100_000n }));
    for (const p of orders) {
      await ok('/v1/task-orders', placementBody(p));
      await ok(`/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } });
    }
    // the third order is cancelled meanwhile: requested by the creator, confirmed by the client
    const third = orders[2]!;
    await ok(`/v1/task-orders/${third.orderId}/cancel`, { actor: { type: 'creator', id: third.creatorId } });
    await ok(`/v1/task-orders/${third.orderId}/cancel-response`, { actor: { type: 'client', id: clientId }, accept: true });
    const depositRefund = 10_000n;

    const body = { clientId, orderIds: orders.map((p) => p.orderId), funding: { source: 'external', paymentRef: `comb-${clientId}`, amountFen: 300_000 } };
    const first = await post('/v1/balance-payments', body);
    expect(first.status).toBe(200);
    expect(first.body.results).toEqual([
      { orderId: orders[0]!.orderId, outcome: 'paid', amountFen: 100_000 },
      { orderId: orders[1]!.orderId, outcome: 'paid', amountFen: 100_000 },
      { orderId: third.orderId, outcome: 'not_paid', code: 'invalid_state', message: expect.any(String) },
    ]);
    expect(BigInt(first.body.clientBalanceFen)).toBe(300_000n - 200_000n + depositRefund);

    const before = await writeCounts(stack.database.db);
    const retry = await post('/v1/balance-payments', body);
    expect(retry.body.results.map((r: { outcome: string }) => r.outcome)).toEqual(['already_paid', 'already_paid', 'not_paid']);
    expect(retry.body.clientBalanceFen).toBe(first.body.clientBalanceFen);
    expect(await writeCounts(stack.database.db)).toEqual(before);
    for (const p of orders.slice(0, 2)) expect((await get(`/v1/task-orders/${p.orderId}`)).body.status).toBe('in_production');
  });

  test('L5: top-ups land in the client account once per paymentRef; another content under the same ref → 422', async () => {
    const clientId = `c-top-${Date.now()}`;
    const first = await post(`/v1/clients/${clientId}/top-ups`, { paymentRef: `top-${clientId}`, amountFen: 5_000 });
    expect([first.status, first.body.balanceFen]).toEqual([201, 5_000]);
    const again = await post(`/v1/clients/${clientId}/top-ups`, { paymentRef: `top-${clientId}`, amountFen: 5_000 });
    expect([again.status, again.body.balanceFen]).toEqual([200, 5_000]);
    const other = await post(`/v1/clients/${clientId}/top-ups`, { paymentRef: `top-${clientId}`, amountFen: 6_000 });
    expect([other.status, other.body.error.code]).toEqual([422, 'idempotency_mismatch']);
    // now an account-funded order can be placed (T3 from the account)
    const p = placement({ clientId, priceFen: 4_000n, funding: { source: 'account' } });
    expect((await post('/v1/task-orders', placementBody(p))).status).toBe(201);
    expect((await balances(stack.database.db, { c: `client:${clientId}` })).c).toBe(600n);
  });

  test('the task list filters by client, creator, status and creation time, and pages with a cursor', async () => {
    const clientId = `c-list-${Date.now()}`;
    const placed = [0, 1, 2].map((i) => placement({ clientId, creatorId: i === 2 ? 'k-other' : 'k-list' }));
    for (const p of placed) await ok('/v1/task-orders', placementBody(p));
    await ok(`/v1/task-orders/${placed[0]!.orderId}/accept`, { actor: { type: 'creator', id: 'k-list' } });

    const all = await get(`/v1/task-orders?clientId=${clientId}`);
    expect(all.body.orders.map((o: { orderId: string }) => o.orderId)).toEqual(placed.map((p) => p.orderId));
    expect(Object.keys(all.body.orders[0]).sort()).toEqual(['clientId', 'createdAt', 'expectedPublishAt', 'industry', 'orderId', 'priceFen', 'status', 'title']);
    expect((await get(`/v1/task-orders?clientId=${clientId}&creatorId=k-other`)).body.orders).toHaveLength(1);
    expect((await get(`/v1/task-orders?clientId=${clientId}&status=in_production`)).body.orders).toHaveLength(1);
    expect((await get(`/v1/task-orders?clientId=${clientId}&createdTo=2000-01-01T00:00:00Z`)).body.orders).toHaveLength(0);
    const page1 = await get(`/v1/task-orders?clientId=${clientId}&limit=2`);
    const page2 = await get(`/v1/task-orders?clientId=${clientId}&limit=2&cursor=${page1.body.nextCursor}`);
    expect([...page1.body.orders, ...page2.body.orders].map((o: { orderId: string }) => o.orderId)).toEqual(placed.map((p) => p.orderId));
    expect((await get('/v1/task-orders?status=nonsense')).status).toBe(400);
    expect((await get('/v1/task-orders?cursor=%%%')).status).toBe(400);
  });
});

describe("F3: finance's one command, against this running system", () => {
  test('F3/L6: `npm run finance -- audit` (and GET /v1/ledger/audit) finds the ledger whole and every closed order adding up, compared with its workflow’s final state', async () => {
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/finance.ts', 'audit'], {
      cwd: join(__dirname, '..'),
      env: { ...process.env, DATABASE_URL: stack.database.url, TEMPORAL_ADDRESS: stack.env.address },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    const report = JSON.parse(cli.stdout);
    expect(report).toMatchObject({ ok: true, discrepancyCount: 0 });
    expect(report.orders.task.reconciled).toBeGreaterThanOrEqual(3);
    // Every closed order's workflow returned the state its events fold to (or was returning it just now).
    expect(report.workflows.compared + report.workflows.running).toBe(report.reconciledOrders);
    expect(report.workflows.compared).toBeGreaterThanOrEqual(3);
    expect(report.workflows).toMatchObject({ unavailable: 0 });
    expect(report.workflows.skipped).toBeUndefined();

    const viaApi = await stack.get('/v1/ledger/audit', authHeader('finance'));
    expect(viaApi.status).toBe(200);
    expect(viaApi.body).toMatchObject({ ok: true, reconciledOrders: report.reconciledOrders, workflows: { unavailable: 0 } });
    expect(viaApi.body.workflows.compared).toBeGreaterThanOrEqual(3);
  }, 90_000);
});
