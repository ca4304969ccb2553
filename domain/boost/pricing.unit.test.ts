import { DAY_MS, DEFAULT_BOOST_POLICY, MINUTE_MS } from './policy';
import {
  QUOTE_VALIDITY_MS,
  isQuoteValid,
  premiumOf,
  quoteBoost,
  weightOf,
  type AvailableQuote,
  type BoostQuote,
  type CreatorVideo,
  type QuoteRequest,
  type UnavailableQuote,
} from './pricing';

const NOW = Date.parse('2025-09-30T04:00:00.000Z');
const PRICE = 100_000n;

/** A video `ageDays` old at NOW with `views` views. */
const video = (videoId: string, ageDays: number, views: number | bigint): CreatorVideo => ({
  videoId,
  publishedAt: new Date(NOW - ageDays * DAY_MS).toISOString(),
  views,
});
/** Videos of the same age (equal weights) with these view counts. */
const sameAge = (views: number[], ageDays = 15): CreatorVideo[] => views.map((v, i) => video(`v${i + 1}`, ageDays, v));

const request = (videos: CreatorVideo[], overrides: Partial<QuoteRequest> = {}): QuoteRequest => ({
  creatorId: 'creator-1',
  priceFen: PRICE,
  videos,
  optedOut: false,
  nowMs: NOW,
  ...overrides,
});

function available(quote: BoostQuote): AvailableQuote {
  if (!quote.available) throw new Error(`expected an available quote, got ${quote.reason}`);
  return quote;
}
function unavailable(quote: BoostQuote): UnavailableQuote {
  if (quote.available) throw new Error('expected an unavailable quote');
  return quote;
}

describe('B2 weights: w = 0.5^(a / 15)', () => {
  test.each([
    [0, 1],
    [15, 0.5],
    [30, 0.25],
    [45, 0.125],
    [7.5, Math.SQRT1_2],
  ])('B2: a video %d days old weighs %d', (ageDays, weight) => {
    expect(weightOf(ageDays)).toBeCloseTo(weight, 15);
  });

  test('B2: the age is fractional: a video published 36 hours ago is 1.5 days old', () => {
    const quote = available(quoteBoost(request([video('a', 1.5, 100), video('b', 2, 100), video('c', 3, 100)]))); // given/when
    const a = quote.explanation.videosUsed.find((v) => v.videoId === 'a')!; // then
    expect(a.ageDays).toBe(1.5);
    expect(a.weight).toBeCloseTo(Math.pow(0.5, 0.1), 15);
  });

  test('B2: the explanation lists every video used with its age, weight and the running weight, and the total', () => {
    const quote = available(quoteBoost(request([video('old', 30, 300), video('new', 0, 100), video('mid', 15, 200)])));
    expect(quote.explanation.videosUsed).toEqual([
      { videoId: 'new', publishedAt: '2025-09-30T04:00:00.000Z', views: 100, ageDays: 0, weight: 1, cumulativeWeight: 1 },
      { videoId: 'mid', publishedAt: '2025-09-15T04:00:00.000Z', views: 200, ageDays: 15, weight: 0.5, cumulativeWeight: 1.5 },
      { videoId: 'old', publishedAt: '2025-08-31T04:00:00.000Z', views: 300, ageDays: 30, weight: 0.25, cumulativeWeight: 1.75 },
    ]);
    expect(quote.explanation.totalWeight).toBe(1.75);
    expect(quote.explanation).toMatchObject({ windowDays: 45, halfLifeDays: 15, minVideos: 3, quotedAt: '2025-09-30T04:00:00.000Z' });
  });
});

