import type { Transaction } from 'kysely';
import { toStoredJson } from '../domain/json';
import type { Notification } from '../domain/task-order';
import type { Database } from './schema';

/** E3: the outbox; (order, event version, seq) is unique, so an event never notifies twice. */
export async function insertNotifications(trx: Transaction<Database>, orderId: string, eventVersion: number, notifications: readonly Notification[]): Promise<void> {
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
