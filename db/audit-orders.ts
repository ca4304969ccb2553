import { sql, type Transaction } from 'kysely';
import { toStoredJson } from '../domain/json';
import { PLATFORM_ACCOUNTS } from '../domain/ledger/accounts';
import { mapLimit } from '../platform/map-limit';
import { canonicalJson } from './hash';
import { transactionContentHash } from './ledger';
import { BOOST_ORDERS, TASK_ORDERS, loadStreamsOf, type OrderKind, type OrderKindSpec, type Recorded } from './order-kinds';
import type { Database } from './schema';

export type { OrderKind } from './order-kinds';

type Trx = Transaction<Database>;

/** What the order part of the audit reports (db/audit.ts collects them). */
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

/**
 * L6's "the workflow's final state": what a closed order's workflow returned, as Temporal keeps it.
 * `unavailable`: Temporal no longer has the run (past the namespace's retention) or could not be
 * asked; the events and the ledger are then the record, and the audit says how many it could not
 * compare. `not_completed`: the run ended without a result (terminated, failed, timed out).
 */
export type WorkflowOutcome =
  | { readonly status: 'completed'; readonly finalState: unknown }
  | { readonly status: 'running' }
  | { readonly status: 'not_completed'; readonly how: string }
  | { readonly status: 'unavailable'; readonly reason: string };

export interface WorkflowOutcomes {
  outcomeOf(kind: OrderKind, orderId: string): Promise<WorkflowOutcome>;
}

export interface WorkflowComparison {
  /** Closed orders whose workflow's final state was compared with the fold of their events. */
  compared: number;
  /** Closed orders whose workflow is still running (it returns right after its last event). */
  running: number;
  /** Closed orders Temporal could not answer for (retention, or not reachable). */
  unavailable: number;
  /** Why no workflow was asked at all (no Temporal client given), if so. */
  skipped?: string;
}

export interface OrderAuditResult {
  checkedOrders: number;
  reconciledOrders: number;
  readonly byKind: Record<OrderKind, { checked: number; reconciled: number }>;
  readonly workflows: WorkflowComparison;
}

const ORDER_BATCH = 200;
const WORKFLOW_CONCURRENCY = 8;

/**
 * E2, L3/E1 and L6 for every task and boost order: the read-model row equals the projection of the
 * events; the order's ledger transactions are exactly those its events imply; a closed order's
 * escrow is zero and paid in = refunded + creator payout + platform revenue, in the ledger and in
 * the events alike, and (with `workflows`) the final state its workflow returned equals the fold of
 * its events.
 */
export async function auditOrders(trx: Trx, report: (d: OrderDiscrepancy) => void, workflows: WorkflowOutcomes | undefined): Promise<OrderAuditResult> {
  const result: OrderAuditResult = {
    checkedOrders: 0,
    reconciledOrders: 0,
    byKind: { task: { checked: 0, reconciled: 0 }, boost: { checked: 0, reconciled: 0 } },
    workflows: { compared: 0, running: 0, unavailable: 0, ...(workflows ? {} : { skipped: 'no Temporal client: final states not compared' }) },
  };
  await auditKind(trx, TASK_ORDERS, report, workflows, result);
  await auditKind(trx, BOOST_ORDERS, report, workflows, result);
  return result;
}

