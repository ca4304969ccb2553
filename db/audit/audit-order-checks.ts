import { toStoredJson } from '../../domain/json';
import { PLATFORM_ACCOUNTS, boostEscrowAccount, checkoutEscrowAccount, taskEscrowAccount } from '../../domain/ledger/accounts';
import { ledgerContentHash } from './audit-hash';
import { canonicalJson } from '../hash';
import type { RecordedEvent as Recorded } from '../../domain/recorded-event';
import type { OrderKindOf } from '../../domain/order-kind';
import { ORDER_KIND_SPECS, type OrderKind, type OrderKindSpec } from '../order-kinds';

/**
 * The order part of the audit (F3: E2, L3/E1, L6) for one batch of orders, from their rows as read
 * (db/audit/audit-orders.ts loads them): pure CPU, no I/O, so that it runs on the audit's thread or on
 * a worker thread (db/audit/audit-worker.ts) alike, with the same result.
 */

/** What the order part of the audit reports (db/audit/audit.ts collects them). */
export type OrderDiscrepancyKind =
  | 'event_stream_invalid'
  | 'read_model_missing'
  | 'read_model_orphan'
  | 'read_model_mismatch'
  | 'ledger_transaction_missing'
  | 'ledger_transaction_unexpected'
  | 'ledger_transaction_differs_from_events'
  | 'escrow_not_zero'
  | 'money_does_not_add_up'
  | 'money_differs_from_events'
  | 'unexpected_escrow_flow'
  | 'workflow_state_differs'
  | 'workflow_not_completed';

export interface OrderDiscrepancy {
  readonly kind: OrderDiscrepancyKind;
  readonly orderKind: OrderKind;
  readonly orderId: string;
  readonly txId?: string;
  readonly account?: string;
  readonly message: string;
}

export interface EventRow {
  order_id: string;
  version: number;
  /** occurred_at in epoch milliseconds (the floor of the instant, as a Date from pg holds it). */
  occurred_ms: number;
  payload: string;
}
export interface LedgerRow {
  order_id: string;
  tx_id: string;
  content_hash: string;
}
export interface TransferRow {
  tx_id: string;
  transfer_index: number;
  debit_account: string;
  credit_account: string;
  amount_fen: bigint;
}

/**
 * One batch of orders as read from the database, column by column (arrays of strings and
 * numbers: quick to copy to a worker thread, where arrays of objects are slow to clone).
 */
export interface RawOrderBatch {
  readonly kind: OrderKind;
  /** The ids asked for (incremental) or found (keyset), in order. */
  readonly ids: readonly string[];
  /** Their read-model rows: the column names and each column's values (`details` as JSON text, timestamps `…_at` in epoch ms). */
  readonly rows: { readonly columns: readonly string[]; readonly values: ReadonlyArray<readonly unknown[]> };
  /** Events of their streams (and maybe of others: dropped), in stream and version order. */
  readonly events: { readonly streamIds: readonly string[]; readonly versions: Int32Array; readonly occurredMs: Float64Array; readonly payloads: readonly string[] };
  /** Their ledger transactions of this kind (and maybe others': dropped). */
  readonly ledger: { readonly orderIds: readonly string[]; readonly txIds: readonly string[]; readonly contentHashes: readonly string[] };
  /** Transfers into or out of their escrow accounts (and maybe others': dropped; a transfer may come twice). */
  readonly escrow: { readonly txIds: readonly string[]; readonly indexes: Int32Array; readonly debits: readonly string[]; readonly credits: readonly string[]; readonly amounts: readonly bigint[] };
}

