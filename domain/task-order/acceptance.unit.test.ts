import { DEFAULT_TASK_POLICY } from './policy';
import { placementEvent, priceChangeRange } from './decide';
import { notificationsFor } from './notifications';
import { ledgerTransactionFor } from './ledger';
import { CLIENT, CREATOR, DAY, HOUR, OTHER_CLIENT, OTHER_CREATOR, Story, T0, codeOf, eventsOf, placementOf, rejectionOf } from './testing';

describe('placement (T1–T4)', () => {
  test('T2/T3: full mode pays price + percentOf(price, 1000) into escrow at placement', () => {
    const event = placementEvent(placementOf({ priceFen: 12_345n, paymentMode: 'full' }), DEFAULT_TASK_POLICY);
    expect(event).toMatchObject({ type: 'TaskOrderPlaced', serviceFeeFen: 1_235n, paidFen: 13_580n }); // 1234.5 → 1235 (half up)
  });

  test('T4: deposit mode pays only the service fee at placement, as the deposit', () => {
    const state = Story.placed({ paymentMode: 'deposit' }).state;
    expect(state).toMatchObject({ status: 'awaiting_acceptance', paidInFen: 10_000n, depositFen: 10_000n, clientPaidFen: 10_000n, originalPriceFen: 99_999n });
  });

  test('T1: a placed order awaits acceptance and tells the creator (E3 new_task)', () => {
    const story = Story.placed();
    const [placed] = story.events;
    expect(story.state.status).toBe('awaiting_acceptance');
    expect(notificationsFor(story.state, placed!)).toEqual([
      { recipient: { type: 'creator', id: CREATOR.id }, kind: 'new_task', data: { orderId: 'order-1', title: 'Autumn launch' } },
    ]);
  });

  test('T3/L5: the placement payment goes from the client account (or external:payments) to the escrow', () => {
    const fromAccount = Story.placed();
    expect(ledgerTransactionFor(undefined, fromAccount.events[0]!)).toEqual({
      txId: 'task:order-1:v1:placement_payment',
      kind: 'placement_payment',
      orderId: 'order-1',
      transfers: [{ debitAccount: 'client:client-1', creditAccount: 'escrow:task:order-1', amountFen: 109_999n }],
    });
    const external = Story.placed({ funding: { source: 'external', paymentRef: 'pay-1' } });
    expect(ledgerTransactionFor(undefined, external.events[0]!)).toMatchObject({
      transfers: [{ debitAccount: 'external:payments', creditAccount: 'escrow:task:order-1', amountFen: 109_999n }],
      externalPaymentRef: 'pay-1',
    });
  });
});

