import { sql, type Transaction } from 'kysely';
import type { Db } from './connect';
import type { Database } from './schema';

/**
 * Finance's read side of the ledger (SPEC §7 F1, F2, F4). Every function reads one consistent
 * snapshot (a REPEATABLE READ, READ ONLY transaction), so a page, its balances and an export never
 * mix two moments of the ledger.
 */

type Trx = Transaction<Database>;

export function readSnapshot<T>(db: Db, work: (trx: Trx) => Promise<T>): Promise<T> {
  return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(work);
}

// ── F1: balance and statement ──────────────────────────────────────────────────────────────────

/** Where a statement page starts: after the entry (transaction seq, transfer index). */
export interface StatementPosition {
  readonly seq: bigint;
  readonly transferIndex: number;
}

export function encodeStatementCursor(position: StatementPosition): string {
  return `${position.seq}-${position.transferIndex}`;
}

/** undefined for anything that is not a cursor this module made. */
export function decodeStatementCursor(cursor: string): StatementPosition | undefined {
  const match = /^(\d{1,18})-(\d{1,6})$/.exec(cursor);
  if (!match) return undefined;
  return { seq: BigInt(match[1] as string), transferIndex: Number(match[2]) };
}

export interface StatementEntry {
  readonly seq: bigint;
  readonly txId: string;
  readonly transferIndex: number;
  readonly kind: string;
  readonly orderId: string | null;
  readonly occurredAt: Date;
  /** The other side of the transfer. */
  readonly counterparty: string;
  /** debit: money left the account; credit: money came in (balance = credits − debits). */
  readonly direction: 'debit' | 'credit';
  readonly amountFen: bigint;
  readonly balanceAfterFen: bigint;
}

export interface Statement {
  readonly account: string;
  readonly balanceFen: bigint;
  readonly entries: StatementEntry[];
  readonly nextCursor: string | null;
}

/** F1: the account's balance now and its entries in ledger order (oldest first), one page. */
export async function accountStatement(db: Db, account: string, page: { after?: StatementPosition; limit: number }): Promise<Statement> {
  const after = page.after ?? { seq: 0n, transferIndex: -1 };
  return readSnapshot(db, async (trx) => {
    const balanceFen = await balanceIn(trx, account);
    const openingFen = page.after ? await balanceIn(trx, account, after) : 0n;
    const { rows } = await sql<{
      tx_id: string;
      tx_seq: bigint;
      transfer_index: number;
      direction: 'debit' | 'credit';
      counterparty: string;
      amount_fen: bigint;
      kind: string;
      order_id: string | null;
      occurred_at: Date;
    }>`
      select e.tx_id, e.tx_seq, e.transfer_index, e.direction, e.counterparty, e.amount_fen, t.kind, t.order_id, t.occurred_at
      from (
        (select tx_id, tx_seq, transfer_index, 'debit' as direction, credit_account as counterparty, amount_fen
           from ledger_transfers
          where debit_account = ${account} and (tx_seq, transfer_index) > (${after.seq}, ${after.transferIndex})
          order by tx_seq, transfer_index limit ${page.limit + 1})
        union all
        (select tx_id, tx_seq, transfer_index, 'credit' as direction, debit_account as counterparty, amount_fen
           from ledger_transfers
          where credit_account = ${account} and (tx_seq, transfer_index) > (${after.seq}, ${after.transferIndex})
          order by tx_seq, transfer_index limit ${page.limit + 1})
      ) e
      join ledger_transactions t on t.tx_id = e.tx_id
      order by e.tx_seq, e.transfer_index
      limit ${page.limit + 1}`.execute(trx);
    let running = openingFen;
    const entries = rows.slice(0, page.limit).map((row): StatementEntry => {
      running += row.direction === 'credit' ? row.amount_fen : -row.amount_fen;
      return {
        seq: row.tx_seq,
        txId: row.tx_id,
        transferIndex: row.transfer_index,
        kind: row.kind,
        orderId: row.order_id,
        occurredAt: row.occurred_at,
        counterparty: row.counterparty,
        direction: row.direction,
        amountFen: row.amount_fen,
        balanceAfterFen: running,
      };
    });
    const last = entries[entries.length - 1];
    const nextCursor = rows.length > page.limit && last ? encodeStatementCursor({ seq: last.seq, transferIndex: last.transferIndex }) : null;
    return { account, balanceFen, entries, nextCursor };
  });
}

