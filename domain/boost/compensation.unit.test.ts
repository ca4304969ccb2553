import { boostProgress, evaluateBoost, progressOfBoostOrder } from './compensation';
import { BoostStory, B0, DAY } from './testing';
import { DAY_MS, HOUR_MS } from './policy';
import { percentOf } from '../money';

// A 100000-fen task with a 24% premium (B1): fee 24000, total 124000, V = 10000.
const TERMS = { expectedViews: 10_000, priceFen: 100_000n, boostFeeFen: 24_000n } as const;

describe('B6 evaluation', () => {
  test('B6: A = V: succeeded, no compensation, the platform keeps the whole fee', () => {
    expect(evaluateBoost({ ...TERMS, actualViews: 10_000 })).toEqual({
      succeeded: true,
      actualViews: 10_000,
      expectedViews: 10_000,
      shortfallViews: 0,
      compensationFen: 0n,
      platformKeepsFen: 24_000n,
      capped: false,
    });
  });

  test('B6: A > V: succeeded as well', () => {
    expect(evaluateBoost({ ...TERMS, actualViews: 1_000_000 })).toMatchObject({ succeeded: true, compensationFen: 0n, platformKeepsFen: 24_000n });
  });

  test('B6: shortfall: C = (V − A) × (price + fee) / V = 1000 × 124000 / 10000 = 12400; the platform keeps 11600', () => {
    expect(evaluateBoost({ ...TERMS, actualViews: 9_000 })).toEqual({
      succeeded: false,
      actualViews: 9_000,
      expectedViews: 10_000,
      shortfallViews: 1_000,
      compensationFen: 12_400n,
      platformKeepsFen: 11_600n,
      capped: false,
    });
  });

  test('B6: one view short: C = 124000 / 10000 = 12.4 → 12 fen', () => {
    expect(evaluateBoost({ ...TERMS, actualViews: 9_999 })).toMatchObject({ succeeded: false, compensationFen: 12n, platformKeepsFen: 23_988n });
  });

  test('B6: C is capped at the boost fee (A = 8000: 24800 → 24000), the platform keeps 0', () => {
    expect(evaluateBoost({ ...TERMS, actualViews: 8_000 })).toMatchObject({ compensationFen: 24_000n, platformKeepsFen: 0n, capped: true });
  });

  test('B6: just under the cap the formula applies (A = 8065: 1935 × 12.4 = 23994), one view less it is capped (24006.4 → 24000)', () => {
    expect(evaluateBoost({ ...TERMS, actualViews: 8_065 })).toMatchObject({ compensationFen: 23_994n, platformKeepsFen: 6n, capped: false });
    expect(evaluateBoost({ ...TERMS, actualViews: 8_064 })).toMatchObject({ compensationFen: 24_000n, platformKeepsFen: 0n, capped: true });
  });

  test('B6: a compensation exactly equal to the fee is not capped (fee 25000, 2000 × 12.5 = 25000)', () => {
    expect(evaluateBoost({ ...TERMS, boostFeeFen: 25_000n, actualViews: 8_000 })).toMatchObject({ compensationFen: 25_000n, platformKeepsFen: 0n, capped: false });
  });

  test('B6: zero views: the whole fee is refunded (capped), the platform keeps nothing', () => {
    expect(evaluateBoost({ ...TERMS, actualViews: 0 })).toMatchObject({ succeeded: false, shortfallViews: 10_000, compensationFen: 24_000n, platformKeepsFen: 0n, capped: true });
  });

  test('B6: half-up rounding at exactly .5: 8 × 11000 / 16000 = 5.5 → 6; 7 × 11000 / 16000 = 4.8125 → 5; 9 × … = 6.1875 → 6', () => {
    const terms = { expectedViews: 16_000, priceFen: 10_000n, boostFeeFen: 1_000n };
    expect(evaluateBoost({ ...terms, actualViews: 15_992 }).compensationFen).toBe(6n);
    expect(evaluateBoost({ ...terms, actualViews: 15_993 }).compensationFen).toBe(5n);
    expect(evaluateBoost({ ...terms, actualViews: 15_991 }).compensationFen).toBe(6n);
    expect(evaluateBoost({ ...terms, actualViews: 15_992 }).platformKeepsFen).toBe(994n);
  });

  test('B6: computed exactly, never from the rounded CPM: V = 7000, total 150000 → C = 2000 × 150000 / 7000 = 42857.14 → 42857 (the rounded CPM 21429 would give 42858)', () => {
    const terms = { expectedViews: 7_000, priceFen: 100_000n, boostFeeFen: percentOf(100_000n, 5000n) };
    expect(evaluateBoost({ ...terms, actualViews: 5_000 })).toMatchObject({ compensationFen: 42_857n, platformKeepsFen: 7_143n });
  });

  test('B6: compensation + platform share = the fee, on every count (L6)', () => {
    for (let actualViews = 0; actualViews <= 11_000; actualViews += 37) {
      const { compensationFen, platformKeepsFen } = evaluateBoost({ ...TERMS, actualViews });
      expect(compensationFen + platformKeepsFen).toBe(TERMS.boostFeeFen);
      expect(compensationFen >= 0n && compensationFen <= TERMS.boostFeeFen).toBe(true);
    }
  });

  test('B6: huge counts stay exact (bigint arithmetic, bigint counts accepted): 10^9 × 1.5·10^13 / (2^53 − 1) = 1665334.54 → 1665335', () => {
    const big = { expectedViews: 9_007_199_254_740_991n, priceFen: 10_000_000_000_000n, boostFeeFen: 5_000_000_000_000n };
    expect(evaluateBoost({ ...big, actualViews: big.expectedViews - 1_000_000_000n })).toMatchObject({
      succeeded: false,
      shortfallViews: 1_000_000_000,
      compensationFen: 1_665_335n, // remainder ≥ half (…0.537) → rounded up
      capped: false,
    });
  });

  test.each([
    ['V = 0', { ...TERMS, expectedViews: 0, actualViews: 0 }],
    ['negative A', { ...TERMS, actualViews: -1 }],
    ['fractional A', { ...TERMS, actualViews: 1.5 }],
    ['negative fee', { ...TERMS, boostFeeFen: -1n, actualViews: 1 }],
  ])('rejects %s with a RangeError', (_name, input) => {
    expect(() => evaluateBoost(input)).toThrow(RangeError);
  });
});

