import { sql, type Transaction } from 'kysely';
import {
  auditOrders,
  settledLater,
  type OrderDiscrepancyKind,
  type OrderKind,
  type OrderScope,
  type WorkflowComparison,
  type WorkflowOutcomes,
} from './audit-orders';
import { ORDER_KIND_DEFINITIONS } from '../../domain/kinds';
import { ORDER_KINDS, byKind, orderIdOfStreamId } from '../../domain/order-kind';
import { contentHash, sha256Hex } from './audit-hash';
import { eventIdGaps, latestCheckpoint, recordCheckpoint, type ChainPosition, type Checkpoint, type IdGap } from './audit-checkpoints';
import type { Db } from '../connect';
import { readSnapshot } from '../finance';
import { GENESIS_HASH } from '../ledger';
import type { Database } from '../schema';

/**
 * F3: the audit. Re-verifies, from the stored rows and in one snapshot:
 * - L4 the hash chains: each transaction's content hash recomputed from its rows, each link to the
 *   previous transaction of its chain, chain_seq without gaps, and each chain's head;
 * - L1 double entry: every transaction has transfers, the balances sum to zero, client balance
 *   rows equal the sums over the transfers and none is negative (L2);
 * - E2 every task and boost order's read-model row equals the projection of its events;
 * - L3/E1 every order's ledger transactions are exactly those its events imply;
 * - L6 for every closed order (task: completed or cancelled; boost: closed): its escrow is zero,
 *   the money adds up (paid in = refunded + creator payout + platform revenue) in the ledger and
 *   in its events alike, and — given a Temporal client — the final state its workflow returned is
 *   the fold of its events (db/audit/audit-orders.ts).
 *
 * At scale (issue 11), a full audit reads one snapshot on two connections at once (the second
 * imports the first's with pg_export_snapshot): on one, PostgreSQL verifies the chains and the
 * double entry itself, returning only what does not hold (verifyChainsInDatabase); on the other,
 * the orders are read in keyset batches, the next batch's queries already running while worker
 * threads check the current ones (db/audit/audit-orders.ts). Memory stays bounded whatever the size of
 * the ledger. A clean audit records a checkpoint (db/audit/audit-checkpoints.ts); `sinceCheckpoint`
 * audits only what came after the latest one: the chains from its heads on (walked here, the new
 * transactions only), the orders those transactions or new events touch, and their clients'
 * balances. It trusts the checkpoint for everything before it: only a full audit re-verifies that.
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
  | OrderDiscrepancyKind;

export interface Discrepancy {
  readonly kind: DiscrepancyKind;
  readonly txId?: string;
  readonly orderId?: string;
  /** With orderId: a task or a boost order (their ids may be equal). */
  readonly orderKind?: OrderKind;
  readonly chainId?: number;
  readonly account?: string;
  readonly message: string;
}

export interface AuditCheckpointReport {
  /** Incremental: the checkpoint it started from (what came before it was trusted, not re-verified). */
  readonly from: { readonly id: bigint; readonly recordedAt: string; readonly mode: 'full' | 'incremental'; readonly eventsWatermark: bigint } | null;
  /** The checkpoint this audit recorded (only a clean audit records one). */
  readonly recorded: { readonly id: bigint; readonly eventsWatermark: bigint } | null;
  /** Why none was recorded, if so. */
  readonly notRecorded?: string;
}

export interface AuditReport {
  readonly ok: boolean;
  /** `incremental`: only what came after the checkpoint `checkpoint.from` was audited. */
  readonly mode: 'full' | 'incremental';
  readonly checkedTransactions: number;
  readonly checkedChains: number;
  readonly checkedOrders: number;
  /** Closed orders reconciled under L6. */
  readonly reconciledOrders: number;
  /** The same two counts per kind of order. */
  readonly orders: Record<OrderKind, { checked: number; reconciled: number }>;
  /** L6 against the workflows' final states: how many were compared, and how many could not be. */
  readonly workflows: WorkflowComparison;
  readonly checkpoint: AuditCheckpointReport;
  readonly discrepancyCount: number;
  /** The first `maxDiscrepancies` discrepancies (all of them unless discrepancyCount is larger). */
  readonly discrepancies: Discrepancy[];
}

type Trx = Transaction<Database>;

