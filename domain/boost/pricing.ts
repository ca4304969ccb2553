/**
 * B1/B2: the boost quote engine (溢价比例由平台基于达人近45天发布的历史视频的播放表现加权计算).
 *
 * Method, for a creator, a task price and the creator's videos with their latest view counts (B8):
 * 1. Only videos of age `a` = (now − publishedAt) / 1 day, fractional, with 0 ≤ a ≤ windowDays (45)
 *    count. A video "published" after `now` (clock skew in the feed) is left out, and so is one
 *    older than the window; both are listed in the explanation with the reason.
 * 2. Unavailable if the creator opted out (`opted_out`, checked first), with fewer than minVideos (3)
 *    such videos (`not_enough_videos`), or if the weighted median is 0 views (`no_views`: there is
 *    no meaningful expected CPM, and B6 divides by the expected views).
 * 3. Weight `w = 0.5^(a / halfLifeDays)` (15 days).
 * 4. `expectedViews` = the weighted median: sorted by views ascending, the smallest count whose own
 *    weight plus the weights of all smaller counts reach half the total weight (cumulative ≥
 *    total / 2, the boundary included). Equal counts form one group, so ties need no tie-break.
 * 5. Shortfall risk `s` = Σ w·max(0, V − v) / (V · Σ w), the weighted mean of the relative shortfall.
 * 6. `premiumBp = clamp(round(marginBp × s / (1 − s)), minPremiumBp, maxPremiumBp)`, marginBp =
 *    10000 × 1.2; `round` is half up; s ≥ 1 (impossible while V > 0) would clamp to the maximum.
 * 7. `boostFeeFen = percentOf(priceFen, premiumBp)`.
 * 8. `expectedCpmFen = divRoundHalfUp((priceFen + boostFeeFen) × 1000, expectedViews)`: the CPM
 *    (fen per 1000 views) rounded half up to the fen, for display only. B6 never uses it: it
 *    computes with `expectedViews`, `priceFen` and `boostFeeFen` exactly (compensation.ts).
 *
 * Weights and `s` are IEEE doubles (the formula is ours, SPEC B2). The computation is
 * deterministic: the videos are put in a total order (views, then publishedAt, then videoId)
 * before anything is summed, so the result does not depend on the order of the input. Money never
 * touches a float: only `premiumBp` (an integer) leaves the float part.
 */
import { MAX_AMOUNT_FEN, divRoundHalfUp, percentOf } from '../money';
import { DAY_MS, DEFAULT_BOOST_POLICY, type BoostPolicy } from './policy';

/** B1: a quote is valid for 30 minutes. */
export const QUOTE_VALIDITY_MS = DEFAULT_BOOST_POLICY.quoteValidityMs;

/** A video of the creator with its latest view count (B8). */
export interface CreatorVideo {
  readonly videoId: string;
  readonly publishedAt: string; // ISO 8601 instant
  /** A count, not money: a safe non-negative integer (a bigint from an int8 column is accepted). */
  readonly views: number | bigint;
}

export interface QuoteRequest {
  readonly creatorId: string;
  readonly priceFen: bigint;
  readonly videos: readonly CreatorVideo[];
  readonly optedOut: boolean;
  readonly nowMs: number;
}

export const QUOTE_UNAVAILABLE_REASONS = ['opted_out', 'not_enough_videos', 'no_views'] as const;
export type QuoteUnavailableReason = (typeof QUOTE_UNAVAILABLE_REASONS)[number];

/** A video that counted, in the order of the weighted median (views ascending). */
export interface WeightedVideo {
  readonly videoId: string;
  readonly publishedAt: string; // normalised ISO 8601
  readonly views: number;
  readonly ageDays: number; // fractional
  readonly weight: number; // 0.5^(ageDays / halfLifeDays)
  readonly cumulativeWeight: number; // this weight plus those of the videos before it
}

/** Why a video of the creator did not count (B2): older than the window, or dated after the quote. */
export const VIDEO_EXCLUSION_REASONS = ['outside_window', 'published_in_future'] as const;
export type VideoExclusionReason = (typeof VIDEO_EXCLUSION_REASONS)[number];

