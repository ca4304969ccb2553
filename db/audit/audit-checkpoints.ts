import { sql, type Transaction } from 'kysely';
import type { Db } from '../connect';
import type { Database } from '../schema';

/**
 * F3 at scale: audit checkpoints (migration 0007, docs/decisions.md "Audit checkpoints").
 *
 * A clean audit records where it got to: each hash chain's head as it verified it (seq and hash),
 * and `eventsWatermark`, an order_events id such that every event with an id up to it was
 * committed before the audit's snapshot, so that audit or an earlier one checked its order. An
 * incremental audit starts from the latest checkpoint and trusts it: it verifies each chain from
 * the checkpoint's head on and audits only the orders with events or ledger transactions since.
 */

type Trx = Transaction<Database>;

export interface ChainPosition {
  readonly chainId: number;
  /** The last verified transaction's chain_seq (0: nothing yet). */
  readonly seq: bigint;
  /** Its chain_hash (the genesis hash when seq is 0). */
  readonly hash: string;
}

export interface Checkpoint {
  readonly id: bigint;
  readonly recordedAt: Date;
  readonly mode: 'full' | 'incremental';
  readonly eventsWatermark: bigint;
  readonly heads: readonly ChainPosition[];
  readonly workflowsSkipped: string | null;
}

/** The latest checkpoint, as the snapshot `trx` sees it (none before the first clean audit). */
export async function latestCheckpoint(trx: Trx): Promise<Checkpoint | undefined> {
  const { rows } = await sql<{ id: bigint; recorded_at: Date; mode: 'full' | 'incremental'; events_watermark: bigint; workflows_skipped: string | null }>`
    select id, recorded_at, mode, events_watermark, workflows_skipped from audit_checkpoints order by id desc limit 1`.execute(trx);
  const row = rows[0];
  if (!row) return undefined;
  const { rows: heads } = await sql<{ chain_id: number; seq: bigint; hash: string }>`
    select chain_id, seq, hash from audit_checkpoint_heads where checkpoint_id = ${row.id} order by chain_id`.execute(trx);
  return {
    id: row.id,
    recordedAt: row.recorded_at,
    mode: row.mode,
    eventsWatermark: row.events_watermark,
    heads: heads.map((h) => ({ chainId: h.chain_id, seq: h.seq, hash: h.hash })),
    workflowsSkipped: row.workflows_skipped,
  };
}

/** A run of order_events ids [from, to] that the audit's snapshot did not see (an aborted append, or one still committing). */
export type IdGap = readonly [from: bigint, to: bigint];

/**
 * The ids after `after` missing in the snapshot `trx` sees, up to the highest one it sees (one
 * index-only scan), and that highest id. An id missing from the snapshot was either never
 * committed (a failed append) or belongs to an append that was still committing when the snapshot
 * was taken: recordCheckpoint finds out which.
 */
export async function eventIdGaps(trx: Trx, after: bigint): Promise<{ maxEventId: bigint; gaps: IdGap[] }> {
  const { rows } = await sql<{ lo: bigint; hi: bigint }>`
    select prev + 1 as lo, id - 1 as hi
    from (select id, lag(id, 1, ${after}::int8) over (order by id) as prev from order_events where id > ${after}::int8) ids
    where id > prev + 1
    order by lo`.execute(trx);
  const { rows: max } = await sql<{ max: bigint | null }>`select max(id) as max from order_events`.execute(trx);
  const maxEventId = max[0]?.max ?? after;
  return { maxEventId: maxEventId > after ? maxEventId : after, gaps: rows.map((r) => [r.lo, r.hi] as const) };
}

