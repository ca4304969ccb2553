import { sql } from 'kysely';
import type { Db } from './connect';
import { orderIdOfStreamId } from '../domain/order-kind';
import { BOOST_ORDERS, TASK_ORDERS, loadStreamsOf, type OrderKindSpec } from './order-kinds';

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

/** E2: the task_orders read model rebuilt from the events (see rebuildReadModels). */
export function rebuildTaskOrderReadModels(db: Db): Promise<RebuildReport> {
  return rebuildReadModels(db, TASK_ORDERS);
}

/** E2: the boost_orders read model rebuilt from the events (see rebuildReadModels). */
export async function rebuildBoostOrderReadModels(
  db: Db,
): Promise<Omit<RebuildReport, 'failures'> & { failures: Array<{ readonly boostOrderId: string; readonly message: string }> }> {
  const { failures, ...counts } = await rebuildReadModels(db, BOOST_ORDERS);
  return { ...counts, failures: failures.map(({ orderId, message }) => ({ boostOrderId: orderId, message })) };
}

/**
 * E2: rebuilds one kind's read model from the event streams, without TRUNCATE: every order with
 * events gets its row recomputed (fold + the row projection) and upserted, and rows of orders
 * without events are deleted. Safe while the system runs: an upsert never replaces a row of a
 * newer version (an activity that appended meanwhile wrote the newer row itself), and an activity
 * writes an order's events and its row in one transaction, so no committed row lacks its events.
 */
async function rebuildReadModels<S extends { status: string }, E, R extends object>(db: Db, spec: OrderKindSpec<S, E, R>): Promise<RebuildReport> {
  let rebuilt = 0;
  let skipped = 0;
  const failures: Array<{ orderId: string; message: string }> = [];
  let after = '';
  for (;;) {
    // Every stream starts with version 1: one row per order, in stream id order.
    const heads = await db
      .selectFrom('order_events')
      .select('order_id')
      .where('order_kind', '=', spec.definition.kind)
      .where('version', '=', 1)
      .where('order_id', '>', after)
      .orderBy('order_id')
      .limit(BATCH)
      .execute();
    if (heads.length === 0) break;
    const ids = heads.map((h) => orderIdOfStreamId(spec.definition, h.order_id));
    const streams = await loadStreamsOf<E>(db, spec, ids);
    for (const orderId of ids) {
      let row: R;
      try {
        const state = (streams.get(orderId) ?? []).reduce<S | undefined>((s, e) => spec.definition.evolve(s, e), undefined);
        if (!state) throw new Error('empty stream');
        row = spec.row(state);
      } catch (error) {
        failures.push({ orderId, message: error instanceof Error ? error.message : String(error) });
        continue;
      }
      if (await spec.upsertIfNotNewer(db, row)) rebuilt += 1;
      else skipped += 1;
    }
    after = heads[heads.length - 1]?.order_id as string;
    if (heads.length < BATCH) break;
  }
  const prefix = spec.definition.streamId('');
  const deleted = await sql`
    delete from ${sql.table(spec.table)} r
    where not exists (select 1 from order_events e where e.order_kind = ${spec.definition.kind} and e.order_id = ${prefix} || ${sql.ref(`r.${spec.idColumn}`)})`.execute(db);
  return { rebuilt, skipped, deleted: Number(deleted.numAffectedRows ?? 0n), failures };
}