async function auditKind<S extends { status: string }, E, R extends object>(
  trx: Trx,
  spec: OrderKindSpec<S, E, R>,
  report: (d: OrderDiscrepancy) => void,
  workflows: WorkflowOutcomes | undefined,
  result: OrderAuditResult,
): Promise<void> {
  const { kind } = spec;
  const add = (d: Omit<OrderDiscrepancy, 'orderKind'>) => report({ ...d, orderKind: kind });
  let after = '';
  for (;;) {
    const rows = (await trx
      .selectFrom(spec.table)
      .selectAll()
      .where(spec.idColumn, '>', after)
      .orderBy(spec.idColumn)
      .limit(ORDER_BATCH)
      .execute()) as unknown as Array<Record<string, unknown>>;
    if (rows.length === 0) break;
    const ids = rows.map((r) => r[spec.idColumn] as string);
    const events = await loadStreamsOf<E>(trx, spec, ids);
    const ledger = await ledgerOf(trx, spec, ids);
    const escrow = await escrowFlowsOf(trx, spec, ids);
    const closed: Array<{ orderId: string; state: S }> = [];
    for (const row of rows) {
      result.checkedOrders += 1;
      result.byKind[kind].checked += 1;
      const orderId = row[spec.idColumn] as string;
      const stream = events.get(orderId) ?? [];
      if (stream.length === 0) {
        add({ kind: 'read_model_orphan', orderId, message: `${kind} order ${orderId} has a read-model row but no events` });
        continue;
      }
      const replayed = replay(spec, stream);
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
      if (spec.closedStatuses.includes(row.status as string) || spec.closedStatuses.includes(replayed.state.status)) {
        result.reconciledOrders += 1;
        result.byKind[kind].reconciled += 1;
        reconcile(add, kind, orderId, spec.escrowAccount(orderId), escrow.get(orderId) ?? [], replayed.escrowFlows);
        closed.push({ orderId, state: replayed.state });
      }
    }
    if (workflows) await compareWorkflows(add, kind, workflows, closed, result.workflows);
    after = ids[ids.length - 1] as string;
    if (rows.length < ORDER_BATCH) break;
  }

  // Event streams without a read-model row (a stream always starts with version 1).
  const streamOf = spec.streamId('');
  const { rows: missing } = await sql<{ order_id: string }>`
    select substr(e.order_id, ${streamOf.length + 1}) as order_id from order_events e
    where e.order_kind = ${kind} and e.version = 1
      and not exists (select 1 from ${sql.table(spec.table)} r where ${sql.ref(`r.${spec.idColumn}`)} = substr(e.order_id, ${streamOf.length + 1}))
    order by e.order_id limit 1000`.execute(trx);
  for (const { order_id } of missing) {
    add({ kind: 'read_model_missing', orderId: order_id, message: `${kind} order ${order_id} has events but no read-model row` });
  }
  // Transactions of this kind whose order has no read-model row.
  const { rows: strays } = await sql<{ tx_id: string; order_id: string | null }>`
    select l.tx_id, l.order_id from ledger_transactions l
    where l.tx_id like ${`${spec.txPrefix}%`}
      and not exists (select 1 from ${sql.table(spec.table)} r where ${sql.ref(`r.${spec.idColumn}`)} = l.order_id)
    order by l.seq limit 1000`.execute(trx);
  for (const { tx_id, order_id } of strays) {
    add({ kind: 'ledger_transaction_unexpected', txId: tx_id, orderId: order_id ?? '', message: `transaction ${tx_id} belongs to no known ${kind} order` });
  }
}

/** Stored content hash of each ledger transaction of this kind, per order. */
async function ledgerOf(trx: Trx, spec: Pick<OrderKindSpec<never, never, object>, 'txPrefix'>, orderIds: readonly string[]): Promise<Map<string, Map<string, string>>> {
  const rows = await trx
    .selectFrom('ledger_transactions')
    .select(['order_id', 'tx_id', 'content_hash'])
    .where('order_id', 'in', orderIds)
    .where('tx_id', 'like', `${spec.txPrefix}%`)
    .execute();
  const byOrder = new Map<string, Map<string, string>>();
  for (const row of rows) {
    const orderId = row.order_id as string;
    const map = byOrder.get(orderId) ?? new Map<string, string>();
    map.set(row.tx_id, row.content_hash);
    byOrder.set(orderId, map);
  }
  return byOrder;
}

interface EscrowFlow {
  readonly txId: string;
  readonly direction: 'in' | 'out';
  readonly counterparty: string;
  readonly amountFen: bigint;
}

