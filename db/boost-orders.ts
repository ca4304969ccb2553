import type { Transaction } from 'kysely';
import { pendingBoostDeadlines, type BoostOrderState, type BoostTermsSnapshot, type RecordedBoostEvent, type BoostEvent } from '../domain/boost';
import { fromStoredJson, toStoredJson } from '../domain/json';
import type { Db } from './connect';
import { pgError } from './errors';
import { loadStreamEvents } from './events';
import { canonicalJson, sha256Hex } from './hash';
import type { BoostOrderRow, Database, NewBoostOrderRow } from './schema';
import type { TaskOrderRequirement } from './stream-append';
import { CLOSED_TASK_STATUSES } from '../domain/task-order';

type Reader = Db | Transaction<Database>;

/**
 * E1: a boost order's event stream lives in order_events with order_kind = 'boost' and the stream
 * id `boost:{boostOrderId}` as its order_id (and so in notifications' order_id): (order_id, version)
 * is unique across kinds, and a task order's id can never contain ':' (api/schemas.ts Id), so a
 * boost stream can never collide with a task stream. Ledger transactions keep the boost order's own
 * id as their order_id (domain/boost/ledger.ts); their tx ids start with `boost:`.
 */
import { boostStreamId } from '../domain/boost/ids';
export { boostStreamId };

/** B3: what makes two POST /v1/boost-orders the same order (T1's rule, for boosts). */
export interface BoostOrderRequestKey {
  readonly boostOrderId: string;
  readonly taskOrderId: string;
  readonly clientId: string;
  readonly quoteId: string;
  readonly funding: BoostTermsSnapshot['funding'];
}

export function boostRequestHash(request: BoostOrderRequestKey): string {
  const { boostOrderId, taskOrderId, clientId, quoteId, funding } = request;
  return sha256Hex(canonicalJson({ boostOrderId, taskOrderId, clientId, quoteId, funding }));
}

/** E1: the boost order's stream, oldest first. */
export function loadBoostEvents(db: Reader, boostOrderId: string): Promise<RecordedBoostEvent[]> {
  return loadStreamEvents<BoostEvent>(db, 'boost', boostStreamId(boostOrderId));
}

/** E2: the read-model row is a pure function of the folded state. */
export function boostOrderRow(state: BoostOrderState): NewBoostOrderRow {
  const { terms } = state;
  const deadlines = pendingBoostDeadlines(state);
  const next = deadlines[0];
  return {
    boost_order_id: terms.boostOrderId,
    task_order_id: terms.taskOrderId,
    client_id: terms.clientId,
    creator_id: terms.creatorId,
    quote_id: terms.quoteId,
    video_id: state.video?.videoId ?? null,
    status: state.status,
    end_reason: state.endReason ?? null,
    price_fen: terms.priceFen,
    boost_fee_fen: terms.boostFeeFen,
    expected_views: BigInt(terms.expectedViews),
    escrow_fen: state.escrowFen,
    refund_fen: state.refund?.amountFen ?? null,
    refund_due_at: state.refund ? new Date(state.refund.dueAtMs) : null,
    refund_posted_at: state.refund?.postedAt === undefined ? null : new Date(state.refund.postedAt),
    calendar_missing: state.calendarMissing,
    next_deadline_kind: next?.kind ?? null,
    next_deadline_at: next ? new Date(next.atMs) : null,
    request_hash: boostRequestHash(terms),
    version: state.version,
    ordered_at: new Date(state.orderedAt),
    updated_at: new Date(state.updatedAt),
    details: JSON.stringify(toStoredJson({ state, deadlines })),
  };
}

/**
 * B3: the placement's write requires its task order open and at the quoted price (db/stream-append.ts).
 * C4: not a checkout's boost: the checkout checked its line before the payment, and once paid every
 * line is placed even if its task order closed (or was repriced, T9) meanwhile; the boost then
 * ends with its task (B4), its fee refunded (B7).
 */
export function boostPlacementRequirement(events: readonly RecordedBoostEvent[]): TaskOrderRequirement | undefined {
  for (const { event } of events) {
    if (event.type !== 'BoostOrdered') continue;
    return event.funding.source === 'checkout' ? undefined : { taskOrderId: event.taskOrderId, priceFen: event.priceFen, closedStatuses: CLOSED_TASK_STATUSES };
  }
  return undefined;
}

/** B3: a second boost order for the same task order (the unique key of boost_orders). */
export class TaskAlreadyBoostedError extends Error {
  override readonly name = 'TaskAlreadyBoostedError';
}

/** B3: a second boost order for the same task order hits the unique key of boost_orders. */
export function translateBoostWriteError(error: unknown): unknown {
  const { code, constraint } = pgError(error);
  if (code === '23505' && constraint === 'boost_orders_task_order_id_key') {
    return new TaskAlreadyBoostedError('the task order already has a boost order (B3)');
  }
  return error;
}

export async function getBoostOrderRow(db: Reader, boostOrderId: string): Promise<BoostOrderRow | undefined> {
  return db.selectFrom('boost_orders').selectAll().where('boost_order_id', '=', boostOrderId).executeTakeFirst();
}

/** B3: the boost order linked to a task order, if any (at most one). */
export async function boostOrderIdOfTask(db: Reader, taskOrderId: string): Promise<string | undefined> {
  const row = await db.selectFrom('boost_orders').select('boost_order_id').where('task_order_id', '=', taskOrderId).executeTakeFirst();
  return row?.boost_order_id;
}

/** The state and deadlines a read-model row holds. */
export function boostOrderDetails(row: BoostOrderRow): { state: BoostOrderState; deadlines: ReturnType<typeof pendingBoostDeadlines> } {
  return fromStoredJson(row.details);
}

/** F5: the boost refunds scheduled and not posted yet (the read model), soonest first. */
export async function scheduledRefunds(db: Db, limit: number) {
  return db
    .selectFrom('boost_orders')
    .select(['boost_order_id', 'task_order_id', 'client_id', 'refund_fen', 'refund_due_at', 'calendar_missing'])
    .where('status', '=', 'refund_scheduled')
    .where('refund_posted_at', 'is', null)
    .orderBy('refund_due_at')
    .orderBy('boost_order_id')
    .limit(limit)
    .execute();
}

/** B8: the boost orders whose evaluation waits for a count of this video. */
export async function evaluatingBoostOrderIds(db: Reader, videoId: string): Promise<string[]> {
  const rows = await db.selectFrom('boost_orders').select('boost_order_id').where('video_id', '=', videoId).where('status', '=', 'evaluating').execute();
  return rows.map((r) => r.boost_order_id);
}
