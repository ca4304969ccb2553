import type { Transaction } from 'kysely';
import { fromStoredJson, toStoredJson } from '../domain/json';
import type { RecordedTaskEvent, TaskEvent } from '../domain/task-order';
import type { Database, OrderEventsTable } from './schema';
import type { Db } from './connect';

type Reader = Db | Transaction<Database>;
type OrderKind = OrderEventsTable['order_kind'];

interface Recorded<E> {
  readonly version: number;
  readonly occurredAt: number;
  readonly event: E;
}

/** E1: a stream's events, oldest first. */
export async function loadStreamEvents<E>(db: Reader, kind: OrderKind, streamId: string): Promise<Array<Recorded<E>>> {
  const rows = await db
    .selectFrom('order_events')
    .select(['version', 'occurred_at', 'payload'])
    .where('order_id', '=', streamId)
    .where('order_kind', '=', kind)
    .orderBy('version')
    .execute();
  return rows.map((row) => ({ version: row.version, occurredAt: row.occurred_at.getTime(), event: fromStoredJson<E>(row.payload) }));
}

export async function insertStreamEvent<E extends { readonly type: string }>(
  trx: Transaction<Database>,
  kind: OrderKind,
  streamId: string,
  recorded: Recorded<E>,
  causation: string | null,
): Promise<void> {
  await trx
    .insertInto('order_events')
    .values({
      order_id: streamId,
      order_kind: kind,
      version: recorded.version,
      type: recorded.event.type,
      payload: JSON.stringify(toStoredJson(recorded.event)),
      occurred_at: new Date(recorded.occurredAt),
      causation,
    })
    .execute();
}

/** E1: the task order's stream, oldest first. */
export function loadTaskEvents(db: Reader, orderId: string): Promise<RecordedTaskEvent[]> {
  return loadStreamEvents<TaskEvent>(db, 'task', orderId);
}

export function insertTaskEvent(trx: Transaction<Database>, orderId: string, recorded: RecordedTaskEvent, causation: string | null): Promise<void> {
  return insertStreamEvent(trx, 'task', orderId, recorded, causation);
}