describe('acceptance (T6–T9, T11)', () => {
  const deposit = Story.placed({ paymentMode: 'deposit' });

  test('T9: the range for 99999 fen is ceil(79999.2) = 80000 … floor(119998.8) = 119998', () => {
    expect(priceChangeRange(99_999n, DEFAULT_TASK_POLICY)).toEqual({ minFen: 80_000n, maxFen: 119_998n });
  });

  test('T9: accepts the floor(1.2 × price) upper bound (119998 for 99999)', () => {
    expect(eventsOf(deposit.when({ type: 'accept', actor: CREATOR, newPriceFen: 119_998n }, T0 + HOUR))).toEqual([
      { type: 'TaskOrderAccepted', by: CREATOR, priceFen: 119_998n, serviceFeeFen: 12_000n, previousPriceFen: 99_999n },
    ]);
  });

  test('T9: rejects one fen above the upper bound (119999) with price_out_of_range, the order still awaits acceptance', () => {
    const rejection = rejectionOf(deposit.when({ type: 'accept', actor: CREATOR, newPriceFen: 119_999n }, T0 + HOUR));
    expect(rejection).toMatchObject({ code: 'price_out_of_range', details: { minFen: 80_000n, maxFen: 119_998n } });
    expect(deposit.state.status).toBe('awaiting_acceptance');
  });

  test('T9: accepts the ceil(0.8 × price) lower bound (80000 for 99999)', () => {
    expect(eventsOf(deposit.when({ type: 'accept', actor: CREATOR, newPriceFen: 80_000n }, T0 + HOUR))).toEqual([
      { type: 'TaskOrderAccepted', by: CREATOR, priceFen: 80_000n, serviceFeeFen: 8_000n, previousPriceFen: 99_999n },
    ]);
  });

  test('T9: rejects one fen below the lower bound (79999) with price_out_of_range', () => {
    expect(codeOf(deposit.when({ type: 'accept', actor: CREATOR, newPriceFen: 79_999n }, T0 + HOUR))).toBe('price_out_of_range');
  });

  test('T9: on an exact multiple of 5 both bounds are exact (100000 → 80000 … 120000)', () => {
    const round = Story.placed({ paymentMode: 'deposit', priceFen: 100_000n });
    expect(codeOf(round.when({ type: 'accept', actor: CREATOR, newPriceFen: 120_000n }, T0))).toBe('ok');
    expect(codeOf(round.when({ type: 'accept', actor: CREATOR, newPriceFen: 120_001n }, T0))).toBe('price_out_of_range');
    expect(codeOf(round.when({ type: 'accept', actor: CREATOR, newPriceFen: 80_000n }, T0))).toBe('ok');
    expect(codeOf(round.when({ type: 'accept', actor: CREATOR, newPriceFen: 79_999n }, T0))).toBe('price_out_of_range');
  });

  test('T9: in full mode a price change is rejected (price_change_not_allowed); the same price is no change', () => {
    const full = Story.placed({ paymentMode: 'full' });
    expect(codeOf(full.when({ type: 'accept', actor: CREATOR, newPriceFen: 100_000n }, T0 + HOUR))).toBe('price_change_not_allowed');
    expect(eventsOf(full.when({ type: 'accept', actor: CREATOR, newPriceFen: 99_999n }, T0 + HOUR))).toHaveLength(1);
  });

  test('T9/T12: deposit-mode acceptance awaits the balance; full mode goes to production (T15)', () => {
    expect(deposit.run({ type: 'accept', actor: CREATOR }, T0 + HOUR).state).toMatchObject({ status: 'awaiting_balance', priceChanged: false });
    expect(Story.placed().run({ type: 'accept', actor: CREATOR }, T0 + HOUR).state.status).toBe('in_production');
  });

  test('T9/E3: acceptance tells the client; deposit mode also tells it the balance due and its due time', () => {
    const accepted = deposit.run({ type: 'accept', actor: CREATOR, newPriceFen: 119_998n }, T0 + HOUR);
    const last = accepted.events[accepted.events.length - 1]!;
    expect(notificationsFor(accepted.state, last)).toEqual([
      { recipient: { type: 'client', id: CLIENT.id }, kind: 'accepted', data: { orderId: 'order-1', priceFen: 119_998n } },
      {
        recipient: { type: 'client', id: CLIENT.id },
        kind: 'balance_due',
        data: { orderId: 'order-1', amountFen: 121_998n, dueAt: new Date(T0 + HOUR + 7 * DAY).toISOString() },
      },
    ]);
  });

  test('T7: the creator rejects: full refund, no compensation', () => {
    expect(eventsOf(Story.placed().when({ type: 'reject', actor: CREATOR, reason: 'busy' }, T0 + HOUR))).toEqual([
      { type: 'TaskOrderCancelled', reason: 'rejected_by_creator', by: CREATOR, note: 'busy', refundFen: 109_999n, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: 0n },
    ]);
  });

  test('T11: the client cancels before acceptance: immediate, free, full refund of the deposit', () => {
    expect(eventsOf(deposit.when({ type: 'cancel', actor: CLIENT }, T0 + HOUR))).toEqual([
      { type: 'TaskOrderCancelled', reason: 'cancelled_by_client_before_acceptance', by: CLIENT, refundFen: 10_000n, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: 0n },
    ]);
  });

  test('T11: before acceptance the creator cannot cancel (it rejects instead, T7): forbidden', () => {
    expect(codeOf(Story.placed().when({ type: 'cancel', actor: CREATOR }, T0 + HOUR))).toBe('forbidden');
  });

  test('T6: 24 hours after placement the order is cancelled (not_accepted_in_time) with a full refund', () => {
    expect(eventsOf(Story.placed().when({ type: 'acceptance_deadline' }, T0 + 24 * HOUR))).toEqual([
      { type: 'TaskOrderCancelled', reason: 'not_accepted_in_time', by: { type: 'system' }, refundFen: 109_999n, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: 0n },
    ]);
  });

  test('T6: the acceptance deadline is a no-op one ms early and after acceptance', () => {
    expect(eventsOf(Story.placed().when({ type: 'acceptance_deadline' }, T0 + 24 * HOUR - 1))).toEqual([]);
    const accepted = Story.placed().run({ type: 'accept', actor: CREATOR }, T0 + HOUR);
    expect(eventsOf(accepted.when({ type: 'acceptance_deadline' }, T0 + 24 * HOUR))).toEqual([]);
  });

  test('T6: accept, reject, remind or cancel after the acceptance deadline fired → deadline_passed', () => {
    const expired = Story.placed().run({ type: 'acceptance_deadline' }, T0 + 24 * HOUR);
    expect(codeOf(expired.when({ type: 'accept', actor: CREATOR }, T0 + 25 * HOUR))).toBe('deadline_passed');
    expect(codeOf(expired.when({ type: 'reject', actor: CREATOR }, T0 + 25 * HOUR))).toBe('deadline_passed');
    expect(codeOf(expired.when({ type: 'remind', actor: CLIENT }, T0 + 25 * HOUR))).toBe('deadline_passed');
    expect(codeOf(expired.when({ type: 'cancel', actor: CLIENT }, T0 + 25 * HOUR))).toBe('deadline_passed');
  });

  test('T7/T11: after a rejection or a cancellation, acceptance is invalid_state (not a deadline)', () => {
    const rejected = Story.placed().run({ type: 'reject', actor: CREATOR }, T0 + HOUR);
    expect(codeOf(rejected.when({ type: 'accept', actor: CREATOR }, T0 + 2 * HOUR))).toBe('invalid_state');
  });

  test('T8: a reminder is recorded and notified; a second within the hour is rate_limited; after an hour it is fine', () => {
    const reminded = Story.placed().run({ type: 'remind', actor: CLIENT }, T0 + HOUR);
    expect(reminded.state.lastReminderAt).toBe(T0 + HOUR);
    expect(notificationsFor(reminded.state, reminded.events[1]!)).toEqual([
      { recipient: { type: 'creator', id: CREATOR.id }, kind: 'reminder', data: { orderId: 'order-1' } },
    ]);
    expect(rejectionOf(reminded.when({ type: 'remind', actor: CLIENT }, T0 + 2 * HOUR - 1))).toMatchObject({
      code: 'rate_limited',
      details: { retryAt: new Date(T0 + 2 * HOUR).toISOString() },
    });
    expect(codeOf(reminded.when({ type: 'remind', actor: CLIENT }, T0 + 2 * HOUR))).toBe('ok');
  });

  test('T8: reminders only while the order awaits acceptance', () => {
    const accepted = Story.placed().run({ type: 'accept', actor: CREATOR }, T0 + HOUR);
    expect(codeOf(accepted.when({ type: 'remind', actor: CLIENT }, T0 + 3 * HOUR))).toBe('invalid_state');
  });

  test('§8: someone who is not a party, or the wrong side, is forbidden', () => {
    const story = Story.placed();
    expect(codeOf(story.when({ type: 'accept', actor: OTHER_CREATOR }, T0))).toBe('forbidden');
    expect(codeOf(story.when({ type: 'accept', actor: CLIENT }, T0))).toBe('forbidden');
    expect(codeOf(story.when({ type: 'reject', actor: CLIENT }, T0))).toBe('forbidden');
    expect(codeOf(story.when({ type: 'remind', actor: CREATOR }, T0))).toBe('forbidden');
    expect(codeOf(story.when({ type: 'remind', actor: OTHER_CLIENT }, T0))).toBe('forbidden');
    expect(codeOf(story.when({ type: 'cancel', actor: OTHER_CLIENT }, T0))).toBe('forbidden');
  });
});
