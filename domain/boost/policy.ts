/**
 * The boost policy (SPEC §1 "policy snapshot"): every duration and rate of §3. The policy in force
 * is copied into the quote and the boost order, so a configuration change never alters a running
 * order nor the determinism of its workflow.
 *
 * Units are in the names: rates are bigint basis points (`…Bp`), durations are epoch-ms numbers
 * (`…Ms`); the B2 pricing window and half-life are expressed in days (`…Days`, possibly
 * fractional), the B4 validity in calendar months and the B7 refund delay in business days.
 */
export interface BoostPolicy {
  readonly windowDays: number; // B2: only videos published within the last 45 days count
  readonly minVideos: number; // B2: boost is unavailable with fewer such videos
  readonly halfLifeDays: number; // B2: w = 0.5^(age / halfLifeDays)
  readonly minPremiumBp: bigint; // B1/B2: premium band, lower bound (10%)
  readonly maxPremiumBp: bigint; // B1/B2: premium band, upper bound (50%)
  readonly marginBp: bigint; // B2: 10000 × 1.2, the expected compensation plus a 20% margin
  readonly quoteValidityMs: number; // B1: a quote is valid for 30 minutes
  readonly publicationWindowMonths: number; // B4: the video must be published within 1 calendar month
  readonly boostDurationMs: number; // B5/B6: the boost runs 14 days from publication
  readonly refundBusinessDays: number; // B7: refunds are due by the end of the 7th business day
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

export const DEFAULT_BOOST_POLICY: BoostPolicy = {
  windowDays: 45,
  minVideos: 3,
  halfLifeDays: 15,
  minPremiumBp: 1000n,
  maxPremiumBp: 5000n,
  marginBp: 12000n,
  quoteValidityMs: 30 * MINUTE_MS,
  publicationWindowMonths: 1,
  boostDurationMs: 14 * DAY_MS,
  refundBusinessDays: 7,
};

/**
 * Checks a policy's internal consistency (a configuration error is a programmer error: it throws).
 * Returns the policy for chaining.
 */
export function assertValidBoostPolicy(policy: BoostPolicy): BoostPolicy {
  const positive = (value: number, name: string, integer = false) => {
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isSafeInteger(value))) {
      throw new RangeError(`boost policy: ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
    }
  };
  positive(policy.windowDays, 'windowDays');
  positive(policy.minVideos, 'minVideos', true);
  positive(policy.halfLifeDays, 'halfLifeDays');
  positive(policy.quoteValidityMs, 'quoteValidityMs', true);
  positive(policy.publicationWindowMonths, 'publicationWindowMonths', true);
  positive(policy.boostDurationMs, 'boostDurationMs', true);
  positive(policy.refundBusinessDays, 'refundBusinessDays', true);
  if (policy.minPremiumBp < 0n || policy.maxPremiumBp < policy.minPremiumBp) {
    throw new RangeError('boost policy: need 0 ≤ minPremiumBp ≤ maxPremiumBp');
  }
  if (policy.marginBp <= 0n) throw new RangeError('boost policy: marginBp must be positive');
  return policy;
}
