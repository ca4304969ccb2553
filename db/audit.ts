import { sql, type Transaction } from 'kysely';
import { fromStoredJson } from '../domain/json';
import { PLATFORM_ACCOUNTS } from '../domain/ledger/accounts';
import type { LedgerTransaction } from '../domain/ledger/types';
import { evolve, ledgerTransactionFor, type RecordedTaskEvent, type TaskEvent, type TaskOrderState } from '../domain/task-order';
import type { Db } from './connect';
import { canonicalJson } from './hash';
import { readSnapshot } from './finance';
import { GENESIS_HASH, chainHash, transactionContentHash } from './ledger';
import type { Database, NewTaskOrderRow, TaskOrderRow } from './schema';
import { taskOrderRow } from './task-orders';

/**
 * F3: the audit. Re-verifies, from the stored rows and in one snapshot:
 * - L4 the hash chains: each transaction's content hash recomputed from its rows, each link to the
 *   previous transaction of its chain, chain_seq without gaps, and each chain's head;
 * - L1 double entry: every transaction has transfers, the balances sum to zero, client balance
 *   rows equal the sums over the transfers and none is negative (L2);
 * - E2 every task order's read-model row equals the projection of its events;
 * - L3/E1 every order's ledger transactions are exactly those its events imply;
 * - L6 for every closed order (completed or cancelled): its escrow is zero and the money adds up:
 *   paid in = refunded + creator payout + platform revenue.
 */

export type DiscrepancyKind =
  | 'content_hash_mismatch'
  | 'chain_link_broken'
  | 'chain_hash_mismatch'
  | 'chain_seq_gap'
  | 'chain_head_mismatch'
  | 'transaction_outside_chains'
  | 'transaction_without_transfers'
  | 'transfer_invalid'
  | 'trial_balance_nonzero'
  | 'client_balance_mismatch'
  | 'client_overdrawn'
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
  | 'unexpected_escrow_flow';

export interface Discrepancy {
  readonly kind: DiscrepancyKind;
  readonly txId?: string;
  readonly orderId?: string;
  readonly chainId?: number;
  readonly account?: string;
  readonly message: string;
}

export interface AuditReport {
  readonly ok: boolean;
  readonly checkedTransactions: number;
  readonly checkedChains: number;
  readonly checkedOrders: number;
  /** Closed orders reconciled under L6. */
  readonly reconciledOrders: number;
  readonly discrepancyCount: number;
  /** The first `maxDiscrepancies` discrepancies (all of them unless discrepancyCount is larger). */
  readonly discrepancies: Discrepancy[];
}

type Trx = Transaction<Database>;

const BATCH = 1000;
const ORDER_BATCH = 200;
const CLOSED_STATUSES = ['completed', 'cancelled'];

class Findings {
  readonly list: Discrepancy[] = [];
  count = 0;
  constructor(private readonly max: number) {}
  add(d: Discrepancy): void {
    this.count += 1;
    if (this.list.length < this.max) this.list.push(d);
  }
}

export async function auditLedger(db: Db, options: { maxDiscrepancies?: number } = {}): Promise<AuditReport> {
  const findings = new Findings(options.maxDiscrepancies ?? 1000);
  return readSnapshot(db, async (trx) => {
    const { checkedTransactions, checkedChains } = await auditChains(trx, findings);
    await auditDoubleEntry(trx, findings);
    const { checkedOrders, reconciledOrders } = await auditTaskOrders(trx, findings);
    return {
      ok: findings.count === 0,
      checkedTransactions,
      checkedChains,
      checkedOrders,
      reconciledOrders,
      discrepancyCount: findings.count,
      discrepancies: findings.list,
    };
  });
}

// ── L4: chains ─────────────────────────────────────────────────────────────────────────────────

interface StoredTransfer {
  readonly tx_id: string;
  readonly transfer_index: number;
  readonly debit_account: string;
  readonly credit_account: string;
  readonly amount_fen: bigint;
}

async function transfersOf(trx: Trx, txIds: readonly string[]): Promise<Map<string, StoredTransfer[]>> {
  const byTx = new Map<string, StoredTransfer[]>();
  if (txIds.length === 0) return byTx;
  const rows = await trx
    .selectFrom('ledger_transfers')
    .select(['tx_id', 'transfer_index', 'debit_account', 'credit_account', 'amount_fen'])
    .where('tx_id', 'in', txIds)
    .orderBy('tx_id')
    .orderBy('transfer_index')
    .execute();
  for (const row of rows) {
    const list = byTx.get(row.tx_id) ?? [];
    list.push(row);
    byTx.set(row.tx_id, list);
  }
  return byTx;
}