export interface CheckpointInput {
  readonly mode: 'full' | 'incremental';
  readonly basedOn?: bigint;
  /** The chain heads the audit verified (its snapshot's ledger_chain_heads). */
  readonly heads: readonly ChainPosition[];
  /** The highest order_events id the audit's snapshot saw, and the ids it did not see below it. */
  readonly maxEventId: bigint;
  readonly gaps: readonly IdGap[];
  readonly checkedTransactions: number;
  readonly checkedOrders: number;
  readonly workflowsCompared: number;
  readonly workflowsSkipped: string | undefined;
  /** How long to wait for appends that were running during the audit (default 10 s). */
  readonly waitMs?: number;
}

export type CheckpointResult = { readonly id: bigint; readonly eventsWatermark: bigint } | { readonly notRecorded: string };

/**
 * Records a checkpoint after a clean audit (as the application's role: it may insert checkpoints,
 * never change one).
 *
 * The chain heads are exact: a transaction is linked under its chain head's lock, so every
 * transaction after a head commits after it. Event ids are not: an append takes its ids when it
 * starts and may commit after a later append, so an event with an id below the highest one the
 * audit saw may have been invisible to it. Hence the watermark: first wait until every append
 * that was writing order_events when the audit ended has finished (they hold a ROW EXCLUSIVE lock
 * on it until they end; an append that starts later takes higher ids); then, of the ids the
 * audit's snapshot was missing, the lowest one that exists now is an event the audit did not see:
 * the watermark stops just below it (the next incremental audit goes over what follows again).
 * If a writer does not finish in time, no checkpoint is recorded.
 */
export async function recordCheckpoint(db: Db, input: CheckpointInput): Promise<CheckpointResult> {
  const waitMs = input.waitMs ?? 10_000;
  const { rows: writers } = await sql<{ vxid: string }>`
    select distinct virtualtransaction as vxid from pg_locks
    where locktype = 'relation' and relation = 'order_events'::regclass and mode = 'RowExclusiveLock' and pid <> pg_backend_pid()`.execute(db);
  const running = writers.map((w) => w.vxid);
  for (const deadline = Date.now() + waitMs; running.length > 0; ) {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_locks where virtualtransaction = any(${running}::text[]) and locktype = 'virtualxid'`.execute(db);
    if ((rows[0]?.n ?? 0) === 0) break;
    if (Date.now() > deadline) return { notRecorded: `appends still running after ${waitMs} ms: the events they write may be older than the audit's last one` };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return db.transaction().execute(async (trx) => {
    let eventsWatermark = input.maxEventId;
    if (input.gaps.length > 0) {
      const { rows } = await sql<{ late: bigint | null }>`
        select min(e.id) as late
        from unnest(${input.gaps.map(([lo]) => lo.toString())}::int8[], ${input.gaps.map(([, hi]) => hi.toString())}::int8[]) as g(lo, hi)
        cross join lateral (select id from order_events where id between g.lo and g.hi order by id limit 1) e`.execute(trx);
      const late = rows[0]?.late;
      if (late !== null && late !== undefined && late <= eventsWatermark) eventsWatermark = late - 1n;
    }
    const { rows } = await sql<{ id: bigint }>`
      insert into audit_checkpoints (mode, based_on, events_watermark, checked_transactions, checked_orders, workflows_compared, workflows_skipped)
      values (${input.mode}, ${input.basedOn ?? null}, ${eventsWatermark}, ${input.checkedTransactions}, ${input.checkedOrders},
              ${input.workflowsCompared}, ${input.workflowsSkipped ?? null})
      returning id`.execute(trx);
    const id = (rows[0] as { id: bigint }).id;
    if (input.heads.length > 0) {
      await sql`
        insert into audit_checkpoint_heads (checkpoint_id, chain_id, seq, hash)
        select ${id}, chain_id, seq, hash
        from unnest(${input.heads.map((h) => h.chainId)}::int4[], ${input.heads.map((h) => h.seq.toString())}::int8[], ${input.heads.map((h) => h.hash)}::text[]) as h(chain_id, seq, hash)`.execute(trx);
    }
    return { id, eventsWatermark };
  });
}
