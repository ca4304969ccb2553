import { fromStoredJson } from '../domain/json';
import { fold, type RecordedTaskEvent, type TaskEvent } from '../domain/task-order';
import type { Db } from './connect';
import { taskOrderRow } from './task-orders';

export interface RebuildReport {
  /** Orders whose row was recomputed from their events (inserted or overwritten). */
  readonly rebuilt: number;
  /** Rows left as they were because a newer version was written meanwhile. */
  readonly skipped: number;
  /** Rows deleted because their order has no events. */
  readonly deleted: number;
  /** Streams that do not fold (left untouched, reported). */
  readonly failures: Array<{ readonly orderId: string; readonly message: string }>;
}

const BATCH = 200;

/**
 * E2: rebuilds the task_orders read model from the event streams, without TRUNCATE: every order
 * with events gets its row recomputed (fold + taskOrderRow) and upserted, and rows of orders
 * without events are deleted. Safe while the system runs: an upsert never replaces a row of a
 * newer version (an activity that appended meanwhile wrote the newer row itself), and an activity
 * writes an order's events and its row in one transaction, so no committed row lacks its events.
 */
export async function rebuildTaskOrderReadModels(db: Db): Promise<RebuildReport> {
  let rebuilt = 0;
  let skipped = 0;
  const failures: Array<{ orderId: string; message: string }> = [];
  let after = '';
  for (;;) {
    // Every stream starts with version 1: one row per order, in order id order.
    const heads = await db
      .selectFrom('order_events')
      .select('order_id')
      .where('order_kind', '=', 'task')
      .where('version', '=', 1)
      .where('order_id', '>', after)
      .orderBy('order_id')
      .limit(BATCH)
      .execute();
    if (heads.length === 0) break;
    const ids = heads.map((h) => h.order_id);
    const rows = await db
      .selectFrom('order_events')
      .select(['order_id', 'version', 'occurred_at', 'payload'])
      .where('order_kind', '=', 'task')
      .where('order_id', 'in', ids)
      .orderBy('order_id')
      .orderBy('version')
      .execute();
    const streams = new Map<string, RecordedTaskEvent[]>();
    for (const row of rows) {
      const list = streams.get(row.order_id) ?? [];
      list.push({ version: row.version, occurredAt: row.occurred_at.getTime(), event: fromStoredJson<TaskEvent>(row.payload) });
      streams.set(row.order_id, list);
    }
    for (const orderId of ids) {
      let row;
      try {
        const state = fold(streams.get(orderId) ?? []);
        if (!state) throw new Error('empty stream');
        row = taskOrderRow(state);
      } catch (error) {
        failures.push({ orderId, message: error instanceof Error ? error.message : String(error) });
        continue;
      }
      const { order_id: _id, ...changes } = row;
      const result = await db
        .insertInto('task_orders')
        .values(row)
        .onConflict((oc) =>
          oc
            .column('order_id')
            .doUpdateSet(changes)
            .where('task_orders.version', '<=', row.version),
        )
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0n) > 0) rebuilt += 1;
      else skipped += 1;
    }
    after = ids[ids.length - 1] as string;
    if (heads.length < BATCH) break;
  }
  const deleted = await db
    .deleteFrom('task_orders')
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('order_events')
            .select('order_events.id')
            .whereRef('order_events.order_id', '=', 'task_orders.order_id')
            .where('order_events.order_kind', '=', 'task'),
        ),
      ),
    )
    .executeTakeFirst();
  return { rebuilt, skipped, deleted: Number(deleted.numDeletedRows), failures };
}
