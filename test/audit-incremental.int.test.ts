import { sql } from 'kysely';
import { createActivities } from '../activities';
import { planAppend } from '../activities/append-to-stream';
import { taskOrderStream } from '../activities/task-orders';
import fc from 'fast-check';
import { auditLedger, databaseContentHashes, type AuditReport } from '../db/audit/audit';
import { createDb, type Db } from '../db/connect';
import { ledgerChainFor, postLedgerTransaction } from '../db/ledger';
import { writeStreamAppend } from '../db/stream-append';
import { DEFAULT_TASK_POLICY, placementEvent, type TaskPlacement } from '../domain/task-order';
import { createTestDatabase, type TestDatabase } from './support/db';
import { placement } from './support/fixtures';

// Issue 11: the incremental audit (`audit --since-checkpoint`) starts from the latest checkpoint
// a clean audit recorded, verifies only what came after it, and trusts what came before.

let database: TestDatabase;
let db: Db; // the application's role
let owner: Db; // the login user: a superuser here, who can tamper behind the application's back

const T0 = Date.parse('2026-11-01T00:00:00Z');
const HOUR = 3_600_000;
let clock = T0;
const at = () => (clock += HOUR);

async function place(p: TaskPlacement = placement()): Promise<TaskPlacement> {
  await createActivities({ db }).recordTaskEvents({ orderId: p.orderId, causation: 'test', events: [{ version: 1, occurredAt: at(), event: placementEvent(p, DEFAULT_TASK_POLICY) }] });
  return p;
}

/** T7: the creator rejects: the whole payment back to the client's account (a second transaction). */
async function reject(p: TaskPlacement): Promise<void> {
  const paid = placementEvent(p, DEFAULT_TASK_POLICY);
  const refundFen = paid.type === 'TaskOrderPlaced' ? paid.paidFen : 0n;
  await createActivities({ db }).recordTaskEvents({
    orderId: p.orderId,
    causation: 'test',
    events: [{ version: 2, occurredAt: at(), event: { type: 'TaskOrderCancelled', reason: 'rejected_by_creator', by: { type: 'creator', id: p.creatorId }, refundFen, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: 0n } }],
  });
}

const full = () => auditLedger(db);
const incremental = (options: { checkpointWaitMs?: number } = {}) => auditLedger(db, { sinceCheckpoint: true, ...options });

async function count(table: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(db);
  return rows[0]?.n ?? 0;
}

/** A change made behind the application's back (triggers bypassed), and its undoing. */
async function tamper(statement: ReturnType<typeof sql>): Promise<void> {
  await owner.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    await statement.execute(trx);
  });
}

function kinds(report: AuditReport): string[] {
  return [...new Set(report.discrepancies.map((d) => d.kind))].sort();
}

/** A placement whose order id's ledger chain is (or is not) `chain`. */
function placementOnChain(chain: number, same: boolean): TaskPlacement {
  for (;;) {
    const p = placement();
    if ((ledgerChainFor({ txId: '', orderId: p.orderId }) === chain) === same) return p;
  }
}

const old: TaskPlacement[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
  owner = createDb({ connectionString: database.url, role: null, maxConnections: 2 });
  for (let i = 0; i < 6; i += 1) old.push(await place());
  await reject(old[0] as TaskPlacement);
  await reject(old[1] as TaskPlacement);
}, 60_000);

afterAll(async () => {
  await owner?.destroy();
  await database?.drop();
});

