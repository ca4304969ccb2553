import type { Transaction } from 'kysely';
import { fromStoredJson, toStoredJson } from '../domain/json';
import type { RecordedTaskEvent, TaskEvent } from '../domain/task-order';
import type { Database } from './schema';
import type { Db } from './connect';

type Reader = Db | Transaction<Database>;

/** E1: the order's stream, oldest first. */
export async function loadTaskEvents(db: Reader, orderId: string): Promise<RecordedTaskEvent[]> {
  const rows = await db
    .selectFrom('order_events')
    .select(['version', 'occurred_at', 'payload'])
    .where('order_id', '=', orderId)
    .where('order_kind', '=', 'task')
    .orderBy('version')
    .execute();
  return rows.map((row) => ({ version: row.version, occurredAt: row.occurred_at.getTime(), event: fromStoredJson<TaskEvent>(row.payload) }));
}

export async function insertTaskEvent(trx: Transaction<Database>, orderId: string, recorded: RecordedTaskEvent, causation: string | null): Promise<void> {
  await trx
    .insertInto('order_events')
    .values({
      order_id: orderId,
      order_kind: 'task',
      version: recorded.version,
      type: recorded.event.type,
      payload: JSON.stringify(toStoredJson(recorded.event)),
      occurred_at: new Date(recorded.occurredAt),
      causation,
    })
    .execute();
}
