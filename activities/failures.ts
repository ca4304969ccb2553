import { ApplicationFailure } from '@temporalio/common';
import { TaskAlreadyBoostedError } from '../db/boost-orders';
import { IdempotencyConflictError, InsufficientFundsError, OrderIdTakenError, PaymentRefReusedError, translatePgError } from '../db/errors';
import { canonicalJson } from '../db/hash';
import { TaskOrderNotOpenError } from '../db/stream-append';
import { toStoredJson } from '../domain/json';
import { ACTIVITY_FAILURE, type ActivityFailureType } from '../domain/activity-failures';
import type { RecordedEvent } from '../domain/recorded-event';

const BUSINESS_FAILURES: ReadonlyArray<[new (message: string) => Error, ActivityFailureType]> = [
  [InsufficientFundsError, ACTIVITY_FAILURE.insufficientFunds],
  [PaymentRefReusedError, ACTIVITY_FAILURE.paymentRefReused],
  [TaskAlreadyBoostedError, ACTIVITY_FAILURE.taskAlreadyBoosted],
  [TaskOrderNotOpenError, ACTIVITY_FAILURE.taskOrderNotOpen],
  [OrderIdTakenError, ACTIVITY_FAILURE.orderIdTaken],
  [IdempotencyConflictError, ACTIVITY_FAILURE.idempotencyConflict],
];

/** Business outcomes fail without retry and carry a type the workflow handles; anything else is retried. */
export function toActivityFailure(error: unknown): unknown {
  const translated = translatePgError(error);
  for (const [errorClass, type] of BUSINESS_FAILURES) {
    if (!(translated instanceof errorClass)) continue;
    // C3: which id was taken (`task:{id}` or `boost:{id}`), so a checkout can name its line.
    const details = translated instanceof OrderIdTakenError ? [translated.taken] : undefined;
    return ApplicationFailure.create({ type, message: translated.message, nonRetryable: true, ...(details ? { details } : {}) });
  }
  return translated;
}

/** L3: a retried append carries the same event at the same version and time. */
export function sameRecordedEvent(a: Omit<RecordedEvent<unknown>, 'version'>, b: Omit<RecordedEvent<unknown>, 'version'>): boolean {
  return a.occurredAt === b.occurredAt && canonicalJson(toStoredJson(a.event)) === canonicalJson(toStoredJson(b.event));
}
