import type { Transaction } from 'kysely';
import type { BoostEvent, BoostOrderState } from '../domain/boost';
import { BOOST_ORDER_KIND } from '../domain/boost/kind';
import { fromStoredJson } from '../domain/json';
import { orderIdOfStreamId, type OrderKind, type OrderKindOf } from '../domain/order-kind';
import type { RecordedEvent as Recorded } from '../domain/recorded-event';
import type { TaskEvent, TaskOrderState } from '../domain/task-order';
import { TASK_ORDER_KIND } from '../domain/task-order/kind';
import { boostOrderRow } from './boost-orders';
import type { Db } from './connect';
import type { Database, NewBoostOrderRow, NewCheckoutRow, NewTaskOrderRow } from './schema';
import { taskOrderRow } from './task-orders';
import type { CheckoutEvent, CheckoutState } from '../domain/checkout';
import { CHECKOUT_KIND } from '../domain/checkout/kind';
import { checkoutRow } from './checkouts';

export type { OrderKind };

/**
 * How one kind of order is stored (task orders, boost orders): its definition whole
 * (domain/<kind>/kind.ts: name, stream id, escrow account, ledger ids, closed statuses, fold,
 * postings) and what storage adds to it, its read-model table and row. What the audit
 * (db/audit/audit-orders.ts) and the rebuild of the read models (db/rebuild.ts) go through.
 */
export interface OrderKindSpec<S extends { status: string }, E, R extends object> {
  readonly definition: OrderKindOf<S, E>;
  readonly table: 'task_orders' | 'boost_orders' | 'checkouts';
  readonly idColumn: 'order_id' | 'boost_order_id' | 'checkout_id';
  /** E2: the read-model row, a pure function of the folded state. */
  readonly row: (state: S) => R;
  /** E2: upserts the row unless a newer version is stored; false when it left the stored row. */
  readonly upsertIfNotNewer: (db: Db, row: R) => Promise<boolean>;
}

export const TASK_ORDERS: OrderKindSpec<TaskOrderState, TaskEvent, NewTaskOrderRow> = {
  definition: TASK_ORDER_KIND,
  table: 'task_orders',
  idColumn: 'order_id',
  row: taskOrderRow,
  async upsertIfNotNewer(db, row) {
    const { order_id: _id, ...changes } = row;
    const result = await db
      .insertInto('task_orders')
      .values(row)
      .onConflict((oc) => oc.column('order_id').doUpdateSet(changes).where('task_orders.version', '<=', row.version))
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  },
};

export const BOOST_ORDERS: OrderKindSpec<BoostOrderState, BoostEvent, NewBoostOrderRow> = {
  definition: BOOST_ORDER_KIND,
  table: 'boost_orders',
  idColumn: 'boost_order_id',
  row: boostOrderRow,
  async upsertIfNotNewer(db, row) {
    const { boost_order_id: _id, ...changes } = row;
    const result = await db
      .insertInto('boost_orders')
      .values(row)
      .onConflict((oc) => oc.column('boost_order_id').doUpdateSet(changes).where('boost_orders.version', '<=', row.version))
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  },
};

/** C1–C5: a checkout's storage (migration 0012). */
export const CHECKOUTS: OrderKindSpec<CheckoutState, CheckoutEvent, NewCheckoutRow> = {
  definition: CHECKOUT_KIND,
  table: 'checkouts',
  idColumn: 'checkout_id',
  row: checkoutRow,
  async upsertIfNotNewer(db, row) {
    const { checkout_id: _id, ...changes } = row;
    const result = await db
      .insertInto('checkouts')
      .values(row)
      .onConflict((oc) => oc.column('checkout_id').doUpdateSet(changes).where('checkouts.version', '<=', row.version))
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  },
};

/** The storage of each kind by its name (ORDER_KINDS): a kind without one does not compile. */
export const ORDER_KIND_SPECS = {
  task: TASK_ORDERS,
  boost: BOOST_ORDERS,
  checkout: CHECKOUTS,
} as const satisfies Record<OrderKind, unknown>;

/** E1: the event streams of several orders of one kind in one query, oldest first, by order id. */
export async function loadStreamsOf<E>(
  db: Db | Transaction<Database>,
  spec: { readonly definition: Pick<OrderKindOf<unknown, unknown>, 'kind' | 'streamId'> },
  orderIds: readonly string[],
): Promise<Map<string, Array<Recorded<E>>>> {
  const byOrder = new Map<string, Array<Recorded<E>>>();
  if (orderIds.length === 0) return byOrder;
  const rows = await db
    .selectFrom('order_events')
    .select(['order_id', 'version', 'occurred_at', 'payload'])
    .where('order_kind', '=', spec.definition.kind)
    .where('order_id', 'in', orderIds.map((id) => spec.definition.streamId(id)))
    .orderBy('order_id')
    .orderBy('version')
    .execute();
  for (const row of rows) {
    const orderId = orderIdOfStreamId(spec.definition, row.order_id);
    const list = byOrder.get(orderId) ?? [];
    list.push({ version: row.version, occurredAt: row.occurred_at.getTime(), event: fromStoredJson<E>(row.payload) });
    byOrder.set(orderId, list);
  }
  return byOrder;
}
