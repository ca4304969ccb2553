import { REJECTION_STATUS, type Rejection, type RejectionCode } from '../domain/errors';

/** An error the API answers with SPEC §8's body `{"error": {code, message, details?}}`. */
export class ApiError extends Error {
  constructor(
    readonly code: RejectionCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  get status(): number {
    return REJECTION_STATUS[this.code];
  }

  static from(rejection: Rejection): ApiError {
    return new ApiError(rejection.code, rejection.message, rejection.details);
  }

  toBody() {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}
