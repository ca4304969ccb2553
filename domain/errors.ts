/**
 * Expected business outcomes that refuse a command (SPEC §8). Each maps to one HTTP status;
 * programmer errors are assertions, not codes.
 */
export const REJECTION_STATUS = {
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  invalid_state: 409,
  deadline_passed: 409,
  insufficient_funds: 409,
  price_out_of_range: 409,
  price_change_not_allowed: 409,
  price_locked: 409,
  idempotency_mismatch: 422,
  rate_limited: 429,
} as const;

export type RejectionCode = keyof typeof REJECTION_STATUS;

export interface Rejection {
  readonly code: RejectionCode;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

export function isRejectionCode(value: unknown): value is RejectionCode {
  return typeof value === 'string' && Object.hasOwn(REJECTION_STATUS, value);
}

export function reject(code: RejectionCode, message: string, details?: Record<string, unknown>): Rejection {
  return details ? { code, message, details } : { code, message };
}
