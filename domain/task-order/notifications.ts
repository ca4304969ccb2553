import type { RecordedTaskEvent, TaskOrderState } from './types';

export interface Notification {
  readonly recipient: { readonly type: 'client' | 'creator'; readonly id: string };
  readonly kind: 'new_task' | 'reminder' | 'accepted' | 'cancelled' | 'refund';
  readonly data: Record<string, unknown>;
}

/** E3: what the backend must tell whom about an event. `after` is the state the event produced. */
export function notificationsFor(after: TaskOrderState, recorded: RecordedTaskEvent): Notification[] {
  const { clientId, creatorId, orderId } = after.placement;
  const client = { type: 'client', id: clientId } as const;
  const creator = { type: 'creator', id: creatorId } as const;
  const { event } = recorded;
  switch (event.type) {
    case 'TaskOrderPlaced':
      return [{ recipient: creator, kind: 'new_task', data: { orderId, title: event.placement.brief.title } }];
    case 'CreatorReminded':
      return [{ recipient: creator, kind: 'reminder', data: { orderId } }];
    case 'TaskOrderAccepted':
      return [{ recipient: client, kind: 'accepted', data: { orderId, priceFen: event.priceFen } }];
    case 'TaskOrderCancelled': {
      const cancelled = { orderId, reason: event.reason };
      const notes: Notification[] = [
        { recipient: client, kind: 'cancelled', data: cancelled },
        { recipient: creator, kind: 'cancelled', data: cancelled },
      ];
      if (event.refundFen > 0n) notes.push({ recipient: client, kind: 'refund', data: { orderId, amountFen: event.refundFen } });
      return notes;
    }
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}
