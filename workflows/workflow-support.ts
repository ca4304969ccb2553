import { ActivityFailure, ApplicationFailure, getExternalWorkflowHandle, log } from '@temporalio/workflow';
import type { Funding } from '../domain/task-order/types';
import { checkoutOrderPlacedSignal, checkoutWorkflowId } from './checkout-api';
import { reject, type Rejection } from '../domain/errors';
import { ACTIVITY_FAILURE } from '../domain/activity-failures';

/** A business refusal as the typed failure an Update's caller receives (SPEC §8 code as type). */
export function failure(rejection: Rejection): ApplicationFailure {
  return ApplicationFailure.create({
    type: rejection.code,
    message: rejection.message,
    nonRetryable: true,
    details: rejection.details ? [rejection.details] : [],
  });
}

export function failureType(error: unknown): string | undefined {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? (error.cause.type ?? undefined) : undefined;
}

/** T5, B3, L2, L5: a payment that cannot be funded is refused, not retried. */
export function paymentRejection(error: unknown, what: string): Rejection | undefined {
  const type = failureType(error);
  if (type === ACTIVITY_FAILURE.insufficientFunds) return reject('insufficient_funds', `${what} failed: insufficient funds in the client account (L2)`);
  if (type === ACTIVITY_FAILURE.paymentRefReused) return reject('idempotency_mismatch', 'this external paymentRef has already been used (L5)');
  return undefined;
}

/** T1–T5, B3, C3: a placement refused by its write: its payment (above), or its id taken by a checkout (or an order). */
export function placementWriteRejection(error: unknown, what: string): Rejection | undefined {
  if (failureType(error) === ACTIVITY_FAILURE.orderIdTaken) {
    const message = error instanceof ActivityFailure && error.cause ? error.cause.message : 'the id is already used';
    return reject('invalid_state', `${message} (C3)`);
  }
  return paymentRejection(error, what);
}

/**
 * L3: the same idempotency key with another content must stop the workflow for ops, never be
 * overwritten. A plain Error fails the workflow task, which Temporal retries until the code or the
 * data is fixed: the order waits, visible in the stuck list, instead of closing.
 */
export function stopForOpsOnConflict(error: unknown): unknown {
  if (failureType(error) === ACTIVITY_FAILURE.idempotencyConflict) {
    return new Error(`stopped for ops: ${error instanceof ActivityFailure && error.cause ? error.cause.message : 'idempotency conflict'}`);
  }
  return error;
}

/**
 * C4: a checkout's line, once placed, tells the checkout (which also finds it in the read model
 * on a durable timer, should this signal be lost). Orders not placed by a checkout send nothing,
 * so their histories are unchanged.
 */
export async function tellCheckout(funding: Funding, placed: { readonly kind: 'task' | 'boost'; readonly id: string }): Promise<void> {
  if (funding.source !== 'checkout') return;
  try {
    await getExternalWorkflowHandle(checkoutWorkflowId(funding.checkoutId)).signal(checkoutOrderPlacedSignal, placed);
  } catch (error) {
    log.info('the checkout could not be told of its placed line', { checkoutId: funding.checkoutId, ...placed, error: String(error) });
  }
}
