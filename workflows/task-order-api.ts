import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Rejection } from '../domain/errors';
import type { TaskDeadline } from '../domain/task-order/deadlines';
import type { DeadlineCommand, TaskCommand, TaskOrderState, TaskPlacement } from '../domain/task-order/types';
import type { TaskPolicy } from '../domain/task-order/policy';

/** The messages of the task-order workflow, shared by the workflow and its callers. */

export const TASK_ORDER_WORKFLOW = 'taskOrderWorkflow';

/**
 * E1, L3: the causation a command's events are stored with: its Update's name and id. The API looks
 * for it when an Update's call ended without an answer (a lost workflow task may have stored it).
 */
export function commandCausation(type: string, updateId: string): string {
  return `update:${type}:${updateId}`;
}

/** The workflow id is the kind's (domain/task-order/ids.ts). */
export { taskOrderWorkflowId } from '../domain/task-order/ids';

export interface TaskOrderInput {
  readonly placement: TaskPlacement;
  readonly policy: TaskPolicy;
  /** Set when a run continues an earlier one (continue-as-new): the order as that run left it. */
  readonly continued?: TaskOrderContinuation;
  /** Events after which a run continues as new (default DEFAULT_HISTORY_LIMIT; tests set less). */
  readonly historyLimit?: number;
}

/** What a run hands to the next one when its history is long (issue 11). */
export interface TaskOrderContinuation {
  readonly state: TaskOrderState;
  /** B3: the linked boost orders. */
  readonly boostOrderIds: readonly string[];
  /** The latest applied Updates' ids: a retry that reaches the new run joins them (§8), not re-runs. */
  readonly appliedUpdateIds: readonly string[];
  /** How many runs came before this one (ops and tests read it). */
  readonly runs: number;
}

/**
 * A run continues as new past this many history events, between commands: an order's history is
 * bounded whatever its life (T16 uploads and T20–T22 declined requests are unlimited by the rules),
 * far below Temporal's 10,240-event warning; a run of 2,000 events also replays fast on a cache miss.
 */
export const DEFAULT_HISTORY_LIMIT = 2_000;

/** Applied Update ids carried to the next run: a retry comes seconds after its first attempt. */
export const CARRIED_UPDATE_IDS = 32;

export type PlacementOutcome =
  /** `view`: the order once placed (missing from runs placed before it was added, issue 11). */
  | { readonly placed: true; readonly placement: TaskPlacement; readonly view?: TaskOrderView }
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