describe('B2 expected views: the weighted median', () => {
  test('B2: equal weights, odd count: the middle count (100, 200, 300 → 200)', () => {
    expect(available(quoteBoost(request(sameAge([300, 100, 200])))).expectedViews).toBe(200);
  });

  test('B2: the ≥ half boundary: equal weights, even count: the lower middle count reaches exactly half (100…400 → 200)', () => {
    // total 4 × 0.5 = 2, half = 1; cumulative after 200 is exactly 1 ≥ 1.
    expect(available(quoteBoost(request(sameAge([400, 300, 200, 100])))).expectedViews).toBe(200);
  });

  test('B2: just below half is not enough: the next count is the median', () => {
    // weights 1, 0.25, 1, 0.5 → total 2.75, half 1.375; cumulative 1, 1.25 (< half), 2.25 → 300.
    const quote = available(quoteBoost(request([video('a', 0, 100), video('b', 30, 200), video('c', 0, 300), video('d', 15, 400)])));
    expect(quote.expectedViews).toBe(300);
    expect(quote.explanation.medianViews).toBe(300);
  });

  test('B2: the same boundary reached exactly picks the lower count (weights 1, 0.5, 1, 0.5 → 200)', () => {
    // total 3, half 1.5; cumulative after 200 is 1.5 ≥ 1.5.
    expect(available(quoteBoost(request([video('a', 0, 100), video('b', 15, 200), video('c', 0, 300), video('d', 15, 400)]))).expectedViews).toBe(200);
  });

  test('B2: recent videos weigh more: one fresh hit outweighs three 30-day-old videos', () => {
    // weights 0.25 × 3 + 1 → total 1.75, half 0.875; cumulative 0.25, 0.5, 0.75, 1.75 → 1000.
    const quote = available(quoteBoost(request([video('hit', 0, 1000), video('a', 30, 100), video('b', 30, 200), video('c', 30, 300)])));
    expect(quote.expectedViews).toBe(1000);
  });

  test('B2: ties: equal counts count together (their weights add up before the half is checked)', () => {
    // 100 (w 1), 200 (w 0.5), 200 (w 0.5), 900 (w 1), 900 (w 1): total 4, half 2; W(≤ 200) = 2 → 200.
    const videos = [video('a', 0, 100), video('b', 15, 200), video('c', 15, 200), video('d', 0, 900), video('e', 0, 900)];
    expect(available(quoteBoost(request(videos))).expectedViews).toBe(200);
    // A single 200 of weight 0.5 would not reach half: W(≤ 200) = 1.5 < 1.75 → 900.
    expect(available(quoteBoost(request(videos.filter((v) => v.videoId !== 'c')))).expectedViews).toBe(900);
  });

  test('B2: deterministic: the order of the input videos does not change the quote', () => {
    const videos = [video('a', 3.3, 1200), video('b', 12, 800), video('c', 40, 5000), video('d', 1, 800), video('e', 22.7, 90)];
    const reference = quoteBoost(request(videos));
    for (const permutation of [[...videos].reverse(), [videos[2]!, videos[4]!, videos[0]!, videos[3]!, videos[1]!]]) {
      expect(quoteBoost(request(permutation))).toEqual(reference);
    }
  });
});