/** credits − debits, over everything or up to and including a position; index-only sums. */
async function balanceIn(trx: Trx, account: string, upTo?: StatementPosition): Promise<bigint> {
  const bound = upTo ? sql`and (tx_seq, transfer_index) <= (${upTo.seq}, ${upTo.transferIndex})` : sql``;
  const { rows } = await sql<{ balance: bigint }>`
    select ((select coalesce(sum(amount_fen), 0) from ledger_transfers where credit_account = ${account} ${bound})
          - (select coalesce(sum(amount_fen), 0) from ledger_transfers where debit_account = ${account} ${bound}))::int8 as balance`.execute(trx);
  return rows[0]?.balance ?? 0n;
}

// ── F2: trial balance ──────────────────────────────────────────────────────────────────────────

export interface TrialBalanceLine {
  readonly account: string;
  readonly debitsFen: bigint;
  readonly creditsFen: bigint;
  readonly balanceFen: bigint;
}

export interface TrialBalance {
  readonly accounts: TrialBalanceLine[];
  readonly totalDebitsFen: bigint;
  readonly totalCreditsFen: bigint;
  /** The sum of all balances: 0 (L1). */
  readonly totalFen: bigint;
  readonly balanced: boolean;
  readonly transactions: bigint;
  /** The highest transaction seq included. */
  readonly asOfSeq: bigint;
}

/** F2: every account's balance, and the total, which double entry makes 0. */
export async function trialBalance(db: Db): Promise<TrialBalance> {
  return readSnapshot(db, async (trx) => {
    const { rows } = await sql<{ account: string; debits: bigint; credits: bigint }>`
      select account, sum(debit)::int8 as debits, sum(credit)::int8 as credits
      from (select debit_account as account, amount_fen as debit, 0::int8 as credit from ledger_transfers
            union all
            select credit_account, 0::int8, amount_fen from ledger_transfers) x
      group by account
      order by account`.execute(trx);
    const { rows: meta } = await sql<{ n: bigint; max_seq: bigint }>`
      select count(*)::int8 as n, coalesce(max(seq), 0)::int8 as max_seq from ledger_transactions`.execute(trx);
    const accounts = rows.map((r) => ({ account: r.account, debitsFen: r.debits, creditsFen: r.credits, balanceFen: r.credits - r.debits }));
    const totalDebitsFen = accounts.reduce((sum, a) => sum + a.debitsFen, 0n);
    const totalCreditsFen = accounts.reduce((sum, a) => sum + a.creditsFen, 0n);
    const totalFen = accounts.reduce((sum, a) => sum + a.balanceFen, 0n);
    return {
      accounts,
      totalDebitsFen,
      totalCreditsFen,
      totalFen,
      balanced: totalFen === 0n,
      transactions: meta[0]?.n ?? 0n,
      asOfSeq: meta[0]?.max_seq ?? 0n,
    };
  });
}

// ── Transactions ───────────────────────────────────────────────────────────────────────────────

export interface TransactionFilter {
  /** occurred_at ≥ from */
  readonly from?: Date;
  /** occurred_at < to */
  readonly to?: Date;
  readonly orderId?: string;
  /** seq ≤ maxSeq (an export's bound, fixed at its start) */
  readonly maxSeq?: bigint;
}