/** Transactions per page of a chain. */
const CHAIN_BATCH = 4000;

class Findings {
  readonly list: Discrepancy[] = [];
  count = 0;
  constructor(private readonly max: number) {}
  add(d: Discrepancy): void {
    this.count += 1;
    if (this.list.length < this.max) this.list.push(d);
  }
}

export interface AuditOptions {
  readonly maxDiscrepancies?: number;
  /** Temporal's answers for L6's "workflow's final state"; without it that comparison is skipped (and the report says so). */
  readonly workflows?: WorkflowOutcomes;
  /** Why the workflows are not compared (e.g. Temporal unreachable), when `workflows` is not given. */
  readonly workflowsSkipped?: string;
  /** At most this many workflows asked at once (default 16). */
  readonly workflowConcurrency?: number;
  /**
   * Audit only what came after the latest checkpoint: the chains from its heads on, the orders with
   * events or ledger transactions since, the client accounts those touched. Without a checkpoint,
   * a full audit.
   */
  readonly sinceCheckpoint?: boolean;
  /** Record a checkpoint when the audit is clean (default true). */
  readonly recordCheckpoint?: boolean;
  /** How long the checkpoint waits for appends still running (default 10 s). */
  readonly checkpointWaitMs?: number;
  /** Worker threads for the per-order checks (default: one per core, at most 4; 0: none). */
  readonly workerThreads?: number;
  /** Orders per batch (default 1000). */
  readonly batchSize?: number;
  /**
   * Stops the audit between batches and chain pages (issue 18: a client that went away); the
   * audit then rejects with the signal's reason and records no checkpoint.
   */
  readonly signal?: AbortSignal | undefined;
}

interface SnapshotResult {
  readonly mode: 'full' | 'incremental';
  readonly base: Checkpoint | undefined;
  readonly checkedTransactions: number;
  readonly checkedChains: number;
  readonly heads: ChainPosition[];
  readonly orders: Awaited<ReturnType<typeof auditOrders>>;
  readonly events: { maxEventId: bigint; gaps: IdGap[] };
}

export async function auditLedger(db: Db, options: AuditOptions = {}): Promise<AuditReport> {
  const findings = new Findings(options.maxDiscrepancies ?? 1000);
  const add = (d: Discrepancy) => findings.add(d);
  const orderOptions = {
    ...(options.workflows ? { workflows: options.workflows } : {}),
    ...(options.workflowsSkipped ? { workflowsSkipped: options.workflowsSkipped } : {}),
    ...(options.workflowConcurrency ? { workflowConcurrency: options.workflowConcurrency } : {}),
    ...(options.workerThreads === undefined ? {} : { workerThreads: options.workerThreads }),
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    signal: options.signal,
  };
  const result = await readSnapshot(db, async (trx): Promise<SnapshotResult> => {
    const base = options.sinceCheckpoint ? await latestCheckpoint(trx) : undefined;
    if (base) {
      // Incremental: the chains from the checkpoint's heads (collecting what the new transactions
      // touch), then the orders with events or transactions since, then the accounts touched.
      const touched = new Touched();
      const chains = await auditChains(trx, add, base, touched, options.signal);
      await auditTouchedClientBalances(trx, add, touched);
      const newEvents = await ordersWithEventsAfter(trx, base.eventsWatermark);
      const scope: OrderScope = byKind((kind) => touched.orderIds(kind, newEvents[kind]));
      const orders = await auditOrders(trx, add, { ...orderOptions, scope, strays: touched.strays });
      const events = await eventIdGaps(trx, base.eventsWatermark);
      return { mode: 'incremental', base, ...chains, orders, events };
    }
    // Full: the chains and the double entry on a second connection sharing this snapshot, the
    // orders on this one, at the same time.
    const ledger = onSnapshot(db, trx, async (reader) => {
      const chains = await verifyChainsInDatabase(reader, add);
      options.signal?.throwIfAborted();
      await auditDoubleEntry(reader, add);
      options.signal?.throwIfAborted();
      const events = await eventIdGaps(reader, 0n);
      return { chains, events };
    });
    const orders = auditOrders(trx, add, orderOptions);
    const [l, o] = await Promise.allSettled([ledger, orders]);
    if (l.status === 'rejected') throw l.reason;
    if (o.status === 'rejected') throw o.reason;
    return { mode: 'full', base: undefined, ...l.value.chains, orders: o.value, events: l.value.events };
  });

  options.signal?.throwIfAborted(); // no checkpoint for an audit nobody waits for
  const { orders } = result;
  const ok = findings.count === 0;
  let checkpoint: AuditCheckpointReport = {
    from: result.base
      ? { id: result.base.id, recordedAt: result.base.recordedAt.toISOString(), mode: result.base.mode, eventsWatermark: result.base.eventsWatermark }
      : null,
    recorded: null,
  };
  if (!ok) checkpoint = { ...checkpoint, notRecorded: 'the audit found discrepancies: no checkpoint (the next incremental audit starts from the last clean one)' };
  else if (options.recordCheckpoint === false) checkpoint = { ...checkpoint, notRecorded: 'not asked to record one' };
  else {
    const recorded = await recordCheckpoint(db, {
      mode: result.mode,
      ...(result.base ? { basedOn: result.base.id } : {}),
      heads: result.heads,
      maxEventId: result.events.maxEventId,
      gaps: result.events.gaps,
      checkedTransactions: result.checkedTransactions,
      checkedOrders: orders.checkedOrders,
      workflowsCompared: orders.workflows.compared,
      workflowsSkipped: orders.workflows.skipped,
      ...(options.checkpointWaitMs === undefined ? {} : { waitMs: options.checkpointWaitMs }),
    });
    checkpoint = 'id' in recorded ? { ...checkpoint, recorded } : { ...checkpoint, notRecorded: recorded.notRecorded };
  }
  return {
    ok,
    mode: result.mode,
    checkedTransactions: result.checkedTransactions,
    checkedChains: result.checkedChains,
    checkedOrders: orders.checkedOrders,
    reconciledOrders: orders.reconciledOrders,
    orders: orders.byKind,
    workflows: orders.workflows,
    checkpoint,
    discrepancyCount: findings.count,
    discrepancies: findings.list,
  };
}