/** The explanation lists at most this many excluded videos, the most recent first (a bounded quote). */
export const MAX_EXCLUDED_VIDEOS = 20;

export interface ExcludedVideo {
  readonly videoId: string;
  readonly publishedAt: string;
  readonly views: number;
  readonly ageDays: number;
  readonly reason: VideoExclusionReason;
}

/** B2: "the quote explains itself". Absent figures (an unavailable quote) are null. */
export interface QuoteExplanation {
  readonly method: string;
  readonly quotedAt: string; // ISO 8601, the `now` of the computation
  readonly windowDays: number;
  readonly halfLifeDays: number;
  readonly minVideos: number;
  readonly videosUsed: readonly WeightedVideo[];
  readonly videosExcluded: readonly ExcludedVideo[];
  readonly totalWeight: number;
  readonly medianViews: number | null; // = expectedViews
  readonly shortfall: number | null; // s
  readonly premiumBeforeRounding: number | null; // marginBp × s / (1 − s), in basis points, unrounded
  readonly premiumBeforeClampBp: bigint | null; // rounded half up
  readonly premiumBp: bigint | null; // clamped into the band
  readonly clamped: 'min' | 'max' | null;
  readonly marginBp: bigint;
  readonly minPremiumBp: bigint;
  readonly maxPremiumBp: bigint;
}

interface QuoteCommon {
  readonly creatorId: string;
  readonly priceFen: bigint;
  readonly quotedAtMs: number;
  readonly explanation: QuoteExplanation;
}

export interface AvailableQuote extends QuoteCommon {
  readonly available: true;
  readonly validUntilMs: number; // quotedAtMs + quoteValidityMs (exclusive)
  readonly expectedViews: number;
  readonly premiumBp: bigint;
  readonly boostFeeFen: bigint;
  readonly totalFen: bigint; // priceFen + boostFeeFen
  readonly expectedCpmFen: bigint; // rounded half up, display only (never used by B6)
}

export interface UnavailableQuote extends QuoteCommon {
  readonly available: false;
  readonly reason: QuoteUnavailableReason;
}

export type BoostQuote = AvailableQuote | UnavailableQuote;

export const PRICING_METHOD =
  'B2: videos of age 0–windowDays days; w = 0.5^(age/halfLifeDays); expectedViews = weighted median ' +
  '(smallest count whose cumulative weight ≥ total/2); s = Σw·max(0, V−v)/(V·Σw); ' +
  'premiumBp = clamp(round(marginBp·s/(1−s)), minPremiumBp, maxPremiumBp); boostFeeFen = percentOf(priceFen, premiumBp); ' +
  'expectedCpmFen = round((priceFen + boostFeeFen)·1000 / expectedViews)';

/** B1/B2: the quote for one creator and task price at `nowMs`. Throws RangeError on malformed input. */
export function quoteBoost(request: QuoteRequest, policy: BoostPolicy = DEFAULT_BOOST_POLICY): BoostQuote {
  const { creatorId, priceFen, optedOut, nowMs } = validateRequest(request);
  const { used, excluded } = selectVideos(request.videos, nowMs, policy);
  const totalWeight = used.length === 0 ? 0 : used[used.length - 1]!.cumulativeWeight;
  const base = {
    method: PRICING_METHOD,
    quotedAt: new Date(nowMs).toISOString(),
    windowDays: policy.windowDays,
    halfLifeDays: policy.halfLifeDays,
    minVideos: policy.minVideos,
    videosUsed: used,
    videosExcluded: excluded,
    totalWeight,
    marginBp: policy.marginBp,
    minPremiumBp: policy.minPremiumBp,
    maxPremiumBp: policy.maxPremiumBp,
  };
  const common = { creatorId, priceFen, quotedAtMs: nowMs };
  const unavailable = (reason: QuoteUnavailableReason, medianViews: number | null = null): UnavailableQuote => ({
    ...common,
    available: false,
    reason,
    explanation: { ...base, medianViews, shortfall: null, premiumBeforeRounding: null, premiumBeforeClampBp: null, premiumBp: null, clamped: null },
  });

  if (optedOut) return unavailable('opted_out');
  if (used.length < policy.minVideos) return unavailable('not_enough_videos');
  const expectedViews = weightedMedian(used, totalWeight);
  if (expectedViews === 0) return unavailable('no_views', 0);

  const shortfall = shortfallRisk(used, expectedViews, totalWeight);
  const { premiumBeforeRounding, premiumBeforeClampBp, premiumBp, clamped } = premiumOf(shortfall, policy);
  const boostFeeFen = percentOf(priceFen, premiumBp);
  const totalFen = priceFen + boostFeeFen;
  return {
    ...common,
    available: true,
    validUntilMs: nowMs + policy.quoteValidityMs,
    expectedViews,
    premiumBp,
    boostFeeFen,
    totalFen,
    expectedCpmFen: expectedCpmFen(totalFen, expectedViews),
    explanation: {
      ...base,
      medianViews: expectedViews,
      shortfall,
      premiumBeforeRounding: Number.isFinite(premiumBeforeRounding) ? premiumBeforeRounding : null,
      premiumBeforeClampBp,
      premiumBp,
      clamped,
    },
  };
}