describe('B2 shortfall risk and premium', () => {
  test('B2: 100, 200, 300 with equal weights: V = 200, s = 1/6, premium = round(12000 × (1/6) / (5/6)) = 2400 bp', () => {
    const quote = available(quoteBoost(request(sameAge([100, 200, 300]))));
    expect(quote.explanation.shortfall).toBeCloseTo(1 / 6, 15);
    expect(quote.explanation.premiumBeforeRounding).toBeCloseTo(2400, 9);
    expect(quote).toMatchObject({
      expectedViews: 200,
      premiumBp: 2400n,
      boostFeeFen: 24_000n, // B1: percentOf(100000, 2400)
      totalFen: 124_000n,
      expectedCpmFen: 620_000n, // B1: 124000 fen / (200 / 1000)
    });
    expect(quote.explanation).toMatchObject({ premiumBeforeClampBp: 2400n, premiumBp: 2400n, clamped: null });
  });

  test('B2: s is the WEIGHTED mean of the relative shortfall (only counts below V contribute)', () => {
    // 50 (w 1), 100 (w 1), 100 (w 0.5), 400 (w 0.125): total 2.625, half 1.3125; cumulative 1, then 2.5 for the tie → V = 100.
    // s = 1 × (100 − 50) / 100 / 2.625 = 4/21; premium = 12000 × (4/21) / (17/21) = 2823.5… → 2824
    // (an unweighted mean, 0.5 / 4, would give 1714).
    const quote = available(quoteBoost(request([video('a', 0, 50), video('b', 0, 100), video('c', 15, 100), video('d', 45, 400)])));
    expect(quote.expectedViews).toBe(100);
    expect(quote.explanation.shortfall).toBeCloseTo(4 / 21, 15);
    expect(quote.premiumBp).toBe(2824n);
  });

  test('B2: clamp at 10%: no shortfall at all (every count equal) gives the minimum 1000 bp', () => {
    const quote = available(quoteBoost(request(sameAge([1000, 1000, 1000]))));
    expect(quote).toMatchObject({ premiumBp: 1000n, boostFeeFen: 10_000n, expectedCpmFen: 110_000n });
    expect(quote.explanation).toMatchObject({ shortfall: 0, premiumBeforeRounding: 0, premiumBeforeClampBp: 0n, clamped: 'min' });
  });

  test('B2: clamp at 10%: a small shortfall (s = 1/30, raw ≈ 414 bp) is raised to 1000 bp', () => {
    const quote = available(quoteBoost(request(sameAge([900, 1000, 1000]))));
    expect(quote.explanation.premiumBeforeClampBp).toBe(414n);
    expect(quote.explanation.clamped).toBe('min');
    expect(quote.premiumBp).toBe(1000n);
  });

  test('B2: clamp at 50%: a large shortfall (s = 0.4, raw 8000 bp) is capped at 5000 bp', () => {
    const quote = available(quoteBoost(request(sameAge([0, 0, 1000, 1000, 1000]))));
    expect(quote.expectedViews).toBe(1000);
    expect(quote.explanation.shortfall).toBeCloseTo(0.4, 15);
    expect(quote.explanation.premiumBeforeClampBp).toBe(8000n);
    expect(quote).toMatchObject({ premiumBp: 5000n, boostFeeFen: 50_000n });
    expect(quote.explanation.clamped).toBe('max');
  });

  test('B2: the band edges themselves are not clamped: s = 1/13 → 1000 bp, s = 5/17 → 5000 bp', () => {
    expect(premiumOf(1 / 13)).toMatchObject({ premiumBp: 1000n, clamped: null });
    expect(premiumOf(5 / 17)).toMatchObject({ premiumBp: 5000n, clamped: null });
    expect(premiumOf(0.3)).toMatchObject({ premiumBeforeClampBp: 5143n, premiumBp: 5000n, clamped: 'max' });
  });

  test('B2: s ≥ 1 (only conceivable with no views at V) clamps to the maximum', () => {
    expect(premiumOf(1)).toMatchObject({ premiumBeforeClampBp: null, premiumBp: 5000n, clamped: 'max' });
    expect(() => premiumOf(Number.NaN)).toThrow(RangeError);
  });

  test('B1: the boost fee is percentOf(price, premium), half up; the CPM is rounded half up to the fen', () => {
    // price 12345, premium 2400 → 2962.8 → 2963; total 15308; CPM = 15308 × 1000 / 200 = 76540.
    const quote = available(quoteBoost(request(sameAge([100, 200, 300]), { priceFen: 12_345n })));
    expect(quote).toMatchObject({ boostFeeFen: 2_963n, totalFen: 15_308n, expectedCpmFen: 76_540n });
    // 3 equal counts of 7: V = 7, premium 1000 → total 110000 → 110000 × 1000 / 7 = 15714285.71… → 15714286.
    expect(available(quoteBoost(request(sameAge([7, 7, 7]))))).toMatchObject({ expectedViews: 7, totalFen: 110_000n, expectedCpmFen: 15_714_286n });
  });
});

describe('B2 availability', () => {
  test('B2: unavailable with fewer than 3 videos in the window (not_enough_videos)', () => {
    const quote = unavailable(quoteBoost(request(sameAge([100, 200]))));
    expect(quote.reason).toBe('not_enough_videos');
    expect(quote.explanation.videosUsed).toHaveLength(2);
    expect(quote.explanation).toMatchObject({ medianViews: null, shortfall: null, premiumBp: null });
  });

  test('B2: unavailable when the creator opted out, even with plenty of videos (opted_out)', () => {
    expect(unavailable(quoteBoost(request(sameAge([100, 200, 300, 400]), { optedOut: true }))).reason).toBe('opted_out');
  });

  test('B2: opting out is reported before a lack of videos', () => {
    expect(unavailable(quoteBoost(request([], { optedOut: true }))).reason).toBe('opted_out');
  });

  test('B2: videos older than 45 days are ignored (and listed as excluded with the reason)', () => {
    const videos = [video('a', 1, 100), video('b', 2, 200), video('old', 45 + 1 / DAY_MS, 10_000)];
    const quote = unavailable(quoteBoost(request(videos)));
    expect(quote.reason).toBe('not_enough_videos');
    expect(quote.explanation.videosExcluded).toEqual([expect.objectContaining({ videoId: 'old', reason: 'outside_window', views: 10_000 })]);
    // With a third recent video the old hit still does not count: V = 200, not pulled up by 10000.
    const withThird = available(quoteBoost(request([...videos, video('c', 3, 300)])));
    expect(withThird.expectedViews).toBe(200);
    expect(withThird.explanation.videosUsed.map((v) => v.videoId)).toEqual(['a', 'b', 'c']);
  });

  test('B2: a video exactly 45 days old still counts (0 ≤ a ≤ 45)', () => {
    const quote = available(quoteBoost(request([video('a', 1, 100), video('b', 2, 200), video('edge', 45, 300)])));
    expect(quote.explanation.videosUsed.find((v) => v.videoId === 'edge')).toMatchObject({ ageDays: 45, weight: 0.125 });
  });

  test('B2: a video published after now (feed clock skew) is excluded as published_in_future', () => {
    const quote = unavailable(quoteBoost(request([video('a', 1, 100), video('b', 2, 200), video('future', -0.01, 300)])));
    expect(quote.reason).toBe('not_enough_videos');
    expect(quote.explanation.videosExcluded).toEqual([expect.objectContaining({ videoId: 'future', reason: 'published_in_future' })]);
  });

  test('B2 (decision): a weighted median of 0 views makes boost unavailable (no_views): no CPM, nothing to guarantee', () => {
    const quote = unavailable(quoteBoost(request(sameAge([0, 0, 5]))));
    expect(quote.reason).toBe('no_views');
    expect(quote.explanation.medianViews).toBe(0);
  });
});

