import { REJECTION_STATUS, type Rejection } from '../domain/errors';
import type { Dependency } from '../platform/faults';

/**
 * Every error code the API answers with and its HTTP status (SPEC §8): the domain's refusals, and
 * `unavailable` — not a decision of the domain but the API's answer while PostgreSQL or Temporal
 * cannot be reached, so it is kept here, next to the other HTTP concerns.
 */
export const API_ERROR_STATUS = { ...REJECTION_STATUS, unavailable: 503 } as const;
export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

/** `Retry-After` of a 503: a PostgreSQL crash-restart takes about a second; retrying sooner is waste. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

const DEPENDENCY_NAMES: Record<Dependency, string> = { postgres: 'the database (PostgreSQL)', temporal: 'the workflow engine (Temporal)' };

/** An error the API answers with SPEC §8's body `{"error": {code, message, details?}}`. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  get status(): number {
    return API_ERROR_STATUS[this.code];
  }

  static from(rejection: Rejection): ApiError {
    return new ApiError(rejection.code, rejection.message, rejection.details);
  }

  /** SPEC §8 `503 unavailable`: `dependency` cannot be reached; the request may be retried. */
  static unavailable(dependency: Dependency): ApiError {
    return new ApiError('unavailable', `${DEPENDENCY_NAMES[dependency]} cannot be reached right now; retry in a moment (the same Idempotency-Key may be reused)`, { dependency });
  }

  toBody() {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

/**
 * Issue 18, defence in depth: PostgreSQL refused a value of the request (SQLSTATE class 22, "data
 * exception": a NUL or invalid byte sequence 22021, an untranslatable character 22P05, a date out
 * of range 22008, a malformed value 22P02/22007, a number out of range 22003). Validation should
 * have refused it first (api/schemas.ts); if it did not, the caller still gets a §8 400, not a
 * 500 — the statement failed, so its transaction wrote nothing. Looks through `cause` chains.
 */
export function refusedValue(error: unknown): ApiError | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code)) {
      return new ApiError('validation_failed', 'the database refused a value of the request', [{ path: '', message: `PostgreSQL refused a value (SQLSTATE ${code})` }]);
    }
  }
  return undefined;
}
