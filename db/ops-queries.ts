import { sql } from 'kysely';
import type { Db } from './connect';
import { BOOST_ORDER_KIND } from '../domain/boost/kind';
import { openStatusesOf } from '../domain/order-kind';
import { TASK_ORDER_KIND } from '../domain/task-order/kind';
import { CLOSED_CHECKOUT_STATUSES } from '../domain/checkout/types';

/**
 * The ops reads (O1 stuck list, O2 inspection) over the read models and the ledger; the api's
 * ops service (api/ops-service.ts) turns their rows into entries. Open and closed statuses are the
 * kinds' (domain/<kind>/kind.ts).
 */

const OPEN_TASK_STATUSES = openStatusesOf(TASK_ORDER_KIND);
const CLOSED_BOOST_STATUSES = BOOST_ORDER_KIND.closedStatuses;

/**
 * O1: open task orders with a deadline due before `overdueBefore`, an escalated cancellation
 * (T22) or a publish overdue (T19), by order id after `after`, at most `limit`.
 */
export function stuckTaskRows(db: Db, { overdueBefore, after, limit }: { overdueBefore: Date; after: string; limit: number }) {
  // The open orders first (MATERIALIZED, so PostgreSQL reads them by the status index instead of
  // walking the whole primary key for the ORDER BY … LIMIT and filtering every closed order).
  return db
    .with(
      (cte) => cte('open_task_orders').materialized(),
      (qb) =>
        qb
          .selectFrom('task_orders')
          .select(['order_id', 'status', 'next_deadline_kind', 'next_deadline_at', 'updated_at'])
          .select([
            sql<boolean>`coalesce((details -> 'state' -> 'pendingCancellation' ->> 'escalated')::boolean, false)`.as('escalated'),
            sql<string | null>`details -> 'state' -> 'pendingCancellation' ->> 'escalatedAt'`.as('escalated_at'),
            sql<boolean>`coalesce((details -> 'state' ->> 'publishOverdue')::boolean, false)`.as('publish_overdue'),
            sql<string>`details -> 'state' -> 'placement' -> 'brief' ->> 'expectedPublishAt'`.as('expected_publish_at'),
          ])
          .where('status', 'in', [...OPEN_TASK_STATUSES])
          .where('order_id', '>', after),
    )
    .selectFrom('open_task_orders')
    .selectAll()
    .where((eb) => eb.or([eb('next_deadline_at', '<', overdueBefore), eb('escalated', '=', true), eb('publish_overdue', '=', true)]))
    .orderBy('order_id')
    .limit(limit)
    .execute();
}

export type StuckTaskRow = Awaited<ReturnType<typeof stuckTaskRows>>[number];

/**
 * O1: open boost orders with a deadline due before `overdueBefore`, a refund counted without
 * calendar data, or an evaluation under way (with its video's count), by id after `after`.
 */
export function stuckBoostRows(db: Db, { overdueBefore, after, limit }: { overdueBefore: Date; after: string; limit: number }) {
  return db
    .selectFrom('boost_orders')
    .leftJoin('video_stats', 'video_stats.video_id', 'boost_orders.video_id')
    .select([
      'boost_orders.boost_order_id',
      'boost_orders.status',
      'boost_orders.video_id',
      'boost_orders.next_deadline_kind',
      'boost_orders.next_deadline_at',
      'boost_orders.refund_fen',
      'boost_orders.refund_due_at',
      'boost_orders.calendar_missing',
      'boost_orders.updated_at',
      'video_stats.views',
      sql<string[] | null>`boost_orders.details -> 'state' -> 'refund' -> 'calendarMissingYears'`.as('missing_years'),
    ])
    .where('boost_orders.status', 'not in', [...CLOSED_BOOST_STATUSES])
    .where('boost_orders.boost_order_id', '>', after)
    .where((eb) =>
      eb.or([
        eb('boost_orders.next_deadline_at', '<', overdueBefore),
        eb('boost_orders.calendar_missing', '=', true),
        eb('boost_orders.status', '=', 'evaluating'),
      ]),
    )
    .orderBy('boost_orders.boost_order_id')
    .limit(limit)
    .execute();
}

export type StuckBoostRow = Awaited<ReturnType<typeof stuckBoostRows>>[number];

/** The read model's open task orders, boost orders and checkouts (C4: still placing), by id, at most `cap` of each. */
export async function openOrderIds(db: Db, cap: number): Promise<{ taskOrderIds: string[]; boostOrderIds: string[]; checkoutIds: string[] }> {
  const rows = await db.selectFrom('task_orders').select('order_id').where('status', 'in', [...OPEN_TASK_STATUSES]).orderBy('order_id').limit(cap).execute();
  const boosts = await db.selectFrom('boost_orders').select('boost_order_id').where('status', 'not in', [...CLOSED_BOOST_STATUSES]).orderBy('boost_order_id').limit(cap).execute();
  const checkouts = await db.selectFrom('checkouts').select('checkout_id').where('status', 'not in', [...CLOSED_CHECKOUT_STATUSES]).orderBy('checkout_id').limit(cap).execute();
  return { taskOrderIds: rows.map((r) => r.order_id), boostOrderIds: boosts.map((r) => r.boost_order_id), checkoutIds: checkouts.map((r) => r.checkout_id) };
}
