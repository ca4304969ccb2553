/**
 * The boost order (星推宝助推, SPEC §3) as events and state, in the style of the task order.
 *
 * Statuses: `awaiting_publication → boosting → evaluating → refund_scheduled → closed`.
 * - B4: `awaiting_publication` ends by publication (→ boosting), by expiry after one calendar month
 *   or by the cancellation of the linked task order (both → refund_scheduled with the whole fee);
 * - B5/B6: `boosting` lasts 14 days from publication, then `evaluating` waits for a view count
 *   (B8: never guessed); the evaluation closes the order if the boost succeeded (the fee goes to
 *   the platform) or schedules the refund of the compensation;
 * - B7: `refund_scheduled` ends when finance releases the refund early (F5) or at its due time.
 * A zero refund (a boost fee of 0 fen) closes the order at once.
 */
import type { RecordedEvent } from '../recorded-event';
import type { Funding } from '../task-order/types';
import type { BoostPolicy } from './policy';
import type { BusinessCalendar } from './business-days';

export const BOOST_STATUSES = ['awaiting_publication', 'boosting', 'evaluating', 'refund_scheduled', 'closed'] as const;
export type BoostStatus = (typeof BOOST_STATUSES)[number];

/** The statuses in which a boost order is closed: nothing more happens to it (SPEC §3). The one definition. */
export const CLOSED_BOOST_STATUSES: readonly BoostStatus[] = ['closed'];
export const OPEN_BOOST_STATUSES: readonly BoostStatus[] = BOOST_STATUSES.filter((s) => !CLOSED_BOOST_STATUSES.includes(s));

export function isClosedBoostStatus(status: BoostStatus): boolean {
  return CLOSED_BOOST_STATUSES.includes(status);
}

/** Why the boost ended (B4, B6). */
export const BOOST_END_REASONS = ['evaluated', 'expired', 'task_cancelled'] as const;
export type BoostEndReason = (typeof BOOST_END_REASONS)[number];

/** B3: the terms of a boost order, fixed when it is placed (B6 uses them as they are). */
export interface BoostTermsSnapshot {
  readonly boostOrderId: string;
  readonly taskOrderId: string;
  readonly clientId: string;
  readonly creatorId: string;
  readonly quoteId: string;
  readonly priceFen: bigint; // the task price the quote was for
  readonly boostFeeFen: bigint; // paid into escrow:boost:{id} at once (B3)
  readonly expectedViews: number; // V
  readonly premiumBp: bigint;
  readonly funding: Funding; // L5
}

/** Who released a refund before its due time (F5, O4). */
export interface RefundReleaser {
  readonly type: 'finance' | 'ops';
  readonly id: string;
}

export interface ScheduledRefund {
  readonly amountFen: bigint;
  readonly endedOn: string; // Asia/Shanghai date the boost ended
  readonly dueDate: string; // the 7th business day after it
  readonly dueAtMs: number; // 24:00 Asia/Shanghai of dueDate
  readonly calendarMissingYears: readonly string[]; // B7: flagged for ops (calendar_missing) if any
  readonly postedAt?: number;
  readonly early?: boolean;
  readonly releasedBy?: RefundReleaser;
}

export interface BoostOrderState {
  readonly terms: BoostTermsSnapshot;
  readonly policy: BoostPolicy;
  readonly version: number;
  readonly status: BoostStatus;
  readonly orderedAt: number; // epoch ms, workflow time
  readonly updatedAt: number;
  readonly validUntilMs: number; // B4: oneMonthLater(orderedAt)
  readonly escrowFen: bigint; // what escrow:boost:{id} holds now (0 once closed, L6)
  readonly video?: { readonly videoId: string; readonly publishedAtMs: number };
  readonly boostEndsAtMs?: number; // B5: publication + 14 days
  readonly periodEndedAt?: number;
  readonly evaluation?: {
    readonly actualViews: number;
    readonly succeeded: boolean;
    readonly compensationFen: bigint;
    readonly platformKeepsFen: bigint;
  };
  readonly endReason?: BoostEndReason;
  readonly endedAt?: number;
  readonly refund?: ScheduledRefund;
  readonly calendarMissing: boolean; // B7/O1
  readonly closedAt?: number;
}

export type BoostCommand =
  // T18 → B3/B5: the linked task order's video was published.
  | { readonly type: 'video_published'; readonly videoId: string; readonly publishedAtMs: number }
  // B4: the validity timer (no-op unless still unpublished at validUntilMs).
  | { readonly type: 'publication_deadline'; readonly calendar: BusinessCalendar }
  // B4: the linked task order was cancelled (no-op once the video is published).
  | { readonly type: 'task_cancelled'; readonly calendar: BusinessCalendar }
  // B6: 14 days after publication.
  | { readonly type: 'boost_period_deadline' }
  // B6/B8: a view count is available (the workflow sends it once the period is over).
  // B7: the refund is due counting from the day the 14 days ran out, however late the count came.
  // `refundFromEvaluation` keeps the old count (from the evaluation day) for workflows that
  // evaluated before that fix was deployed (the workflow sets it under patched(); never set it).
  | { readonly type: 'evaluate'; readonly actualViews: number | bigint; readonly calendar: BusinessCalendar; readonly refundFromEvaluation?: boolean }
  // F5/O4: finance (or ops) release the refund before its due time.
  | { readonly type: 'release_refund'; readonly by: RefundReleaser; readonly reason?: string }
  // B7: the refund's due time.
  | { readonly type: 'refund_deadline' };

export type BoostEvent =
  | ({ readonly type: 'BoostOrdered'; readonly policy: BoostPolicy; readonly validUntilMs: number } & BoostTermsSnapshot)
  | { readonly type: 'VideoPublished'; readonly videoId: string; readonly publishedAtMs: number; readonly boostEndsAtMs: number }
  | { readonly type: 'BoostPeriodEnded'; readonly boostEndsAtMs: number }
  | { readonly type: 'BoostEvaluated'; readonly actualViews: number; readonly succeeded: boolean; readonly compensationFen: bigint; readonly platformKeepsFen: bigint }
  | { readonly type: 'BoostExpired'; readonly validUntilMs: number }
  | { readonly type: 'BoostEndedByTaskCancellation'; readonly taskOrderId: string }
  | {
      readonly type: 'RefundScheduled';
      readonly amountFen: bigint;
      readonly endedOn: string;
      readonly dueDate: string;
      readonly dueAtMs: number;
      readonly calendarMissing: boolean;
      readonly calendarMissingYears: readonly string[];
    }
  | { readonly type: 'RefundPosted'; readonly amountFen: bigint; readonly early: boolean; readonly by?: RefundReleaser; readonly reason?: string };

export type BoostEventType = BoostEvent['type'];

export type RecordedBoostEvent = RecordedEvent<BoostEvent>;
