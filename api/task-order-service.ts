import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateStage, type Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { UpdateDefinition } from '@temporalio/common';
import type { Db } from '../db/connect';
import { isRefusal, resendingUnprocessed, unknownOutcome } from './update-calls';
import { loadTaskEvents, streamHasStep } from '../db/events';
import { getTaskOrderRow, placementHash, taskOrderRow } from '../db/task-orders';
import type { TaskOrderRow } from '../db/schema';
import { isRejectionCode } from '../domain/errors';
import { toStoredJson } from '../domain/json';
import { DEFAULT_TASK_POLICY, decide, fold, type TaskCommand, type TaskPlacement, type TaskPolicy } from '../domain/task-order';
import {
  TASK_COMMAND_UPDATES,
  TASK_ORDER_WORKFLOW,
  commandCausation,
  placementUpdate,
  taskOrderWorkflowId,
  type PlacementOutcome,
  type TaskCommandArgs,
  type TaskCommandType,
  type TaskOrderInput,
  type TaskOrderResult,
  type TaskOrderView,
} from '../workflows/task-order-api';
import { ApiError } from './errors';
import { unavailableDependency } from '../platform/faults';

export interface TaskOrderServiceDeps {
  readonly db: Db;
  readonly client: Client;
  readonly taskQueue: string;
  /**
   * How long a command waits for its outcome once the order's workflow has accepted it. Past that
   * (its database write keeps failing, say) the caller is told it is pending instead of waiting
   * forever; the workflow applies it when it can, and the order shows in the ops stuck list.
   */
  readonly commandWaitMs?: number;
  /** The policy new orders are placed with (default: DEFAULT_TASK_POLICY). */
  readonly policy?: TaskPolicy;
  /** Now in the workflows' clock (the sandbox clock in the sandbox, SPEC §9); default the wall clock. */
  readonly nowMs?: () => Promise<number>;
  /** L3: an Update whose outcome stayed unknown (api/stream-sync.ts): the workflow is told to look in its stream. */
  readonly onUnknownOutcome?: (workflowId: string) => void;
}

export const DEFAULT_COMMAND_WAIT_MS = 30_000;

/** A command's answer: the order after it, or — accepted but not yet saved — the order as it stands. */
export interface CommandOutcome {
  readonly pending: boolean;
  readonly order: TaskOrderRow;
}

