import type { CountRow } from '../db/metrics-queries';
import { OPEN_BOOST_STATUSES } from '../domain/boost/types';
import { ORDER_KIND_DEFINITIONS } from '../domain/kinds';
import { ORDER_KINDS, openStatusesOf, type OrderKind } from '../domain/order-kind';
import { OPEN_TASK_STATUSES } from '../domain/task-order/types';
import { STUCK_REASONS, type StuckReason } from './ops-service';

/**
 * The gauges' figures (SPEC §10 "open orders by status, stuck orders by reason"), read from the
 * read models (db/metrics-queries.ts) and the ops stuck list; pure counting.
 */

export { OPEN_TASK_STATUSES, OPEN_BOOST_STATUSES };

export { STUCK_REASONS };

/** Every (kind, open status) pair with its count, zero where no row came back (a series never vanishes). */
export function openOrderSeries(rows: readonly CountRow[]): Array<{ kind: OrderKind; status: string; n: number }> {
  const series = ORDER_KINDS.flatMap((kind) => openStatusesOf<string>(ORDER_KIND_DEFINITIONS[kind]).map((status) => ({ kind, status, n: 0 })));
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