/**
 * Runs `work` in a second read-only transaction that sees exactly `trx`'s snapshot
 * (pg_export_snapshot / SET TRANSACTION SNAPSHOT), so two connections audit one moment of the
 * ledger at once. If no second connection can be had (a pool of one), on `trx` itself.
 */
async function onSnapshot<T>(db: Db, trx: Trx, work: (reader: Trx) => Promise<T>): Promise<T> {
  const { rows } = await sql<{ id: string }>`select pg_export_snapshot() as id`.execute(trx);
  const id = rows[0]?.id as string;
  let imported = false;
  try {
    return await db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(async (reader) => {
        await sql`set transaction snapshot ${sql.lit(id)}`.execute(reader);
        imported = true;
        return work(reader);
      });
  } catch (error) {
    if (imported) throw error;
    return work(trx);
  }
}

// ── L4: chains ─────────────────────────────────────────────────────────────────────────────────

interface StoredTransfer {
  readonly transfer_index: number;
  readonly debit_account: string;
  readonly credit_account: string;
  readonly amount_fen: bigint;
}

interface ChainRow {
  tx_id: string;
  kind: string;
  order_id: string | null;
  external_payment_ref: string | null;
  occurred_at: Date;
  content_hash: string;
  prev_hash: string;
  chain_hash: string;
  chain_seq: bigint;
  transfer_index: number | null;
  debit_account: string | null;
  credit_account: string | null;
  amount_fen: bigint | null;
}

/** One page of a chain after `afterSeq`, each transaction with its transfers (one row per transfer). */
function chainPage(reader: Trx, chainId: number, afterSeq: bigint): Promise<ChainRow[]> {
  return sql<ChainRow>`
    select t.tx_id, t.kind, t.order_id, t.external_payment_ref, t.occurred_at, t.content_hash, t.prev_hash, t.chain_hash, t.chain_seq,
           f.transfer_index, f.debit_account, f.credit_account, f.amount_fen
    from (select tx_id, kind, order_id, external_payment_ref, occurred_at, content_hash, prev_hash, chain_hash, chain_seq
          from ledger_transactions where chain_id = ${chainId} and chain_seq > ${afterSeq} order by chain_seq limit ${CHAIN_BATCH}) t
    left join ledger_transfers f on f.tx_id = t.tx_id
    order by t.chain_seq, f.transfer_index`
    .execute(reader)
    .then((r) => r.rows);
}