export function createTaskOrderService({ db, client, taskQueue, commandWaitMs = DEFAULT_COMMAND_WAIT_MS, policy = DEFAULT_TASK_POLICY, nowMs = async () => Date.now(), onUnknownOutcome }: TaskOrderServiceDeps) {
  async function findOrder(orderId: string): Promise<TaskOrderRow> {
    const row = await getTaskOrderRow(db, orderId);
    if (!row) throw new ApiError('not_found', `task order ${orderId} not found`);
    return row;
  }

  /**
   * Like `command`, but answers `pending` once the workflow accepted it and `commandWaitMs` passed.
   * `updateId` (derived from the request's Idempotency-Key) makes a retry of a request that failed
   * for a fault join the Update its first attempt started, if the workflow got it: Temporal
   * deduplicates Updates by id, so the command runs once and the retry gets its real outcome.
   */
  async function commandWithin<C extends TaskCommandType>(orderId: string, type: C, args: TaskCommandArgs<C>, updateId?: string): Promise<CommandOutcome> {
    let outcome: TaskOrderView | 'pending';
    const id = updateId ?? randomUUID(); // fixed, so that a re-send joins it
    for (let attempt = 1; ; attempt += 1) {
      try {
        outcome = await updateWithin(orderId, type, args, id);
        break;
      } catch (error) {
        if (unknownOutcome(error)) onUnknownOutcome?.(taskOrderWorkflowId(orderId));
        if (unavailableDependency(error)) throw error; // 503: the events may be behind the workflow
        await findOrder(orderId); // 404 before any refusal, as when the order was read first
        if (!isRefusal(error) && (await streamHasStep(db, 'task', orderId, commandCausation(type, id)))) {
          // L3: the call ended without the workflow's answer, but the command's step is stored (a
          // workflow task lost after its write): it was applied, and the order as it stands says so.
          onUnknownOutcome?.(taskOrderWorkflowId(orderId));
          return { pending: false, order: await findOrder(orderId) };
        }
        const rejection = await rejectionOfClosedOrder(orderId, { type, ...args } as unknown as TaskCommand, error);
        if (rejection) throw rejection;
        // An open order whose run was not found: it just continued as new; its next run takes it.
        if (!(error instanceof WorkflowNotFoundError) || attempt >= 2) throw error;
      }
    }
    // The Update's result is the workflow's state after the command, which its activity has just
    // written to the read model: the answer is built from it instead of read back (issue 11).
    if (outcome === 'pending') return { pending: true, order: await findOrder(orderId) };
    return { pending: false, order: rowOfView(outcome) };
  }

  /**
   * The command's Update: its result, or 'pending' once accepted and `commandWaitMs` passed.
   * SPEC §10 Speed: one call, which Temporal answers when the Update has completed (in the normal
   * case the workflow task that accepts it also completes it). Only a command still running after
   * `commandWaitMs` takes a second call, joining the same Update id, so that 'pending' is said only
   * of an Update that is accepted, hence durable.
   */
  async function updateWithin<C extends TaskCommandType>(orderId: string, type: C, args: TaskCommandArgs<C>, id: string): Promise<TaskOrderView | 'pending'> {
    const update = TASK_COMMAND_UPDATES[type] as unknown as UpdateDefinition<TaskOrderView, [TaskCommandArgs<C>]>;
    const handle = client.workflow.getHandle(taskOrderWorkflowId(orderId));
    // No read before: a missing order's workflow is not found, answered 404 by the caller (issue 11).
    // The validator's refusal comes back at once, as this call's failure; Temporal unreachable
    // before the outcome is a 503, and the retry (its Idempotency-Key: the same id) joins the Update.
    const waited = await within(resendingUnprocessed(() => handle.executeUpdate(update, { args: [args], updateId: id })), commandWaitMs);
    if (waited.done) return waited.value;
    await handle.startUpdate(update, { args: [args], waitForStage: WorkflowUpdateStage.ACCEPTED, updateId: id });
    return 'pending'; // accepted, so durable: its outcome lands in the order later
  }

  /**
   * T1–T5: the placement Update's answer. A run that refused its placement closes at once, so the
   * Update of a retried POST can find it closed ("aborted by closing workflow"): its result says
   * the same.
   */
  async function placementOutcome(placement: TaskPlacement): Promise<PlacementOutcome> {
    const workflowId = taskOrderWorkflowId(placement.orderId);
    const input: TaskOrderInput = { placement, policy };
    // Update-with-start: the run and its placement Update in one call, the Update in the run's
    // first workflow task (issue 11). A concurrent identical POST joins the same run.
    const startWorkflowOperation = new WithStartWorkflowOperation(TASK_ORDER_WORKFLOW, { workflowId, taskQueue, args: [input], workflowIdConflictPolicy: 'USE_EXISTING' });
    try {
      return await resendingUnprocessed(() => client.workflow.executeUpdateWithStart(placementUpdate, { startWorkflowOperation }));
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      const handle = client.workflow.getHandle(workflowId);
      const description = await handle.describe();
      if (description.status.name === 'RUNNING') throw error;
      const result = (await handle.result()) as TaskOrderResult;
      return result.placed ? { placed: true, placement: result.final.placement } : { placed: false, placement, rejection: result.rejection };
    }
  }

  return {
    findOrder,

    /** T1–T5: places the order through its workflow and answers once the payment is settled. */
    /** `pending`: the workflow runs but the payment's write keeps failing; GET the order later. */
    async place(placement: TaskPlacement): Promise<{ created: boolean; order: TaskOrderRow } | { pending: true }> {
      const existing = await getTaskOrderRow(db, placement.orderId);
      if (existing) return { created: false, order: sameOrConflict(existing.placement_hash, placement, existing) };

      const waited = await within(placementOutcome(placement), commandWaitMs);
      if (!waited.done) return { pending: true };
      const outcome = waited.value;
      if (placementHash(outcome.placement) !== placementHash(placement)) throw mismatch(placement.orderId);
      if (!outcome.placed) throw ApiError.from(outcome.rejection);
      // A run placed before the outcome carried the view answers from the read model.
      return { created: true, order: outcome.view ? rowOfView(outcome.view) : await findOrder(placement.orderId) };
    },

    /** Relays a party's command to the order's workflow as an Update (validated there). */
    async command<C extends TaskCommandType>(orderId: string, type: C, args: TaskCommandArgs<C>): Promise<TaskOrderRow> {
      return (await commandWithin(orderId, type, args)).order;
    },

    commandWithin,
  };

  /**
   * A command to a workflow that has already closed (the order is terminal) gets the same answer
   * the workflow would give: the pure decider applied to the order's events.
   */
  async function rejectionOfClosedOrder(orderId: string, command: TaskCommand, error: unknown): Promise<ApiError | undefined> {
    if (error instanceof WorkflowUpdateFailedError) {
      const cause = error.cause;
      if (cause instanceof ApplicationFailure && isRejectionCode(cause.type)) {
        return new ApiError(cause.type, cause.message, cause.details?.[0]);
      }
      return undefined;
    }
    const state = fold(await loadTaskEvents(db, orderId));
    if (!state) return new ApiError('not_found', `task order ${orderId} not found`);
    const decision = decide(state, command, await nowMs());
    if (!decision.ok) return ApiError.from(decision.rejection);
    return undefined;
  }
}