describe('F3 at scale: checkpoints and the incremental audit', () => {
  test('without a checkpoint, --since-checkpoint is a full audit; a clean audit records a checkpoint at the chain heads it verified', async () => {
    const first = await incremental();
    expect(first).toMatchObject({ ok: true, mode: 'full', checkedTransactions: 8, checkedOrders: 6, reconciledOrders: 2, checkpoint: { from: null } });
    const id = first.checkpoint.recorded?.id;
    expect(typeof id).toBe('bigint');
    const { rows: heads } = await sql<{ chain_id: number; seq: bigint; hash: string }>`
      select chain_id, seq, hash from audit_checkpoint_heads where checkpoint_id = ${id} order by chain_id`.execute(db);
    expect(heads).toEqual(await db.selectFrom('ledger_chain_heads').select(['chain_id', 'seq', 'hash']).orderBy('chain_id').execute());
    // Nothing new: nothing to check, and a new checkpoint based on the first.
    const again = await incremental();
    expect(again).toMatchObject({ ok: true, mode: 'incremental', checkedTransactions: 0, checkedOrders: 0, reconciledOrders: 0, checkedChains: 16 });
    expect(again.checkpoint.from?.id).toBe(id);
    expect(again.checkpoint.recorded?.id).toBeGreaterThan(id as bigint);
  });

  test('the application may record checkpoints but never change or delete one', async () => {
    await expect(sql`update audit_checkpoints set events_watermark = 0`.execute(db)).rejects.toThrow(/permission denied/);
    await expect(sql`delete from audit_checkpoint_heads`.execute(db)).rejects.toThrow(/permission denied/);
    await expect(sql`delete from audit_checkpoints`.execute(owner)).rejects.toThrow(/append-only/);
  });

  test('an incremental audit checks only the transactions and orders since the checkpoint: new orders, and an old order that closed', async () => {
    await full();
    const before = await count('ledger_transactions');
    const fresh = [await place(), await place(), await place()];
    await reject(fresh[0] as TaskPlacement);
    await reject(old[2] as TaskPlacement); // an order from before the checkpoint closes now
    const report = await incremental();
    expect(report.discrepancies).toEqual([]);
    expect(report.mode).toBe('incremental');
    expect(report.checkedTransactions).toBe((await count('ledger_transactions')) - before);
    expect(report.checkedTransactions).toBe(5);
    expect(report.orders.task).toEqual({ checked: 4, reconciled: 2 });
    // A full audit checks everything, the same way.
    const everything = await full();
    expect(everything).toMatchObject({ ok: true, mode: 'full', checkedTransactions: await count('ledger_transactions'), checkedOrders: await count('task_orders') });
  });

  test('a transaction tampered with after the checkpoint is found; a dirty audit records no checkpoint', async () => {
    const checkpoint = (await full()).checkpoint.recorded?.id;
    const p = await place();
    const txId = `task:${p.orderId}:v1:placement_payment`;
    await tamper(sql`update ledger_transfers set amount_fen = amount_fen + 1 where tx_id = ${txId}`);
    try {
      const report = await incremental();
      expect(report.ok).toBe(false);
      expect(report.checkedTransactions).toBe(1);
      expect(report.discrepancies).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'content_hash_mismatch', txId, orderId: p.orderId })]));
      expect(report.checkpoint).toMatchObject({ from: { id: checkpoint }, recorded: null, notRecorded: expect.stringContaining('discrepancies') });
      // The next incremental audit starts from the same (last clean) checkpoint and finds it again.
      expect((await incremental()).discrepancies.map((d) => d.kind)).toContain('content_hash_mismatch');
    } finally {
      await tamper(sql`update ledger_transfers set amount_fen = amount_fen - 1 where tx_id = ${txId}`);
    }
    const clean = await incremental();
    expect(clean).toMatchObject({ ok: true, checkedTransactions: 1, checkpoint: { from: { id: checkpoint } } });
  });

  test("a broken link right after the checkpoint's head is found", async () => {
    await full();
    const p = await place();
    const txId = `task:${p.orderId}:v1:placement_payment`;
    const { prev_hash: prevHash } = await db.selectFrom('ledger_transactions').select('prev_hash').where('tx_id', '=', txId).executeTakeFirstOrThrow();
    await tamper(sql`update ledger_transactions set prev_hash = ${'f'.repeat(64)} where tx_id = ${txId}`);
    try {
      const report = await incremental();
      expect(report.checkedTransactions).toBe(1);
      expect(kinds(report)).toEqual(['chain_hash_mismatch', 'chain_link_broken']);
      expect(report.discrepancies).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'chain_link_broken', txId, chainId: ledgerChainFor({ txId, orderId: p.orderId }) })]));
    } finally {
      await tamper(sql`update ledger_transactions set prev_hash = ${prevHash} where tx_id = ${txId}`);
    }
    expect((await incremental()).ok).toBe(true);
  });

  test('a transaction tampered with before the checkpoint: the incremental audit trusts the checkpoint, the full audit finds it', async () => {
    const target = old[5] as TaskPlacement; // placed before every checkpoint, untouched since
    const txId = `task:${target.orderId}:v1:placement_payment`;
    await full();
    await tamper(sql`update ledger_transfers set amount_fen = amount_fen + 1 where tx_id = ${txId}`);
    try {
      const trusted = await incremental();
      expect(trusted).toMatchObject({ ok: true, mode: 'incremental', checkedTransactions: 0 });
      const report = await auditLedger(db, { recordCheckpoint: false });
      expect(report.ok).toBe(false);
      expect(report.discrepancies).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'content_hash_mismatch', txId })]));
      expect(report.checkpoint.notRecorded).toBeDefined();
      // Altering the transaction a checkpoint's head names is found by the incremental audit too.
      const { rows } = await sql<{ tx_id: string; chain_hash: string }>`
        select t.tx_id, t.chain_hash from audit_checkpoint_heads h join ledger_transactions t on t.chain_id = h.chain_id and t.chain_seq = h.seq
        where h.checkpoint_id = (select max(id) from audit_checkpoints) and h.seq > 0 limit 1`.execute(db);
      const anchor = rows[0] as { tx_id: string; chain_hash: string };
      await tamper(sql`update ledger_transactions set chain_hash = ${'e'.repeat(64)} where tx_id = ${anchor.tx_id}`);
      try {
        expect(kinds(await incremental())).toContain('chain_link_broken');
      } finally {
        await tamper(sql`update ledger_transactions set chain_hash = ${anchor.chain_hash} where tx_id = ${anchor.tx_id}`);
      }
    } finally {
      await tamper(sql`update ledger_transfers set amount_fen = amount_fen - 1 where tx_id = ${txId}`);
    }
    expect((await full()).ok).toBe(true);
  });

  test("an append still committing while the audit ran is not skipped: the checkpoint waits for it, and its watermark stays below the audit's unseen event", async () => {
    await full();
    const late = placementOnChain(0, true);
    const other = placementOnChain(0, false); // another chain: it does not wait for the late append's chain head
    const { write } = planAppend(
      taskOrderStream(late.orderId),
      [],
      [{ version: 1, occurredAt: at(), event: placementEvent(late, DEFAULT_TASK_POLICY) }],
      'test',
    );
    // The late append takes its event id, then waits (its transaction open) while a later one commits.
    const writer = createDb({ connectionString: database.url, maxConnections: 1 });
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let appended: () => void = () => undefined;
    const appendedPromise = new Promise<void>((resolve) => (appended = resolve));
    const lateAppend = writer.transaction().execute(async (trx) => {
      await writeStreamAppend(trx as unknown as Db, write as NonNullable<typeof write>);
      appended();
      await released;
    });
    try {
      await appendedPromise;
      await place(other);
      // The audit does not see the late order; recording its checkpoint waits for the append.
      const audit = auditLedger(db, { sinceCheckpoint: true, checkpointWaitMs: 20_000 });
      await waitUntil(async () => {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where query like '%virtualtransaction = any%' and pid <> pg_backend_pid()`.execute(owner);
        return (rows[0]?.n ?? 0) > 0;
      });
      release();
      await lateAppend;
      const report = await audit;
      expect(report).toMatchObject({ ok: true, checkedOrders: 1 }); // the other order only
      const { rows } = await sql<{ id: bigint }>`select id from order_events where order_id = ${late.orderId}`.execute(db);
      const lateEventId = (rows[0] as { id: bigint }).id;
      expect(report.checkpoint.recorded?.eventsWatermark).toBe(lateEventId - 1n);
      // So the next incremental audit goes through the late order (and the other one again).
      await sql`update task_orders set title = 'altered' where order_id = ${late.orderId}`.execute(db);
      const next = await incremental();
      expect(next.discrepancies).toEqual([expect.objectContaining({ kind: 'read_model_mismatch', orderId: late.orderId })]);
      expect(next.checkedTransactions).toBe(1); // the late order's payment: its chain moved past the checkpoint's head
    } finally {
      release();
      await lateAppend.catch(() => undefined);
      await writer.destroy();
      await sql`update task_orders set title = ${late.brief.title} where order_id = ${late.orderId}`.execute(db);
    }
    expect((await incremental()).ok).toBe(true);
  }, 60_000);

  test('an append that does not finish in time: no checkpoint', async () => {
    await full();
    const p = placement();
    const { write } = planAppend(
      taskOrderStream(p.orderId),
      [],
      [{ version: 1, occurredAt: at(), event: placementEvent(p, DEFAULT_TASK_POLICY) }],
      'test',
    );
    const writer = createDb({ connectionString: database.url, maxConnections: 1 });
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let appended: () => void = () => undefined;
    const appendedPromise = new Promise<void>((resolve) => (appended = resolve));
    const pending = writer.transaction().execute(async (trx) => {
      await writeStreamAppend(trx as unknown as Db, write as NonNullable<typeof write>);
      appended();
      await released;
    });
    try {
      await appendedPromise;
      const report = await incremental({ checkpointWaitMs: 300 });
      expect(report.ok).toBe(true);
      expect(report.checkpoint).toMatchObject({ recorded: null, notRecorded: expect.stringContaining('still running') });
    } finally {
      release();
      await pending;
      await writer.destroy();
    }
    expect((await incremental()).checkedOrders).toBe(1);
  }, 30_000);
});

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("F3 at scale: the full audit's hashing in PostgreSQL", () => {
  test('PostgreSQL recomputes the content hash the application recorded, for any text (quotes, backslashes, control characters, any script, emoji) and any instant', async () => {
    const scratch = await createTestDatabase();
    try {
      // Text PostgreSQL can store: no NUL (and JavaScript strings without lone surrogates).
      const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((t) => !t.includes('\0'));
      const posted: string[] = [];
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          text,
          fc.option(text, { nil: undefined }),
          fc.array(fc.tuple(text, text, fc.bigInt({ min: 1n, max: 10n ** 15n })), { minLength: 1, maxLength: 3 }),
          fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }),
          async (label, ref, transfers, when) => {
            n += 1;
            const txId = `test:${n}:${label}`;
            const tx = {
              txId,
              kind: label,
              orderId: n % 3 === 0 ? null : label,
              transfers: transfers.map(([debit, credit, amountFen]) => ({ debitAccount: `d${debit}`, creditAccount: `c${credit}`, amountFen })),
              ...(ref === undefined ? {} : { externalPaymentRef: `${n}:${ref}` }),
            };
            await scratch.db.transaction().execute((trx) => postLedgerTransaction(trx, tx, when));
            posted.push(txId);
          },
        ),
        { numRuns: 150 },
      );
      const stored = await scratch.db.selectFrom('ledger_transactions').select(['tx_id', 'content_hash']).execute();
      const recomputed = await databaseContentHashes(scratch.db, posted);
      expect(stored.length).toBe(posted.length);
      for (const { tx_id, content_hash } of stored) expect([tx_id, recomputed.get(tx_id)]).toEqual([tx_id, content_hash]);
      const report = await auditLedger(scratch.db, { recordCheckpoint: false });
      expect(report.discrepancies.filter((d) => d.kind.startsWith('chain') || d.kind === 'content_hash_mismatch')).toEqual([]);
    } finally {
      await scratch.drop();
    }
  }, 60_000);
});

describe('F3 at scale: worker threads', () => {
  test('the checks on worker threads find exactly what they find on the audit\'s own thread, clean or not', async () => {
    const sorted = (report: AuditReport) => [...report.discrepancies].sort((a, b) => `${a.kind}${a.orderId}${a.txId}`.localeCompare(`${b.kind}${b.orderId}${b.txId}`));
    const both = async () => {
      const inline = await auditLedger(db, { recordCheckpoint: false, workerThreads: 0, batchSize: 2 });
      const threaded = await auditLedger(db, { recordCheckpoint: false, workerThreads: 2, batchSize: 2 });
      expect({ ...threaded, discrepancies: sorted(threaded) }).toEqual({ ...inline, discrepancies: sorted(inline) });
      return inline;
    };
    expect((await both()).ok).toBe(true);
    const target = old[3] as TaskPlacement;
    await sql`update task_orders set paid_in_fen = paid_in_fen + 1 where order_id = ${target.orderId}`.execute(db);
    const p = old[4] as TaskPlacement;
    const txId = `task:${p.orderId}:v1:placement_payment`;
    await tamper(sql`update ledger_transfers set amount_fen = amount_fen + 1 where tx_id = ${txId}`);
    try {
      const report = await both();
      expect(report.checkedOrders).toBeGreaterThan(10);
      expect(kinds(report)).toEqual(['content_hash_mismatch', 'read_model_mismatch']);
    } finally {
      await sql`update task_orders set paid_in_fen = paid_in_fen - 1 where order_id = ${target.orderId}`.execute(db);
      await tamper(sql`update ledger_transfers set amount_fen = amount_fen - 1 where tx_id = ${txId}`);
    }
  }, 60_000);
});