async function auditChains(trx: Trx, findings: Findings): Promise<{ checkedTransactions: number; checkedChains: number }> {
  const heads = await trx.selectFrom('ledger_chain_heads').selectAll().orderBy('chain_id').execute();
  let checkedTransactions = 0;
  for (const head of heads) {
    const chainId = head.chain_id;
    let expectedSeq = 1n;
    let prevHash = GENESIS_HASH;
    for (;;) {
      const txs = await trx
        .selectFrom('ledger_transactions')
        .selectAll()
        .where('chain_id', '=', chainId)
        .where('chain_seq', '>=', expectedSeq)
        .orderBy('chain_seq')
        .limit(BATCH)
        .execute();
      if (txs.length === 0) break;
      const transfers = await transfersOf(
        trx,
        txs.map((t) => t.tx_id),
      );
      for (const tx of txs) {
        checkedTransactions += 1;
        const txId = tx.tx_id;
        if (tx.chain_seq !== expectedSeq) {
          findings.add({ kind: 'chain_seq_gap', chainId, txId, message: `chain ${chainId}: expected seq ${expectedSeq}, found ${tx.chain_seq} (a transaction is missing)` });
        }
        if (tx.prev_hash !== prevHash) {
          findings.add({ kind: 'chain_link_broken', chainId, txId, message: `chain ${chainId} seq ${tx.chain_seq}: prev_hash does not match the previous transaction's hash` });
        }
        if (tx.chain_hash !== chainHash(tx.prev_hash, tx.content_hash)) {
          findings.add({ kind: 'chain_hash_mismatch', chainId, txId, message: `chain ${chainId} seq ${tx.chain_seq}: chain_hash is not hash(prev_hash, content_hash)` });
        }
        const own = transfers.get(txId) ?? [];
        checkTransfers(findings, txId, tx.order_id, own);
        const content: LedgerTransaction = {
          txId,
          kind: tx.kind,
          orderId: tx.order_id,
          transfers: own.map((t) => ({ debitAccount: t.debit_account, creditAccount: t.credit_account, amountFen: t.amount_fen })),
          ...(tx.external_payment_ref === null ? {} : { externalPaymentRef: tx.external_payment_ref }),
        };
        if (transactionContentHash(content, tx.occurred_at) !== tx.content_hash) {
          findings.add({
            kind: 'content_hash_mismatch',
            chainId,
            txId,
            ...(tx.order_id === null ? {} : { orderId: tx.order_id }),
            message: `transaction ${txId}: its rows no longer match the hash recorded when it was posted (altered after posting)`,
          });
        }
        prevHash = tx.chain_hash;
        expectedSeq = tx.chain_seq + 1n;
      }
      if (txs.length < BATCH) break;
    }
    const last = expectedSeq - 1n;
    if (head.seq !== last || head.hash !== prevHash) {
      findings.add({
        kind: 'chain_head_mismatch',
        chainId,
        message: `chain ${chainId}: head is at seq ${head.seq}, the stored chain ends at seq ${last}${head.hash !== prevHash ? ' with another hash' : ''} (transactions missing at its end?)`,
      });
    }
  }
  const { rows } = await sql<{ n: bigint }>`
    select count(*)::int8 as n from ledger_transactions t where not exists (select 1 from ledger_chain_heads h where h.chain_id = t.chain_id)`.execute(trx);
  const outside = rows[0]?.n ?? 0n;
  if (outside > 0n) findings.add({ kind: 'transaction_outside_chains', message: `${outside} transaction(s) belong to no known chain` });
  return { checkedTransactions, checkedChains: heads.length };
}

function checkTransfers(findings: Findings, txId: string, orderId: string | null, transfers: readonly StoredTransfer[]): void {
  const order = orderId === null ? {} : { orderId };
  if (transfers.length === 0) {
    findings.add({ kind: 'transaction_without_transfers', txId, ...order, message: `transaction ${txId} has no transfers (L1)` });
    return;
  }
  transfers.forEach((t, i) => {
    if (t.transfer_index !== i) findings.add({ kind: 'transfer_invalid', txId, ...order, message: `transaction ${txId}: transfer ${i} is missing` });
    if (t.amount_fen <= 0n || t.debit_account === t.credit_account) {
      findings.add({ kind: 'transfer_invalid', txId, ...order, message: `transaction ${txId}: transfer ${t.transfer_index} is not a positive transfer between two accounts` });
    }
  });
}

