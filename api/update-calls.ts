import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { isRejectionCode } from '../domain/errors';
import { unavailableDependency } from '../platform/faults';

/**
 * The server's answer to an Update that a workflow task carried but did not process (Temporal
 * rejects it rather than failing the task: temporal PR 5169). Nothing ran for it, so the same
 * Update id may be sent again. Seen when Updates reach an order while its workflow task is busy
 * with a local write (issue 21): a burst of commands on one order.
 */
const UNPROCESSED_UPDATE = 'UnprocessedUpdate';

/** At most this many sends of one Update (the first and its re-sends). */
const MAX_SENDS = 5;

export function isUnprocessedUpdate(error: unknown): boolean {
  return error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type === UNPROCESSED_UPDATE;
}

/** `send` (an Update call with a fixed Update id), sent again while the server answers it was not processed. */
export async function resendingUnprocessed<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await send();
    } catch (error) {
      if (attempt >= MAX_SENDS || !isUnprocessedUpdate(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}

/**
 * L3: an Update call that ended without the workflow's answer (Temporal away or late, or the Update
 * never processed): its write may be stored by a workflow task that was then lost (api/stream-sync.ts).
 */
export function unknownOutcome(error: unknown): boolean {
  return unavailableDependency(error) === 'temporal' || isUnprocessedUpdate(error);
}

/** The workflow's refusal of the Update (a rejection code, SPEC §8): an outcome, nothing applied. */
export function isRefusal(error: unknown): boolean {
  return error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && isRejectionCode(error.cause.type);
}
