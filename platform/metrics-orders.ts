import { sql } from 'kysely';
import type { Db } from '../db/connect';
import { OPEN_BOOST_STATUSES } from '../domain/boost/types';
import { OPEN_TASK_STATUSES } from '../domain/task-order/types';
import { STUCK_REASONS, type StuckReason } from '../api/ops-service';

/**
 * The gauges' figures (SPEC §10 "open orders by status, stuck orders by reason"), read from the
 * read models and the ops stuck list; pure counting apart from the one query.
 */

export { OPEN_TASK_STATUSES, OPEN_BOOST_STATUSES };

export { STUCK_REASONS };

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

/** Every (kind, status) pair with its count, zero where no row came back (a series never vanishes). */
export function openOrderSeries(rows: readonly CountRow[]): Array<{ kind: OrderKind; status: string; n: number }> {
  const series = [
    ...OPEN_TASK_STATUSES.map((status) => ({ kind: 'task' as const, status, n: 0 })),
    ...OPEN_BOOST_STATUSES.map((status) => ({ kind: 'boost' as const, status, n: 0 })),
  ];
  for (const row of rows) {
    const entry = series.find((s) => s.kind === row.kind && s.status === row.status);
    if (entry) entry.n += row.n;
  }
  return series;
}

/**
 * The stuck list's entries counted by reason, zero for every reason without one (a series never
 * vanishes, so an alert on it sees 0, not "no data"). The reason tells what is stuck (a task or
 * boost order, or a webhook endpoint); the stuck list itself has the details.
 */
export function stuckSeries(entries: ReadonlyArray<{ readonly reason: StuckReason }>): Array<{ reason: StuckReason; n: number }> {
  const series = STUCK_REASONS.map((reason): { reason: StuckReason; n: number } => ({ reason, n: 0 }));
  for (const entry of entries) {
    const found = series.find((s) => s.reason === entry.reason);
    if (found) found.n += 1;
  }
  return series;
}

/**
 * E5: webhook deliveries still to be made (pending, including those waiting for a retry). Counted
 * on the partial index of pending deliveries, so its cost follows the backlog, not the history.
 */
export async function countPendingWebhookDeliveries(db: Db): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from webhook_deliveries where status = 'pending'`.execute(db);
  return Number(rows[0]?.n ?? 0);
}
