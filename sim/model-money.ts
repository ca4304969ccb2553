/**
 * The reference model's money and pricing arithmetic, written from SPEC.md alone (SPEC §1, T2, T9,
 * T20, B1, B2, B6) — deliberately not imported from `domain/`, so that a mistake there cannot hide
 * itself by being checked against itself. Money is bigint fen; rates are bigint basis points.
 */

/** SPEC §1: `percentOf(amountFen, bp) = (amountFen × bp + 5000) div 10000` (half up). */
export function percentOf(amountFen: bigint, bp: bigint): bigint {
  return (amountFen * bp + 5000n) / 10000n;
}

/** SPEC §1: every other division of money rounds half up to the fen, exactly. */
export function divHalfUp(numerator: bigint, denominator: bigint): bigint {
  return (2n * numerator + denominator) / (2n * denominator);
}

/** T2: the platform's service fee, 10% of the price. */
export const SERVICE_FEE_BP = 1000n;
/** T20: the creator's compensation, 50% of the final price. */
export const COMPENSATION_BP = 5000n;

export const serviceFee = (priceFen: bigint): bigint => percentOf(priceFen, SERVICE_FEE_BP);

/** T9: the creator's allowed range for a new price, `ceil(0.8 × price) … floor(1.2 × price)`. */
export function priceRange(priceFen: bigint): { minFen: bigint; maxFen: bigint } {
  return { minFen: (priceFen * 8n + 9n) / 10n, maxFen: (priceFen * 12n) / 10n };
}

/** T20 after at least one upload: 50% of the final price to the creator, 10% of that to the platform. */
export function compensation(priceFen: bigint): { creatorFen: bigint; serviceFeeFen: bigint } {
  const creatorFen = percentOf(priceFen, COMPENSATION_BP);
  return { creatorFen, serviceFeeFen: serviceFee(creatorFen) };
}

/**
 * B6: with expected views V and actual views A, the compensation
 * `C = min(boostFeeFen, (V − A) × (priceFen + boostFeeFen) / V)` rounded half up; 0 when A ≥ V.
 */
export function boostCompensation(expectedViews: number, actualViews: number, priceFen: bigint, boostFeeFen: bigint): bigint {
  if (actualViews >= expectedViews) return 0n;
  const V = BigInt(expectedViews);
  const c = divHalfUp((V - BigInt(actualViews)) * (priceFen + boostFeeFen), V);
  return c < boostFeeFen ? c : boostFeeFen;
}

const DAY_MS = 86_400_000;

export interface B2Video {
  readonly publishedAtMs: number;
  readonly views: number;
}

export type B2Quote =
  | { readonly available: true; readonly expectedViews: number; readonly premiumBp: number; readonly ambiguous: boolean }
  | { readonly available: false; readonly reason: 'not_enough_videos' | 'no_views'; readonly ambiguous: boolean };

/**
 * B2 as the SPEC states it: the creator's videos published in the last 45 days (3 at least), each
 * weighted `0.5^(age/15)`; V = the weighted median of the counts (the smallest count whose weight
 * plus the weights of all smaller counts reach half the total); shortfall risk s = the weighted
 * mean of max(0, V − v)/V; premium = clamp(round(10000 × 1.2 × s/(1 − s)), 1000, 5000).
 * `ambiguous` is set when a video lies within a second of the window's ends or the median within
 * a rounding error of its threshold: the caller then accepts the product's figures.
 */
export function quoteB2(videos: readonly B2Video[], quotedAtMs: number): B2Quote {
  const SLACK_MS = 1_000;
  let ambiguous = false;
  const used: Array<{ views: number; weight: number }> = [];
  for (const video of videos) {
    const ageMs = quotedAtMs - video.publishedAtMs;
    if (Math.abs(ageMs) < SLACK_MS || Math.abs(ageMs - 45 * DAY_MS) < SLACK_MS) ambiguous = true;
    if (ageMs < 0 || ageMs > 45 * DAY_MS) continue;
    used.push({ views: video.views, weight: 0.5 ** (ageMs / DAY_MS / 15) });
  }
  if (used.length < 3) return { available: false, reason: 'not_enough_videos', ambiguous };
  used.sort((a, b) => a.views - b.views);
  const total = used.reduce((sum, v) => sum + v.weight, 0);
  let cumulative = 0;
  let median = used[used.length - 1]!.views;
  for (let i = 0; i < used.length; i += 1) {
    cumulative += used[i]!.weight;
    const last = i === used.length - 1 || used[i + 1]!.views !== used[i]!.views; // equal counts are one group
    if (!last) continue;
    if (Math.abs(2 * cumulative - total) < 1e-9 * total) ambiguous = true;
    if (2 * cumulative >= total) {
      median = used[i]!.views;
      break;
    }
  }
  if (median === 0) return { available: false, reason: 'no_views', ambiguous };
  const s = used.reduce((sum, v) => sum + v.weight * (Math.max(0, median - v.views) / median), 0) / total;
  const raw = s >= 1 ? Infinity : (10000 * 1.2 * s) / (1 - s);
  if (Number.isFinite(raw) && Math.abs(raw - Math.floor(raw) - 0.5) < 1e-6) ambiguous = true; // half-way: rounding is float-fragile
  const premiumBp = Math.min(5000, Math.max(1000, Math.round(raw)));
  return { available: true, expectedViews: median, premiumBp, ambiguous };
}