/** Each kind's ledger transaction id prefix and escrow account prefix (`task:`, `escrow:task:`…), from its definition. */
const KIND_PREFIXES = ORDER_KINDS.map((kind) => ({ kind, tx: ORDER_KIND_DEFINITIONS[kind].ledgerTxPrefix, escrow: ORDER_KIND_DEFINITIONS[kind].escrowAccount('') }));

/** What the new transactions of an incremental audit touch: their orders, escrows and client accounts. */
class Touched {
  /** The orders touched, by kind. */
  readonly orders = byKind(() => new Set<string>());
  readonly clients = new Set<string>();
  /** Order transactions (`task:`/`boost:` ids) without an order id. */
  readonly strays: Array<{ kind: OrderKind; txId: string }> = [];
  debits = 0n;
  credits = 0n;

  transaction(txId: string, orderId: string | null, transfers: readonly StoredTransfer[]): void {
    const kind = KIND_PREFIXES.find((p) => txId.startsWith(p.tx))?.kind;
    if (kind) {
      if (orderId === null) this.strays.push({ kind, txId });
      else this.orders[kind].add(orderId);
    }
    for (const t of transfers) {
      this.debits += t.amount_fen;
      this.credits += t.amount_fen;
      for (const account of [t.debit_account, t.credit_account]) {
        if (account.startsWith('client:')) {
          this.clients.add(account);
          continue;
        }
        const escrow = KIND_PREFIXES.find((p) => account.startsWith(p.escrow));
        if (escrow) this.orders[escrow.kind].add(account.slice(escrow.escrow.length));
      }
    }
  }

  orderIds(kind: OrderKind, withNewEvents: readonly string[]): string[] {
    return [...new Set([...this.orders[kind], ...withNewEvents])].sort();
  }
}

/**
 * L4 for every chain: from the genesis (full) or from the checkpoint's heads (incremental, after
 * checking that the transaction each head names still has its hash), each transaction in chain_seq
 * order with its transfers; then each chain's head. A page is fetched while the previous is checked.
 */
async function auditChains(
  reader: Trx,
  add: (d: Discrepancy) => void,
  base: Checkpoint | undefined,
  touched: Touched | undefined,
  signal: AbortSignal | undefined,
): Promise<{ checkedTransactions: number; checkedChains: number; heads: ChainPosition[] }> {
  const heads = await reader.selectFrom('ledger_chain_heads').selectAll().orderBy('chain_id').execute();
  const from = new Map((base?.heads ?? []).map((h) => [h.chainId, h]));
  let checkedTransactions = 0;
  for (const head of heads) {
    const chainId = head.chain_id;
    const start = from.get(chainId) ?? { chainId, seq: 0n, hash: GENESIS_HASH };
    if (start.seq > 0n) {
      // The checkpoint's last transaction of this chain must still be there, unchanged.
      const { rows } = await sql<{ chain_hash: string }>`
        select chain_hash from ledger_transactions where chain_id = ${chainId} and chain_seq = ${start.seq}`.execute(reader);
      if (rows[0]?.chain_hash !== start.hash) {
        add({
          kind: 'chain_link_broken',
          chainId,
          message: `chain ${chainId}: the transaction at seq ${start.seq}, where checkpoint ${base?.id} verified the chain up to, ${rows[0] ? 'no longer has the hash it had' : 'is missing'}`,
        });
      }
    }
    let expectedSeq = start.seq + 1n;
    let prevHash = start.hash;
    let next: Promise<ChainRow[]> | undefined = settledLater(chainPage(reader, chainId, start.seq));
    while (next) {
      signal?.throwIfAborted(); // between pages: an abandoned audit stops reading (issue 18)
      const rows: ChainRow[] = await next;
      const txCount = countTransactions(rows);
      const last: ChainRow | undefined = rows[rows.length - 1];
      next = txCount === CHAIN_BATCH && last ? settledLater(chainPage(reader, chainId, last.chain_seq)) : undefined;
      for (let i = 0; i < rows.length; ) {
        const tx = rows[i] as ChainRow;
        const transfers: StoredTransfer[] = [];
        for (; i < rows.length && (rows[i] as ChainRow).tx_id === tx.tx_id; i += 1) {
          const r = rows[i] as ChainRow;
          if (r.transfer_index !== null) transfers.push(r as StoredTransfer);
        }
        checkedTransactions += 1;
        const txId = tx.tx_id;
        if (tx.chain_seq !== expectedSeq) {
          add({ kind: 'chain_seq_gap', chainId, txId, message: `chain ${chainId}: expected seq ${expectedSeq}, found ${tx.chain_seq} (a transaction is missing)` });
        }
        if (tx.prev_hash !== prevHash) {
          add({ kind: 'chain_link_broken', chainId, txId, message: `chain ${chainId} seq ${tx.chain_seq}: prev_hash does not match the previous transaction's hash` });
        }
        if (tx.chain_hash !== sha256Hex(`${tx.prev_hash}${tx.content_hash}`)) {
          add({ kind: 'chain_hash_mismatch', chainId, txId, message: `chain ${chainId} seq ${tx.chain_seq}: chain_hash is not hash(prev_hash, content_hash)` });
        }
        checkStoredTransaction(add, chainId, tx, transfers);
        touched?.transaction(txId, tx.order_id, transfers);
        prevHash = tx.chain_hash;
        expectedSeq = tx.chain_seq + 1n;
      }
    }
    const last = expectedSeq - 1n;
    if (head.seq !== last || head.hash !== prevHash) {
      add({
        kind: 'chain_head_mismatch',
        chainId,
        message: `chain ${chainId}: head is at seq ${head.seq}, the stored chain ends at seq ${last}${head.hash !== prevHash ? ' with another hash' : ''} (transactions missing at its end?)`,
      });
    }
  }
  await transactionsOutsideChains(reader, add);
  if (touched && touched.debits !== touched.credits) {
    add({ kind: 'trial_balance_nonzero', message: `the new transactions' balances sum to ${touched.credits - touched.debits} fen, not 0` });
  }
  return {
    checkedTransactions,
    checkedChains: heads.length,
    heads: heads.map((h) => ({ chainId: h.chain_id, seq: h.seq, hash: h.hash })),
  };
}