/** Every transfer into or out of each order's escrow account, whatever transaction it is in. */
async function escrowFlowsOf(trx: Trx, spec: Pick<OrderKindSpec<never, never, object>, 'escrowAccount'>, orderIds: readonly string[]): Promise<Map<string, EscrowFlow[]>> {
  const orderOf = new Map(orderIds.map((id) => [spec.escrowAccount(id), id]));
  const escrows = [...orderOf.keys()];
  const rows = await trx
    .selectFrom('ledger_transfers')
    .select(['tx_id', 'debit_account', 'credit_account', 'amount_fen'])
    .where((eb) => eb.or([eb('debit_account', 'in', escrows), eb('credit_account', 'in', escrows)]))
    .execute();
  const byOrder = new Map<string, EscrowFlow[]>();
  const push = (orderId: string, flow: EscrowFlow) => byOrder.set(orderId, [...(byOrder.get(orderId) ?? []), flow]);
  for (const row of rows) {
    const into = orderOf.get(row.credit_account);
    const outOf = orderOf.get(row.debit_account);
    if (into !== undefined) push(into, { txId: row.tx_id, direction: 'in', counterparty: row.debit_account, amountFen: row.amount_fen });
    if (outOf !== undefined) push(outOf, { txId: row.tx_id, direction: 'out', counterparty: row.credit_account, amountFen: row.amount_fen });
  }
  return byOrder;
}

interface Replayed<S> {
  readonly state: S;
  /** The ledger transactions the events imply, as the activity posts them: content hash by id. */
  readonly expected: Map<string, string>;
  /** The escrow flows of those transactions. */
  readonly escrowFlows: EscrowFlow[];
}

