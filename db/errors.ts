/** Failures of a database write that are business outcomes, not bugs. */
export class InsufficientFundsError extends Error {
  override readonly name = 'InsufficientFundsError';
}

/** L3: the same idempotency key with a different content. Stops the workflow for ops. */
export class IdempotencyConflictError extends Error {
  override readonly name = 'IdempotencyConflictError';
}

/** L5: an external payment reference may fund one transaction only. */
export class PaymentRefReusedError extends Error {
  override readonly name = 'PaymentRefReusedError';
}

interface PgError {
  code?: string;
  constraint?: string;
}

export function pgError(error: unknown): PgError {
  return typeof error === 'object' && error !== null ? (error as PgError) : {};
}

/** C3/C4: an order or boost id already claimed by another order or checkout (migration 0012's claim_order_id). */
export class OrderIdTakenError extends Error {
  override readonly name = 'OrderIdTakenError';
  /** `task:{orderId}` or `boost:{boostOrderId}`: the id that was taken. */
  constructor(message: string, readonly taken = '') {
    super(message);
  }
}

/** SQLSTATE raised by claim_order_id (migration 0012). */
export const ORDER_ID_TAKEN = 'XC001';

/** SQLSTATE raised by append_order_stream (migration 0006): a ledger id stored with another content (L3). */
export const LEDGER_ID_CONFLICT = 'XL003';

/** Turns constraint violations that mean a business outcome into typed errors. */
export function translatePgError(error: unknown): unknown {
  const { code, constraint } = pgError(error);
  if (code === '23514' && constraint === 'client_balances_balance_fen_check') {
    return new InsufficientFundsError('the client account balance is insufficient (L2)');
  }
  if (code === ORDER_ID_TAKEN) {
    return new OrderIdTakenError((error as Error).message, String((error as { detail?: unknown }).detail ?? ''));
  }
  if (code === LEDGER_ID_CONFLICT) {
    return new IdempotencyConflictError((error as Error).message);
  }
  if (code === '23505' && constraint === 'ledger_transactions_external_payment_ref_key') {
    return new PaymentRefReusedError('this external paymentRef has already been used (L5)');
  }
  return error;
}
