import type { Transaction } from 'kysely';
import type { BoostEvent, BoostOrderState } from '../domain/boost';
import { BOOST_ORDER_KIND } from '../domain/boost/kind';
import { fromStoredJson } from '../domain/json';
import type { LedgerTransaction } from '../domain/ledger/types';
import type { OrderKind } from '../domain/order-kind';
import type { RecordedEvent as Recorded } from '../domain/recorded-event';
import type { TaskEvent, TaskOrderState } from '../domain/task-order';
import { TASK_ORDER_KIND } from '../domain/task-order/kind';
import { boostOrderRow } from './boost-orders';
import type { Db } from './connect';
import type { Database, NewBoostOrderRow, NewTaskOrderRow } from './schema';
import { taskOrderRow } from './task-orders';

export type { OrderKind };

/**
 * How one kind of order is stored and what its events imply (task orders, boost orders): what the
 * audit (db/audit-orders.ts) and the rebuild of the read models (db/rebuild.ts) go through.
 */
export interface OrderKindSpec<S extends { status: string }, E, R extends object> {
  readonly kind: OrderKind;
  readonly table: 'task_orders' | 'boost_orders';
  readonly idColumn: 'order_id' | 'boost_order_id';
  readonly streamId: (orderId: string) => string;
  readonly escrowAccount: (orderId: string) => string;
  /** Ledger ids of this kind start with it (`task:`, `boost:`): ids of the two kinds may be equal. */
  readonly txPrefix: string;
  readonly closedStatuses: readonly string[];
  readonly evolve: (state: S | undefined, recorded: Recorded<E>) => S;
  readonly ledgerTransactionFor: (before: S | undefined, recorded: Recorded<E>) => LedgerTransaction | undefined;
  /** E2: the read-model row, a pure function of the folded state. */
  readonly row: (state: S) => R;
  /** E2: upserts the row unless a newer version is stored; false when it left the stored row. */
  readonly upsertIfNotNewer: (db: Db, row: R) => Promise<boolean>;
}

export const TASK_ORDERS: OrderKindSpec<TaskOrderState, TaskEvent, NewTaskOrderRow> = {
  // The kind's rules come from domain/ (issue 19); the storage is this file's.
  kind: TASK_ORDER_KIND.kind,
  table: 'task_orders',
  idColumn: 'order_id',
  streamId: TASK_ORDER_KIND.streamId,
  escrowAccount: TASK_ORDER_KIND.escrowAccount,
  txPrefix: TASK_ORDER_KIND.ledgerTxPrefix,
  closedStatuses: TASK_ORDER_KIND.closedStatuses,
  evolve: TASK_ORDER_KIND.evolve,
  ledgerTransactionFor: TASK_ORDER_KIND.ledgerTransactionFor,
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
  // The kind's rules come from domain/ (issue 19); the storage is this file's.
  kind: BOOST_ORDER_KIND.kind,
  table: 'boost_orders',
  idColumn: 'boost_order_id',
  streamId: BOOST_ORDER_KIND.streamId,
  escrowAccount: BOOST_ORDER_KIND.escrowAccount,
  txPrefix: BOOST_ORDER_KIND.ledgerTxPrefix,
  closedStatuses: BOOST_ORDER_KIND.closedStatuses,
  evolve: BOOST_ORDER_KIND.evolve,
  ledgerTransactionFor: BOOST_ORDER_KIND.ledgerTransactionFor,
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

/** The order id of one of this kind's stream ids (the inverse of streamId). */
export function orderIdOfStream(spec: Pick<OrderKindSpec<never, never, object>, 'streamId'>, streamId: string): string {
  return streamId.slice(spec.streamId('').length);
}

/** E1: the event streams of several orders of one kind in one query, oldest first, by order id. */
export async function loadStreamsOf<E>(
  db: Db | Transaction<Database>,
  spec: Pick<OrderKindSpec<never, E, object>, 'kind' | 'streamId'>,
  orderIds: readonly string[],
): Promise<Map<string, Array<Recorded<E>>>> {
  const byOrder = new Map<string, Array<Recorded<E>>>();
  if (orderIds.length === 0) return byOrder;
  const rows = await db
    .selectFrom('order_events')
    .select(['order_id', 'version', 'occurred_at', 'payload'])
    .where('order_kind', '=', spec.kind)
    .where('order_id', 'in', orderIds.map((id) => spec.streamId(id)))
    .orderBy('order_id')
    .orderBy('version')
    .execute();
  for (const row of rows) {
    const orderId = orderIdOfStream(spec, row.order_id);
    const list = byOrder.get(orderId) ?? [];
    list.push({ version: row.version, occurredAt: row.occurred_at.getTime(), event: fromStoredJson<E>(row.payload) });
    byOrder.set(orderId, list);
  }
  return byOrder;
}