describe('B1 quote validity (30 minutes)', () => {
  test('B1: valid until (excluding) quotedAt + 30 min', () => {
    const quote = available(quoteBoost(request(sameAge([100, 200, 300]))));
    expect(QUOTE_VALIDITY_MS).toBe(30 * MINUTE_MS);
    expect(quote.quotedAtMs).toBe(NOW);
    expect(quote.validUntilMs).toBe(NOW + 30 * MINUTE_MS);
    expect(isQuoteValid(quote.quotedAtMs, NOW)).toBe(true);
    expect(isQuoteValid(quote.quotedAtMs, NOW + 30 * MINUTE_MS - 1)).toBe(true);
    expect(isQuoteValid(quote.quotedAtMs, NOW + 30 * MINUTE_MS)).toBe(false);
  });

  test('B1: the validity comes from the policy snapshot', () => {
    const quote = available(quoteBoost(request(sameAge([100, 200, 300])), { ...DEFAULT_BOOST_POLICY, quoteValidityMs: 5 * MINUTE_MS }));
    expect(quote.validUntilMs).toBe(NOW + 5 * MINUTE_MS);
    expect(isQuoteValid(NOW, NOW + 5 * MINUTE_MS, 5 * MINUTE_MS)).toBe(false);
  });
});

describe('B2 policy snapshot', () => {
  test('B2: a different window, minimum and band come from the policy', () => {
    const policy = { ...DEFAULT_BOOST_POLICY, windowDays: 10, minVideos: 2, minPremiumBp: 2000n, maxPremiumBp: 3000n };
    const quote = available(quoteBoost(request([video('a', 1, 100), video('b', 9, 100), video('c', 11, 1)]), policy));
    expect(quote.explanation.videosUsed).toHaveLength(2);
    expect(quote.premiumBp).toBe(2000n);
  });
});

describe('input validation (the API and the stats feed validate first)', () => {
  test.each<[string, Partial<QuoteRequest>]>([
    ['a zero price', { priceFen: 0n }],
    ['a negative price', { priceFen: -1n }],
    ['a price above 10^13 fen', { priceFen: 10_000_000_000_001n }],
    ['a fractional now', { nowMs: 1.5 }],
    ['an empty creatorId', { creatorId: '' }],
    ['negative views', { videos: [video('a', 1, -1)] }],
    ['fractional views', { videos: [video('a', 1, 1.5)] }],
    ['unsafe views', { videos: [video('a', 1, 2 ** 53)] }],
    ['a bad publishedAt', { videos: [{ videoId: 'a', publishedAt: 'yesterday', views: 1 }] }],
    ['a video listed twice', { videos: [video('a', 1, 1), video('a', 2, 2)] }],
  ])('rejects %s with a RangeError', (_name, overrides) => {
    expect(() => quoteBoost(request(sameAge([1, 2, 3]), overrides))).toThrow(RangeError);
  });

  test('B8: views from an int8 column (bigint) are accepted as counts', () => {
    expect(available(quoteBoost(request(sameAge([1, 2, 3]).map((v) => ({ ...v, views: BigInt(v.views) }))))).expectedViews).toBe(2);
  });
});