// ── L1, L2: double entry and client balances ───────────────────────────────────────────────────

async function auditDoubleEntry(trx: Trx, findings: Findings): Promise<void> {
  const { rows: totals } = await sql<{ total: bigint }>`
    select ((select coalesce(sum(amount_fen), 0) from ledger_transfers) - (select coalesce(sum(amount_fen), 0) from ledger_transfers))::int8 as total`.execute(trx);
  // Trivially zero for rows of the shape (debit, credit, amount); kept as the literal F3 check.
  const total = totals[0]?.total ?? 0n;
  if (total !== 0n) findings.add({ kind: 'trial_balance_nonzero', message: `the balances sum to ${total} fen, not 0` });

  const { rows } = await sql<{ account: string; summed: bigint | null; stored: bigint | null }>`
    with sums as (
      select account, sum(amount)::int8 as summed from (
        select credit_account as account, amount_fen as amount from ledger_transfers where credit_account like 'client:%'
        union all
        select debit_account, -amount_fen from ledger_transfers where debit_account like 'client:%') x
      group by account)
    select coalesce(s.account, b.account) as account, s.summed, b.balance_fen as stored
    from sums s full outer join client_balances b on b.account = s.account
    where s.summed is distinct from b.balance_fen or s.summed < 0`.execute(trx);
  for (const row of rows) {
    const summed = row.summed ?? 0n;
    if (summed !== (row.stored ?? 0n)) {
      findings.add({ kind: 'client_balance_mismatch', account: row.account, message: `${row.account}: balance row ${row.stored ?? 'missing'} ≠ sum of transfers ${summed}` });
    }
    if (summed < 0n) findings.add({ kind: 'client_overdrawn', account: row.account, message: `${row.account} is negative: ${summed} fen (L2)` });
  }
}

// ── E2, L3, L6: task orders ────────────────────────────────────────────────────────────────────

async function auditTaskOrders(trx: Trx, findings: Findings): Promise<{ checkedOrders: number; reconciledOrders: number }> {
  let checkedOrders = 0;
  let reconciledOrders = 0;
  let after = '';
  for (;;) {
    const rows = await trx.selectFrom('task_orders').selectAll().where('order_id', '>', after).orderBy('order_id').limit(ORDER_BATCH).execute();
    if (rows.length === 0) break;
    const ids = rows.map((r) => r.order_id);
    const events = await eventsOf(trx, ids);
    const ledger = await ledgerOf(trx, ids);
    const escrow = await escrowFlowsOf(trx, ids);
    for (const row of rows) {
      checkedOrders += 1;
      const orderId = row.order_id;
      const stream = events.get(orderId) ?? [];
      if (stream.length === 0) {
        findings.add({ kind: 'read_model_orphan', orderId, message: `order ${orderId} has a read-model row but no events` });
        continue;
      }
      const replayed = replay(stream);
      if ('error' in replayed) {
        findings.add({ kind: 'event_stream_invalid', orderId, message: `order ${orderId}: its events do not fold: ${replayed.error}` });
        continue;
      }
      compareReadModel(findings, row, taskOrderRow(replayed.state));
      compareLedger(findings, orderId, replayed.expected, ledger.get(orderId) ?? new Map());
      if (CLOSED_STATUSES.includes(row.status) || CLOSED_STATUSES.includes(replayed.state.status)) {
        reconciledOrders += 1;
        reconcile(findings, orderId, escrow.get(orderId) ?? [], replayed.escrowFlows);
      }
    }
    after = ids[ids.length - 1] as string;
    if (rows.length < ORDER_BATCH) break;
  }

  // Event streams without a read-model row (a stream always starts with version 1).
  const { rows: missing } = await sql<{ order_id: string }>`
    select e.order_id from order_events e
    where e.order_kind = 'task' and e.version = 1 and not exists (select 1 from task_orders t where t.order_id = e.order_id)
    order by e.order_id limit 1000`.execute(trx);
  for (const { order_id } of missing) {
    findings.add({ kind: 'read_model_missing', orderId: order_id, message: `order ${order_id} has events but no read-model row` });
  }
  // Task-order transactions whose order has no read-model row.
  const { rows: strays } = await sql<{ tx_id: string; order_id: string | null }>`
    select l.tx_id, l.order_id from ledger_transactions l
    where l.tx_id like 'task:%' and not exists (select 1 from task_orders t where t.order_id = l.order_id)
    order by l.seq limit 1000`.execute(trx);
  for (const { tx_id, order_id } of strays) {
    findings.add({
      kind: 'ledger_transaction_unexpected',
      txId: tx_id,
      ...(order_id === null ? {} : { orderId: order_id }),
      message: `transaction ${tx_id} belongs to no known task order`,
    });
  }
  return { checkedOrders, reconciledOrders };
}

