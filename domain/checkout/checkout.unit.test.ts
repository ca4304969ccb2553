import { quoteBoost, type CitedQuote } from '../boost';
import { T0 } from '../task-order/testing';
import { checkoutPaidEvent, checkoutRefusedEvent, decideCheckout } from './decide';
import { evolveCheckout } from './evolve';
import { checkoutLedgerTransactionFor } from './ledger';
import { checkoutNotificationsFor } from './notifications';
import { priceCheckout, type CheckoutContext } from './price';
import type { CheckoutEvent, CheckoutRequest, CheckoutState, CheckoutTerms, RecordedCheckoutEvent } from './types';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = T0 + HOUR;
const brief = { title: 'Launch', industry: 'beauty', expectedPublishAt: new Date(NOW + 30 * DAY).toISOString() };
const videos = [100, 200, 300].map((views, i) => ({ videoId: `v${i}`, publishedAt: new Date(NOW - 15 * DAY).toISOString(), views }));
const quoteFor = (creatorId: string, priceFen: bigint, quoteId: string, clientId: string | null = 'client-1'): CitedQuote & { clientId: string | null } => ({
  ...quoteBoost({ creatorId, priceFen, videos, optedOut: false, nowMs: NOW }),
  quoteId,
  clientId,
});

const request: CheckoutRequest = {
  checkoutId: 'co-1',
  clientId: 'client-1',
  paymentMode: 'full',
  funding: { source: 'account' },
  lines: [
    { orderId: 'o-1', creatorId: 'k-1', taskType: 'douyin_video', priceFen: 100_000n, brief, boost: { boostOrderId: 'b-1', quoteId: 'q-1' } },
    { orderId: 'o-2', creatorId: 'k-2', taskType: 'douyin_live', priceFen: 50_000n, brief },
  ],
};
const context: CheckoutContext = { quotes: new Map([['q-1', quoteFor('k-1', 100_000n, 'q-1')]]), usedOrderIds: new Set(), usedBoostOrderIds: new Set() };

