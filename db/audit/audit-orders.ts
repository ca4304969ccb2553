import { sql, type Transaction } from 'kysely';
import {
  columnarBatch,
  differingKeys,
  type Add,
  type EventRow,
  type LedgerRow,
  type OrderBatchResult,
  type OrderDiscrepancy,
  type RawOrderBatch,
  type TransferRow,
} from './audit-order-checks';
import { OrderCheckPool, checkOn } from './audit-workers';
import { ORDER_KINDS, byKind } from '../../domain/order-kind';
import { ORDER_KIND_SPECS, type OrderKind, type OrderKindSpec } from '../order-kinds';
import type { Database } from '../schema';

export type { OrderDiscrepancy, OrderDiscrepancyKind } from './audit-order-checks';
export type { OrderKind } from '../order-kinds';

type Trx = Transaction<Database>;

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

/** Which orders an incremental audit goes through (ids of each kind); all of them when absent. */
export type OrderScope = Readonly<Record<OrderKind, readonly string[]>>;

export interface OrderAuditOptions {
  readonly workflows?: WorkflowOutcomes;
  /** Why the workflows are not compared, when `workflows` is not given. */
  readonly workflowsSkipped?: string;
  /** At most this many workflows asked at once (default 16). */
  readonly workflowConcurrency?: number;
  /** Incremental: only these orders. */
  readonly scope?: OrderScope;
  /** Incremental: new order transactions (`task:`/`boost:` ids) without an order id. */
  readonly strays?: ReadonlyArray<{ readonly kind: OrderKind; readonly txId: string }>;
  /** Worker threads for the checks (default: the cores but one, at most 4); 0: all on this thread. */
  readonly workerThreads?: number;
  /** Orders per batch (default 1000). */
  readonly batchSize?: number;
  /** Stops the audit between batches (e.g. its client went away: issue 18); the audit then rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
}

/** Orders per batch: their rows, events, ledger transactions and escrow flows are four queries. */
const ORDER_BATCH = 1000;
const WORKFLOW_CONCURRENCY = 16;

/**
 * E2, L3/E1 and L6 for every task and boost order (or those of `options.scope`): the read-model
 * row equals the projection of the events; the order's ledger transactions are exactly those its
 * events imply; a closed order's escrow is zero and paid in = refunded + creator payout + platform
 * revenue, in the ledger and in the events alike, and (with `workflows`) the final state its
 * workflow returned equals the fold of its events (db/audit/audit-order-checks.ts).
 *
 * At scale: orders are read in batches by id (keyset), the next batch's four queries sent as soon
 * as the current batch has arrived, so PostgreSQL reads while Node.js checks; from the second
 * batch on, the checks run on worker threads (the other cores), a few batches at a time, their
 * results taken in order. Closed orders go to a bounded queue that asks Temporal at most
 * `workflowConcurrency` at a time while the batches go on.
 */
export async function auditOrders(trx: Trx, report: (d: OrderDiscrepancy) => void, options: OrderAuditOptions = {}): Promise<OrderAuditResult> {
  const { workflows } = options;
  const result: OrderAuditResult = {
    checkedOrders: 0,
    reconciledOrders: 0,
    byKind: byKind(() => ({ checked: 0, reconciled: 0 })),
    workflows: { compared: 0, running: 0, unavailable: 0, ...(workflows ? {} : { skipped: options.workflowsSkipped ?? 'no Temporal client: final states not compared' }) },
  };
  const queue = workflows ? new WorkflowQueue(workflows, options.workflowConcurrency ?? WORKFLOW_CONCURRENCY, result.workflows, options.signal) : undefined;
  const workers = new LazyPool(options.workerThreads ?? OrderCheckPool.defaultSize());
  const batchSize = options.batchSize ?? ORDER_BATCH;
  try {
    for (const kind of ORDER_KINDS) {
      await auditKind(trx, ORDER_KIND_SPECS[kind] as unknown as AnySpec, report, queue, result, options.scope?.[kind], workers, batchSize, options.signal);
    }
  } finally {
    await workers.close();
    // An abandoned audit asks Temporal nothing more: only the comparisons already running finish.
    await queue?.drain(); // abandoned (options.signal): only the questions in flight are awaited
  }
  for (const { kind, txId } of options.strays ?? []) {
    report({ kind: 'ledger_transaction_unexpected', orderKind: kind, txId, orderId: '', message: `transaction ${txId} belongs to no known ${kind} order` });
  }
  return result;
}

type AnySpec = OrderKindSpec<{ status: string }, unknown, object>;

/**
 * A promise read ahead, awaited later: if the audit stops before (another part failed), its
 * failure is not an unhandled rejection. Awaiting it still throws.
 */
export function settledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** The pool, started only when a second batch shows the audit is not a small one. */
class LazyPool {
  private pool: OrderCheckPool | undefined;
  constructor(private readonly size: number) {}
  get(batchNo: number): OrderCheckPool | undefined {
    if (batchNo > 0 && !this.pool && this.size > 0) this.pool = OrderCheckPool.start(this.size);
    return this.pool;
  }
  get workers(): number {
    return this.pool?.size ?? 0;
  }
  async close(): Promise<void> {
    await this.pool?.close();
  }
}

async function auditKind(
  trx: Trx,
  spec: AnySpec,
  report: (d: OrderDiscrepancy) => void,
  queue: WorkflowQueue | undefined,
  result: OrderAuditResult,
  scope: readonly string[] | undefined,
  workers: LazyPool,
  batchSize: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { definition } = spec;
  const { kind } = definition;
  signal?.throwIfAborted();
  const add: Add = (d) => report({ ...d, orderKind: kind });
  const columns = await rowColumns(trx, spec.table);
  const taken = (r: OrderBatchResult) => {
    for (const d of r.discrepancies) report(d);
    result.checkedOrders += r.checked;
    result.byKind[kind].checked += r.checked;
    result.reconciledOrders += r.reconciled;
    result.byKind[kind].reconciled += r.reconciled;
    if (queue) for (const { orderId, state } of r.closed) queue.push({ kind, orderId, state, add });
  };
  // Results are taken in the order the batches were read; a few batches are checked at once.
  const checking: Array<Promise<OrderBatchResult>> = [];
  let batchNo = 0;
  for await (const batch of batchesOf(trx, spec, scope, columns, batchSize)) {
    signal?.throwIfAborted(); // between batches: an abandoned audit stops reading (issue 18)
    const pool = workers.get(batchNo);
    batchNo += 1;
    checking.push(settledLater(checkOn(pool, batch, queue !== undefined)));
    while (checking.length > Math.max(1, 2 * workers.workers)) taken(await (checking.shift() as Promise<OrderBatchResult>));
    if (queue) await queue.backPressure();
  }
  while (checking.length > 0) taken(await (checking.shift() as Promise<OrderBatchResult>));
  if (scope) return;

  // Event streams without a read-model row (a stream always starts with version 1).
  const streamOf = definition.streamId('');
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
    where l.tx_id like ${`${definition.ledgerTxPrefix}%`}
      and not exists (select 1 from ${sql.table(spec.table)} r where ${sql.ref(`r.${spec.idColumn}`)} = l.order_id)
    order by l.seq limit 1000`.execute(trx);
  for (const { tx_id, order_id } of strays) {
    add({ kind: 'ledger_transaction_unexpected', txId: tx_id, orderId: order_id ?? '', message: `transaction ${tx_id} belongs to no known ${kind} order` });
  }
}

/** An event as the checks read it: occurred_at in epoch ms (the floor of the instant, as a pg Date holds it), the payload as its JSON text. */
const EVENT_COLUMNS = sql`order_id, version, floor(extract(epoch from occurred_at) * 1000)::float8 as occurred_ms, payload::text as payload`;

/** The read model's columns as the audit selects them: every column, `details` (jsonb) as its JSON text, timestamps as epoch ms. */
async function rowColumns(trx: Trx, table: string) {
  const { rows } = await sql<{ name: string; type: string }>`
    select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
    where attrelid = ${table}::regclass and attnum > 0 and not attisdropped order by attnum`.execute(trx);
  return sql.join(
    rows.map(({ name, type }) => {
      if (type === 'jsonb' || type === 'json') return sql`${sql.ref(name)}::text as ${sql.ref(name)}`;
      // Timestamps as epoch ms, the number a pg Date would hold (floor of the instant): no Date to
      // parse here, nothing but a number to copy to a worker.
      if (type === 'timestamp with time zone' && name.endsWith('_at')) return sql`floor(extract(epoch from ${sql.ref(name)}) * 1000)::float8 as ${sql.ref(name)}`;
      return sql.ref(name);
    }),
  );
}

/** The batches of a kind: every order by keyset, or the ids of a scope; each batch's queries sent before the previous batch is checked. */
async function* batchesOf(trx: Trx, spec: AnySpec, scope: readonly string[] | undefined, columns: ReturnType<typeof sql.join>, batchSize: number): AsyncGenerator<RawOrderBatch> {
  if (scope) {
    const chunks: string[][] = [];
    for (let i = 0; i < scope.length; i += batchSize) chunks.push(scope.slice(i, i + batchSize));
    let next = chunks.length > 0 ? settledLater(loadBatch(trx, spec, columns, { ids: chunks[0] as string[] }, batchSize)) : undefined;
    for (let i = 0; next; i += 1) {
      const batch: RawOrderBatch = await next;
      next = i + 1 < chunks.length ? settledLater(loadBatch(trx, spec, columns, { ids: chunks[i + 1] as string[] }, batchSize)) : undefined;
      yield batch;
    }
    return;
  }
  let next: Promise<RawOrderBatch> | undefined = settledLater(loadBatch(trx, spec, columns, { after: '' }, batchSize));
  while (next) {
    const batch: RawOrderBatch = await next;
    const last = batch.ids[batch.ids.length - 1];
    next = batch.ids.length === batchSize && last !== undefined ? settledLater(loadBatch(trx, spec, columns, { after: last }, batchSize)) : undefined;
    yield batch;
  }
}

/**
 * One batch: the read-model rows, the events, the ledger transactions and the escrow flows of the
 * orders, as four queries sent at once (pg queues them on the connection).
 */
async function loadBatch(
  trx: Trx,
  spec: AnySpec,
  columns: ReturnType<typeof sql.join>,
  selector: { after: string } | { ids: readonly string[] },
  batchSize: number,
): Promise<RawOrderBatch> {
  const { definition } = spec;
  const table = sql.table(spec.table);
  const id = sql.ref(spec.idColumn);
  const streamPrefix = definition.streamId('');
  const escrowPrefix = definition.escrowAccount('');
  let queries;
  if ('ids' in selector) {
    // Incremental: scattered ids, each looked up.
    const ids = [...selector.ids];
    queries = [
      sql<Record<string, unknown>>`select ${columns} from ${table} where ${id} = any(${ids}::text[]) order by ${id}`,
      sql<EventRow>`select ${EVENT_COLUMNS} from order_events
        where order_kind = ${definition.kind} and order_id = any(${ids.map((i) => streamPrefix + i)}::text[]) order by order_id, version`,
      sql<LedgerRow>`select order_id, tx_id, content_hash from ledger_transactions where order_id = any(${ids}::text[]) and tx_id like ${`${definition.ledgerTxPrefix}%`}`,
      sql<TransferRow>`
        with accounts as (select unnest(${ids.map((i) => escrowPrefix + i)}::text[]) as account)
        select tx_id, transfer_index, debit_account, credit_account, amount_fen from ledger_transfers where debit_account = any(array(select account from accounts))
        union all
        select tx_id, transfer_index, debit_account, credit_account, amount_fen from ledger_transfers where credit_account = any(array(select account from accounts))`,
    ] as const;
  } else {
    // Keyset: the next orders by id; each query finds them itself (so none waits for another) and
    // reads its rows as one index range, from the lowest to the highest of their stream ids, escrow
    // accounts… (computed by PostgreSQL, so under its collation the range holds every one of them;
    // rows of other orders in it are dropped by the checks).
    const ids = sql`select ${id} as id from ${table} where ${id} > ${selector.after} order by ${id} limit ${batchSize}`;
    const bounds = (prefix: string) => sql`(select min(${prefix} || o.id) from (${ids}) o) and (select max(${prefix} || o.id) from (${ids}) o)`;
    queries = [
      sql<Record<string, unknown>>`select ${columns} from ${table} where ${id} > ${selector.after} order by ${id} limit ${batchSize}`,
      sql<EventRow>`select ${EVENT_COLUMNS} from order_events
        where order_id between ${bounds(streamPrefix)} and order_kind = ${definition.kind} order by order_id, version`,
      sql<LedgerRow>`select order_id, tx_id, content_hash from ledger_transactions where order_id between ${bounds('')} and tx_id like ${`${definition.ledgerTxPrefix}%`}`,
      sql<TransferRow>`
        select tx_id, transfer_index, debit_account, credit_account, amount_fen from ledger_transfers where debit_account between ${bounds(escrowPrefix)}
        union all
        select tx_id, transfer_index, debit_account, credit_account, amount_fen from ledger_transfers where credit_account between ${bounds(escrowPrefix)}`,
    ] as const;
  }
  const [rows, events, ledger, escrow] = await Promise.all([queries[0].execute(trx), queries[1].execute(trx), queries[2].execute(trx), queries[3].execute(trx)]);
  const ids = 'ids' in selector ? selector.ids : rows.rows.map((r) => r[spec.idColumn] as string);
  return columnarBatch(definition.kind, ids, rows.rows, events.rows, ledger.rows, escrow.rows);
}

interface PendingComparison {
  readonly kind: OrderKind;
  readonly orderId: string;
  readonly state: unknown;
  readonly add: Add;
}

/**
 * L6 against the workflows, off the batches' path: closed orders wait here while at most
 * `concurrency` workflows are asked at once (describe, then the close event: two calls each).
 * The audit goes on with the next batch unless `MAX_PENDING` orders are already waiting — then it
 * waits for Temporal (backPressure), so memory stays bounded however many closed orders there are.
 */
class WorkflowQueue {
  private static readonly MAX_PENDING = 2 * ORDER_BATCH;
  private readonly pending: PendingComparison[] = [];
  private head = 0;
  private active = 0;
  private wake: Array<() => void> = [];

  constructor(
    private readonly workflows: WorkflowOutcomes,
    private readonly concurrency: number,
    private readonly tally: WorkflowComparison,
    /** Once aborted, no new question is asked (the audit was abandoned). */
    private readonly signal?: AbortSignal,
  ) {}

  push(item: PendingComparison): void {
    this.pending.push(item);
    if (this.active < this.concurrency) void this.work();
  }

  /** Waits while more than MAX_PENDING closed orders are waiting for Temporal. */
  async backPressure(): Promise<void> {
    while (this.pending.length - this.head > WorkflowQueue.MAX_PENDING) await this.waitForProgress();
  }

  /** Drops the comparisons not started yet (the audit was abandoned). */
  abandon(): void {
    this.pending.length = 0;
    this.head = 0;
  }

  /** Waits for every comparison; once the signal aborts, only for those already asked. */
  async drain(): Promise<void> {
    while (this.active > 0 || this.pending.length > this.head) {
      if (this.signal?.aborted) this.abandon();
      if (this.active === 0 && this.pending.length <= this.head) break;
      await this.waitForProgress();
    }
  }

  private waitForProgress(): Promise<void> {
    return new Promise((resolve) => this.wake.push(resolve));
  }

  private async work(): Promise<void> {
    this.active += 1;
    try {
      while (this.head < this.pending.length && !this.signal?.aborted) {
        const item = this.pending[this.head] as PendingComparison;
        this.pending[this.head] = undefined as unknown as PendingComparison;
        this.head += 1;
        if (this.head > 4096 && this.head * 2 > this.pending.length) {
          this.pending.splice(0, this.head);
          this.head = 0;
        }
        const outcome = await this.workflows
          .outcomeOf(item.kind, item.orderId)
          .catch((error: unknown): WorkflowOutcome => ({ status: 'unavailable', reason: error instanceof Error ? error.message : String(error) }));
        compareWorkflow(item, outcome, this.tally);
        this.notify();
      }
    } finally {
      this.active -= 1;
      this.notify();
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = [];
    for (const resolve of wake) resolve();
  }
}

/** L6: the final state a closed order's workflow returned is the fold of its stored events. */
function compareWorkflow({ kind, orderId, state, add }: PendingComparison, outcome: WorkflowOutcome, tally: WorkflowComparison): void {
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
}

