import { placement, placementBody } from './support/fixtures';
import { writeCounts } from './support/db';
import { withStack } from './support/stack';

const stack = withStack('dev');

const { post, get } = stack;

describe('task orders through the HTTP API (dev server + worker + Postgres)', () => {
  test('T1–T3, T6, T15: place in full mode, accept; the read model and the ledger are right', async () => {
    const p = placement();
    const placed = await post('/v1/task-orders', placementBody(p));
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({
      orderId: p.orderId,
      status: 'awaiting_acceptance',
      priceFen: 100_000,
      serviceFeeFen: 10_000,
      paidInFen: 110_000,
      nextDeadline: { kind: 'acceptance' },
      version: 1,
    });
    expect(Date.parse(placed.body.nextDeadline.at) - Date.parse(placed.body.createdAt)).toBe(24 * 3_600_000);

    const accepted = await post(`/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ status: 'in_production', version: 2 });
    expect(accepted.body.nextDeadline?.kind).not.toBe('acceptance');

    const read = await get(`/v1/task-orders/${p.orderId}`);
    expect(read.body).toEqual(accepted.body);

    const row = await stack.database.db.selectFrom('task_orders').selectAll().where('order_id', '=', p.orderId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'in_production', price_fen: 100_000n, service_fee_fen: 10_000n, paid_in_fen: 110_000n, version: 2 });

    const transfers = await stack.database.db
      .selectFrom('ledger_transfers')
      .innerJoin('ledger_transactions', 'ledger_transactions.tx_id', 'ledger_transfers.tx_id')
      .select(['ledger_transfers.tx_id', 'debit_account', 'credit_account', 'amount_fen', 'external_payment_ref'])
      .where('order_id', '=', p.orderId)
      .execute();
    expect(transfers).toEqual([
      {
        tx_id: `task:${p.orderId}:v1:placement_payment`,
        debit_account: 'external:payments',
        credit_account: `escrow:task:${p.orderId}`,
        amount_fen: 110_000n,
        external_payment_ref: p.funding.source === 'external' ? p.funding.paymentRef : null,
      },
    ]);
    const events = await stack.database.db.selectFrom('order_events').select(['version', 'type']).where('order_id', '=', p.orderId).orderBy('version').execute();
    expect(events).toEqual([
      { version: 1, type: 'TaskOrderPlaced' },
      { version: 2, type: 'TaskOrderAccepted' },
    ]);
  });

  test('T1: the same POST again returns the same order; the same orderId with another price is a conflict', async () => {
    const p = placement();
    const first = await post('/v1/task-orders', placementBody(p));
    expect(first.status).toBe(201);
    const before = await writeCounts(stack.database.db);

    const again = await post('/v1/task-orders', placementBody(p));
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);

    const conflicting = await post('/v1/task-orders', { ...placementBody(p), priceFen: 100_001 });
    expect(conflicting.status).toBe(422);
    expect(conflicting.body.error.code).toBe('idempotency_mismatch');
    expect(await writeCounts(stack.database.db)).toEqual(before);
  });

  test('SPEC §8: malformed bodies → 400 validation_failed and no row written', async () => {
    const before = await writeCounts(stack.database.db);
    const valid = placementBody(placement());
    const malformed: unknown[] = [
      '{not json',
      {},
      { ...valid, priceFen: 1.5 },
      { ...valid, priceFen: -100 },
      { ...valid, priceFen: '100000' },
      { ...valid, taskType: 'tiktok' },
      { ...valid, orderId: 'has spaces' },
      { ...valid, brief: { title: '', industry: 'x', expectedPublishAt: 'tomorrow' } },
      { ...valid, funding: { source: 'external' } },
      { ...valid, unexpected: true },
    ];
    for (const body of malformed) {
      const response = await post('/v1/task-orders', body);
      expect({ body, status: response.status, code: response.body?.error?.code }).toEqual({ body, status: 400, code: 'validation_failed' });
    }
    expect(await writeCounts(stack.database.db)).toEqual(before);
  });

  test('SPEC §8: commands refused — wrong party 403, wrong state 409, unknown order 404 — write nothing', async () => {
    const p = placement({ paymentMode: 'full' });
    await post('/v1/task-orders', placementBody(p));
    const before = await writeCounts(stack.database.db);
    const cases: Array<[string, unknown, number, string]> = [
      [`/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: 'someone-else' } }, 403, 'forbidden'],
      [`/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'client', id: p.clientId } }, 403, 'forbidden'],
      [`/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId }, newPriceFen: 110_000 }, 409, 'price_change_not_allowed'],
      [`/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator' } }, 400, 'validation_failed'],
      ['/v1/task-orders/no-such-order/accept', { actor: { type: 'creator', id: p.creatorId } }, 404, 'not_found'],
    ];
    for (const [path, body, status, code] of cases) {
      const response = await post(path, body);
      expect({ path, body, status: response.status, code: response.body?.error?.code }).toEqual({ path, body, status, code });
    }
    expect(await writeCounts(stack.database.db)).toEqual(before);
  });

  test('T5: an account payment the balance cannot cover → 409 insufficient_funds, nothing left behind', async () => {
    const before = await writeCounts(stack.database.db);
    const p = placement({ clientId: 'client-without-money', funding: { source: 'account' } });
    const response = await post('/v1/task-orders', placementBody(p));
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('insufficient_funds');
    expect(await writeCounts(stack.database.db)).toEqual(before);
    expect((await get(`/v1/task-orders/${p.orderId}`)).status).toBe(404);
  });

  test('T11: the client cancels before acceptance → cancelled, refunded in full', async () => {
    const p = placement();
    await post('/v1/task-orders', placementBody(p));
    const cancelled = await post(`/v1/task-orders/${p.orderId}/cancel`, { actor: { type: 'client', id: p.clientId }, reason: 'changed plans' });
    expect(cancelled.body).toMatchObject({ status: 'cancelled', cancelReason: 'cancelled_by_client_before_acceptance', paidInFen: 110_000, escrowFen: 0 });
    const again = await post(`/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('invalid_state');
  });
});

test('T5 §8: the same refused placement POSTed 10 times at once → each answers 409 insufficient_funds (a POST landing as its run closes too), never 500', async () => {
  const results = await Promise.all(
    Array.from({ length: 3 }, async (_, round) => {
      const p = placement({ clientId: `c-broke-${Date.now()}-${round}`, funding: { source: 'account' } });
      const answers = await Promise.all(Array.from({ length: 10 }, () => stack.post('/v1/task-orders', placementBody(p))));
      return answers.map((a) => `${a.status} ${a.body?.error?.code ?? ''}`);
    }),
  );
  expect(results.flat()).toEqual(Array(30).fill('409 insufficient_funds'));
});
