import { placement, placementBody } from './support/fixtures';
import { writeCounts } from './support/db';
import { withStack } from './support/stack';

/** SPEC §8: every command refused in a wrong state (409 + its code), by a non-party (403), writes nothing. */
const stack = withStack('dev');

const { post } = stack;

type Case = [command: string, body: Record<string, unknown>, status: number, code: string];

async function expectRefusals(orderId: string, cases: Case[]) {
  const before = await writeCounts(stack.database.db);
  for (const [command, body, status, code] of cases) {
    const response = await post(`/v1/task-orders/${orderId}/${command}`, body);
    expect({ command, body, status: response.status, code: response.body?.error?.code }).toEqual({ command, body, status, code });
  }
  expect(await writeCounts(stack.database.db)).toEqual(before);
}

test('T9–T22 while awaiting acceptance: every later command → 409 invalid_state; price rules → their codes; strangers → 403', async () => {
  const p = placement({ paymentMode: 'deposit', priceFen: 99_999n });
  await post('/v1/task-orders', placementBody(p));
  await post(`/v1/task-orders/${p.orderId}/remind`, { actor: { type: 'client', id: p.clientId } });
  const client = { type: 'client', id: p.clientId };
  const creator = { type: 'creator', id: p.creatorId };
  const stranger = { type: 'creator', id: 'not-the-creator' };
  await expectRefusals(p.orderId, [
    ['restore-price', { actor: client }, 409, 'invalid_state'],
    ['pay-balance', { actor: client, funding: { source: 'account' } }, 409, 'invalid_state'],
    ['videos', { actor: creator, draftId: 'd' }, 409, 'invalid_state'],
    ['reviews', { actor: client, decision: 'approve' }, 409, 'invalid_state'],
    ['publish', { actor: creator, videoId: 'v', publishedAt: '2026-01-01T00:00:00Z' }, 409, 'invalid_state'],
    ['cancel-response', { actor: creator, accept: true }, 409, 'invalid_state'],
    ['accept', { actor: creator, newPriceFen: 79_999 }, 409, 'price_out_of_range'], // ceil(0.8 × 99 999) = 80 000
    ['accept', { actor: creator, newPriceFen: 120_000 }, 409, 'price_out_of_range'], // floor(1.2 × 99 999) = 119 998
    ['remind', { actor: client }, 429, 'rate_limited'], // T8: one reminder per hour
    ['accept', { actor: stranger }, 403, 'forbidden'],
    ['reject', { actor: client }, 403, 'forbidden'],
    ['cancel', { actor: { type: 'client', id: 'another-client' } }, 403, 'forbidden'],
    ['remind', { actor: creator }, 403, 'forbidden'],
  ]);
});

test('T9, T10, T15 after acceptance: price rules and wrong-state commands → their 409 codes, nothing written', async () => {
  const full = placement({ paymentMode: 'full' });
  await post('/v1/task-orders', placementBody(full));
  await post(`/v1/task-orders/${full.orderId}/accept`, { actor: { type: 'creator', id: full.creatorId } });
  const client = { type: 'client', id: full.clientId };
  const creator = { type: 'creator', id: full.creatorId };
  await expectRefusals(full.orderId, [
    ['accept', { actor: creator }, 409, 'invalid_state'],
    ['reject', { actor: creator }, 409, 'invalid_state'],
    ['remind', { actor: client }, 409, 'invalid_state'],
    ['restore-price', { actor: client }, 409, 'price_change_not_allowed'],
    ['pay-balance', { actor: client, funding: { source: 'account' } }, 409, 'invalid_state'],
    ['reviews', { actor: client, decision: 'approve' }, 409, 'invalid_state'],
    ['publish', { actor: creator, videoId: 'v', publishedAt: '2026-01-01T00:00:00Z' }, 409, 'invalid_state'],
    ['cancel-response', { actor: client, accept: true }, 409, 'invalid_state'],
    ['videos', { actor: client, draftId: 'd' }, 403, 'forbidden'],
  ]);

  const deposit = placement({ paymentMode: 'deposit' });
  await post('/v1/task-orders', placementBody(deposit));
  await post(`/v1/task-orders/${deposit.orderId}/accept`, { actor: { type: 'creator', id: deposit.creatorId } });
  await expectRefusals(deposit.orderId, [
    ['restore-price', { actor: { type: 'client', id: deposit.clientId } }, 409, 'invalid_state'], // no price change to restore
    ['videos', { actor: { type: 'creator', id: deposit.creatorId }, draftId: 'd' }, 409, 'invalid_state'], // balance first (T15)
  ]);
});