export interface LedgerTransactionView {
  readonly seq: bigint;
  readonly txId: string;
  readonly kind: string;
  readonly orderId: string | null;
  readonly externalPaymentRef: string | null;
  readonly occurredAt: Date;
  readonly recordedAt: Date;
  readonly chainId: number;
  readonly chainSeq: bigint;
  readonly contentHash: string;
  readonly prevHash: string;
  readonly chainHash: string;
  readonly transfers: Array<{ readonly transferIndex: number; readonly debitAccount: string; readonly creditAccount: string; readonly amountFen: bigint }>;
}

/** Transactions in ledger order (seq), filtered, one page after `afterSeq`. */
export async function listTransactions(
  db: Db,
  filter: TransactionFilter,
  page: { afterSeq?: bigint; limit: number },
): Promise<{ transactions: LedgerTransactionView[]; nextCursor: string | null }> {
  return readSnapshot(db, async (trx) => {
    const rows = await transactionsPage(trx, filter, page.afterSeq ?? 0n, page.limit + 1);
    const transactions = rows.slice(0, page.limit);
    const last = transactions[transactions.length - 1];
    return { transactions, nextCursor: rows.length > page.limit && last ? String(last.seq) : null };
  });
}

async function transactionsPage(trx: Trx, filter: TransactionFilter, afterSeq: bigint, limit: number): Promise<LedgerTransactionView[]> {
  let query = trx.selectFrom('ledger_transactions').selectAll().where('seq', '>', afterSeq);
  if (filter.from) query = query.where('occurred_at', '>=', filter.from);
  if (filter.to) query = query.where('occurred_at', '<', filter.to);
  if (filter.orderId !== undefined) query = query.where('order_id', '=', filter.orderId);
  if (filter.maxSeq !== undefined) query = query.where('seq', '<=', filter.maxSeq);
  const txs = await query.orderBy('seq').limit(limit).execute();
  if (txs.length === 0) return [];
  const transfers = await trx
    .selectFrom('ledger_transfers')
    .selectAll()
    .where(
      'tx_id',
      'in',
      txs.map((t) => t.tx_id),
    )
    .orderBy('tx_seq')
    .orderBy('transfer_index')
    .execute();
  const byTx = new Map<string, LedgerTransactionView['transfers']>();
  for (const t of transfers) {
    const list = byTx.get(t.tx_id) ?? [];
    list.push({ transferIndex: t.transfer_index, debitAccount: t.debit_account, creditAccount: t.credit_account, amountFen: t.amount_fen });
    byTx.set(t.tx_id, list);
  }
  return txs.map((t) => ({
    seq: t.seq,
    txId: t.tx_id,
    kind: t.kind,
    orderId: t.order_id,
    externalPaymentRef: t.external_payment_ref,
    occurredAt: t.occurred_at,
    recordedAt: t.recorded_at,
    chainId: t.chain_id,
    chainSeq: t.chain_seq,
    contentHash: t.content_hash,
    prevHash: t.prev_hash,
    chainHash: t.chain_hash,
    transfers: byTx.get(t.tx_id) ?? [],
  }));
}

// ── F4: CSV export ─────────────────────────────────────────────────────────────────────────────

export const EXPORT_CSV_COLUMNS = ['tx_id', 'seq', 'occurred_at', 'kind', 'order_id', 'debit_account', 'credit_account', 'amount_fen'] as const;

/** RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvLine(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

/** Transactions per export page: one short query each (its transfers with it). */
export const EXPORT_BATCH = 1000;

/**
 * Limits of every read that streams to a client (issue 18, SPEC §8 Security): each page is its
 * own short transaction, which PostgreSQL ends if a statement runs longer than
 * `statementTimeoutMs` or if the transaction sits idle longer than `idleInTransactionTimeoutMs`
 * (a bug that kept it open while waiting for the client would lose the connection, not hold it).
 */
export interface StreamReadLimits {
  readonly statementTimeoutMs: number;
  readonly idleInTransactionTimeoutMs: number;
}

export const STREAM_READ_LIMITS: StreamReadLimits = { statementTimeoutMs: 30_000, idleInTransactionTimeoutMs: 5_000 };

