import { balanceDueFen } from './decide';
import { ledgerTransactionFor } from './ledger';
import { notificationsFor } from './notifications';
import { CLIENT, CREATOR, DAY, HOUR, OTHER_CLIENT, Story, T0, codeOf, eventsOf, rejectionOf } from './testing';

const ACCEPTED_AT = T0 + HOUR;
const BALANCE_DUE = ACCEPTED_AT + 7 * DAY;
const deposit = Story.placed({ paymentMode: 'deposit' });
const raised = deposit.run({ type: 'accept', actor: CREATOR, newPriceFen: 119_998n }, ACCEPTED_AT);
const lowered = deposit.run({ type: 'accept', actor: CREATOR, newPriceFen: 80_000n }, ACCEPTED_AT);
const unchanged = deposit.run({ type: 'accept', actor: CREATOR }, ACCEPTED_AT);
const account = { source: 'account' } as const;

describe('T12: the balance', () => {
  test('T12: balance = (final price + percentOf(final price, 1000)) − deposit, to the fen', () => {
    expect(balanceDueFen(unchanged.state)).toBe(99_999n); // 99999 + 10000 − 10000
    expect(balanceDueFen(raised.state)).toBe(121_998n); // 119998 + 12000 − 10000
    expect(balanceDueFen(lowered.state)).toBe(78_000n); // 80000 + 8000 − 10000
  });

  test('T12: nothing is due before acceptance, in full mode, or once paid', () => {
    expect(balanceDueFen(deposit.state)).toBe(0n);
    expect(balanceDueFen(Story.placed().run({ type: 'accept', actor: CREATOR }, ACCEPTED_AT).state)).toBe(0n);
    expect(balanceDueFen(raised.run({ type: 'pay_balance', actor: CLIENT, funding: account }, T0 + DAY).state)).toBe(0n);
  });

  test('T12/T15: paying the balance records BalancePaid and the order is in production with price + fee in escrow', () => {
    const decision = raised.when({ type: 'pay_balance', actor: CLIENT, funding: account }, T0 + DAY);
    expect(eventsOf(decision)).toEqual([{ type: 'BalancePaid', by: CLIENT, amountFen: 121_998n, funding: account }]);
    const paid = raised.record(eventsOf(decision), T0 + DAY);
    expect(paid.state).toMatchObject({ status: 'in_production', balancePaidAt: T0 + DAY, paidInFen: 131_998n, clientPaidFen: 131_998n });
  });

  test('T12/L5: the balance posts client account → escrow, or external:payments → escrow with its paymentRef', () => {
    const viaAccount = raised.run({ type: 'pay_balance', actor: CLIENT, funding: account }, T0 + DAY);
    expect(ledgerTransactionFor(raised.state, viaAccount.events[2]!)).toEqual({
      txId: 'task:order-1:v3:balance_payment',
      kind: 'balance_payment',
      orderId: 'order-1',
      transfers: [{ debitAccount: 'client:client-1', creditAccount: 'escrow:task:order-1', amountFen: 121_998n }],
    });
    const external = { source: 'external', paymentRef: 'pay-77' } as const;
    const viaExternal = raised.run({ type: 'pay_balance', actor: CLIENT, funding: external }, T0 + DAY);
    expect(ledgerTransactionFor(raised.state, viaExternal.events[2]!)).toEqual({
      txId: 'task:order-1:v3:balance_payment',
      kind: 'balance_payment',
      orderId: 'order-1',
      transfers: [{ debitAccount: 'external:payments', creditAccount: 'escrow:task:order-1', amountFen: 121_998n }],
      externalPaymentRef: 'pay-77',
    });
  });

  test('T15/E3: the creator is told production can start', () => {
    const paid = raised.run({ type: 'pay_balance', actor: CLIENT, funding: account }, T0 + DAY);
    expect(notificationsFor(paid.state, paid.events[2]!)).toEqual([
      { recipient: { type: 'creator', id: CREATOR.id }, kind: 'balance_paid', data: { orderId: 'order-1' } },
    ]);
  });

  test('T14: an order is never paid twice: a second pay_balance is invalid_state', () => {
    const paid = raised.run({ type: 'pay_balance', actor: CLIENT, funding: account }, T0 + DAY);
    expect(codeOf(paid.when({ type: 'pay_balance', actor: CLIENT, funding: account }, T0 + DAY))).toBe('invalid_state');
  });

  test('T12: paying before acceptance or in full mode is invalid_state', () => {
    expect(codeOf(deposit.when({ type: 'pay_balance', actor: CLIENT, funding: account }, T0))).toBe('invalid_state');
    const full = Story.placed().run({ type: 'accept', actor: CREATOR }, ACCEPTED_AT);
    expect(codeOf(full.when({ type: 'pay_balance', actor: CLIENT, funding: account }, T0 + DAY))).toBe('invalid_state');
  });

  test('T12: only the order\'s client pays (creator or another client → forbidden)', () => {
    expect(codeOf(raised.when({ type: 'pay_balance', actor: CREATOR, funding: account }, T0 + DAY))).toBe('forbidden');
    expect(codeOf(raised.when({ type: 'pay_balance', actor: OTHER_CLIENT, funding: account }, T0 + DAY))).toBe('forbidden');
  });

  test('L5: an external payment without a paymentRef is validation_failed', () => {
    expect(codeOf(raised.when({ type: 'pay_balance', actor: CLIENT, funding: { source: 'external', paymentRef: ' ' } }, T0 + DAY))).toBe('validation_failed');
  });
});