function priced(r: CheckoutRequest = request, c: CheckoutContext = context, at = NOW): CheckoutTerms {
  const result = priceCheckout(r, c, at);
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.failure)}`);
  return result.terms;
}

function failureOf(r: CheckoutRequest, c: CheckoutContext = context, at = NOW) {
  const result = priceCheckout(r, c, at);
  if (result.ok) throw new Error('expected a refusal');
  return { lineIndex: result.failure.lineIndex, code: result.failure.rejection.code, details: result.failure.rejection.details };
}

function fold(events: readonly CheckoutEvent[]): CheckoutState {
  return events.reduce<CheckoutState | undefined>((s, event, i) => evolveCheckout(s, { version: i + 1, occurredAt: NOW + i, event }), undefined)!;
}

describe('C2 the total', () => {
  test('C2/T2/T3/B1: a full-mode line costs price + 10% service fee, plus its boost fee; the total is their sum', () => {
    const terms = priced();
    const [boosted, plain] = terms.lines;
    expect(boosted).toMatchObject({ serviceFeeFen: 10_000n, placementFen: 110_000n, boostTerms: { boostOrderId: 'b-1', boostFeeFen: 24_000n, expectedViews: 200 }, lineTotalFen: 134_000n });
    expect(plain).toMatchObject({ serviceFeeFen: 5_000n, placementFen: 55_000n, lineTotalFen: 55_000n });
    expect(plain!.boostTerms).toBeUndefined();
    expect(terms.totalFen).toBe(189_000n);
  });

  test('C2/T4: in deposit mode each line pays only its service fee now (plus its boost fee)', () => {
    const terms = priced({ ...request, paymentMode: 'deposit' });
    expect(terms.lines.map((l) => l.lineTotalFen)).toEqual([10_000n + 24_000n, 5_000n]);
    expect(terms.totalFen).toBe(39_000n);
  });
});

describe('C3 the first failing line is named', () => {
  const line0 = request.lines[0]!;
  const line1 = request.lines[1]!;
  test.each<[string, number | undefined, string, CheckoutRequest, Partial<CheckoutContext>]>([
    ['B1: an expired quote', 0, 'deadline_passed', request, {}],
    ['B1: a quote made for another client', 0, 'forbidden', request, { quotes: new Map([['q-1', quoteFor('k-1', 100_000n, 'q-1', 'client-2')]]) }],
    ['B1: an unknown quote', 0, 'not_found', request, { quotes: new Map() }],
    ['B1: a quote for another price', 0, 'invalid_state', { ...request, lines: [{ ...line0, priceFen: 100_001n }, line1] }, {}],
    ['B3: a boost on a live-stream task', 1, 'invalid_state', { ...request, lines: [line1, { ...line0, taskType: 'douyin_live' }] }, {}],
    ['C3: an orderId already used', 1, 'invalid_state', request, { usedOrderIds: new Set(['o-2']) }],
    ['C3: a boostOrderId already used', 0, 'invalid_state', request, { usedBoostOrderIds: new Set(['b-1']) }],
    ['C1: a creator twice', 1, 'validation_failed', { ...request, lines: [line0, { ...line1, creatorId: 'k-1' }] }, {}],
    ['C1: an orderId twice', 1, 'validation_failed', { ...request, lines: [line0, { ...line1, orderId: 'o-1' }] }, {}],
  ])('%s → line %s, %s', (_name, lineIndex, code, r, c) => {
    const at = _name.startsWith('B1: an expired') ? NOW + 30 * 60_000 : NOW;
    const failure = failureOf(r, { ...context, ...c }, at);
    expect(failure).toMatchObject({ lineIndex, code });
    expect(failure.details).toMatchObject({ lineIndex });
  });

  test('C1: no lines, or more than 50 → validation_failed for the whole checkout', () => {
    expect(failureOf({ ...request, lines: [] })).toMatchObject({ lineIndex: undefined, code: 'validation_failed' });
    const many = Array.from({ length: 51 }, (_, i) => ({ ...line1, orderId: `o-${i}`, creatorId: `k-${i}` }));
    expect(failureOf({ ...request, lines: many })).toMatchObject({ lineIndex: undefined, code: 'validation_failed' });
    expect(priced({ ...request, lines: many.slice(0, 50) }).lines).toHaveLength(50);
  });
});

describe('C4 money moves once; the escrow empties as lines are placed', () => {
  test('C4/L5: the payment is the one posting: the total from the client into escrow:checkout:{id}; nothing else posts', () => {
    const terms = priced();
    const paid: RecordedCheckoutEvent = { version: 1, occurredAt: NOW, event: checkoutPaidEvent(terms) };
    expect(checkoutLedgerTransactionFor(undefined, paid)).toEqual({
      txId: 'checkout:co-1:v1:checkout_payment',
      kind: 'checkout_payment',
      orderId: 'co-1',
      transfers: [{ debitAccount: 'client:client-1', creditAccount: 'escrow:checkout:co-1', amountFen: 189_000n }],
    });
    const external = priced({ ...request, funding: { source: 'external', paymentRef: 'pay-9' } });
    expect(checkoutLedgerTransactionFor(undefined, { ...paid, event: checkoutPaidEvent(external) })).toMatchObject({
      externalPaymentRef: 'pay-9',
      transfers: [{ debitAccount: 'external:payments', creditAccount: 'escrow:checkout:co-1', amountFen: 189_000n }],
    });
    for (const event of [{ type: 'CheckoutTaskPlaced', lineIndex: 0, orderId: 'o-1' }, { type: 'CheckoutCompleted' }] as const) {
      expect(checkoutLedgerTransactionFor(fold([paid.event]), { version: 2, occurredAt: NOW, event })).toBeUndefined();
    }
  });

  test('C3/C4/L6: the lines are placed task first, then boost; the escrow reaches zero exactly when the checkout may complete', () => {
    const events: CheckoutEvent[] = [checkoutPaidEvent(priced())];
    const step = (command: Parameters<typeof decideCheckout>[1]) => {
      const decision = decideCheckout(fold(events), command, NOW);
      if (!decision.ok) return decision.rejection.code;
      events.push(...decision.events);
      return 'ok';
    };
    expect(step({ type: 'complete' })).toBe('invalid_state');
    expect(step({ type: 'boost_placed', lineIndex: 0 })).toBe('invalid_state'); // B3: the task first
    expect(step({ type: 'boost_placed', lineIndex: 1 })).toBe('validation_failed'); // no boost on that line
    expect(step({ type: 'task_placed', lineIndex: 0 })).toBe('ok');
    expect(fold(events).escrowFen).toBe(189_000n - 110_000n);
    expect(step({ type: 'task_placed', lineIndex: 0 })).toBe('ok'); // a retried step records nothing
    expect(events).toHaveLength(2);
    expect(step({ type: 'boost_placed', lineIndex: 0 })).toBe('ok');
    expect(step({ type: 'task_placed', lineIndex: 1 })).toBe('ok');
    expect(fold(events).escrowFen).toBe(0n);
    expect(step({ type: 'complete' })).toBe('ok');
    const done = fold(events);
    expect(done).toMatchObject({ status: 'completed', escrowFen: 0n, totalFen: 189_000n });
    expect(step({ type: 'task_placed', lineIndex: 1 })).toBe('invalid_state');
    expect(checkoutNotificationsFor(done, { version: events.length, occurredAt: NOW, event: events.at(-1)! })).toEqual([
      { recipient: { type: 'client', id: 'client-1' }, kind: 'checkout_completed', data: { checkoutId: 'co-1', totalFen: 189_000n, lines: [{ orderId: 'o-1', boostOrderId: 'b-1' }, { orderId: 'o-2', boostOrderId: null }] } },
    ]);
  });

  test('C3/E3: a refused checkout records only its refusal: failed, nothing in escrow, the client told which line and why', () => {
    const failure = { lineIndex: 1, rejection: { code: 'insufficient_funds' as const, message: 'no money' } };
    const refused = fold([checkoutRefusedEvent(request, failure)]);
    expect(refused).toMatchObject({ status: 'failed', totalFen: 0n, escrowFen: 0n, failure, lines: [] });
    expect(checkoutLedgerTransactionFor(undefined, { version: 1, occurredAt: NOW, event: checkoutRefusedEvent(request, failure) })).toBeUndefined();
    expect(checkoutNotificationsFor(refused, { version: 1, occurredAt: NOW, event: checkoutRefusedEvent(request, failure) })).toEqual([
      { recipient: { type: 'client', id: 'client-1' }, kind: 'checkout_failed', data: { checkoutId: 'co-1', lineIndex: 1, code: 'insufficient_funds', message: 'no money' } },
    ]);
    expect(decideCheckout(refused, { type: 'task_placed', lineIndex: 0 }, NOW)).toMatchObject({ ok: false, rejection: { code: 'invalid_state' } });
  });
});