/**
 * db/ledger.ts transactionContentHash in SQL, over a transaction `p` and the JSON list of its
 * transfers `f.list` (TRANSFER_LIST_SQL over transfers `x`): the same canonical text, keys in
 * sorted order, then sha256 of its UTF-8.
 */
const CONTENT_HASH_SQL = sql.raw(`encode(sha256(convert_to(
    '{"externalPaymentRef":' || coalesce(to_json(p.external_payment_ref)::text, 'null')
    || ',"kind":' || to_json(p.kind)::text
    || ',"occurredAt":"' || to_char(p.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    || '","orderId":' || coalesce(to_json(p.order_id)::text, 'null')
    || ',"transfers":[' || coalesce(f.list, '')
    || '],"txId":' || to_json(p.tx_id)::text || '}', 'UTF8')), 'hex')`);
const TRANSFER_LIST_SQL = sql.raw(
  `string_agg('[' || to_json(x.debit_account)::text || ',' || to_json(x.credit_account)::text || ',"' || x.amount_fen::text || '"]', ',' order by x.transfer_index)`,
);

/** The content hashes PostgreSQL computes for these transactions (the full audit's way; for tests). */
export async function databaseContentHashes(reader: Db | Trx, txIds: readonly string[]): Promise<Map<string, string>> {
  const { rows } = await sql<{ tx_id: string; hash: string }>`
    select p.tx_id, ${CONTENT_HASH_SQL} as hash
    from ledger_transactions p
    left join lateral (select ${TRANSFER_LIST_SQL} as list from ledger_transfers x where x.tx_id = p.tx_id) f on true
    where p.tx_id = any(${[...txIds]}::text[])`.execute(reader);
  return new Map(rows.map((r) => [r.tx_id, r.hash]));
}

interface LinkRow {
  chain_id: number;
  chain_seq: bigint;
  tx_id: string;
  chain_hash: string;
  prev_hash: string;
  prev_chain_hash: string;
  prev_seq: bigint;
  chain_ok: boolean;
  last: boolean;
  n: bigint;
}