describe('T13: balance deadline', () => {
  test('T13: exactly 7 × 24 h after acceptance the order is cancelled (balance_not_paid) and the deposit is forfeited', () => {
    expect(eventsOf(raised.when({ type: 'balance_deadline' }, BALANCE_DUE))).toEqual([
      { type: 'TaskOrderCancelled', reason: 'balance_not_paid', by: { type: 'system' }, refundFen: 0n, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: 10_000n },
    ]);
  });

  test('T13: the forfeit posts escrow → platform:forfeited_deposits; the creator gets nothing', () => {
    const expired = raised.run({ type: 'balance_deadline' }, BALANCE_DUE);
    expect(ledgerTransactionFor(raised.state, expired.events[2]!)?.transfers).toEqual([
      { debitAccount: 'escrow:task:order-1', creditAccount: 'platform:forfeited_deposits', amountFen: 10_000n },
    ]);
  });

  test('T13: the balance deadline is a no-op 1 ms early, after payment, and on a full-mode order', () => {
    expect(eventsOf(raised.when({ type: 'balance_deadline' }, BALANCE_DUE - 1))).toEqual([]);
    const paid = raised.run({ type: 'pay_balance', actor: CLIENT, funding: account }, BALANCE_DUE - 1);
    expect(eventsOf(paid.when({ type: 'balance_deadline' }, BALANCE_DUE))).toEqual([]);
    const full = Story.placed().run({ type: 'accept', actor: CREATOR }, ACCEPTED_AT);
    expect(eventsOf(full.when({ type: 'balance_deadline' }, BALANCE_DUE))).toEqual([]);
    expect(eventsOf(deposit.when({ type: 'balance_deadline' }, BALANCE_DUE))).toEqual([]); // not accepted yet
  });

  test('T13: paying, restoring the price or cancelling after the balance deadline fired → deadline_passed', () => {
    const expired = raised.run({ type: 'balance_deadline' }, BALANCE_DUE);
    expect(codeOf(expired.when({ type: 'pay_balance', actor: CLIENT, funding: account }, BALANCE_DUE + 1))).toBe('deadline_passed');
    expect(codeOf(expired.when({ type: 'restore_price', actor: CLIENT }, BALANCE_DUE + 1))).toBe('deadline_passed');
    expect(codeOf(expired.when({ type: 'cancel', actor: CLIENT }, BALANCE_DUE + 1))).toBe('deadline_passed');
    expect(codeOf(expired.when({ type: 'cancel', actor: CREATOR }, BALANCE_DUE + 1))).toBe('deadline_passed');
  });

  test('T13: after a restore the deposit forfeited is still the one paid at placement', () => {
    const restored = raised.run({ type: 'restore_price', actor: CLIENT }, T0 + DAY);
    expect(eventsOf(restored.when({ type: 'balance_deadline' }, BALANCE_DUE))).toMatchObject([{ forfeitedFen: 10_000n, refundFen: 0n }]);
  });
});

