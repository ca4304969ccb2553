import { isBoostTerminal } from './evolve';
import { BoostStory, B0, CALENDAR, DAY, boostLedgerBalances } from './testing';

/**
 * L1/L6 money table for boost orders: for every terminal path, post the ledger transaction of every
 * event and check each account's final balance to the fen, escrow:boost:boost-1 at exactly zero,
 * the sum of all balances at zero, and fee paid in = refund + platform premium.
 */
const CLIENT = 'client:client-1';
const PREMIUMS = 'platform:boost_premiums';
const EXTERNAL = 'external:payments';

const boosted = (overrides = {}) => BoostStory.ordered(overrides).published().periodEnded();

const paths: Array<[string, () => BoostStory, Record<string, bigint>]> = [
  ['B6 success (A = V): the fee goes to the platform', () => boosted().evaluated(10_000), { [CLIENT]: -24_000n, [PREMIUMS]: 24_000n }],
  ['B6 success (A > V), external payment', () => boosted({ funding: { source: 'external', paymentRef: 'pay-1' } }).evaluated(50_000), { [EXTERNAL]: -24_000n, [PREMIUMS]: 24_000n }],
  ['B6/B7 shortfall (A = 9000): 12400 back at the due time, 11600 kept', () => boosted().evaluated(9_000).refundDue(), { [CLIENT]: -11_600n, [PREMIUMS]: 11_600n }],
  ['B6/B7 shortfall capped at the fee (A = 8000): everything back', () => boosted().evaluated(8_000).refundDue(), {}],
  ['B6/B7 zero views: the whole fee back', () => boosted().evaluated(0).refundDue(), {}],
  ['B6 half-up rounding (A = 9999): 12 fen back, 23988 kept', () => boosted().evaluated(9_999).refundDue(), { [CLIENT]: -23_988n, [PREMIUMS]: 23_988n }],
  [
    'B6/F5 shortfall released early by finance, external payment',
    () =>
      boosted({ funding: { source: 'external', paymentRef: 'pay-2' } })
        .evaluated(9_000)
        .run({ type: 'release_refund', by: { type: 'finance', id: 'fin-1' } }, B0 + 20 * DAY),
    { [EXTERNAL]: -24_000n, [CLIENT]: 12_400n, [PREMIUMS]: 11_600n },
  ],
  ['B4/B7 expired: the whole fee back at the due time', () => {
    const ordered = BoostStory.ordered();
    return ordered.run({ type: 'publication_deadline', calendar: CALENDAR }, ordered.state.validUntilMs).refundDue();
  }, {}],
  ['B4/F5 expired, released early, external payment: refund lands in the client account', () => {
    const ordered = BoostStory.ordered({ funding: { source: 'external', paymentRef: 'pay-3' } });
    return ordered
      .run({ type: 'publication_deadline', calendar: CALENDAR }, ordered.state.validUntilMs)
      .run({ type: 'release_refund', by: { type: 'ops', id: 'ops-1' }, reason: 'goodwill' }, ordered.state.validUntilMs + 1);
  }, { [EXTERNAL]: -24_000n, [CLIENT]: 24_000n }],
  ['B4 task cancelled before publication: the whole fee back', () => BoostStory.ordered().run({ type: 'task_cancelled', calendar: CALENDAR }, B0 + DAY).refundDue(), {}],
  ['B3 a zero fee (tiny price): expiry closes at once, nothing moves', () => {
    const ordered = BoostStory.ordered({ priceFen: 4n, boostFeeFen: 0n });
    return ordered.run({ type: 'publication_deadline', calendar: CALENDAR }, ordered.state.validUntilMs);
  }, {}],
];

describe('L6 money table: every terminal boost path, every account to the fen', () => {
  test.each(paths)('%s', (_name, build, expected) => {
    const story = build();
    const state = story.state;
    expect(isBoostTerminal(state)).toBe(true);

    const balances = boostLedgerBalances(story.events);
    expect(balances).toEqual(expected); // escrow:boost:boost-1 is absent: exactly zero (L6)
    expect(Object.values(balances).reduce((a, b) => a + b, 0n)).toBe(0n); // L1
    expect(state.escrowFen).toBe(0n);

    // L6: fee paid in = refund + platform premium, matching the final state.
    const refundFen = state.refund?.postedAt !== undefined ? state.refund.amountFen : 0n;
    const premiumFen = state.evaluation?.platformKeepsFen ?? 0n;
    expect(refundFen + premiumFen).toBe(state.terms.boostFeeFen);
    expect(balances[PREMIUMS] ?? 0n).toBe(premiumFen);
    expect((balances[CLIENT] ?? 0n) + (balances[EXTERNAL] ?? 0n)).toBe(refundFen - state.terms.boostFeeFen);
  });
});
