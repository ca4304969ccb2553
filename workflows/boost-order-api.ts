import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Rejection } from '../domain/errors';
import type { BoostDeadline } from '../domain/boost/deadlines';
import type { BoostPolicy } from '../domain/boost/policy';
import type { BoostOrderState, BoostTermsSnapshot, RefundReleaser } from '../domain/boost/types';

/** The messages of the boost-order workflow, shared by the workflow, the task-order workflow and the API. */

export const BOOST_ORDER_WORKFLOW = 'boostOrderWorkflow';

/** The workflow id is the kind's (domain/boost/ids.ts). */
export { boostOrderWorkflowId } from '../domain/boost/ids';

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

/**
 * B6/B8 (issue 18): while an evaluation waits for a view count, it re-reads the count on a durable
 * timer (workflow time) even without a viewsUpdated signal, so that a lost or raced signal costs
 * minutes, never forever: every 5 minutes during the first 6 hours of waiting (a count posted
 * around the period's end, the usual case), then hourly, then every 6 hours after a week. Each
 * re-check is about 11 history events, so a wait stays far from Temporal's history limits: about
 * 800 events for the first 6 hours, 260 a day for the rest of the week, 45 a day after
 * (docs/decisions.md, "No lost wake-up").
 */
export const STATS_RECHECK_EARLY_MS = 5 * 60 * 1000;
export const STATS_RECHECK_EARLY_FOR_MS = 6 * 60 * 60 * 1000;
export const STATS_RECHECK_LATE_MS = 60 * 60 * 1000;
export const STATS_RECHECK_LATE_FOR_MS = 7 * 24 * 60 * 60 * 1000;
export const STATS_RECHECK_SLOW_MS = 6 * 60 * 60 * 1000;

/** The delay before the next re-check, given how long (workflow time) the evaluation has been waiting. */
export function statsRecheckDelayMs(waitedMs: number): number {
  if (waitedMs < STATS_RECHECK_EARLY_FOR_MS) return STATS_RECHECK_EARLY_MS;
  return waitedMs < STATS_RECHECK_LATE_FOR_MS ? STATS_RECHECK_LATE_MS : STATS_RECHECK_SLOW_MS;
}