/**
 * L4 and L1 for every chain, the full audit's way: PostgreSQL checks them itself in two queries
 * over the whole ledger, which return only the transactions where something does not hold (and
 * each chain's last one).
 * - The links: every transaction in chain order (one sort or index scan), its chain_seq after the
 *   previous one's, its prev_hash the previous one's chain_hash (the genesis hash first), its
 *   chain_hash recomputed.
 * - The contents: every transaction's content hash recomputed from its rows — sha256 of the same
 *   canonical JSON text the application hashed (to_json escapes strings as JSON.stringify does) —
 *   with its transfers (one hash join over ledger_transfers grouped by transaction), and the
 *   transfers themselves (there are some, numbered 0…n-1, positive, between two accounts).
 * Nothing else crosses the wire, and both run on PostgreSQL's CPU (in parallel workers if it has
 * them), next to the orders' Node.js CPU. Every transaction the contents query flags is checked
 * again here from its rows, exactly as the incremental audit checks each (auditChains): a
 * difference in serialization could only raise a flag this second look takes down, never hide a
 * change (equal hashes mean equal JSON texts, and a JSON text has one meaning).
 */
async function verifyChainsInDatabase(reader: Trx, add: (d: Discrepancy) => void): Promise<{ checkedTransactions: number; checkedChains: number; heads: ChainPosition[] }> {
  const heads = await reader.selectFrom('ledger_chain_heads').selectAll().orderBy('chain_id').execute();
  // Room for the join's hash table and the sort (this transaction only).
  await sql`set local work_mem = '256MB'`.execute(reader);
  const { rows: links } = await sql<LinkRow>`
    select * from (
      select chain_id, chain_seq, tx_id, chain_hash, prev_hash,
             lag(chain_hash, 1, ${GENESIS_HASH}::text) over w as prev_chain_hash,
             lag(chain_seq, 1, 0::int8) over w as prev_seq,
             chain_hash = encode(sha256(convert_to(prev_hash || content_hash, 'UTF8')), 'hex') as chain_ok,
             row_number() over w = count(*) over c as last,
             count(*) over c as n
      from ledger_transactions
      where chain_id in (select chain_id from ledger_chain_heads)
      window w as (partition by chain_id order by chain_seq), c as (partition by chain_id)
    ) t
    where last or not chain_ok or prev_hash <> prev_chain_hash or chain_seq <> prev_seq + 1
    order by chain_id, chain_seq`.execute(reader);
  const { rows: contents } = await sql<{ tx_id: string; chain_id: number }>`
    select p.tx_id, p.chain_id
    from ledger_transactions p
    left join (
      select x.tx_id, ${TRANSFER_LIST_SQL} as list,
             bool_and(x.amount_fen > 0 and x.debit_account <> x.credit_account) and min(x.transfer_index) = 0 and max(x.transfer_index) = count(*) - 1 as ok
      from ledger_transfers x group by x.tx_id) f on f.tx_id = p.tx_id
    where p.chain_id in (select chain_id from ledger_chain_heads)
      and (f.tx_id is null or not f.ok or p.content_hash <> ${CONTENT_HASH_SQL})`.execute(reader);

  let checkedTransactions = 0;
  const ends = new Map<number, { seq: bigint; hash: string }>();
  for (const row of links) {
    const { chain_id: chainId, tx_id: txId } = row;
    if (row.chain_seq !== row.prev_seq + 1n) {
      add({ kind: 'chain_seq_gap', chainId, txId, message: `chain ${chainId}: expected seq ${row.prev_seq + 1n}, found ${row.chain_seq} (a transaction is missing)` });
    }
    if (row.prev_hash !== row.prev_chain_hash) {
      add({ kind: 'chain_link_broken', chainId, txId, message: `chain ${chainId} seq ${row.chain_seq}: prev_hash does not match the previous transaction's hash` });
    }
    if (!row.chain_ok) add({ kind: 'chain_hash_mismatch', chainId, txId, message: `chain ${chainId} seq ${row.chain_seq}: chain_hash is not hash(prev_hash, content_hash)` });
    if (row.last) {
      ends.set(chainId, { seq: row.chain_seq, hash: row.chain_hash });
      checkedTransactions += Number(row.n);
    }
  }
  for (const { tx_id, chain_id } of contents) await recheckTransaction(reader, add, chain_id, tx_id);
  for (const head of heads) {
    const end = ends.get(head.chain_id) ?? { seq: 0n, hash: GENESIS_HASH };
    if (head.seq !== end.seq || head.hash !== end.hash) {
      add({
        kind: 'chain_head_mismatch',
        chainId: head.chain_id,
        message: `chain ${head.chain_id}: head is at seq ${head.seq}, the stored chain ends at seq ${end.seq}${head.hash !== end.hash ? ' with another hash' : ''} (transactions missing at its end?)`,
      });
    }
  }
  await transactionsOutsideChains(reader, add);
  return { checkedTransactions, checkedChains: heads.length, heads: heads.map((h) => ({ chainId: h.chain_id, seq: h.seq, hash: h.hash })) };
}

