import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Rejection } from '../domain/errors';
import type { TaskDeadline } from '../domain/task-order/deadlines';
import type { DeadlineCommand, TaskCommand, TaskOrderState, TaskPlacement } from '../domain/task-order/types';
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

/** Commands a party (or ops) sends; deadlines are the workflow's own. */
export type TaskCommandType = Exclude<TaskCommand['type'], DeadlineCommand['type']>;
export type TaskCommandArgs<C extends TaskCommandType> = Omit<Extract<TaskCommand, { type: C }>, 'type'>;

function commandUpdate<C extends TaskCommandType>(type: C) {
  return defineUpdate<TaskOrderView, [TaskCommandArgs<C>]>(type);
}

/** One Workflow Update per command: the caller gets the new state or a typed refusal (SPEC §8). */
export const TASK_COMMAND_UPDATES = {
  accept: commandUpdate('accept'),
  reject: commandUpdate('reject'),
  remind: commandUpdate('remind'),
  cancel: commandUpdate('cancel'),
  restore_price: commandUpdate('restore_price'),
  pay_balance: commandUpdate('pay_balance'),
  upload_video: commandUpdate('upload_video'),
  review: commandUpdate('review'),
  publish: commandUpdate('publish'),
  cancel_response: commandUpdate('cancel_response'),
  arbitrate: commandUpdate('arbitrate'),
  ops_cancel: commandUpdate('ops_cancel'),
} as const satisfies { [C in TaskCommandType]: unknown };

export const acceptUpdate = TASK_COMMAND_UPDATES.accept;
export const placementUpdate = defineUpdate<PlacementOutcome>('placement');
export const stateQuery = defineQuery<TaskOrderView | undefined>('state');

/**
 * B3: a boost order links itself to its task order. The task-order workflow then tells the boost
 * workflow when it records the video's publication (T18) or the task's cancellation (B4).
 */
export const linkBoostSignal = defineSignal<[{ readonly boostOrderId: string }]>('linkBoost');