describe('T10: restore the original price', () => {
  test('T10: after a price change the client restores the original price and its service fee', () => {
    expect(eventsOf(raised.when({ type: 'restore_price', actor: CLIENT }, T0 + DAY))).toEqual([
      { type: 'PriceRestored', by: CLIENT, priceFen: 99_999n, serviceFeeFen: 10_000n, previousPriceFen: 119_998n },
    ]);
    const restored = raised.run({ type: 'restore_price', actor: CLIENT }, T0 + DAY);
    expect(restored.state).toMatchObject({ priceFen: 99_999n, serviceFeeFen: 10_000n, priceRestored: true, status: 'awaiting_balance' });
    expect(balanceDueFen(restored.state)).toBe(99_999n);
  });

  test('T10/E3: a restore tells the creator and tells the client the new balance', () => {
    const restored = lowered.run({ type: 'restore_price', actor: CLIENT }, T0 + DAY);
    expect(notificationsFor(restored.state, restored.events[2]!)).toEqual([
      { recipient: { type: 'creator', id: CREATOR.id }, kind: 'price_restored', data: { orderId: 'order-1', priceFen: 99_999n } },
      { recipient: { type: 'client', id: CLIENT.id }, kind: 'balance_due', data: { orderId: 'order-1', amountFen: 99_999n, dueAt: new Date(BALANCE_DUE).toISOString() } },
    ]);
  });

  test('T10: the original price can be restored only once (a second restore → price_locked)', () => {
    const restored = raised.run({ type: 'restore_price', actor: CLIENT }, T0 + DAY);
    expect(codeOf(restored.when({ type: 'restore_price', actor: CLIENT }, T0 + DAY))).toBe('price_locked');
  });

  test('T10: once the balance is paid the price is locked (price_locked)', () => {
    const paid = raised.run({ type: 'pay_balance', actor: CLIENT, funding: account }, T0 + DAY);
    expect(rejectionOf(paid.when({ type: 'restore_price', actor: CLIENT }, T0 + DAY))).toMatchObject({ code: 'price_locked' });
  });

  test('T10: without a price change there is nothing to restore (invalid_state)', () => {
    expect(codeOf(unchanged.when({ type: 'restore_price', actor: CLIENT }, T0 + DAY))).toBe('invalid_state');
  });

  test('T10: before acceptance invalid_state; in full mode price_change_not_allowed', () => {
    expect(codeOf(deposit.when({ type: 'restore_price', actor: CLIENT }, T0))).toBe('invalid_state');
    const full = Story.placed().run({ type: 'accept', actor: CREATOR }, ACCEPTED_AT);
    expect(codeOf(full.when({ type: 'restore_price', actor: CLIENT }, T0 + DAY))).toBe('price_change_not_allowed');
  });

  test('T10: only the order\'s client restores (creator → forbidden)', () => {
    expect(codeOf(raised.when({ type: 'restore_price', actor: CREATOR }, T0 + DAY))).toBe('forbidden');
  });

  test('T10/T22: while a cancellation request is pending the price cannot be restored (invalid_state)', () => {
    const pending = raised.run({ type: 'cancel', actor: CREATOR }, T0 + DAY);
    expect(codeOf(pending.when({ type: 'restore_price', actor: CLIENT }, T0 + DAY))).toBe('invalid_state');
  });
});
