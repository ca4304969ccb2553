import { CREATOR, DAY, HOUR, Story, T0, codeOf, eventsOf } from './testing';

const OPS = { type: 'ops', id: 'ops-alice' } as const;
const account = { source: 'account' } as const;
const opsCancel = (outcome: 'full_refund' | 'creator_compensation' | 'deposit_forfeited', reason = 'customer complaint') =>
  ({ type: 'ops_cancel', operator: OPS.id, outcome, reason }) as const;

const awaiting = Story.placed(); // full mode: 99 999 + 10 000 in escrow
const inProduction = awaiting.run({ type: 'accept', actor: CREATOR }, T0 + HOUR);
const uploaded = inProduction.run({ type: 'upload_video', actor: CREATOR, draftId: 'd1' }, T0 + DAY);
const depositAwaitingBalance = Story.placed({ paymentMode: 'deposit' }).run({ type: 'accept', actor: CREATOR }, T0 + HOUR);

describe('O4: ops cancel an order with one of the money outcomes of T6–T21', () => {
  test('O4/T11: full refund before acceptance; the operator and the reason are recorded (T23)', () => {
    expect(eventsOf(awaiting.when(opsCancel('full_refund'), T0 + 2 * HOUR))).toEqual([
      {
        type: 'TaskOrderCancelled',
        reason: 'cancelled_by_ops',
        by: OPS,
        note: 'full_refund: customer complaint',
        refundFen: 109_999n,
        creatorFen: 0n,
        serviceFeeFen: 0n,
        forfeitedFen: 0n,
      },
    ]);
  });

  test('O4/T20: creator compensation after an upload: 50% of the price, the fee on it, the rest refunded', () => {
    const [event] = eventsOf(uploaded.when(opsCancel('creator_compensation'), T0 + 2 * DAY));
    expect(event).toMatchObject({ reason: 'cancelled_by_ops', creatorFen: 50_000n, serviceFeeFen: 5_000n, refundFen: 109_999n - 55_000n });
  });

  test('O4/T20: creator compensation before any upload → invalid_state', () => {
    expect(codeOf(inProduction.when(opsCancel('creator_compensation'), T0 + 2 * DAY))).toBe('invalid_state');
  });

  test('O4/T13: the deposit forfeited while the balance is unpaid; not after it was paid', () => {
    const [event] = eventsOf(depositAwaitingBalance.when(opsCancel('deposit_forfeited'), T0 + DAY));
    expect(event).toMatchObject({ forfeitedFen: 10_000n, refundFen: 0n, creatorFen: 0n });
    const paid = depositAwaitingBalance.run({ type: 'pay_balance', actor: { type: 'client', id: 'client-1' }, funding: account }, T0 + DAY);
    expect(codeOf(paid.when(opsCancel('deposit_forfeited'), T0 + 2 * DAY))).toBe('invalid_state');
  });

  test('O4: an ops action needs an operator and a reason; a closed order → invalid_state', () => {
    expect(codeOf(awaiting.when(opsCancel('full_refund', ' '), T0 + HOUR))).toBe('validation_failed');
    const closed = awaiting.run(opsCancel('full_refund'), T0 + HOUR);
    expect(codeOf(closed.when(opsCancel('full_refund'), T0 + 2 * HOUR))).toBe('invalid_state');
  });
});
