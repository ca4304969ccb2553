/** Money is bigint fen (SPEC §1). Every division rounds half up, exactly, in integers. */

/** Upper bound of any single amount: 10^13 fen (100 billion yuan), far below 2^53 for JSON. */
export const MAX_AMOUNT_FEN = 10_000_000_000_000n;

/** `(amountFen × bp + 5000) div 10000` (SPEC §1), for non-negative amounts and rates. */
export function percentOf(amountFen: bigint, bp: bigint): bigint {
  assertNonNegative(amountFen, 'amountFen');
  assertNonNegative(bp, 'bp');
  return (amountFen * bp + 5000n) / 10000n;
}

/** numerator / denominator rounded half up, for a non-negative numerator and positive denominator. */
export function divRoundHalfUp(numerator: bigint, denominator: bigint): bigint {
  assertNonNegative(numerator, 'numerator');
  if (denominator <= 0n) throw new RangeError('denominator must be positive');
  return (2n * numerator + denominator) / (2n * denominator);
}

/** ceil(a / b) for a ≥ 0, b > 0. */
export function divCeil(numerator: bigint, denominator: bigint): bigint {
  assertNonNegative(numerator, 'numerator');
  if (denominator <= 0n) throw new RangeError('denominator must be positive');
  return (numerator + denominator - 1n) / denominator;
}

function assertNonNegative(value: bigint, name: string): void {
  if (value < 0n) throw new RangeError(`${name} must not be negative`);
}