/** L4/L1 of one flagged transaction, from its rows, as auditChains checks every transaction. */
async function recheckTransaction(reader: Trx, add: (d: Discrepancy) => void, chainId: number, txId: string): Promise<void> {
  const rows = await sql<ChainRow>`
    select t.tx_id, t.kind, t.order_id, t.external_payment_ref, t.occurred_at, t.content_hash, t.prev_hash, t.chain_hash, t.chain_seq,
           f.transfer_index, f.debit_account, f.credit_account, f.amount_fen
    from ledger_transactions t left join ledger_transfers f on f.tx_id = t.tx_id
    where t.tx_id = ${txId} order by f.transfer_index`
    .execute(reader)
    .then((r) => r.rows);
  const tx = rows[0];
  if (!tx) return;
  const transfers = rows.filter((r) => r.transfer_index !== null) as unknown as StoredTransfer[];
  checkStoredTransaction(add, chainId, tx, transfers);
}

/** L4: transactions of chains that have no head (the distinct chain ids, one index probe each). */
async function transactionsOutsideChains(reader: Trx, add: (d: Discrepancy) => void): Promise<void> {
  const { rows } = await sql<{ n: bigint }>`
    with recursive chains(chain_id) as (
      (select chain_id from ledger_transactions order by chain_id limit 1)
      union all
      select (select t.chain_id from ledger_transactions t where t.chain_id > c.chain_id order by t.chain_id limit 1) from chains c where c.chain_id is not null)
    select coalesce(sum((select count(*) from ledger_transactions t where t.chain_id = c.chain_id)), 0)::int8 as n
    from chains c
    where c.chain_id is not null and not exists (select 1 from ledger_chain_heads h where h.chain_id = c.chain_id)`.execute(reader);
  const outside = rows[0]?.n ?? 0n;
  if (outside > 0n) add({ kind: 'transaction_outside_chains', message: `${outside} transaction(s) belong to no known chain` });
}

function countTransactions(rows: readonly ChainRow[]): number {
  let n = 0;
  for (let i = 0; i < rows.length; i += 1) if (i === 0 || (rows[i] as ChainRow).tx_id !== (rows[i - 1] as ChainRow).tx_id) n += 1;
  return n;
}

/** L1/L4: a stored transaction's transfers, and its content hash recomputed from its rows. */
function checkStoredTransaction(add: (d: Discrepancy) => void, chainId: number, tx: ChainRow, transfers: readonly StoredTransfer[]): void {
  const txId = tx.tx_id;
  checkTransfers(add, txId, tx.order_id, transfers);
  if (storedContentHash(tx, transfers) === tx.content_hash) return;
  add({
    kind: 'content_hash_mismatch',
    chainId,
    txId,
    ...(tx.order_id === null ? {} : { orderId: tx.order_id }),
    message: `transaction ${txId}: its rows no longer match the hash recorded when it was posted (altered after posting)`,
  });
}

/** L4: the content hash of a stored transaction, recomputed from its rows (db/audit/audit-hash.ts). */
export function storedContentHash(
  tx: Pick<ChainRow, 'tx_id' | 'kind' | 'order_id' | 'external_payment_ref' | 'occurred_at'>,
  transfers: ReadonlyArray<Pick<StoredTransfer, 'debit_account' | 'credit_account' | 'amount_fen'>>,
): string {
  return contentHash(
    tx.tx_id,
    tx.kind,
    tx.order_id,
    tx.external_payment_ref,
    tx.occurred_at,
    transfers.map((t) => [t.debit_account, t.credit_account, t.amount_fen] as const),
  );
}