/**
 * The read-model row of the workflow's view, as PostgreSQL would give it back: the same pure
 * projection the activity wrote (E2), instants as Dates, and `details` with its keys in jsonb's
 * order (shorter first, then bytewise), so an answer built from it is byte for byte the answer
 * built from the row read back.
 */
export function rowOfView({ state, deadlines }: TaskOrderView): TaskOrderRow {
  const row = taskOrderRow(state);
  return {
    ...row,
    expected_publish_at: new Date(row.expected_publish_at),
    cancel_reason: row.cancel_reason ?? null,
    next_deadline_kind: row.next_deadline_kind ?? null,
    next_deadline_at: row.next_deadline_at == null ? null : new Date(row.next_deadline_at),
    placed_at: new Date(row.placed_at),
    updated_at: new Date(row.updated_at),
    details: inJsonbKeyOrder(toStoredJson({ state, deadlines })),
  };
}

function inJsonbKeyOrder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(inJsonbKeyOrder);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  entries.sort(([a], [b]) => Buffer.byteLength(a) - Buffer.byteLength(b) || Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Object.fromEntries(entries.map(([k, v]) => [k, inJsonbKeyOrder(v)]));
}

function sameOrConflict(storedHash: string, placement: TaskPlacement, row: TaskOrderRow): TaskOrderRow {
  if (storedHash !== placementHash(placement)) throw mismatch(placement.orderId);
  return row;
}

function mismatch(orderId: string): ApiError {
  return new ApiError('idempotency_mismatch', `order ${orderId} was already placed with a different content (T1)`);
}

export type TaskOrderService = ReturnType<typeof createTaskOrderService>;

/**
 * Waits for `promise` at most `ms`. Past that the caller answers "pending"; a later failure of the
 * promise is the workflow's business (it retries, and the order shows in the ops stuck list).
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
  });
  try {
    const outcome = await Promise.race([promise.then((value) => ({ done: true as const, value })), timeout]);
    if (!outcome.done) promise.catch(() => undefined);
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}