/** Folds the events, collecting the ledger transactions they imply (L3, E1). */
function replay<S extends { status: string }, E>(spec: Pick<OrderKindSpec<S, E, object>, 'evolve' | 'ledgerTransactionFor'>, stream: ReadonlyArray<Recorded<E>>): Replayed<S> | { error: string } {
  try {
    let state: S | undefined;
    const expected = new Map<string, string>();
    const escrowFlows: EscrowFlow[] = [];
    for (const recorded of stream) {
      const tx = spec.ledgerTransactionFor(state, recorded);
      if (tx && tx.transfers.length > 0) {
        expected.set(tx.txId, transactionContentHash(tx, new Date(recorded.occurredAt)));
        for (const t of tx.transfers) {
          if (t.creditAccount.startsWith('escrow:')) escrowFlows.push({ txId: tx.txId, direction: 'in', counterparty: t.debitAccount, amountFen: t.amountFen });
          if (t.debitAccount.startsWith('escrow:')) escrowFlows.push({ txId: tx.txId, direction: 'out', counterparty: t.creditAccount, amountFen: t.amountFen });
        }
      }
      state = spec.evolve(state, recorded);
    }
    if (!state) return { error: 'empty stream' };
    return { state, expected, escrowFlows };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

type Add = (d: Omit<OrderDiscrepancy, 'orderKind'>) => void;

function project<S extends { status: string }>(spec: Pick<OrderKindSpec<S, never, object>, 'row'>, state: S): { row: Record<string, unknown> } | { error: string } {
  try {
    return { row: spec.row(state) as Record<string, unknown> };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** E2: the stored row equals the projection of the events, column by column. */
function compareReadModel(add: Add, kind: OrderKind, orderId: string, stored: Record<string, unknown>, expected: Record<string, unknown>): void {
  const differing = Object.entries(expected)
    .filter(([column, value]) => normalize(column, value) !== normalize(column, stored[column]))
    .map(([column]) => column);
  if (differing.length > 0) {
    add({ kind: 'read_model_mismatch', orderId, message: `${kind} order ${orderId}: read-model columns differ from the projection of its events: ${differing.join(', ')}` });
  }
}

function normalize(column: string, value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date || column.endsWith('_at')) {
    const ms = new Date(value as string | Date).getTime();
    return Number.isNaN(ms) ? `invalid date ${String(value)}` : new Date(ms).toISOString();
  }
  if (column === 'details') return canonicalJson(typeof value === 'string' ? JSON.parse(value) : value);
  return typeof value === 'bigint' ? `${value}n` : JSON.stringify(value);
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
  escrowBalance: bigint;
}

/** Classifies escrow flows; reports (when `add` is given) a flow that is none of L6's kinds. */
function money(add: Add | undefined, orderId: string, flows: readonly EscrowFlow[]): Money {
  const m: Money = { paidIn: 0n, refunded: 0n, creatorPayout: 0n, platformRevenue: 0n, escrowBalance: 0n };
  for (const flow of flows) {
    const { counterparty, amountFen } = flow;
    m.escrowBalance += flow.direction === 'in' ? amountFen : -amountFen;
    if (flow.direction === 'in') {
      if (counterparty.startsWith('client:') || counterparty === PLATFORM_ACCOUNTS.externalPayments) m.paidIn += amountFen;
      else add?.({ kind: 'unexpected_escrow_flow', orderId, txId: flow.txId, message: `order ${orderId}: ${amountFen} fen came into escrow from ${counterparty}` });
    } else if (counterparty.startsWith('client:')) m.refunded += amountFen;
    else if (counterparty.startsWith('creator:')) m.creatorPayout += amountFen;
    else if (counterparty.startsWith('platform:')) m.platformRevenue += amountFen;
    else add?.({ kind: 'unexpected_escrow_flow', orderId, txId: flow.txId, message: `order ${orderId}: ${amountFen} fen left escrow to ${counterparty}` });
  }
  return m;
}

const figures = (m: Money) => `paid in ${m.paidIn}, refunded ${m.refunded}, creator ${m.creatorPayout}, platform ${m.platformRevenue}`;

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
    if (m.paidIn !== m.refunded + m.creatorPayout + m.platformRevenue) {
      add({ kind: 'money_does_not_add_up', orderId, message: `${kind} order ${orderId} (${source}): ${figures(m)}: paid in ≠ refunded + creator + platform (L6)` });
    }
  }
  if (ledger.paidIn !== events.paidIn || ledger.refunded !== events.refunded || ledger.creatorPayout !== events.creatorPayout || ledger.platformRevenue !== events.platformRevenue) {
    add({ kind: 'money_differs_from_events', orderId, message: `${kind} order ${orderId}: ledger ${figures(ledger)}; events ${figures(events)} (L6)` });
  }
}

/** L6: the final state each closed order's workflow returned is the fold of its stored events. */
async function compareWorkflows(
  add: Add,
  kind: OrderKind,
  workflows: WorkflowOutcomes,
  closed: ReadonlyArray<{ orderId: string; state: unknown }>,
  tally: WorkflowComparison,
): Promise<void> {
  const outcomes = await mapLimit(closed, WORKFLOW_CONCURRENCY, ({ orderId }) =>
    workflows.outcomeOf(kind, orderId).catch((error: unknown): WorkflowOutcome => ({ status: 'unavailable', reason: error instanceof Error ? error.message : String(error) })),
  );
  closed.forEach(({ orderId, state }, i) => {
    const outcome = outcomes[i] as WorkflowOutcome;
    switch (outcome.status) {
      case 'completed': {
        tally.compared += 1;
        const differing = differingKeys(outcome.finalState, state);
        if (differing.length > 0) {
          add({ kind: 'workflow_state_differs', orderId, message: `${kind} order ${orderId}: its workflow ended with ${differing.join(', ')} other than its events say (L6)` });
        }
        return;
      }
      case 'running':
        tally.running += 1;
        return;
      case 'not_completed':
        add({ kind: 'workflow_not_completed', orderId, message: `${kind} order ${orderId} is closed but its workflow ended ${outcome.how}, without a final state` });
        return;
      case 'unavailable':
        tally.unavailable += 1;
        return;
      default: {
        const _exhaustive: never = outcome;
        return _exhaustive;
      }
    }
  });
}

/** The top-level fields in which two states differ, compared as stored JSON. */
function differingKeys(a: unknown, b: unknown): string[] {
  const left = toStoredJson(a) as Record<string, unknown> | null;
  const right = toStoredJson(b) as Record<string, unknown> | null;
  if (typeof left !== 'object' || left === null || typeof right !== 'object' || right === null) return canonicalJson(left) === canonicalJson(right) ? [] : ['its state'];
  const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort();
  return keys.filter((key) => canonicalJson(left[key] ?? null) !== canonicalJson(right[key] ?? null));
}
