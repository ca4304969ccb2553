import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Rejection } from '../domain/errors';
import type { BoostDeadline } from '../domain/boost/deadlines';
import type { BoostPolicy } from '../domain/boost/policy';
import type { BoostOrderState, BoostTermsSnapshot, RefundReleaser } from '../domain/boost/types';

/** The messages of the boost-order workflow, shared by the workflow, the task-order workflow and the API. */

export const BOOST_ORDER_WORKFLOW = 'boostOrderWorkflow';

export const boostOrderWorkflowId = (boostOrderId: string): string => `boost-order:${boostOrderId}`;

/** B3: the terms fixed when the boost was ordered, and the policy in force then (§1 policy snapshot). */
export interface BoostOrderInput {
  readonly terms: BoostTermsSnapshot;
  readonly policy: BoostPolicy;
}

export type BoostPlacementOutcome =
  | { readonly placed: true; readonly terms: BoostTermsSnapshot }
  | { readonly placed: false; readonly terms: BoostTermsSnapshot; readonly rejection: Rejection };

export interface BoostOrderView {
  readonly state: BoostOrderState;
  readonly deadlines: readonly BoostDeadline[];
}

export type BoostOrderResult = { readonly placed: false; readonly rejection: Rejection } | { readonly placed: true; readonly final: BoostOrderState };

/** F5/O4: who releases a scheduled refund before its due time, and why. */
export interface ReleaseRefundArgs {
  readonly by: RefundReleaser;
  readonly reason?: string;
}

/** B3: answers once the boost fee is paid into escrow (placed) or refused (not placed, nothing left behind). */
export const boostPlacementUpdate = defineUpdate<BoostPlacementOutcome>('placement');

/** F5: finance (or ops) release the scheduled refund now. */
export const releaseRefundUpdate = defineUpdate<BoostOrderView, [ReleaseRefundArgs]>('releaseRefund');

export const boostStateQuery = defineQuery<BoostOrderView | undefined>('state');

/** T18 → B5: sent by the linked task-order workflow when it records the publication. */
export const videoPublishedSignal = defineSignal<[{ readonly videoId: string; readonly publishedAtMs: number }]>('videoPublished');

/** B4: sent by the linked task-order workflow when it records the task's cancellation. */
export const taskCancelledSignal = defineSignal<[{ readonly taskOrderId: string }]>('taskCancelled');

/** B8: sent by the API when stats for the boosted video arrive while the evaluation waits for them. */
export const viewsUpdatedSignal = defineSignal<[{ readonly videoId: string }]>('viewsUpdated');
