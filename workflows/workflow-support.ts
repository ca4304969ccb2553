import { ActivityFailure, ApplicationFailure, getExternalWorkflowHandle, log, patched, upsertSearchAttributes, workflowInfo, type LocalActivityOptions } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { Funding } from '../domain/task-order/types';
import { checkoutOrderPlacedSignal, checkoutWorkflowId } from './checkout-api';
import { reject, type Rejection } from '../domain/errors';
import { ACTIVITY_FAILURE, LOCAL_WRITES_OFF, RETRY_OF_LOCAL_WRITE } from '../domain/activity-failures';

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

/**
 * SPEC §10 Speed: one command, one workflow task. Runs that reach this patch write through a local
 * activity (inside the Update's workflow task), keep the deadline timer while the deadline stays,
 * upsert search attributes only when they change, and take a free lock at once. Runs recorded
 * before it replay their regular activities, re-armed timers and upserts (test/histories).
 */
export const ONE_TASK_PATCH = 'one-task-per-command-v1';

/**
 * The local write's budget: two attempts within a few seconds. A database that is down refuses
 * at once; one that hangs is given up on before the workflow task's own timeout (10 s).
 */
export const LOCAL_WRITE_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '2 seconds',
  scheduleToCloseTimeout: '5 seconds',
  retry: { initialInterval: '50 milliseconds', maximumAttempts: 2 },
};

/**
 * E1, O1: the order's write, first as a local activity; when that keeps failing, the same write
 * (the same events and time: L3 finds it done if the local attempt committed after all) as the
 * regular activity, retried without limit and visible in the stuck list with its attempts and last
 * failure. A business outcome (insufficient funds, a conflict …) is the write's answer, not a
 * failure: it is not tried again.
 */
export function writeLocallyFirst<I extends object, R>(local: (input: I) => Promise<R>, regular: (input: I) => Promise<R>): LocalFirstWrite<I, R> {
  /** The workflow task (by the history's length at its start, the same on replay) that wrote locally last. */
  let localTask: number | undefined;
  /** A local write has succeeded in this run (recorded in its marker: the same on replay). */
  let wroteLocally = false;
  /** The worker refused a local write (local writes off): the run writes through the regular activity from then on. */
  let localOff = false;
  const write = async (input: I): Promise<R> => {
    if (!patched(ONE_TASK_PATCH)) return regular(input);
    // One local write per workflow task: if the task is lost after it, the write stands as the
    // one step after the history's state, which the next write meets first (order-runtime's
    // takeStored); a second write in the task is a regular activity, scheduled only if the task
    // completes (a burst's later commands).
    const task = workflowInfo().historyLength;
    if (localOff || localTask === task) return regular(input);
    localTask = task;
    try {
      const result = await local(input);
      wroteLocally = true;
      return result;
    } catch (error) {
      if (isBusinessOutcome(error)) throw error;
      // A worker with local writes off refuses them at once: the regular activity is the write then.
      if (failureType(error) === LOCAL_WRITES_OFF) {
        localOff = true;
        return regular(input);
      }
      log.warn('the local write failed; writing through the regular activity', { error: String(error) });
      // Marked, so that its first attempt counts as the retry it is (worker/metrics-interceptor.ts).
      return regular({ ...input, [RETRY_OF_LOCAL_WRITE]: true });
    }
  };
  return Object.assign(write, { wroteLocally: () => wroteLocally });
}

/** An order's write, local first; `wroteLocally()`: a local write has succeeded in this run (a lost task may have left a step). */
export type LocalFirstWrite<I, R> = ((input: I) => Promise<R>) & { readonly wroteLocally: () => boolean };

/** A write's business answer (domain/activity-failures.ts): the same from any attempt. */
function isBusinessOutcome(error: unknown): boolean {
  const type = failureType(error);
  return type !== undefined && (Object.values(ACTIVITY_FAILURE) as string[]).includes(type);
}

/**
 * O3: upserts an order's search attributes when they differ from those last set (`initial`: the
 * run's start, for a continued run). An upsert is a command and an event in the history: a command
 * that changes neither status nor next deadline needs none.
 */
export function searchAttributesUpserter(initial?: readonly SearchAttributeUpdatePair[]): (pairs: SearchAttributeUpdatePair[]) => void {
  let last = initial && attributesKey(initial);
  return (pairs) => {
    const key = attributesKey(pairs);
    if (key === last && patched(ONE_TASK_PATCH)) return;
    last = key;
    upsertSearchAttributes(pairs);
  };
}

function attributesKey(pairs: readonly SearchAttributeUpdatePair[]): string {
  return JSON.stringify(pairs.map(({ key, value }) => [key.name, value instanceof Date ? value.toISOString() : value]));
}