async function eventsOf(trx: Trx, orderIds: readonly string[]): Promise<Map<string, RecordedTaskEvent[]>> {
  const rows = await trx
    .selectFrom('order_events')
    .select(['order_id', 'version', 'occurred_at', 'payload'])
    .where('order_kind', '=', 'task')
    .where('order_id', 'in', orderIds)
    .orderBy('order_id')
    .orderBy('version')
    .execute();
  const byOrder = new Map<string, RecordedTaskEvent[]>();
  for (const row of rows) {
    const list = byOrder.get(row.order_id) ?? [];
    list.push({ version: row.version, occurredAt: row.occurred_at.getTime(), event: fromStoredJson<TaskEvent>(row.payload) });
    byOrder.set(row.order_id, list);
  }
  return byOrder;
}

/** Stored content hash of each ledger transaction, per order. */
async function ledgerOf(trx: Trx, orderIds: readonly string[]): Promise<Map<string, Map<string, string>>> {
  const rows = await trx.selectFrom('ledger_transactions').select(['order_id', 'tx_id', 'content_hash']).where('order_id', 'in', orderIds).execute();
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

/** Every transfer into or out of each order's escrow:task account, whatever transaction it is in. */
async function escrowFlowsOf(trx: Trx, orderIds: readonly string[]): Promise<Map<string, EscrowFlow[]>> {
  const escrows = orderIds.map((id) => `escrow:task:${id}`);
  const rows = await trx
    .selectFrom('ledger_transfers')
    .select(['tx_id', 'debit_account', 'credit_account', 'amount_fen'])
    .where((eb) => eb.or([eb('debit_account', 'in', escrows), eb('credit_account', 'in', escrows)]))
    .execute();
  const byOrder = new Map<string, EscrowFlow[]>();
  const push = (account: string, flow: EscrowFlow) => {
    const orderId = account.slice('escrow:task:'.length);
    const list = byOrder.get(orderId) ?? [];
    list.push(flow);
    byOrder.set(orderId, list);
  };
  for (const row of rows) {
    if (row.credit_account.startsWith('escrow:task:')) push(row.credit_account, { txId: row.tx_id, direction: 'in', counterparty: row.debit_account, amountFen: row.amount_fen });
    if (row.debit_account.startsWith('escrow:task:')) push(row.debit_account, { txId: row.tx_id, direction: 'out', counterparty: row.credit_account, amountFen: row.amount_fen });
  }
  return byOrder;
}

interface Replayed {
  readonly state: TaskOrderState;
  /** The ledger transactions the events imply, as the activity posts them: content hash by id. */
  readonly expected: Map<string, string>;
  /** The escrow flows of those transactions. */
  readonly escrowFlows: EscrowFlow[];
}

/** Folds the events, collecting the ledger transactions they imply (L3, E1). */
function replay(stream: readonly RecordedTaskEvent[]): Replayed | { error: string } {
  try {
    let state: TaskOrderState | undefined;
    const expected = new Map<string, string>();
    const escrowFlows: EscrowFlow[] = [];
    for (const recorded of stream) {
      const tx = ledgerTransactionFor(state, recorded);
      if (tx) {
        expected.set(tx.txId, transactionContentHash(tx, new Date(recorded.occurredAt)));
        for (const t of tx.transfers) {
          if (t.creditAccount.startsWith('escrow:task:')) escrowFlows.push({ txId: tx.txId, direction: 'in', counterparty: t.debitAccount, amountFen: t.amountFen });
          if (t.debitAccount.startsWith('escrow:task:')) escrowFlows.push({ txId: tx.txId, direction: 'out', counterparty: t.creditAccount, amountFen: t.amountFen });
        }
      }
      state = evolve(state, recorded);
    }
    if (!state) return { error: 'empty stream' };
    return { state, expected, escrowFlows };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** E2: the stored row equals the projection of the events, column by column. */
function compareReadModel(findings: Findings, stored: TaskOrderRow, expected: NewTaskOrderRow): void {
  const differing: string[] = [];
  for (const [column, value] of Object.entries(expected)) {
    if (normalize(column, value) !== normalize(column, (stored as unknown as Record<string, unknown>)[column])) differing.push(column);
  }
  if (differing.length > 0) {
    findings.add({
      kind: 'read_model_mismatch',
      orderId: stored.order_id,
      message: `order ${stored.order_id}: read-model columns differ from the projection of its events: ${differing.join(', ')}`,
    });
  }
}

const TIMESTAMP_COLUMNS = new Set(['expected_publish_at', 'next_deadline_at', 'placed_at', 'updated_at']);

function normalize(column: string, value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (TIMESTAMP_COLUMNS.has(column)) return new Date(value as string | Date).toISOString();
  if (column === 'details') return canonicalJson(typeof value === 'string' ? JSON.parse(value) : value);
  return typeof value === 'bigint' ? `${value}n` : JSON.stringify(value);
}

/** L3/E1: the order's stored ledger transactions are exactly those its events imply. */
function compareLedger(findings: Findings, orderId: string, expected: Map<string, string>, stored: Map<string, string>): void {
  for (const [txId, hash] of expected) {
    const actual = stored.get(txId);
    if (actual === undefined) {
      findings.add({ kind: 'ledger_transaction_missing', orderId, txId, message: `order ${orderId}: its events imply transaction ${txId}, which is not in the ledger` });
    } else if (actual !== hash) {
      findings.add({ kind: 'ledger_transaction_differs_from_events', orderId, txId, message: `order ${orderId}: transaction ${txId} differs from what its events imply` });
    }
  }
  for (const txId of stored.keys()) {
    if (!expected.has(txId)) {
      findings.add({ kind: 'ledger_transaction_unexpected', orderId, txId, message: `order ${orderId}: transaction ${txId} is implied by none of its events` });
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

/** Classifies escrow flows; reports a flow that is none of L6's kinds. */
function money(findings: Findings | undefined, orderId: string, flows: readonly EscrowFlow[]): Money {
  const m: Money = { paidIn: 0n, refunded: 0n, creatorPayout: 0n, platformRevenue: 0n, escrowBalance: 0n };
  for (const flow of flows) {
    const { counterparty, amountFen } = flow;
    m.escrowBalance += flow.direction === 'in' ? amountFen : -amountFen;
    if (flow.direction === 'in') {
      if (counterparty.startsWith('client:') || counterparty === PLATFORM_ACCOUNTS.externalPayments) m.paidIn += amountFen;
      else findings?.add({ kind: 'unexpected_escrow_flow', orderId, txId: flow.txId, message: `order ${orderId}: ${amountFen} fen came into escrow from ${counterparty}` });
    } else if (counterparty.startsWith('client:')) m.refunded += amountFen;
    else if (counterparty.startsWith('creator:')) m.creatorPayout += amountFen;
    else if (counterparty.startsWith('platform:')) m.platformRevenue += amountFen;
    else findings?.add({ kind: 'unexpected_escrow_flow', orderId, txId: flow.txId, message: `order ${orderId}: ${amountFen} fen left escrow to ${counterparty}` });
  }
  return m;
}

const figures = (m: Money) => `paid in ${m.paidIn}, refunded ${m.refunded}, creator ${m.creatorPayout}, platform ${m.platformRevenue}`;

/**
 * L6: a closed order's escrow is empty; paid in = refunded + creator payout + platform revenue;
 * and these four figures in the ledger are those of the order's events.
 */
function reconcile(findings: Findings, orderId: string, ledgerFlows: readonly EscrowFlow[], eventFlows: readonly EscrowFlow[]): void {
  const ledger = money(findings, orderId, ledgerFlows);
  const events = money(undefined, orderId, eventFlows);
  if (ledger.escrowBalance !== 0n) {
    findings.add({ kind: 'escrow_not_zero', orderId, account: `escrow:task:${orderId}`, message: `order ${orderId} is closed but its escrow holds ${ledger.escrowBalance} fen (L6)` });
  }
  for (const [source, m] of [
    ['ledger', ledger],
    ['events', events],
  ] as const) {
    if (m.paidIn !== m.refunded + m.creatorPayout + m.platformRevenue) {
      findings.add({ kind: 'money_does_not_add_up', orderId, message: `order ${orderId} (${source}): ${figures(m)}: paid in ≠ refunded + creator + platform (L6)` });
    }
  }
  if (ledger.paidIn !== events.paidIn || ledger.refunded !== events.refunded || ledger.creatorPayout !== events.creatorPayout || ledger.platformRevenue !== events.platformRevenue) {
    findings.add({ kind: 'money_differs_from_events', orderId, message: `order ${orderId}: ledger ${figures(ledger)}; events ${figures(events)} (L6)` });
  }
}