/** readSnapshot under SET LOCAL statement and idle-in-transaction timeouts (both end with the transaction). */
export function boundedReadSnapshot<T>(db: Db, limits: StreamReadLimits, work: (trx: Trx) => Promise<T>): Promise<T> {
  return readSnapshot(db, async (trx) => {
    await sql`select set_config('statement_timeout', ${`${limits.statementTimeoutMs}ms`}, true), set_config('idle_in_transaction_session_timeout', ${`${limits.idleInTransactionTimeoutMs}ms`}, true)`.execute(trx);
    return work(trx);
  });
}

export interface ExportOptions {
  readonly batchSize?: number;
  readonly limits?: StreamReadLimits;
}

/**
 * F4, read on demand: `next()` gives the next chunk of CSV (the header first), or undefined at the
 * end. Nothing is held between calls (no connection, no transaction): a client that stops reading
 * stops the calls, and costs the pool nothing.
 *
 * Consistency: the export is bounded by the highest seq at its start (`asOfSeq`) and pages by seq
 * (keyset), each page its own snapshot. The ledger is append-only (L4), so every page sees the
 * rows an earlier page saw; a row never changes between pages. What can differ from one single
 * snapshot: a transaction still committing at the start, with a seq below the bound, appears if
 * its page is read after it commits. Nothing appended after the start does (seq above the bound).
 */
export interface TransfersExport {
  readonly asOfSeq: bigint;
  next(): Promise<string | undefined>;
  readonly counts: { transactions: number; transfers: number };
}

export async function openTransfersExport(db: Db, range: { from: Date; to: Date }, options: ExportOptions = {}): Promise<TransfersExport> {
  const limits = options.limits ?? STREAM_READ_LIMITS;
  const batchSize = options.batchSize ?? EXPORT_BATCH;
  const { rows } = await boundedReadSnapshot(db, limits, (trx) => sql<{ max_seq: bigint }>`select coalesce(max(seq), 0)::int8 as max_seq from ledger_transactions`.execute(trx));
  const asOfSeq = rows[0]?.max_seq ?? 0n;
  const counts = { transactions: 0, transfers: 0 };
  let afterSeq: bigint | undefined;
  let done = false;
  const next = async (): Promise<string | undefined> => {
    if (done) return undefined;
    if (afterSeq === undefined) {
      afterSeq = 0n;
      return csvLine(EXPORT_CSV_COLUMNS);
    }
    const page = await boundedReadSnapshot(db, limits, (trx) => transactionsPage(trx, { ...range, maxSeq: asOfSeq }, afterSeq as bigint, batchSize));
    if (page.length < batchSize) done = true;
    if (page.length === 0) return undefined;
    afterSeq = (page[page.length - 1] as LedgerTransactionView).seq;
    counts.transactions += page.length;
    return csvPage(page, counts);
  };
  return { asOfSeq, next, counts };
}

function csvPage(page: readonly LedgerTransactionView[], counts: { transfers: number }): string {
  const lines: string[] = [];
  for (const tx of page) {
    for (const t of tx.transfers) {
      lines.push(csvLine([tx.txId, String(tx.seq), tx.occurredAt.toISOString(), tx.kind, tx.orderId ?? '', t.debitAccount, t.creditAccount, String(t.amountFen)]));
      counts.transfers += 1;
    }
  }
  return lines.join('');
}

/**
 * F4: one CSV line per transfer of the transactions that occurred in [from, to), in ledger order,
 * with a header line, written in chunks to `write` (which may wait, e.g. for a slow reader, or
 * throw to stop). No connection is held while `write` waits (openTransfersExport).
 */
export async function exportTransfersCsv(
  db: Db,
  range: { from: Date; to: Date },
  write: (chunk: string) => Promise<void> | void,
  options: ExportOptions = {},
): Promise<{ transactions: number; transfers: number }> {
  const reader = await openTransfersExport(db, range, options);
  for (let chunk = await reader.next(); chunk !== undefined; chunk = await reader.next()) await write(chunk);
  return { ...reader.counts };
}