describe('B5 progress', () => {
  const PUBLISHED = Date.parse('2025-10-01T02:00:00Z');

  test('B5: 3 days in with 5000 views: 11 days left, expected 10000, compensation if it ended now 5000 × 12.4 = 62000 → capped at 24000', () => {
    const progress = boostProgress({ ...TERMS, latestViews: 5_000, publishedAtMs: PUBLISHED, nowMs: PUBLISHED + 3 * DAY_MS });
    expect(progress).toMatchObject({
      viewsSoFar: 5_000,
      expectedViews: 10_000,
      startedAtMs: PUBLISHED,
      endsAtMs: PUBLISHED + 14 * DAY_MS,
      timeLeftMs: 11 * DAY_MS,
      ended: false,
      ifEndedNow: { succeeded: false, compensationFen: 24_000n, platformKeepsFen: 0n, capped: true },
    });
  });

  test('B5: 9500 views: compensation if it ended now is 500 × 12.4 = 6200', () => {
    const progress = boostProgress({ ...TERMS, latestViews: 9_500, publishedAtMs: PUBLISHED, nowMs: PUBLISHED + HOUR_MS });
    expect(progress.ifEndedNow).toMatchObject({ compensationFen: 6_200n, platformKeepsFen: 17_800n });
    expect(progress.timeLeftMs).toBe(14 * DAY_MS - HOUR_MS);
  });

  test('B5/B8: no view count yet: views and the outcome are null, never guessed', () => {
    const progress = boostProgress({ ...TERMS, latestViews: undefined, publishedAtMs: PUBLISHED, nowMs: PUBLISHED });
    expect(progress).toMatchObject({ viewsSoFar: null, ifEndedNow: null, timeLeftMs: 14 * DAY_MS, ended: false });
  });

  test('B5: after 14 days no time is left (never negative) and the boost has ended', () => {
    const progress = boostProgress({ ...TERMS, latestViews: 12_000, publishedAtMs: PUBLISHED, nowMs: PUBLISHED + 20 * DAY_MS });
    expect(progress).toMatchObject({ timeLeftMs: 0, ended: true, ifEndedNow: { succeeded: true, compensationFen: 0n } });
    expect(boostProgress({ ...TERMS, latestViews: 1, publishedAtMs: PUBLISHED, nowMs: PUBLISHED + 14 * DAY_MS }).ended).toBe(true);
  });

  test('B5: the duration comes from the policy snapshot', () => {
    const progress = boostProgress({ ...TERMS, latestViews: 1, publishedAtMs: PUBLISHED, nowMs: PUBLISHED, boostDurationMs: 7 * DAY_MS });
    expect(progress.endsAtMs).toBe(PUBLISHED + 7 * DAY_MS);
  });
});

describe('B5 progress of a boost order', () => {
  test('B5: none before publication; after it, from the order\'s fixed terms; after the evaluation, its final outcome', () => {
    const ordered = BoostStory.ordered();
    expect(progressOfBoostOrder(ordered.state, 5, ordered.now)).toBeNull();
    const published = ordered.published(B0 + DAY);
    expect(progressOfBoostOrder(published.state, 9_500, B0 + 2 * DAY)).toMatchObject({
      viewsSoFar: 9_500,
      expectedViews: 10_000,
      endsAtMs: B0 + 15 * DAY,
      timeLeftMs: 13 * DAY,
      ifEndedNow: { compensationFen: 6_200n },
    });
    const evaluated = published.periodEnded().evaluated(9_000);
    expect(progressOfBoostOrder(evaluated.state, 9_800, B0 + 20 * DAY)).toMatchObject({ viewsSoFar: 9_800, ended: true, ifEndedNow: { actualViews: 9_000, compensationFen: 12_400n } });
  });
});