/** A batch read as rows (pg's result), column by column. */
export function columnarBatch(kind: OrderKind, ids: readonly string[], rows: ReadonlyArray<Record<string, unknown>>, events: readonly EventRow[], ledger: readonly LedgerRow[], escrow: readonly TransferRow[]): RawOrderBatch {
  const columns = rows[0] ? Object.keys(rows[0]) : [];
  const values = columns.map(() => new Array<unknown>(rows.length));
  for (let i = 0; i < rows.length; i += 1) {
    const row = rows[i] as Record<string, unknown>;
    for (let c = 0; c < columns.length; c += 1) (values[c] as unknown[])[i] = row[columns[c] as string];
  }
  const n = events.length;
  const streamIds = new Array<string>(n);
  const versions = new Int32Array(n);
  const occurredMs = new Float64Array(n);
  const payloads = new Array<string>(n);
  for (let i = 0; i < n; i += 1) {
    const e = events[i] as EventRow;
    streamIds[i] = e.order_id;
    versions[i] = e.version;
    occurredMs[i] = e.occurred_ms;
    payloads[i] = e.payload;
  }
  const m = escrow.length;
  const escrowColumns = { txIds: new Array<string>(m), indexes: new Int32Array(m), debits: new Array<string>(m), credits: new Array<string>(m), amounts: new Array<bigint>(m) };
  for (let i = 0; i < m; i += 1) {
    const t = escrow[i] as TransferRow;
    escrowColumns.txIds[i] = t.tx_id;
    escrowColumns.indexes[i] = t.transfer_index;
    escrowColumns.debits[i] = t.debit_account;
    escrowColumns.credits[i] = t.credit_account;
    escrowColumns.amounts[i] = t.amount_fen;
  }
  return {
    kind,
    ids,
    rows: { columns, values },
    events: { streamIds, versions, occurredMs, payloads },
    ledger: { orderIds: ledger.map((l) => l.order_id), txIds: ledger.map((l) => l.tx_id), contentHashes: ledger.map((l) => l.content_hash) },
    escrow: escrowColumns,
  };
}

export interface OrderBatchResult {
  readonly discrepancies: OrderDiscrepancy[];
  readonly checked: number;
  readonly reconciled: number;
  /** The closed orders, with the state their events fold to (`wantStates`) for L6 against the workflows. */
  readonly closed: Array<{ readonly orderId: string; readonly state?: unknown }>;
}

/** The read-model rows of a batch by order id, back from columns to objects. */
function rowsOf(rows: RawOrderBatch['rows'], idColumn: string): Map<string, Record<string, unknown>> {
  const byId = new Map<string, Record<string, unknown>>();
  const { columns, values } = rows;
  const ids = values[columns.indexOf(idColumn)] ?? [];
  for (let i = 0; i < ids.length; i += 1) {
    const row: Record<string, unknown> = {};
    for (let c = 0; c < columns.length; c += 1) row[columns[c] as string] = (values[c] as readonly unknown[])[i];
    byId.set(ids[i] as string, row);
  }
  return byId;
}