test('T9 §1: price_out_of_range names the allowed range as integer amounts', async () => {
  const p = placement({ paymentMode: 'deposit', priceFen: 99_999n });
  await post('/v1/task-orders', placementBody(p));
  const refused = await post(`/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId }, newPriceFen: 79_999 });
  expect(refused.status).toBe(409);
  expect(refused.body.error).toMatchObject({ code: 'price_out_of_range', details: { minFen: 80_000, maxFen: 119_998 } });
});

test('T10: after the balance is paid the price is locked', async () => {
  const p = placement({ paymentMode: 'deposit' });
  await post('/v1/task-orders', placementBody(p));
  await post(`/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId }, newPriceFen: 90_000 });
  const paid = await post(`/v1/task-orders/${p.orderId}/pay-balance`, { actor: { type: 'client', id: p.clientId }, funding: { source: 'external', paymentRef: `bal-${p.orderId}` } });
  expect(paid.body).toMatchObject({ status: 'in_production', priceFen: 90_000 });
  await expectRefusals(p.orderId, [['restore-price', { actor: { type: 'client', id: p.clientId } }, 409, 'price_locked']]);
});

test('§8: a body that does not fit the command → 400 validation_failed, nothing written', async () => {
  const p = placement();
  await post('/v1/task-orders', placementBody(p));
  const creator = { type: 'creator', id: p.creatorId };
  await expectRefusals(p.orderId, [
    ['accept', { actor: creator, newPriceFen: 0 }, 400, 'validation_failed'],
    ['videos', { actor: creator }, 400, 'validation_failed'],
    ['reviews', { actor: { type: 'client', id: p.clientId }, decision: 'maybe' }, 400, 'validation_failed'],
    ['publish', { actor: creator, videoId: 'v', publishedAt: 'yesterday' }, 400, 'validation_failed'],
    ['cancel-response', { actor: creator, accept: 'yes' }, 400, 'validation_failed'],
    ['pay-balance', { actor: { type: 'client', id: p.clientId }, funding: { source: 'card' } }, 400, 'validation_failed'],
  ]);
});

test('T18: a publishedAt before the acceptance or more than 5 minutes ahead → 409 invalid_state with the bounds, nothing written; now is accepted', async () => {
  const p = placement({ paymentMode: 'full' });
  await post('/v1/task-orders', placementBody(p));
  const client = { type: 'client', id: p.clientId };
  const creator = { type: 'creator', id: p.creatorId };
  await post(`/v1/task-orders/${p.orderId}/accept`, { actor: creator });
  await post(`/v1/task-orders/${p.orderId}/videos`, { actor: creator, draftId: 'd1' });
  expect((await post(`/v1/task-orders/${p.orderId}/reviews`, { actor: client, decision: 'approve' })).status).toBe(200);
  const DAY = 86_400_000;
  await expectRefusals(p.orderId, [
    ['publish', { actor: creator, videoId: 'v', publishedAt: new Date(Date.now() - 90 * DAY).toISOString() }, 409, 'invalid_state'],
    ['publish', { actor: creator, videoId: 'v', publishedAt: new Date(Date.now() + 365 * DAY).toISOString() }, 409, 'invalid_state'],
    ['publish', { actor: creator, videoId: 'v', publishedAt: new Date(Date.now() + 10 * 60_000).toISOString() }, 409, 'invalid_state'],
  ]);
  const refused = await post(`/v1/task-orders/${p.orderId}/publish`, { actor: creator, videoId: 'v', publishedAt: new Date(Date.now() + 365 * DAY).toISOString() });
  expect(refused.body.error.details).toEqual({ publishedAt: expect.any(String), earliestAt: expect.any(String), latestAt: expect.any(String) });
  const done = await post(`/v1/task-orders/${p.orderId}/publish`, { actor: creator, videoId: 'v', publishedAt: new Date().toISOString() });
  expect(done.body).toMatchObject({ status: 'completed' });
});
