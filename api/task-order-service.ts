import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { UpdateDefinition } from '@temporalio/common';
import type { Db } from '../db/connect';
import { loadTaskEvents } from '../db/events';
import { getTaskOrderRow, placementHash } from '../db/task-orders';
import type { TaskOrderRow } from '../db/schema';
import { isRejectionCode } from '../domain/errors';
import { DEFAULT_TASK_POLICY, decide, fold, type TaskCommand, type TaskPlacement } from '../domain/task-order';
import {
  TASK_COMMAND_UPDATES,
  TASK_ORDER_WORKFLOW,
  placementUpdate,
  taskOrderWorkflowId,
  type TaskCommandArgs,
  type TaskCommandType,
  type TaskOrderInput,
  type TaskOrderView,
} from '../workflows/task-order-api';
import { ApiError } from './errors';

export interface TaskOrderServiceDeps {
  readonly db: Db;
  readonly client: Client;
  readonly taskQueue: string;
}

export function createTaskOrderService({ db, client, taskQueue }: TaskOrderServiceDeps) {
  async function findOrder(orderId: string): Promise<TaskOrderRow> {
    const row = await getTaskOrderRow(db, orderId);
    if (!row) throw new ApiError('not_found', `task order ${orderId} not found`);
    return row;
  }

  return {
    findOrder,

    /** T1–T5: places the order through its workflow and answers once the payment is settled. */
    async place(placement: TaskPlacement): Promise<{ created: boolean; order: TaskOrderRow }> {
      const existing = await getTaskOrderRow(db, placement.orderId);
      if (existing) return { created: false, order: sameOrConflict(existing.placement_hash, placement, existing) };

      const input: TaskOrderInput = { placement, policy: DEFAULT_TASK_POLICY };
      const handle = await client.workflow.start(TASK_ORDER_WORKFLOW, {
        workflowId: taskOrderWorkflowId(placement.orderId),
        taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING', // a concurrent identical POST joins the same run
      });
      const outcome = await handle.executeUpdate(placementUpdate);
      if (placementHash(outcome.placement) !== placementHash(placement)) throw mismatch(placement.orderId);
      if (!outcome.placed) throw ApiError.from(outcome.rejection);
      return { created: true, order: await findOrder(placement.orderId) };
    },

    /** Relays a party's command to the order's workflow as an Update (validated there). */
    async command<C extends TaskCommandType>(orderId: string, type: C, args: TaskCommandArgs<C>): Promise<TaskOrderRow> {
      await findOrder(orderId);
      const update = TASK_COMMAND_UPDATES[type] as unknown as UpdateDefinition<TaskOrderView, [TaskCommandArgs<C>]>;
      try {
        await client.workflow.getHandle(taskOrderWorkflowId(orderId)).executeUpdate(update, { args: [args] });
      } catch (error) {
        throw (await rejectionOfClosedOrder(orderId, { type, ...args } as unknown as TaskCommand, error)) ?? error;
      }
      return findOrder(orderId);
    },
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
    const decision = decide(state, command, Date.now());
    if (!decision.ok) return ApiError.from(decision.rejection);
    return undefined;
  }
}

function sameOrConflict(storedHash: string, placement: TaskPlacement, row: TaskOrderRow): TaskOrderRow {
  if (storedHash !== placementHash(placement)) throw mismatch(placement.orderId);
  return row;
}

function mismatch(orderId: string): ApiError {
  return new ApiError('idempotency_mismatch', `order ${orderId} was already placed with a different content (T1)`);
}

export type TaskOrderService = ReturnType<typeof createTaskOrderService>;
