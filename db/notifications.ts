import type { Transaction } from 'kysely';
import { toStoredJson } from '../domain/json';
import type { Database } from './schema';

/** A notification for the outbox (task orders: domain/task-order/notifications.ts; boost orders: db/boost-orders.ts). */
export interface OutboxNotification {
  readonly recipient: { readonly type: string; readonly id: string };
  readonly kind: string;
  readonly data: Record<string, unknown>;
}

/**
 * E3: the outbox; (order, event version, seq) is unique, so an event never notifies twice.
 * `orderId` is the event stream's id: the task order's id, or `boost:{boostOrderId}` for a boost.
 */
export async function insertNotifications(trx: Transaction<Database>, orderId: string, eventVersion: number, notifications: readonly OutboxNotification[]): Promise<void> {
  if (notifications.length === 0) return;
  await trx
    .insertInto('notifications')
    .values(
      notifications.map((n, seq) => ({
        order_id: orderId,
        event_version: eventVersion,
        seq,
        recipient_type: n.recipient.type,
        recipient_id: n.recipient.id,
        kind: n.kind,
        data: JSON.stringify(toStoredJson(n.data)),
      })),
    )
    .execute();
}
