import { notificationInstant as iso, type OrderNotification } from '../notification';
import type { BoostOrderState, RecordedBoostEvent } from './types';

/** The kinds of notification a boost order sends (E3); `refund` is shared with the task order. */
export const BOOST_NOTIFICATION_KINDS = [
  'boost_ordered', // B3
  'boost_started', // B4/B5: the video was published
  'boost_evaluated', // B6
  'boost_expired', // B4
  'boost_ended', // B4: the task order was cancelled
  'refund_scheduled', // B7
  'refund', // B7, F5
] as const;
export type BoostNotificationKind = (typeof BOOST_NOTIFICATION_KINDS)[number];

export type BoostNotification = OrderNotification<BoostNotificationKind>;

/**
 * E3: what the backend must tell the client about a boost event (`after` is the state it produced).
 * Boost notifications go to the client, who bought the boost; the creator's side of the task order
 * is unchanged by a boost.
 */
export function boostNotificationsFor(after: BoostOrderState, recorded: RecordedBoostEvent): BoostNotification[] {
  const { boostOrderId, taskOrderId, clientId } = after.terms;
  const client = { type: 'client', id: clientId } as const;
  const note = (kind: BoostNotificationKind, data: Record<string, unknown>): BoostNotification[] => [{ recipient: client, kind, data: { boostOrderId, taskOrderId, ...data } }];
  const { event } = recorded;
  switch (event.type) {
    case 'BoostOrdered':
      return note('boost_ordered', { boostFeeFen: event.boostFeeFen, expectedViews: event.expectedViews, validUntil: iso(event.validUntilMs) });
    case 'VideoPublished':
      return note('boost_started', { videoId: event.videoId, endsAt: iso(event.boostEndsAtMs) });
    case 'BoostPeriodEnded':
      return []; // the evaluation that follows tells the outcome
    case 'BoostEvaluated':
      return note('boost_evaluated', { succeeded: event.succeeded, actualViews: event.actualViews, expectedViews: after.terms.expectedViews, compensationFen: event.compensationFen });
    case 'BoostExpired':
      return note('boost_expired', { validUntil: iso(event.validUntilMs) });
    case 'BoostEndedByTaskCancellation':
      return note('boost_ended', { reason: 'task_cancelled' });
    case 'RefundScheduled':
      return note('refund_scheduled', { amountFen: event.amountFen, dueAt: iso(event.dueAtMs) });
    case 'RefundPosted':
      return note('refund', { amountFen: event.amountFen, early: event.early });
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}
