import { sql } from 'kysely';
import type { Db } from './connect';
import { ORDER_KINDS, openStatusesOf, type OrderKind } from '../domain/order-kind';
import { ORDER_KIND_SPECS } from './order-kinds';

/** The queries behind the order and webhook gauges (SPEC §10; api/metrics-orders.ts, api/metrics-route.ts). */

export { ORDER_KINDS, type OrderKind };

export interface CountRow {
  readonly kind: OrderKind;
  readonly status: string;
  readonly n: number;
}

/**
 * Open orders by kind and status, one `select` per kind (its read-model table, its open statuses:
 * db/order-kinds.ts, domain/<kind>/kind.ts), in one `union all`. `status = any(open statuses)`
 * rather than `not in (terminal)`: the status index then reads only the open orders' entries (an
 * index-only scan), however many closed orders the table holds (docs/operations.md has the plan
 * and its cost on 100k orders).
 */
export async function countOpenOrders(db: Db): Promise<CountRow[]> {
  const perKind = ORDER_KINDS.map((kind) => {
    const { table, definition } = ORDER_KIND_SPECS[kind];
    return sql`select ${sql.lit(kind)} as kind, status, count(*)::text as n from ${sql.table(table)} where status = any(${openStatusesOf(definition)}::text[]) group by status`;
  });
  const { rows } = await sql<{ kind: OrderKind; status: string; n: string }>`${sql.join(perKind, sql` union all `)}`.execute(db);
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
