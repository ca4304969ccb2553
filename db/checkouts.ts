import type { Transaction } from 'kysely';
import type { CheckoutContext, CheckoutEvent, CheckoutRequest, CheckoutState, RecordedCheckoutEvent } from '../domain/checkout';
import { checkoutStreamId } from '../domain/checkout/ids';
import type { BoostQuote } from '../domain/boost';
import { fromStoredJson, toStoredJson } from '../domain/json';
import type { Db } from './connect';
import { loadStreamEvents } from './events';
import { canonicalJson, sha256Hex } from './hash';
import type { CheckoutRow, Database, NewCheckoutRow } from './schema';

type Reader = Db | Transaction<Database>;

/** C4: what makes two POST /v1/checkouts the same checkout: the whole request. */
export function checkoutRequestHash(request: CheckoutRequest): string {
  const { checkoutId, clientId, paymentMode, funding, lines } = request;
  const canonicalLines = lines.map(({ orderId, creatorId, taskType, priceFen, brief, boost }) => ({ orderId, creatorId, taskType, priceFen, brief, boost: boost ?? null }));
  return sha256Hex(canonicalJson(toStoredJson({ checkoutId, clientId, paymentMode, funding, lines: canonicalLines })));
}

/** E1: the checkout's stream, oldest first. */
export function loadCheckoutEvents(db: Reader, checkoutId: string): Promise<RecordedCheckoutEvent[]> {
  return loadStreamEvents<CheckoutEvent>(db, 'checkout', checkoutStreamId(checkoutId));
}

/** The request a checkout's state was made from (the hash of a paid checkout's lines as sent). */
export function requestOfState(state: CheckoutState): CheckoutRequest {
  return { checkoutId: state.checkoutId, clientId: state.clientId, paymentMode: state.paymentMode, funding: state.funding, lines: state.requestLines };
}

/** E2: the read-model row, a pure function of the folded state. */
export function checkoutRow(state: CheckoutState): NewCheckoutRow {
  return {
    checkout_id: state.checkoutId,
    client_id: state.clientId,
    status: state.status,
    payment_mode: state.paymentMode,
    total_fen: state.totalFen,
    escrow_fen: state.escrowFen,
    line_count: state.lines.length,
    failed_line_index: state.failure?.lineIndex ?? null,
    failure_code: state.failure?.rejection.code ?? null,
    request_hash: checkoutRequestHash(requestOfState(state)),
    version: state.version,
    created_at: new Date(state.createdAt),
    updated_at: new Date(state.updatedAt),
    details: JSON.stringify(toStoredJson({ state })),
  };
}

export async function getCheckoutRow(db: Reader, checkoutId: string): Promise<CheckoutRow | undefined> {
  return db.selectFrom('checkouts').selectAll().where('checkout_id', '=', checkoutId).executeTakeFirst();
}

/** The state a read-model row holds. */
export function checkoutStateOf(row: CheckoutRow): CheckoutState {
  return fromStoredJson<{ state: CheckoutState }>(row.details).state;
}

/**
 * C2/C3: what pricing a checkout needs from the database: its cited quotes and which of its ids
 * orders already use (ids claimed by this very checkout are its own, not used).
 */
export async function checkoutContext(db: Db, request: CheckoutRequest): Promise<CheckoutContext> {
  const quoteIds = [...new Set(request.lines.flatMap((l) => (l.boost ? [l.boost.quoteId] : [])))];
  const orderIds = request.lines.map((l) => l.orderId);
  const boostIds = request.lines.flatMap((l) => (l.boost ? [l.boost.boostOrderId] : []));
  const [quotes, claims] = await Promise.all([
    quoteIds.length === 0 ? [] : db.selectFrom('boost_quotes').select(['quote_id', 'client_id', 'result']).where('quote_id', 'in', quoteIds).execute(),
    db
      .selectFrom('order_id_claims')
      .select(['id_kind', 'id', 'checkout_id'])
      .where((eb) => eb.or([eb.and([eb('id_kind', '=', 'task'), eb('id', 'in', orderIds)]), ...(boostIds.length ? [eb.and([eb('id_kind', '=', 'boost'), eb('id', 'in', boostIds)])] : [])]))
      .execute(),
  ]);
  const usedBy = (kind: 'task' | 'boost') => new Set(claims.filter((c) => c.id_kind === kind && c.checkout_id !== request.checkoutId).map((c) => c.id));
  return {
    quotes: new Map(quotes.map((q) => [q.quote_id, { ...fromStoredJson<BoostQuote>(q.result), quoteId: q.quote_id, clientId: q.client_id }])),
    usedOrderIds: usedBy('task'),
    usedBoostOrderIds: usedBy('boost'),
  };
}

/** C4: which of a checkout's task and boost orders are stored (their placements committed). */
export async function placedCheckoutOrders(db: Db, orderIds: readonly string[], boostOrderIds: readonly string[]): Promise<{ orderIds: string[]; boostOrderIds: string[] }> {
  const [tasks, boosts] = await Promise.all([
    orderIds.length === 0 ? [] : db.selectFrom('task_orders').select('order_id').where('order_id', 'in', [...orderIds]).execute(),
    boostOrderIds.length === 0 ? [] : db.selectFrom('boost_orders').select('boost_order_id').where('boost_order_id', 'in', [...boostOrderIds]).execute(),
  ]);
  return { orderIds: tasks.map((t) => t.order_id), boostOrderIds: boosts.map((b) => b.boost_order_id) };
}

/**
 * C5, O2: the status of each of a checkout's task and boost orders, by id (an id absent: not
 * placed yet). Ops and the console show a checkout with its orders as they stand now.
 */
export async function checkoutOrderStatuses(db: Reader, orderIds: readonly string[], boostOrderIds: readonly string[]): Promise<{ tasks: Map<string, string>; boosts: Map<string, string> }> {
  const [tasks, boosts] = await Promise.all([
    orderIds.length === 0 ? [] : db.selectFrom('task_orders').select(['order_id', 'status']).where('order_id', 'in', [...orderIds]).execute(),
    boostOrderIds.length === 0 ? [] : db.selectFrom('boost_orders').select(['boost_order_id', 'status']).where('boost_order_id', 'in', [...boostOrderIds]).execute(),
  ]);
  return { tasks: new Map(tasks.map((t) => [t.order_id, t.status])), boosts: new Map(boosts.map((b) => [b.boost_order_id, b.status])) };
}
