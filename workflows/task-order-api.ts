import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Rejection } from '../domain/errors';
import type { TaskDeadline } from '../domain/task-order/deadlines';
import type { Actor, TaskOrderState, TaskPlacement } from '../domain/task-order/types';
import type { TaskPolicy } from '../domain/task-order/policy';

/** The messages of the task-order workflow, shared by the workflow and its callers. */

export const TASK_ORDER_WORKFLOW = 'taskOrderWorkflow';

export const taskOrderWorkflowId = (orderId: string): string => `task-order:${orderId}`;

export interface TaskOrderInput {
  readonly placement: TaskPlacement;
  readonly policy: TaskPolicy;
}

export type PlacementOutcome =
  | { readonly placed: true; readonly placement: TaskPlacement }
  | { readonly placed: false; readonly placement: TaskPlacement; readonly rejection: Rejection };

export interface TaskOrderView {
  readonly state: TaskOrderState;
  readonly deadlines: readonly TaskDeadline[];
}

export type TaskOrderResult = { readonly placed: false; readonly rejection: Rejection } | { readonly placed: true; readonly final: TaskOrderState };

export const placementUpdate = defineUpdate<PlacementOutcome>('placement');
export const acceptUpdate = defineUpdate<TaskOrderView, [{ actor: Actor; newPriceFen?: bigint }]>('accept');
export const rejectUpdate = defineUpdate<TaskOrderView, [{ actor: Actor; reason?: string }]>('reject');
export const remindUpdate = defineUpdate<TaskOrderView, [{ actor: Actor }]>('remind');
export const cancelUpdate = defineUpdate<TaskOrderView, [{ actor: Actor; reason?: string }]>('cancel');
export const stateQuery = defineQuery<TaskOrderView | undefined>('state');
