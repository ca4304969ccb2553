import { placement, placementBody } from './support/fixtures';
import { http, startStack, type TestStack } from './support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack('sandbox');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('SPEC §9 sandbox: the test clock', () => {
  test('T6: advancing the clock 25 hours cancels an unaccepted order and refunds the client', async () => {
    const p = placement();
    const placed = await http(stack.baseUrl, 'POST', '/v1/task-orders', placementBody(p));
    expect(placed.status).toBe(201);
    const before = await http(stack.baseUrl, 'GET', '/v1/sandbox/clock');

    const advanced = await http(stack.baseUrl, 'POST', '/v1/sandbox/clock/advance', { hours: 25 });
    expect(advanced.status).toBe(200);
    expect(Date.parse(advanced.body.now) - Date.parse(before.body.now)).toBeGreaterThanOrEqual(25 * 3_600_000);

    let order = await http(stack.baseUrl, 'GET', `/v1/task-orders/${p.orderId}`);
    for (let i = 0; i < 50 && order.body.status !== 'cancelled'; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      order = await http(stack.baseUrl, 'GET', `/v1/task-orders/${p.orderId}`);
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
    await http(stack.baseUrl, 'POST', '/v1/task-orders', placementBody(p));
    await http(stack.baseUrl, 'POST', `/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } });
    await http(stack.baseUrl, 'POST', '/v1/sandbox/clock/advance', { days: 7, minutes: 1 });
    const order = await eventually(p.orderId, (o) => o.status === 'cancelled');
    expect(order).toMatchObject({ cancelReason: 'balance_not_paid', paidInFen: 10_000, escrowFen: 0, settlement: { forfeitedFen: 10_000, refundFen: 0, creatorFen: 0 } });
    const late = await http(stack.baseUrl, 'POST', `/v1/task-orders/${p.orderId}/pay-balance`, { actor: { type: 'client', id: p.clientId }, funding: { source: 'account' } });
    expect([late.status, late.body.error.code]).toEqual([409, 'deadline_passed']);
  });

  test('T22: no answer to a cancellation request in 72 h → waiting for ops arbitration', async () => {
    const p = placement();
    await http(stack.baseUrl, 'POST', '/v1/task-orders', placementBody(p));
    await http(stack.baseUrl, 'POST', `/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } });
    await http(stack.baseUrl, 'POST', `/v1/task-orders/${p.orderId}/cancel`, { actor: { type: 'client', id: p.clientId }, reason: 'no longer needed' });
    await http(stack.baseUrl, 'POST', '/v1/sandbox/clock/advance', { hours: 72, minutes: 1 });
    const order = await eventually(p.orderId, (o) => o.pendingCancellation?.escalated === true);
    expect(order).toMatchObject({ status: 'in_production', pendingCancellation: { escalated: true, reason: 'no longer needed' } });
    const late = await http(stack.baseUrl, 'POST', `/v1/task-orders/${p.orderId}/cancel-response`, { actor: { type: 'creator', id: p.creatorId }, accept: true });
    expect([late.status, late.body.error.code]).toEqual([409, 'deadline_passed']);
  });

  test('§9: a top-up is stamped with the sandbox clock, like the postings of the workflows around it', async () => {
    await http(stack.baseUrl, 'POST', '/v1/sandbox/clock/advance', { days: 30 });
    const clientId = `c-sbx-top-${Date.now()}`;
    const before = Date.parse((await http(stack.baseUrl, 'GET', '/v1/sandbox/clock')).body.now);
    const topUp = await http(stack.baseUrl, 'POST', `/v1/clients/${clientId}/top-ups`, { paymentRef: `top-${clientId}`, amountFen: 500 });
    expect(topUp.status).toBe(201);
    const after = Date.parse((await http(stack.baseUrl, 'GET', '/v1/sandbox/clock')).body.now);
    const row = await stack.database.db.selectFrom('ledger_transactions').select('occurred_at').where('tx_id', 'like', `%top-${clientId}%`).executeTakeFirstOrThrow();
    expect(row.occurred_at.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(row.occurred_at.getTime()).toBeLessThanOrEqual(after + 1000);
    expect(before - Date.now()).toBeGreaterThan(29 * 86_400_000); // the sandbox clock is well ahead of the wall clock
  });

  test('the clock refuses a malformed advance', async () => {
    for (const body of [{}, { hours: -1 }, { hours: 1.5 }, { weeks: 1 }, { days: 401 }]) {
      const response = await http(stack.baseUrl, 'POST', '/v1/sandbox/clock/advance', body);
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
    }
  });
});

/** Timers fire in the worker shortly after the clock moves: poll the read model (bounded). */
async function eventually(orderId: string, done: (order: any) => boolean): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  let order = (await http(stack.baseUrl, 'GET', `/v1/task-orders/${orderId}`)).body;
  for (let i = 0; i < 50 && !done(order); i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    order = (await http(stack.baseUrl, 'GET', `/v1/task-orders/${orderId}`)).body;
  }
  return order;
}