/** E2, L3/E1 and L6 for the orders of one batch. */
export function checkOrderBatch(raw: RawOrderBatch, wantStates: boolean): OrderBatchResult {
  const spec = ORDER_KIND_SPECS[raw.kind] as unknown as OrderKindSpec<{ status: string }, unknown, object>;
  const { definition } = spec;
  const { kind } = definition;
  const discrepancies: OrderDiscrepancy[] = [];
  const add: Add = (d) => discrepancies.push({ ...d, orderKind: kind });
  const result = { discrepancies, checked: 0, reconciled: 0, closed: [] as Array<{ orderId: string; state?: unknown }> };
  const streamPrefix = definition.streamId('');
  const escrowPrefix = definition.escrowAccount('');
  const wanted = new Set(raw.ids);

  const streams = new Map<string, Array<Recorded<unknown>>>();
  const { streamIds, versions, occurredMs, payloads } = raw.events;
  for (let i = 0; i < streamIds.length; i += 1) {
    const streamId = streamIds[i] as string;
    if (!streamId.startsWith(streamPrefix)) continue;
    const orderId = streamId.slice(streamPrefix.length);
    if (!wanted.has(orderId)) continue;
    let list = streams.get(orderId);
    if (!list) streams.set(orderId, (list = []));
    list.push({ version: versions[i] as number, occurredAt: occurredMs[i] as number, event: parseStoredJson(payloads[i] as string) });
  }
  const ledger = new Map<string, Map<string, string>>();
  raw.ledger.orderIds.forEach((orderId, i) => {
    let map = ledger.get(orderId);
    if (!map) ledger.set(orderId, (map = new Map()));
    map.set(raw.ledger.txIds[i] as string, raw.ledger.contentHashes[i] as string);
  });
  const flows = new Map<string, EscrowFlow[]>();
  const push = (orderId: string, flow: EscrowFlow) => {
    let list = flows.get(orderId);
    if (!list) flows.set(orderId, (list = []));
    list.push(flow);
  };
  const ownEscrow = (account: string) => (account.startsWith(escrowPrefix) && wanted.has(account.slice(escrowPrefix.length)) ? account.slice(escrowPrefix.length) : undefined);
  // A transfer between two escrows comes back once per side: keep each transfer once.
  const seen = new Set<string>();
  const { txIds, indexes, debits, credits, amounts } = raw.escrow;
  for (let i = 0; i < txIds.length; i += 1) {
    const txId = txIds[i] as string;
    const key = `${indexes[i]} ${txId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const debit = debits[i] as string;
    const credit = credits[i] as string;
    const amountFen = amounts[i] as bigint;
    const into = ownEscrow(credit);
    const outOf = ownEscrow(debit);
    if (into !== undefined) push(into, { txId, direction: 'in', counterparty: debit, amountFen });
    if (outOf !== undefined) push(outOf, { txId, direction: 'out', counterparty: credit, amountFen });
  }

  const rowsById = rowsOf(raw.rows, spec.idColumn);
  for (const orderId of raw.ids) {
    const row = rowsById.get(orderId);
    const stream = streams.get(orderId) ?? [];
    if (!row) {
      // Incremental only (a keyset batch has a row for every id): an order with new events or
      // transactions but no read-model row.
      if (stream.length > 0) add({ kind: 'read_model_missing', orderId, message: `${kind} order ${orderId} has events but no read-model row` });
      for (const txId of ledger.get(orderId)?.keys() ?? []) {
        add({ kind: 'ledger_transaction_unexpected', txId, orderId, message: `transaction ${txId} belongs to no known ${kind} order` });
      }
      continue;
    }
    result.checked += 1;
    if (stream.length === 0) {
      add({ kind: 'read_model_orphan', orderId, message: `${kind} order ${orderId} has a read-model row but no events` });
      continue;
    }
    const replayed = replay(definition, definition.escrowAccount(orderId), stream);
    if ('error' in replayed) {
      add({ kind: 'event_stream_invalid', orderId, message: `${kind} order ${orderId}: its events do not fold: ${replayed.error}` });
      continue;
    }
    const projected = project(spec, replayed.state);
    if ('error' in projected) {
      add({ kind: 'event_stream_invalid', orderId, message: `${kind} order ${orderId}: its events fold to a state with no read-model row: ${projected.error}` });
      continue;
    }
    compareReadModel(add, kind, orderId, row, projected.row);
    compareLedger(add, kind, orderId, replayed.expected, ledger.get(orderId) ?? new Map());
    if (definition.closedStatuses.includes(row.status as string) || definition.closedStatuses.includes(replayed.state.status)) {
      result.reconciled += 1;
      reconcile(add, kind, orderId, definition.escrowAccount(orderId), flows.get(orderId) ?? [], replayed.escrowFlows);
      result.closed.push(wantStates ? { orderId, state: replayed.state } : { orderId });
    }
  }
  return result;
}

/**
 * domain/json.ts fromStoredJson, from the stored text: bigint back for every …Fen and …Bp key whose
 * value is a decimal string. One plain JSON.parse and a walk: a reviver makes JSON.parse several
 * times slower (test/audit-hash.unit.test.ts holds the two equal).
 */
const BIGINT_KEY = /(Fen|Bp)$/;
const INTEGER = /^-?\d+$/;
export function parseStoredJson<T>(text: string): T {
  const value = JSON.parse(text) as unknown;
  if (value !== null && typeof value === 'object') reviveBigints(value as Record<string, unknown>);
  return value as T;
}

function reviveBigints(node: Record<string, unknown> | unknown[]): void {
  if (Array.isArray(node)) {
    for (const item of node) if (item !== null && typeof item === 'object') reviveBigints(item as Record<string, unknown>);
    return;
  }
  for (const key of Object.keys(node)) {
    const v = node[key];
    if (typeof v === 'string') {
      if (BIGINT_KEY.test(key) && INTEGER.test(v)) node[key] = BigInt(v);
    } else if (v !== null && typeof v === 'object') reviveBigints(v as Record<string, unknown>);
  }
}

export interface EscrowFlow {
  readonly txId: string;
  readonly direction: 'in' | 'out';
  readonly counterparty: string;
  readonly amountFen: bigint;
}

interface Replayed<S> {
  readonly state: S;
  /** The ledger transactions the events imply, as the activity posts them: content hash by id. */
  readonly expected: Map<string, string>;
  /** The escrow flows of those transactions. */
  readonly escrowFlows: EscrowFlow[];
}

/**
 * Folds the events, collecting the ledger transactions they imply (L3, E1) and their flows in and
 * out of the order's own escrow `account` — only that one: a checkout's line is paid from the
 * checkout's escrow, which is not the line's (C4).
 */
function replay<S extends { status: string }, E>(
  definition: Pick<OrderKindOf<S, E>, 'evolve' | 'ledgerTransactionFor' | 'fundsOthers'>,
  account: string,
  stream: ReadonlyArray<Recorded<E>>,
): Replayed<S> | { error: string } {
  try {
    let state: S | undefined;
    const expected = new Map<string, string>();
    const escrowFlows: EscrowFlow[] = [];
    for (const recorded of stream) {
      const tx = definition.ledgerTransactionFor(state, recorded);
      if (tx && tx.transfers.length > 0) {
        expected.set(tx.txId, ledgerContentHash(tx, new Date(recorded.occurredAt)));
        for (const t of tx.transfers) {
          if (t.creditAccount === account) escrowFlows.push({ txId: tx.txId, direction: 'in', counterparty: t.debitAccount, amountFen: t.amountFen });
          if (t.debitAccount === account) escrowFlows.push({ txId: tx.txId, direction: 'out', counterparty: t.creditAccount, amountFen: t.amountFen });
        }
      }
      for (const funded of definition.fundsOthers?.(state, recorded) ?? []) {
        escrowFlows.push({ txId: `funds:${funded.account}`, direction: 'out', counterparty: funded.account, amountFen: funded.amountFen });
      }
      state = definition.evolve(state, recorded);
    }
    if (!state) return { error: 'empty stream' };
    return { state, expected, escrowFlows };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

export type Add = (d: Omit<OrderDiscrepancy, 'orderKind'>) => void;

function project<S extends { status: string }>(spec: Pick<OrderKindSpec<S, never, object>, 'row'>, state: S): { row: Record<string, unknown> } | { error: string } {
  try {
    return { row: spec.row(state) as Record<string, unknown> };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** L3/E1: the order's stored ledger transactions are exactly those its events imply. */
function compareLedger(add: Add, kind: OrderKind, orderId: string, expected: Map<string, string>, stored: Map<string, string>): void {
  for (const [txId, hash] of expected) {
    const actual = stored.get(txId);
    if (actual === undefined) {
      add({ kind: 'ledger_transaction_missing', orderId, txId, message: `${kind} order ${orderId}: its events imply transaction ${txId}, which is not in the ledger` });
    } else if (actual !== hash) {
      add({ kind: 'ledger_transaction_differs_from_events', orderId, txId, message: `${kind} order ${orderId}: transaction ${txId} differs from what its events imply` });
    }
  }
  for (const txId of stored.keys()) {
    if (!expected.has(txId)) {
      add({ kind: 'ledger_transaction_unexpected', orderId, txId, message: `${kind} order ${orderId}: transaction ${txId} is implied by none of its events` });
    }
  }
}

interface Money {
  paidIn: bigint;
  refunded: bigint;
  creatorPayout: bigint;
  platformRevenue: bigint;
  /** C4: what a checkout's escrow paid into its lines' escrows. */
  placed: bigint;
  escrowBalance: bigint;
}

/** C4: a checkout's escrow pays its lines into their escrows; a line is paid in from it. */
const CHECKOUT_ESCROW = checkoutEscrowAccount('');
const LINE_ESCROWS = [taskEscrowAccount(''), boostEscrowAccount('')];

/** Classifies escrow flows; reports (when `add` is given) a flow that is none of L6's kinds. */
function money(add: Add | undefined, orderId: string, flows: readonly EscrowFlow[]): Money {
  const m: Money = { paidIn: 0n, refunded: 0n, creatorPayout: 0n, platformRevenue: 0n, placed: 0n, escrowBalance: 0n };
  for (const flow of flows) {
    const { counterparty, amountFen } = flow;
    m.escrowBalance += flow.direction === 'in' ? amountFen : -amountFen;
    if (flow.direction === 'in') {
      if (counterparty.startsWith('client:') || counterparty === PLATFORM_ACCOUNTS.externalPayments || counterparty.startsWith(CHECKOUT_ESCROW)) m.paidIn += amountFen;
      else add?.({ kind: 'unexpected_escrow_flow', orderId, txId: flow.txId, message: `order ${orderId}: ${amountFen} fen came into escrow from ${counterparty}` });
    } else if (counterparty.startsWith('client:')) m.refunded += amountFen;
    else if (counterparty.startsWith('creator:')) m.creatorPayout += amountFen;
    else if (counterparty.startsWith('platform:')) m.platformRevenue += amountFen;
    else if (LINE_ESCROWS.some((prefix) => counterparty.startsWith(prefix))) m.placed += amountFen;
    else add?.({ kind: 'unexpected_escrow_flow', orderId, txId: flow.txId, message: `order ${orderId}: ${amountFen} fen left escrow to ${counterparty}` });
  }
  return m;
}

const figures = (m: Money) => `paid in ${m.paidIn}, refunded ${m.refunded}, creator ${m.creatorPayout}, platform ${m.platformRevenue}${m.placed === 0n ? '' : `, placed ${m.placed}`}`;

/**
 * L6: a closed order's escrow is empty; paid in = refunded + creator payout + platform revenue;
 * and these four figures in the ledger are those of the order's events.
 */
function reconcile(add: Add, kind: OrderKind, orderId: string, account: string, ledgerFlows: readonly EscrowFlow[], eventFlows: readonly EscrowFlow[]): void {
  const ledger = money(add, orderId, ledgerFlows);
  const events = money(undefined, orderId, eventFlows);
  if (ledger.escrowBalance !== 0n) {
    add({ kind: 'escrow_not_zero', orderId, account, message: `${kind} order ${orderId} is closed but its escrow holds ${ledger.escrowBalance} fen (L6)` });
  }
  for (const [source, m] of [
    ['ledger', ledger],
    ['events', events],
  ] as const) {
    if (m.paidIn !== m.refunded + m.creatorPayout + m.platformRevenue + m.placed) {
      add({ kind: 'money_does_not_add_up', orderId, message: `${kind} order ${orderId} (${source}): ${figures(m)}: paid in ≠ refunded + creator + platform + placed lines (L6, C4)` });
    }
  }
  if (ledger.paidIn !== events.paidIn || ledger.refunded !== events.refunded || ledger.creatorPayout !== events.creatorPayout || ledger.platformRevenue !== events.platformRevenue || ledger.placed !== events.placed) {
    add({ kind: 'money_differs_from_events', orderId, message: `${kind} order ${orderId}: ledger ${figures(ledger)}; events ${figures(events)} (L6)` });
  }
}

/**
 * E2: the stored row equals the projection of the events, column by column — as their normalized
 * texts compare (timestamps to the millisecond, bigint apart from numbers, `details` as JSON values,
 * key order aside), with fast paths for the common cases that say the same.
 */
function compareReadModel(add: Add, kind: OrderKind, orderId: string, stored: Record<string, unknown>, expected: Record<string, unknown>): void {
  let differing: string[] | undefined;
  for (const column in expected) {
    if (!sameColumn(column, expected[column], stored[column])) (differing ??= []).push(column);
  }
  if (differing) {
    add({ kind: 'read_model_mismatch', orderId, message: `${kind} order ${orderId}: read-model columns differ from the projection of its events: ${differing.join(', ')}` });
  }
}

/** The largest epoch ms a Date holds. */
const MAX_TIME_MS = 8.64e15;

export function sameColumn(column: string, expected: unknown, stored: unknown): boolean {
  if (column === 'details') return sameDetails(expected, stored);
  if ((expected === null || expected === undefined) && (stored === null || stored === undefined)) return true;
  if (typeof expected === 'number' && typeof stored === 'number' && Number.isFinite(expected) && Number.isFinite(stored) && !column.endsWith('_at')) return expected === stored;
  if (typeof expected === 'string' && typeof stored === 'number' && column.endsWith('_at')) {
    const ms = Date.parse(expected);
    if (Number.isFinite(ms) && Math.abs(stored) <= MAX_TIME_MS) return ms === Math.trunc(stored);
  }
  if (typeof expected === typeof stored && (typeof expected === 'string' || typeof expected === 'bigint' || typeof expected === 'boolean') && !column.endsWith('_at')) {
    return expected === stored;
  }
  if (expected instanceof Date && (stored instanceof Date || typeof stored === 'number')) {
    // A number is epoch ms, as new Date(number) reads it (truncated).
    const a = expected.getTime();
    const b = stored instanceof Date ? stored.getTime() : stored;
    if (Number.isFinite(a) && Math.abs(b) <= MAX_TIME_MS) return a === Math.trunc(b);
  }
  return normalize(column, expected) === normalize(column, stored);
}

/** `details` (JSON): equal as JSON values, key order aside — what comparing their canonical JSON texts says, without building them. */
function sameDetails(expected: unknown, stored: unknown): boolean {
  const expectedNull = expected === null || expected === undefined;
  const storedNull = stored === null || stored === undefined;
  if (expectedNull || storedNull) return expectedNull && storedNull;
  return jsonEqual(parseDetails(expected), parseDetails(stored));
}

function parseDetails(value: unknown): unknown {
  return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
}

/** Deep equality of two parsed JSON values (objects compared by their keys, whatever their order). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i += 1) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let count = 0;
  for (const key in left) {
    count += 1;
    if (!Object.prototype.hasOwnProperty.call(right, key) || !jsonEqual(left[key], right[key])) return false;
  }
  for (const key in right) if (Object.prototype.hasOwnProperty.call(right, key)) count -= 1;
  return count === 0;
}

/** A column's value as a text that is equal exactly when the values are the same (the reference sameColumn's fast paths keep to). */
export function normalize(column: string, value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date || column.endsWith('_at')) {
    const ms = new Date(value as string | Date).getTime();
    return Number.isNaN(ms) ? `invalid date ${String(value)}` : new Date(ms).toISOString();
  }
  if (column === 'details') return canonicalJson(typeof value === 'string' ? JSON.parse(value) : value);
  return typeof value === 'bigint' ? `${value}n` : JSON.stringify(value);
}

/** The top-level fields in which two states differ, compared as stored JSON. */
export function differingKeys(a: unknown, b: unknown): string[] {
  const left = toStoredJson(a) as Record<string, unknown> | null;
  const right = toStoredJson(b) as Record<string, unknown> | null;
  if (typeof left !== 'object' || left === null || typeof right !== 'object' || right === null) return canonicalJson(left) === canonicalJson(right) ? [] : ['its state'];
  const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort();
  return keys.filter((key) => canonicalJson(left[key] ?? null) !== canonicalJson(right[key] ?? null));
}
