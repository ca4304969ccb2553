import { sql } from 'kysely';
import type { Db } from './connect';
import { OPEN_BOOST_STATUSES } from '../domain/boost/types';
import { OPEN_TASK_STATUSES } from '../domain/task-order/types';

/** The queries behind the order and webhook gauges (SPEC §10; api/metrics-orders.ts, api/metrics-route.ts). */

export { OPEN_BOOST_STATUSES };
export { ORDER_KINDS, type OrderKind } from '../domain/order-kind';
import type { OrderKind } from '../domain/order-kind';

export interface CountRow {
  readonly kind: OrderKind;
  readonly status: string;
  readonly n: number;
}

/**
 * Open orders by kind and status. `status = any(open statuses)` rather than `not in (terminal)`:
 * the status index then reads only the open orders' entries (an index-only scan), however many
 * closed orders the table holds (docs/operations.md has the plan and its cost on 100k orders).
 */
export async function countOpenOrders(db: Db): Promise<CountRow[]> {
  const { rows } = await sql<{ kind: OrderKind; status: string; n: string }>`
    select 'task' as kind, status, count(*)::text as n from task_orders where status = any(${[...OPEN_TASK_STATUSES]}::text[]) group by status
    union all
    select 'boost' as kind, status, count(*)::text as n from boost_orders where status = any(${[...OPEN_BOOST_STATUSES]}::text[]) group by status`.execute(db);
  return rows.map((r) => ({ kind: r.kind, status: r.status, n: Number(r.n) }));
}

/**
 * E5: webhook deliveries still to be made (pending, including those waiting for a retry). Counted
 * on the partial index of pending deliveries, so its cost follows the backlog, not the history.
 */
export async function countPendingWebhookDeliveries(db: Db): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from webhook_deliveries where status = 'pending'`.execute(db);
  return Number(rows[0]?.n ?? 0);
}
