import { balanceDueFen } from './decide';
import { balanceDueAtMs } from './deadlines';
import { notificationInstant as iso, type OrderNotification } from '../notification';
import type { Actor, RecordedTaskEvent, TaskOrderState } from './types';

export const NOTIFICATION_KINDS = [
  'new_task', // T1 → creator
  'reminder', // T8 → creator
  'accepted', // T9 → client
  'balance_due', // T12 → client (at acceptance in deposit mode, and again after a restore, T10)
  'price_restored', // T10 → creator
  'balance_paid', // T15 → creator: production may start
  'video_uploaded', // T16 → client: a draft to review
  'review', // T17 → creator (and client on an automatic approval)
  'published', // T18 → client
  'settled', // T18 → creator (payout) and client
  'publish_overdue', // T19 → creator
  'cancellation_requested', // T20/T21 → the counterparty
  'cancellation_declined', // T22 → the initiator
  'cancellation_escalated', // T22 → both parties
  'cancellation_arbitrated', // O4 → both parties
  'cancelled', // T6, T7, T11, T13, T20, T21, O4 → both parties
  'refund', // → client, when money goes back to its account
  'compensation', // T20 → creator, when a cancellation pays it
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export type Notification = OrderNotification<NotificationKind>;

/** E3: what the backend must tell whom about an event. `after` is the state the event produced. */
export function notificationsFor(after: TaskOrderState, recorded: RecordedTaskEvent): Notification[] {
  const { clientId, creatorId, orderId } = after.placement;
  const client = { type: 'client', id: clientId } as const;
  const creator = { type: 'creator', id: creatorId } as const;
  const counterpartyOf = (actor: Actor) => (actor.type === 'client' ? creator : client);
  const both = (kind: NotificationKind, data: Record<string, unknown>): Notification[] => [
    { recipient: client, kind, data },
    { recipient: creator, kind, data },
  ];
  const balanceDue = (): Notification[] => {
    const dueAt = balanceDueAtMs(after);
    if (after.status !== 'awaiting_balance' || dueAt === undefined) return [];
    return [{ recipient: client, kind: 'balance_due', data: { orderId, amountFen: balanceDueFen(after), dueAt: iso(dueAt) } }];
  };
  const { event } = recorded;
  switch (event.type) {
    case 'TaskOrderPlaced':
      return [{ recipient: creator, kind: 'new_task', data: { orderId, title: event.placement.brief.title } }];
    case 'CreatorReminded':
      return [{ recipient: creator, kind: 'reminder', data: { orderId } }];
    case 'TaskOrderAccepted':
      return [{ recipient: client, kind: 'accepted', data: { orderId, priceFen: event.priceFen } }, ...balanceDue()];
    case 'PriceRestored':
      return [{ recipient: creator, kind: 'price_restored', data: { orderId, priceFen: event.priceFen } }, ...balanceDue()];
    case 'BalancePaid':
      return [{ recipient: creator, kind: 'balance_paid', data: { orderId } }];
    case 'VideoUploaded':
      return [
        { recipient: client, kind: 'video_uploaded', data: { orderId, uploadNo: event.uploadNo, reviewDueAt: iso(event.reviewDueAtMs) } },
      ];
    case 'VideoReviewed':
      return [
        {
          recipient: creator,
          kind: 'review',
          data: { orderId, uploadNo: event.uploadNo, decision: event.decision, ...(event.comment === undefined ? {} : { comment: event.comment }) },
        },
      ];
    case 'VideoAutoApproved':
      return both('review', { orderId, uploadNo: event.uploadNo, decision: 'approve', automatic: true });
    case 'VideoPublished':
      return [{ recipient: client, kind: 'published', data: { orderId, videoId: event.videoId, publishedAt: event.publishedAt } }];
    case 'TaskOrderCompleted':
      return [
        { recipient: creator, kind: 'settled', data: { orderId, amountFen: event.creatorFen } },
        { recipient: client, kind: 'settled', data: { orderId } },
      ];
    case 'PublishOverdueFlagged':
      return [{ recipient: creator, kind: 'publish_overdue', data: { orderId, expectedPublishAt: event.expectedPublishAt } }];
    case 'CancellationRequested':
      return [
        {
          recipient: counterpartyOf(event.by),
          kind: 'cancellation_requested',
          data: { orderId, by: event.by.type, answerDueAt: iso(event.answerDueAtMs), ...(event.reason === undefined ? {} : { reason: event.reason }) },
        },
      ];
    case 'CancellationConfirmed':
      return []; // the TaskOrderCancelled that follows tells both parties
    case 'CancellationDeclined': {
      const initiator = counterpartyOf(event.by);
      return [
        {
          recipient: initiator,
          kind: 'cancellation_declined',
          data: { orderId, by: event.by.type, ...(event.reason === undefined ? {} : { reason: event.reason }) },
        },
      ];
    }
    case 'CancellationEscalated':
      return both('cancellation_escalated', { orderId, requestedBy: event.requestedBy.type });
    case 'CancellationArbitrated':
      return both('cancellation_arbitrated', { orderId, decision: event.decision, reason: event.reason, requestedBy: event.requestedBy.type });
    case 'TaskOrderCancelled': {
      const notes = both('cancelled', { orderId, reason: event.reason });
      if (event.refundFen > 0n) notes.push({ recipient: client, kind: 'refund', data: { orderId, amountFen: event.refundFen } });
      if (event.creatorFen > 0n) notes.push({ recipient: creator, kind: 'compensation', data: { orderId, amountFen: event.creatorFen } });
      return notes;
    }
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}