/** B1: a quote may be cited while `now < createdAt + validity` (30 minutes); exactly at the end it is expired. */
export function isQuoteValid(createdAtMs: number, nowMs: number, validityMs: number = QUOTE_VALIDITY_MS): boolean {
  return nowMs < createdAtMs + validityMs;
}

/** B2: weight of a video `ageDays` old: 0.5^(ageDays / halfLifeDays). */
export function weightOf(ageDays: number, halfLifeDays: number = DEFAULT_BOOST_POLICY.halfLifeDays): number {
  return Math.pow(0.5, ageDays / halfLifeDays);
}

/**
 * B2: the weighted median of videos sorted by views ascending whose `cumulativeWeight` is the running
 * sum: the first count where the cumulative weight reaches half the total (≥, compared as
 * 2·cumulative ≥ total, which is exact in floating point).
 */
export function weightedMedian(sortedByViews: readonly Pick<WeightedVideo, 'views' | 'cumulativeWeight'>[], totalWeight: number): number {
  for (const video of sortedByViews) {
    if (2 * video.cumulativeWeight >= totalWeight) return video.views;
  }
  throw new RangeError('weightedMedian of no videos');
}

/** B2: s = Σ w·max(0, V − v) / (V · Σ w). */
export function shortfallRisk(videos: readonly Pick<WeightedVideo, 'views' | 'weight'>[], expectedViews: number, totalWeight: number): number {
  if (expectedViews <= 0 || totalWeight <= 0) throw new RangeError('shortfallRisk needs positive expectedViews and total weight');
  let weighted = 0;
  for (const { views, weight } of videos) weighted += weight * Math.max(0, expectedViews - views);
  return weighted / (expectedViews * totalWeight);
}

/** B2: the premium in basis points for a shortfall risk s: clamp(round(marginBp × s / (1 − s))). */
export function premiumOf(
  shortfall: number,
  policy: Pick<BoostPolicy, 'marginBp' | 'minPremiumBp' | 'maxPremiumBp'> = DEFAULT_BOOST_POLICY,
): { premiumBeforeRounding: number; premiumBeforeClampBp: bigint | null; premiumBp: bigint; clamped: 'min' | 'max' | null } {
  if (!(shortfall >= 0)) throw new RangeError(`shortfall must be ≥ 0, got ${shortfall}`);
  const premiumBeforeRounding = shortfall < 1 ? (Number(policy.marginBp) * shortfall) / (1 - shortfall) : Number.POSITIVE_INFINITY;
  const rounded = Number.isFinite(premiumBeforeRounding) ? BigInt(Math.round(premiumBeforeRounding)) : null; // half up for x ≥ 0
  if (rounded === null || rounded > policy.maxPremiumBp) {
    return { premiumBeforeRounding, premiumBeforeClampBp: rounded, premiumBp: policy.maxPremiumBp, clamped: 'max' };
  }
  if (rounded < policy.minPremiumBp) return { premiumBeforeRounding, premiumBeforeClampBp: rounded, premiumBp: policy.minPremiumBp, clamped: 'min' };
  return { premiumBeforeRounding, premiumBeforeClampBp: rounded, premiumBp: rounded, clamped: null };
}

