import { placement, placementBody } from './support/fixtures';
import { authHeader, withStack } from './support/stack';

const stack = withStack('sandbox');

describe('SPEC §9 sandbox: the test clock', () => {
  test('T6: advancing the clock 25 hours cancels an unaccepted order and refunds the client', async () => {
    const p = placement();
    const placed = await stack.post('/v1/task-orders', placementBody(p));
    expect(placed.status).toBe(201);
    const before = await stack.get('/v1/sandbox/clock');

    const advanced = await stack.post('/v1/sandbox/clock/advance', { hours: 25 });
    expect(advanced.status).toBe(200);
    expect(Date.parse(advanced.body.now) - Date.parse(before.body.now)).toBeGreaterThanOrEqual(25 * 3_600_000);

    let order = await stack.get(`/v1/task-orders/${p.orderId}`);
    for (let i = 0; i < 50 && order.body.status !== 'cancelled'; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      order = await stack.get(`/v1/task-orders/${p.orderId}`);
    }
    expect(order.body).toMatchObject({ status: 'cancelled', cancelReason: 'not_accepted_in_time', paidInFen: 110_000, escrowFen: 0 });
    const refund = await stack.database.db
      .selectFrom('ledger_transfers')
      .selectAll()
      .where('tx_id', 'like', `task:${p.orderId}:%:cancellation_settlement`)
      .execute();
    expect(refund).toEqual([
      expect.objectContaining({ debit_account: `escrow:task:${p.orderId}`, credit_account: `client:${p.clientId}`, amount_fen: 110_000n }),
    ]);
  });

  test('T13: balance not paid in 7 days → cancelled, the deposit forfeited to the platform', async () => {
    const p = placement({ paymentMode: 'deposit', clientId: `c-sbx-${Date.now()}` });
    await stack.post('/v1/task-orders', placementBody(p));
    await stack.post(`/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } });
    await stack.post('/v1/sandbox/clock/advance', { days: 7, minutes: 1 });
    const order = await eventually(p.orderId, (o) => o.status === 'cancelled');
    expect(order).toMatchObject({ cancelReason: 'balance_not_paid', paidInFen: 10_000, escrowFen: 0, settlement: { forfeitedFen: 10_000, refundFen: 0, creatorFen: 0 } });
    const late = await stack.post(`/v1/task-orders/${p.orderId}/pay-balance`, { actor: { type: 'client', id: p.clientId }, funding: { source: 'account' } });
    expect([late.status, late.body.error.code]).toEqual([409, 'deadline_passed']);
  });

  test('T22: no answer to a cancellation request in 72 h → waiting for ops arbitration', async () => {
    const p = placement();
    await stack.post('/v1/task-orders', placementBody(p));
    await stack.post(`/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } });
    await stack.post(`/v1/task-orders/${p.orderId}/cancel`, { actor: { type: 'client', id: p.clientId }, reason: 'no longer needed' });
    await stack.post('/v1/sandbox/clock/advance', { hours: 72, minutes: 1 });
    const order = await eventually(p.orderId, (o) => o.pendingCancellation?.escalated === true);
    expect(order).toMatchObject({ status: 'in_production', pendingCancellation: { escalated: true, reason: 'no longer needed' } });
    const late = await stack.post(`/v1/task-orders/${p.orderId}/cancel-response`, { actor: { type: 'creator', id: p.creatorId }, accept: true });
    expect([late.status, late.body.error.code]).toEqual([409, 'deadline_passed']);
  });

  test('§9: a top-up is stamped with the sandbox clock, like the postings of the workflows around it', async () => {
    await stack.post('/v1/sandbox/clock/advance', { days: 30 });
    const clientId = `c-sbx-top-${Date.now()}`;
    const before = Date.parse((await stack.get('/v1/sandbox/clock')).body.now);
    const topUp = await stack.post(`/v1/clients/${clientId}/top-ups`, { paymentRef: `top-${clientId}`, amountFen: 500 });
    expect(topUp.status).toBe(201);
    const after = Date.parse((await stack.get('/v1/sandbox/clock')).body.now);
    const row = await stack.database.db.selectFrom('ledger_transactions').select('occurred_at').where('tx_id', 'like', `%top-${clientId}%`).executeTakeFirstOrThrow();
    expect(row.occurred_at.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(row.occurred_at.getTime()).toBeLessThanOrEqual(after + 1000);
    expect(before - Date.now()).toBeGreaterThan(29 * 86_400_000); // the sandbox clock is well ahead of the wall clock
  });

  test('§9/§1 (issue 12): every instant the API shows comes from the sandbox clock, as ISO strings; a combined external payment is stamped with it too', async () => {
    await stack.post('/v1/sandbox/clock/advance', { days: 3 });
    const clock = async () => Date.parse((await stack.get('/v1/sandbox/clock')).body.now);
    const before = await clock();
    expect(before - Date.now()).toBeGreaterThan(29 * 86_400_000); // far from the wall clock: a wall-clock stamp cannot pass
    const p = placement({ paymentMode: 'deposit', clientId: `c-sbx-all-${Date.now()}` });
    const creator = { type: 'creator', id: p.creatorId };
    const client = { type: 'client', id: p.clientId };
    expect((await stack.post('/v1/task-orders', placementBody(p))).status).toBe(201);
    expect((await stack.post(`/v1/task-orders/${p.orderId}/accept`, { actor: creator })).status).toBe(200);
    const paid = await stack.post('/v1/balance-payments', { clientId: p.clientId, orderIds: [p.orderId], funding: { source: 'external', paymentRef: `bal-${p.orderId}`, amountFen: 110_000 } });
    expect(paid.body.results).toEqual([expect.objectContaining({ orderId: p.orderId, outcome: 'paid' })]);
    expect((await stack.post(`/v1/task-orders/${p.orderId}/videos`, { actor: creator, draftId: 'cut-1' })).status).toBe(200);
    await stack.post(`/v1/task-orders/${p.orderId}/reviews`, { actor: client, decision: 'request_changes' });
    const requested = await stack.post(`/v1/task-orders/${p.orderId}/cancel`, { actor: client, reason: 'budget cut' });
    expect(requested.status).toBe(200);
    const quote = (await stack.post('/v1/boost-quotes', { items: [{ creatorId: p.creatorId, priceFen: 100_000 }] })).body.quotes[0];
    const stuck = (await stack.get('/v1/ops/stuck', authHeader('ops'))).body;
    const inspection = (await stack.get(`/v1/ops/orders/${p.orderId}`, authHeader('ops'))).body;
    const after = await clock();

    const order = requested.body;
    const instants: Record<string, string> = {
      createdAt: order.createdAt,
      acceptedAt: order.acceptedAt,
      balancePaidAt: order.balancePaidAt,
      'latestUpload.uploadedAt': order.latestUpload.uploadedAt,
      'pendingCancellation.requestedAt': order.pendingCancellation.requestedAt,
      updatedAt: order.updatedAt,
      'quote.quotedAt': quote.quotedAt,
      'stuck.generatedAt': stuck.generatedAt,
      ...Object.fromEntries(inspection.events.map((e: { version: number; occurredAt: string }) => [`event ${e.version}.occurredAt`, e.occurredAt])),
      ...Object.fromEntries(inspection.ledger.map((t: { txId: string; occurredAt: string }) => [`${t.txId}.occurredAt`, t.occurredAt])),
    };
    const external = await stack.database.db.selectFrom('ledger_transactions').select('occurred_at').where('external_payment_ref', '=', `bal-${p.orderId}`).executeTakeFirstOrThrow();
    instants['combined payment (external part)'] = external.occurred_at.toISOString();
    for (const [name, value] of Object.entries(instants)) {
      const ms = Date.parse(value);
      expect({ name, iso: new Date(ms).toISOString() === value, inSandboxTime: ms >= before - 1000 && ms <= after + 1000 }).toEqual({ name, iso: true, inSandboxTime: true });
    }
    expect(Date.parse(order.pendingCancellation.answerDueAt) - Date.parse(order.pendingCancellation.requestedAt)).toBe(72 * 3_600_000); // T22
    expect(Date.parse(quote.validUntilAt) - Date.parse(quote.quotedAt)).toBe(30 * 60_000); // B1
  });

  test('the clock refuses a malformed advance', async () => {
    for (const body of [{}, { hours: -1 }, { hours: 1.5 }, { weeks: 1 }, { days: 401 }]) {
      const response = await stack.post('/v1/sandbox/clock/advance', body);
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
    }
  });
});

/** Timers fire in the worker shortly after the clock moves: poll the read model (bounded). */
async function eventually(orderId: string, done: (order: any) => boolean): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  let order = (await stack.get(`/v1/task-orders/${orderId}`)).body;
  for (let i = 0; i < 50 && !done(order); i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    order = (await stack.get(`/v1/task-orders/${orderId}`)).body;
  }
  return order;
}