function checkTransfers(add: (d: Discrepancy) => void, txId: string, orderId: string | null, transfers: readonly StoredTransfer[]): void {
  const order = orderId === null ? {} : { orderId };
  if (transfers.length === 0) {
    add({ kind: 'transaction_without_transfers', txId, ...order, message: `transaction ${txId} has no transfers (L1)` });
    return;
  }
  transfers.forEach((t, i) => {
    if (t.transfer_index !== i) add({ kind: 'transfer_invalid', txId, ...order, message: `transaction ${txId}: transfer ${i} is missing` });
    if (t.amount_fen <= 0n || t.debit_account === t.credit_account) {
      add({ kind: 'transfer_invalid', txId, ...order, message: `transaction ${txId}: transfer ${t.transfer_index} is not a positive transfer between two accounts` });
    }
  });
}

// ── L1, L2: double entry and client balances ───────────────────────────────────────────────────

async function auditDoubleEntry(reader: Trx, add: (d: Discrepancy) => void): Promise<void> {
  const { rows: totals } = await sql<{ total: bigint }>`
    select ((select coalesce(sum(amount_fen), 0) from ledger_transfers) - (select coalesce(sum(amount_fen), 0) from ledger_transfers))::int8 as total`.execute(reader);
  // Trivially zero for rows of the shape (debit, credit, amount); kept as the literal F3 check.
  const total = totals[0]?.total ?? 0n;
  if (total !== 0n) add({ kind: 'trial_balance_nonzero', message: `the balances sum to ${total} fen, not 0` });

  const { rows } = await sql<{ account: string; summed: bigint | null; stored: bigint | null }>`
    with sums as (
      select account, sum(amount)::int8 as summed from (
        select credit_account as account, amount_fen as amount from ledger_transfers where credit_account like 'client:%'
        union all
        select debit_account, -amount_fen from ledger_transfers where debit_account like 'client:%') x
      group by account)
    select coalesce(s.account, b.account) as account, s.summed, b.balance_fen as stored
    from sums s full outer join client_balances b on b.account = s.account
    where s.summed is distinct from b.balance_fen or s.summed < 0`.execute(reader);
  reportClientBalances(add, rows);
}

/** L2 for the client accounts the new transactions touched (incremental): their rows against all their transfers. */
async function auditTouchedClientBalances(reader: Trx, add: (d: Discrepancy) => void, touched: Touched): Promise<void> {
  const accounts = [...touched.clients].sort();
  for (let i = 0; i < accounts.length; i += 1000) {
    const chunk = accounts.slice(i, i + 1000);
    const { rows } = await sql<{ account: string; summed: bigint | null; stored: bigint | null }>`
      select a.account,
             ((select coalesce(sum(amount_fen), 0) from ledger_transfers where credit_account = a.account)
              - (select coalesce(sum(amount_fen), 0) from ledger_transfers where debit_account = a.account))::int8 as summed,
             (select balance_fen from client_balances b where b.account = a.account) as stored
      from unnest(${chunk}::text[]) as a(account)`.execute(reader);
    reportClientBalances(
      add,
      rows.filter((r) => r.summed !== r.stored || (r.summed ?? 0n) < 0n),
    );
  }
}

function reportClientBalances(add: (d: Discrepancy) => void, rows: ReadonlyArray<{ account: string; summed: bigint | null; stored: bigint | null }>): void {
  for (const row of rows) {
    const summed = row.summed ?? 0n;
    if (summed !== (row.stored ?? 0n)) {
      add({ kind: 'client_balance_mismatch', account: row.account, message: `${row.account}: balance row ${row.stored ?? 'missing'} ≠ sum of transfers ${summed}` });
    }
    if (summed < 0n) add({ kind: 'client_overdrawn', account: row.account, message: `${row.account} is negative: ${summed} fen (L2)` });
  }
}

/** The orders with an event after the watermark (incremental), by kind. */
async function ordersWithEventsAfter(reader: Trx, watermark: bigint): Promise<Record<OrderKind, string[]>> {
  const { rows } = await sql<{ order_kind: OrderKind; order_id: string }>`
    select distinct order_kind, order_id from order_events where id > ${watermark}::int8`.execute(reader);
  const result = byKind((): string[] => []);
  for (const r of rows) result[r.order_kind].push(orderIdOfStreamId(ORDER_KIND_DEFINITIONS[r.order_kind], r.order_id));
  return result;
}
