import { isTerminal } from './evolve';
import { CLIENT, CREATOR, DAY, HOUR, Story, T0, ledgerBalances } from './testing';
import type { TaskPlacement } from './types';

/**
 * L1/L6 money table: for every terminal path, post the ledger transaction of every event and check
 * each account's final balance to the fen, the order's escrow at exactly zero, the sum of all
 * balances at zero, and paid in = refunded + creator payout + platform revenue.
 */
const ext = (paymentRef: string) => ({ source: 'external', paymentRef }) as const;
const account = { source: 'account' } as const;

const full = (overrides: Partial<TaskPlacement> = {}) => Story.placed({ paymentMode: 'full', ...overrides });
const deposit = (overrides: Partial<TaskPlacement> = {}) => Story.placed({ paymentMode: 'deposit', ...overrides });
const accepted = (story: Story, newPriceFen?: bigint) =>
  story.run({ type: 'accept', actor: CREATOR, ...(newPriceFen === undefined ? {} : { newPriceFen }) }, T0 + HOUR);
const uploaded = (story: Story) => story.run({ type: 'upload_video', actor: CREATOR, draftId: 'd1' }, T0 + 2 * DAY);
const approved = (story: Story) => uploaded(story).run({ type: 'review', actor: CLIENT, decision: 'approve' }, T0 + 3 * DAY);
const published = (story: Story) =>
  story.run({ type: 'publish', actor: CREATOR, videoId: 'v-1', publishedAt: new Date(story.now).toISOString() }, story.now + HOUR); // T18: published within the bounds
const requested = (story: Story, by = CLIENT) => story.run({ type: 'cancel', actor: by, reason: 'r' }, story.now + HOUR);
const confirmed = (story: Story) => {
  const by = story.state.pendingCancellation?.by.type === 'client' ? CREATOR : CLIENT;
  return story.run({ type: 'cancel_response', actor: by, accept: true }, story.now + HOUR);
};

const CLIENT_ACC = 'client:client-1';
const CREATOR_ACC = 'creator:creator-1';
const FEES = 'platform:service_fees';
const FORFEITED = 'platform:forfeited_deposits';
const EXTERNAL = 'external:payments';

