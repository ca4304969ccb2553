/**
 * B5/B6: the view guarantee's money, exactly, in bigint fen.
 *
 * B6: with expected views V (fixed in the boost order) and actual views A (the latest count, B8):
 * - A ≥ V: the boost succeeded; no compensation; the platform keeps the whole fee;
 * - A < V: compensation C = min(boostFeeFen, divRoundHalfUp((V − A) × (priceFen + boostFeeFen), V)),
 *   i.e. ((V − A) / 1000) × expected CPM computed from the exact (unrounded) CPM, rounded half up
 *   once, at the end; the platform keeps boostFeeFen − C.
 * The rounded `expectedCpmFen` of a quote is never used here.
 */
import { divRoundHalfUp } from '../money';
import { viewCount } from './pricing';
import { DEFAULT_BOOST_POLICY } from './policy';
import type { BoostOrderState } from './types';

export interface BoostTerms {
  readonly expectedViews: number | bigint; // V, > 0
  readonly priceFen: bigint;
  readonly boostFeeFen: bigint;
}

export interface BoostEvaluation {
  readonly succeeded: boolean; // A ≥ V
  readonly actualViews: number;
  readonly expectedViews: number;
  readonly shortfallViews: number; // max(0, V − A)
  readonly compensationFen: bigint; // C, refunded to the client (B7)
  readonly platformKeepsFen: bigint; // boostFeeFen − C, to platform:boost_premiums
  readonly capped: boolean; // C was limited to the fee
}

/** B6: the outcome of a boost with `actualViews` at its end. Throws RangeError on malformed terms. */
export function evaluateBoost(terms: BoostTerms & { readonly actualViews: number | bigint }): BoostEvaluation {
  const { V, priceFen, boostFeeFen } = validateTerms(terms);
  const A = BigInt(viewCount(terms.actualViews, 'actualViews'));
  const base = { actualViews: Number(A), expectedViews: Number(V) };
  if (A >= V) {
    return { ...base, succeeded: true, shortfallViews: 0, compensationFen: 0n, platformKeepsFen: boostFeeFen, capped: false };
  }
  const uncapped = divRoundHalfUp((V - A) * (priceFen + boostFeeFen), V);
  const capped = uncapped > boostFeeFen;
  const compensationFen = capped ? boostFeeFen : uncapped;
  return { ...base, succeeded: false, shortfallViews: Number(V - A), compensationFen, platformKeepsFen: boostFeeFen - compensationFen, capped };
}

export interface BoostProgressInput extends BoostTerms {
  /** The latest view count (B8); undefined while the feed has not reported the video yet. */
  readonly latestViews: number | bigint | undefined;
  readonly publishedAtMs: number;
  readonly nowMs: number;
  readonly boostDurationMs?: number; // default 14 days
}

export interface BoostProgress {
  readonly viewsSoFar: number | null; // null: no count yet (B8: never guessed)
  readonly expectedViews: number;
  readonly startedAtMs: number; // publication
  readonly endsAtMs: number; // publication + 14 days
  readonly timeLeftMs: number; // 0 once the boost period is over
  readonly ended: boolean;
  /** What B6 would give if the boost ended now with viewsSoFar; null while there is no count. */
  readonly ifEndedNow: BoostEvaluation | null;
}

/**
 * B5: the progress of a boost in effect (from the video's publication). Without a view count the
 * views and the "if it ended now" outcome are null rather than guessed (B8).
 */
export function boostProgress(input: BoostProgressInput): BoostProgress {
  const { V } = validateTerms(input);
  const durationMs = input.boostDurationMs ?? DEFAULT_BOOST_POLICY.boostDurationMs;
  if (!Number.isSafeInteger(input.publishedAtMs) || !Number.isSafeInteger(input.nowMs)) throw new RangeError('publishedAtMs and nowMs must be epoch ms');
  if (!Number.isSafeInteger(durationMs) || durationMs <= 0) throw new RangeError('boostDurationMs must be a positive integer');
  const endsAtMs = input.publishedAtMs + durationMs;
  const timeLeftMs = Math.max(0, endsAtMs - input.nowMs);
  const viewsSoFar = input.latestViews === undefined ? null : viewCount(input.latestViews, 'latestViews');
  return {
    viewsSoFar,
    expectedViews: Number(V),
    startedAtMs: input.publishedAtMs,
    endsAtMs,
    timeLeftMs,
    ended: timeLeftMs === 0,
    ifEndedNow: viewsSoFar === null ? null : evaluateBoost({ ...input, actualViews: viewsSoFar }),
  };
}

function validateTerms(terms: BoostTerms): { V: bigint; priceFen: bigint; boostFeeFen: bigint } {
  const V = BigInt(viewCount(terms.expectedViews, 'expectedViews'));
  if (V <= 0n) throw new RangeError('expectedViews must be positive (a quote with 0 expected views is unavailable, B2)');
  if (typeof terms.priceFen !== 'bigint' || terms.priceFen < 0n) throw new RangeError('priceFen must be a non-negative bigint');
  if (typeof terms.boostFeeFen !== 'bigint' || terms.boostFeeFen < 0n) throw new RangeError('boostFeeFen must be a non-negative bigint');
  return { V, priceFen: terms.priceFen, boostFeeFen: terms.boostFeeFen };
}

/**
 * B5 for a boost order's state: the progress once the video is published (null before: there is
 * nothing in effect yet), with the order's fixed terms and policy.
 */
export function progressOfBoostOrder(state: BoostOrderState, latestViews: number | bigint | undefined, nowMs: number): BoostProgress | null {
  if (!state.video) return null;
  const progress = boostProgress({ ...state.terms, latestViews, publishedAtMs: state.video.publishedAtMs, nowMs, boostDurationMs: state.policy.boostDurationMs });
  // Once the order has been evaluated its outcome is final: show it rather than a hypothetical one.
  if (state.evaluation) return { ...progress, ifEndedNow: evaluateBoost({ ...state.terms, actualViews: state.evaluation.actualViews }) };
  return progress;
}