/** B1: (priceFen + boostFeeFen) per 1000 expected views, rounded half up to the fen (display only). */
export function expectedCpmFen(totalFen: bigint, expectedViews: number | bigint): bigint {
  return divRoundHalfUp(totalFen * 1000n, BigInt(expectedViews));
}

/** B2 step 1: the videos in the window, weighted, sorted by views; the others with the reason. */
function selectVideos(videos: readonly CreatorVideo[], nowMs: number, policy: BoostPolicy): { used: WeightedVideo[]; excluded: ExcludedVideo[] } {
  const seen = new Set<string>();
  const candidates = videos.map((video, i) => {
    if (typeof video.videoId !== 'string' || video.videoId.length === 0) throw new RangeError(`videos[${i}].videoId must be a non-empty string`);
    if (seen.has(video.videoId)) throw new RangeError(`videos[${i}]: video ${video.videoId} is listed twice`);
    seen.add(video.videoId);
    const publishedAtMs = typeof video.publishedAt === 'string' ? Date.parse(video.publishedAt) : Number.NaN;
    if (!Number.isFinite(publishedAtMs)) throw new RangeError(`videos[${i}].publishedAt must be an ISO 8601 instant`);
    return {
      videoId: video.videoId,
      publishedAtMs,
      publishedAt: new Date(publishedAtMs).toISOString(),
      views: viewCount(video.views, `videos[${i}].views`),
      ageDays: (nowMs - publishedAtMs) / DAY_MS,
    };
  });
  candidates.sort((a, b) => a.views - b.views || a.publishedAtMs - b.publishedAtMs || (a.videoId < b.videoId ? -1 : a.videoId > b.videoId ? 1 : 0));

  const used: WeightedVideo[] = [];
  const excluded: ExcludedVideo[] = [];
  let cumulativeWeight = 0;
  for (const { videoId, publishedAt, views, ageDays } of candidates) {
    if (ageDays < 0 || ageDays > policy.windowDays) {
      excluded.push({ videoId, publishedAt, views, ageDays, reason: ageDays < 0 ? 'published_in_future' : 'outside_window' });
      continue;
    }
    const weight = weightOf(ageDays, policy.halfLifeDays);
    cumulativeWeight += weight;
    used.push({ videoId, publishedAt, views, ageDays, weight, cumulativeWeight });
  }
  // The most recent first (the ones a creator can do something about), bounded.
  excluded.sort((a, b) => a.ageDays - b.ageDays || (a.videoId < b.videoId ? -1 : a.videoId > b.videoId ? 1 : 0));
  return { used, excluded: excluded.slice(0, MAX_EXCLUDED_VIDEOS) };
}

/** A view count: a safe non-negative integer (views are counts, not money). */
export function viewCount(value: number | bigint, name = 'views'): number {
  if (typeof value === 'bigint') {
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${name} must be a safe non-negative integer`);
    return Number(value);
  }
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a safe non-negative integer, got ${value}`);
  return value;
}

function validateRequest(request: QuoteRequest): QuoteRequest {
  if (typeof request.creatorId !== 'string' || request.creatorId.length === 0) throw new RangeError('creatorId must be a non-empty string');
  if (typeof request.priceFen !== 'bigint' || request.priceFen <= 0n || request.priceFen > MAX_AMOUNT_FEN) {
    throw new RangeError(`priceFen must be a bigint in 1…${MAX_AMOUNT_FEN}`);
  }
  if (!Number.isSafeInteger(request.nowMs)) throw new RangeError('nowMs must be an integer number of epoch milliseconds');
  if (typeof request.optedOut !== 'boolean') throw new RangeError('optedOut must be a boolean');
  if (!Array.isArray(request.videos)) throw new RangeError('videos must be an array');
  return request;
}