const paths: Array<[string, () => Story, Record<string, bigint>]> = [
  ['T6 full, external: not accepted in time, refund to the client account', () => full({ funding: ext('p1') }).run({ type: 'acceptance_deadline' }, T0 + DAY), { [CLIENT_ACC]: 109_999n, [EXTERNAL]: -109_999n }],
  ['T7 deposit: rejected, deposit back', () => deposit().run({ type: 'reject', actor: CREATOR }, T0 + HOUR), {}],
  ['T11 full: cancelled before acceptance', () => full().run({ type: 'cancel', actor: CLIENT }, T0 + HOUR), {}],
  ['T13 deposit, raised price: balance not paid, deposit forfeited', () => accepted(deposit(), 119_998n).run({ type: 'balance_deadline' }, T0 + HOUR + 7 * DAY), { [CLIENT_ACC]: -10_000n, [FORFEITED]: 10_000n }],
  ['T18 full: completed', () => published(approved(accepted(full()))), { [CLIENT_ACC]: -109_999n, [CREATOR_ACC]: 99_999n, [FEES]: 10_000n }],
  ['T18 full, external: completed', () => published(approved(accepted(full({ funding: ext('p2') })))), { [EXTERNAL]: -109_999n, [CREATOR_ACC]: 99_999n, [FEES]: 10_000n }],
  [
    'T18 deposit, raised price (119998): completed',
    () => published(approved(accepted(deposit(), 119_998n).run({ type: 'pay_balance', actor: CLIENT, funding: account }, T0 + DAY))),
    { [CLIENT_ACC]: -131_998n, [CREATOR_ACC]: 119_998n, [FEES]: 12_000n },
  ],
  [
    'T10/T18 deposit, lowered then restored, balance paid externally: completed at the original price',
    () =>
      published(
        approved(
          accepted(deposit(), 80_000n)
            .run({ type: 'restore_price', actor: CLIENT }, T0 + 2 * HOUR)
            .run({ type: 'pay_balance', actor: CLIENT, funding: ext('p3') }, T0 + DAY),
        ),
      ),
    { [CLIENT_ACC]: -10_000n, [EXTERNAL]: -99_999n, [CREATOR_ACC]: 99_999n, [FEES]: 10_000n },
  ],
  [
    'T17/T18 full: auto-approved after 7 days, completed',
    () => published(uploaded(accepted(full())).run({ type: 'review_deadline' }, T0 + 9 * DAY)),
    { [CLIENT_ACC]: -109_999n, [CREATOR_ACC]: 99_999n, [FEES]: 10_000n },
  ],
  ['T20 full, before upload: full refund', () => confirmed(requested(accepted(full()))), {}],
  ['T20 deposit, before the balance: deposit refunded', () => confirmed(requested(accepted(deposit(), 119_998n))), {}],
  ['T20 full, after an upload: 50000 compensation + 5000 fee', () => confirmed(requested(uploaded(accepted(full())))), { [CLIENT_ACC]: -55_000n, [CREATOR_ACC]: 50_000n, [FEES]: 5_000n }],
  [
    'T20 price 12345, after an upload: 6173 compensation + 617 fee',
    () => confirmed(requested(uploaded(accepted(full({ priceFen: 12_345n }))))),
    { [CLIENT_ACC]: -6_790n, [CREATOR_ACC]: 6_173n, [FEES]: 617n },
  ],
  [
    'T20 deposit raised, balance paid, after an upload: 59999 compensation + 6000 fee',
    () => confirmed(requested(uploaded(accepted(deposit(), 119_998n).run({ type: 'pay_balance', actor: CLIENT, funding: account }, T0 + DAY)))),
    { [CLIENT_ACC]: -65_999n, [CREATOR_ACC]: 59_999n, [FEES]: 6_000n },
  ],
  ['T21 full, after an upload: the client gets everything back', () => confirmed(requested(uploaded(accepted(full())), CREATOR)), {}],
  [
    'T21 after approval, external funding: refund to the client account',
    () => confirmed(requested(approved(accepted(full({ funding: ext('p4') }))), CREATOR)),
    { [CLIENT_ACC]: 109_999n, [EXTERNAL]: -109_999n },
  ],
  [
    'O4 confirm of a T20 request after an upload',
    () => {
      const escalated = requested(uploaded(accepted(full())));
      const due = escalated.state.pendingCancellation!.answerDueAtMs;
      return escalated
        .run({ type: 'cancellation_answer_deadline' }, due)
        .run({ type: 'arbitrate', operator: 'ops-1', decision: 'confirm', reason: 'r' }, due + HOUR);
    },
    { [CLIENT_ACC]: -55_000n, [CREATOR_ACC]: 50_000n, [FEES]: 5_000n },
  ],
  [
    'O4 decline, then completed',
    () => {
      const escalated = requested(uploaded(accepted(full())), CREATOR);
      const due = escalated.state.pendingCancellation!.answerDueAtMs;
      const declined = escalated
        .run({ type: 'cancellation_answer_deadline' }, due)
        .run({ type: 'arbitrate', operator: 'ops-1', decision: 'decline', reason: 'r' }, due + HOUR)
        .run({ type: 'review', actor: CLIENT, decision: 'approve' }, due + 2 * HOUR);
      return published(declined);
    },
    { [CLIENT_ACC]: -109_999n, [CREATOR_ACC]: 99_999n, [FEES]: 10_000n },
  ],
  [
    'T22 declined, then completed',
    () => {
      const pending = requested(uploaded(accepted(full())));
      return published(pending.run({ type: 'cancel_response', actor: CREATOR, accept: false }, pending.now + HOUR).run({ type: 'review', actor: CLIENT, decision: 'approve' }, pending.now + 2 * HOUR));
    },
    { [CLIENT_ACC]: -109_999n, [CREATOR_ACC]: 99_999n, [FEES]: 10_000n },
  ],
  [
    'T22/T13 request pending when the balance deadline fires: deposit forfeited',
    () => requested(accepted(deposit())).run({ type: 'balance_deadline' }, T0 + HOUR + 7 * DAY),
    { [CLIENT_ACC]: -10_000n, [FORFEITED]: 10_000n },
  ],
];

describe('L6 money table: every terminal path, every account to the fen', () => {
  test.each(paths)('%s', (_name, build, expected) => {
    const story = build();
    const state = story.state;
    expect(isTerminal(state)).toBe(true);

    const balances = ledgerBalances(story.events);
    expect(balances).toEqual(expected); // escrow:task:order-1 is absent: exactly zero (L6)
    expect(Object.values(balances).reduce((a, b) => a + b, 0n)).toBe(0n); // L1

    // L6: paid in = refunded + creator payout + platform revenue, matching the final state.
    const s = state.settlement!;
    expect(state.paidInFen).toBe(0n);
    expect(s.refundFen + s.creatorFen + s.serviceFeeFen + s.forfeitedFen).toBe(state.clientPaidFen);
    expect(balances[CREATOR_ACC] ?? 0n).toBe(s.creatorFen);
    expect(balances[FEES] ?? 0n).toBe(s.serviceFeeFen);
    expect(balances[FORFEITED] ?? 0n).toBe(s.forfeitedFen);
    expect((balances[CLIENT_ACC] ?? 0n) + (balances[EXTERNAL] ?? 0n)).toBe(s.refundFen - state.clientPaidFen);
  });
});
