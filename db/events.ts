import type { Transaction } from 'kysely';
import { fromStoredJson } from '../domain/json';
import type { RecordedEvent as Recorded } from '../domain/recorded-event';
import type { RecordedTaskEvent, TaskEvent } from '../domain/task-order';
import type { Database, OrderEventsTable } from './schema';
import type { Db } from './connect';

type Reader = Db | Transaction<Database>;
type OrderKind = OrderEventsTable['order_kind'];


/** E1: a stream's events, oldest first. */
export async function loadStreamEvents<E>(db: Reader, kind: OrderKind, streamId: string): Promise<Array<Recorded<E>>> {
  const stored = await loadStreamEventsFrom<E>(db, kind, streamId, 1); // versions start at 1
  return stored.map(({ version, occurredAt, event }) => ({ version, occurredAt, event }));
}

/** E1: a stream's events from `fromVersion` on, oldest first, each with its causation. */
export async function loadStreamEventsFrom<E>(db: Reader, kind: OrderKind, streamId: string, fromVersion: number): Promise<Array<Recorded<E> & { readonly causation: string | null }>> {
  const rows = await db
    .selectFrom('order_events')
    .select(['version', 'occurred_at', 'payload', 'causation'])
    .where('order_id', '=', streamId)
    .where('order_kind', '=', kind)
    .where('version', '>=', fromVersion)
    .orderBy('version')
    .execute();
  return rows.map((row) => ({ version: row.version, occurredAt: row.occurred_at.getTime(), event: fromStoredJson<E>(row.payload), causation: row.causation }));
}

/** E1: the task order's stream, oldest first. */
export function loadTaskEvents(db: Reader, orderId: string): Promise<RecordedTaskEvent[]> {
  return loadStreamEvents<TaskEvent>(db, 'task', orderId);
}

/**
 * L3: whether the stream holds a step of `causation` (an Update's `update:<type>:<id>`): an Update
 * whose call ended without an answer may have been applied by a workflow task lost afterwards.
 */
export async function streamHasStep(db: Reader, kind: OrderKind, streamId: string, causation: string): Promise<boolean> {
  const row = await db.selectFrom('order_events').select('version').where('order_id', '=', streamId).where('order_kind', '=', kind).where('causation', '=', causation).limit(1).executeTakeFirst();
  return row !== undefined;
}
