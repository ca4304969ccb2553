import { toStoredJson } from '../domain/json';
import { nextDeadline, pendingDeadlines, type TaskOrderState, type TaskPlacement } from '../domain/task-order';
import type { Db } from './connect';
import { canonicalJson, sha256Hex } from './hash';
import type { NewTaskOrderRow, TaskOrderRow } from './schema';

/** T1: two placements are the same order iff their canonical content hashes are equal. */
export function placementHash(placement: TaskPlacement): string {
  return sha256Hex(canonicalJson(placement));
}

/** E2: the read-model row is a pure function of the folded state. */
export function taskOrderRow(state: TaskOrderState): NewTaskOrderRow {
  const { placement } = state;
  const deadline = nextDeadline(state);
  return {
    order_id: placement.orderId,
    client_id: placement.clientId,
    creator_id: placement.creatorId,
    task_type: placement.taskType,
    title: placement.brief.title,
    industry: placement.brief.industry,
    expected_publish_at: placement.brief.expectedPublishAt,
    payment_mode: placement.paymentMode,
    price_fen: state.priceFen,
    service_fee_fen: state.serviceFeeFen,
    paid_in_fen: state.paidInFen,
    status: state.status,
    cancel_reason: state.cancelReason ?? null,
    next_deadline_kind: deadline?.kind ?? null,
    next_deadline_at: deadline ? new Date(deadline.atMs) : null,
    version: state.version,
    placement_hash: placementHash(placement),
    placed_at: new Date(state.placedAt),
    updated_at: new Date(state.updatedAt),
    details: JSON.stringify(toStoredJson({ state, deadlines: pendingDeadlines(state) })),
  };
}

export async function getTaskOrderRow(db: Db, orderId: string): Promise<TaskOrderRow | undefined> {
  return db.selectFrom('task_orders').selectAll().where('order_id', '=', orderId).executeTakeFirst();
}

export interface TaskOrderFilter {
  readonly clientId?: string;
  readonly creatorId?: string;
  readonly status?: string;
  readonly createdFrom?: string;
  readonly createdTo?: string;
  /** Keyset paging: rows strictly after this (placed_at, order_id). */
  readonly after?: { readonly placedAt: Date; readonly orderId: string };
  readonly limit: number;
}

/** The task list (newest first is not stable under inserts; oldest first with a keyset cursor is). */
export async function listTaskOrderRows(db: Db, filter: TaskOrderFilter): Promise<TaskOrderRow[]> {
  let query = db.selectFrom('task_orders').selectAll();
  if (filter.clientId) query = query.where('client_id', '=', filter.clientId);
  if (filter.creatorId) query = query.where('creator_id', '=', filter.creatorId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.createdFrom) query = query.where('placed_at', '>=', new Date(filter.createdFrom));
  if (filter.createdTo) query = query.where('placed_at', '<', new Date(filter.createdTo));
  const after = filter.after;
  if (after) {
    query = query.where((eb) =>
      eb.or([eb('placed_at', '>', after.placedAt), eb.and([eb('placed_at', '=', after.placedAt), eb('order_id', '>', after.orderId)])]),
    );
  }
  return query.orderBy('placed_at').orderBy('order_id').limit(filter.limit).execute();
}
