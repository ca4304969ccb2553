/**
 * Ledger posting throughput (issue 4). Starts its own embedded PostgreSQL, migrates it, and
 * measures, at 1, 8 and 32 concurrent writers (one pool connection per writer):
 *   - plain:       a single-row INSERT per transaction into a scratch table (the floor of what one
 *                  committed write costs on this machine);
 *   - ledger:      postLedgerTransaction alone, one per transaction, each for another order (so
 *                  spread over the 16 hash chains);
 *   - ledger, one chain: the same, all for one order, so every posting waits for the same chain
 *                  head: the single hot row of the former design;
 *   - placement:   the activity recordTaskEvents with a placement event: event + outbox + read
 *                  model + ledger transaction in one transaction (one database call), as in
 *                  production;
 *   - placement, database call only: the same call of append_order_stream with its JSON made up
 *                  front, so the figure is what PostgreSQL itself can do (the activity's share is
 *                  the difference).
 * Prints a table and exits. Usage: npm run bench:ledger [-- --seconds 5]
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../platform/free-port';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { createActivities } from '../activities';
import { planAppend } from '../activities/append-to-stream';
import { taskOrderStream } from '../activities/task-orders';
import { createDb, type Db } from '../db/connect';
import { ledgerChainFor, postLedgerTransaction } from '../db/ledger';
import { migrateToLatest } from '../db/migrate';
import { streamWriteJson } from '../db/stream-append';
import type { LedgerTransaction } from '../domain/ledger/types';
import { DEFAULT_TASK_POLICY, placementEvent, type TaskPlacement } from '../domain/task-order';
import { ensureDatabase, startEmbeddedPostgres } from '../platform/embedded-postgres';

const WRITERS = [1, 8, 32] as const;

interface Phase {
  readonly writers: number;
  readonly operations: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** CPU time of this (the client) process per operation: JavaScript, query building, sockets. */
  readonly cpuMsPerOp: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' } } });
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new Error('--seconds must be positive');

  const dir = mkdtempSync(join(tmpdir(), 'xingtu-bench-pg-'));
  chmodSync(dir, 0o755); // Postgres runs as its own user when we are root
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`starting embedded PostgreSQL in ${dir} …`);
  const server = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), port: await freePort() });
  try {
    await ensureDatabase(server.url('postgres'), 'bench');
    const url = server.url('bench');
    const setup = createDb({ connectionString: url, maxConnections: 1 });
    await migrateToLatest(setup);
    await setup.destroy();
    const owner = createDb({ connectionString: url, maxConnections: 1, role: null });
    await sql`create table bench_plain (id bigserial primary key, payload text not null, created_at timestamptz not null default now())`.execute(owner);
    const { rows } = await sql<{ version: string; fsync: string; sc: string }>`
      select version() as version, current_setting('fsync') as fsync, current_setting('synchronous_commit') as sc`.execute(owner);
    await owner.destroy();

    const phases: Array<[string, (db: Db) => Operation]> = [
      ['plain', () => plainInsert],
      ['ledger', () => ledgerPosting(false)],
      ['ledger, one chain', () => ledgerPosting(true)],
      ['placement', (db) => placementPosting(db)],
      ['placement, database call only', () => placementDatabaseCall()],
    ];
    const results = new Map<string, Phase[]>();
    for (const writers of WRITERS) {
      const db = createDb({ connectionString: url, maxConnections: writers });
      try {
        for (const [name, operation] of phases) {
          log(`${name}, ${writers} writer(s) …`);
          results.set(name, [...(results.get(name) ?? []), await run(db, writers, seconds, operation(db))]);
        }
      } finally {
        await db.destroy();
      }
    }

    const rate = (name: string, i: number) => (results.get(name)?.[i] as Phase).perSecond;
    const cpu = (name: string, i: number) => (results.get(name)?.[i] as Phase).cpuMsPerOp;
    const lines = [
      `PostgreSQL ${rows[0]?.version.split(' ')[1]}, fsync=${rows[0]?.fsync}, synchronous_commit=${rows[0]?.sc}; ${seconds} s per phase; ${availableParallelism()} CPUs`,
      '',
      '| writers | plain tx/s | ledger postings/s | ledger, one chain/s | placement postings/s | placement / plain | ledger / plain | bench-process CPU ms per placement | placement, database call only/s |',
      '|--------:|-----------:|------------------:|--------------------:|---------------------:|------------------:|---------------:|-----------------------------------:|--------------------------------:|',
      ...WRITERS.map((writers, i) =>
        [
          writers,
          rate('plain', i).toFixed(0),
          rate('ledger', i).toFixed(0),
          rate('ledger, one chain', i).toFixed(0),
          rate('placement', i).toFixed(0),
          (rate('placement', i) / rate('plain', i)).toFixed(2),
          (rate('ledger', i) / rate('plain', i)).toFixed(2),
          cpu('placement', i).toFixed(2),
          rate('placement, database call only', i).toFixed(0),
        ].join(' | '),
      ).map((line) => `| ${line} |`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

type Operation = (db: Db, writer: number, n: number) => Promise<void>;

const plainInsert: Operation = async (db, writer, n) => {
  await sql`insert into bench_plain (payload) values (${`w${writer}-${n}`})`.execute(db);
};

let runId = 0;

function ledgerPosting(oneChain: boolean): Operation {
  const run = `${Date.now().toString(36)}-${(runId += 1)}`;
  return async (db, writer, n) => {
    const id = `${run}-${writer}-${n}`;
    const orderId = oneChain ? `hot-${run}` : `bench-${id}`;
    const tx: LedgerTransaction = {
      txId: `bench:${id}`,
      kind: 'placement_payment',
      orderId,
      transfers: [{ debitAccount: 'external:payments', creditAccount: `escrow:task:${orderId}`, amountFen: 110_000n }],
    };
    await db.transaction().execute((trx) => postLedgerTransaction(trx, tx, new Date()));
  };
}

function placementPosting(db: Db): Operation {
  const activities = createActivities({ db });
  const run = `${Date.now().toString(36)}-${(runId += 1)}`;
  return async (_db, writer, n) => {
    const p = benchPlacement(`bench-${run}-${writer}-${n}`, writer);
    await activities.recordTaskEvents({ orderId: p.orderId, causation: 'bench', events: [{ version: 1, occurredAt: Date.now(), event: placementEvent(p, DEFAULT_TASK_POLICY) }] });
  };
}

/**
 * The database's share of a placement: append_order_stream called with the JSON of a real
 * placement (planned once by the activity's own planAppend), only the ids and the chain changed per
 * call, so the client does almost nothing but send it.
 */
function placementDatabaseCall(): Operation {
  const run = `${Date.now().toString(36)}-${(runId += 1)}`;
  const template = `ID-${run}`;
  const p = benchPlacement(template, 0);
  const { write } = planAppend(
    taskOrderStream(template),
    [],
    [{ version: 1, occurredAt: Date.now(), event: placementEvent(p, DEFAULT_TASK_POLICY) }],
    'bench',
  );
  if (!write) throw new Error('a placement writes');
  const json = streamWriteJson(write);
  return async (db, writer, n) => {
    const id = `${run}-${writer}-${n}`;
    const chain = String(ledgerChainFor({ txId: '', orderId: id }));
    const param = (text: string) => text.replaceAll(template, id).replace('"chain_id":' + String(json.chainIds[0]), `"chain_id":${chain}`);
    await sql`select append_order_stream('task', ${id}::text, 'bench', ${param(json.events)}::jsonb, ${param(json.notifications)}::jsonb,
      ${param(json.readModel)}::jsonb, ${param(json.ledger)}::jsonb)`.execute(db);
  };
}

function benchPlacement(id: string, writer: number): TaskPlacement {
  return {
    orderId: id,
    clientId: `client-${writer % 4}`,
    creatorId: `creator-${writer % 8}`,
    taskType: 'douyin_video',
    priceFen: 100_000n,
    brief: { title: 'Bench', industry: 'beauty', expectedPublishAt: '2030-01-01T00:00:00.000Z' },
    paymentMode: 'full',
    funding: { source: 'external', paymentRef: `pay-${id}` },
  };
}

/** `writers` loops run `operation` back to back for `seconds` (after a short warm-up). */
async function run(db: Db, writers: number, seconds: number, operation: Operation): Promise<Phase> {
  const warmUpUntil = Date.now() + 500;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let n = 0; Date.now() < warmUpUntil; n += 1) await operation(db, w, -n - 1);
    }),
  );
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const until = Date.now() + seconds * 1000;
  const counts = await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      let n = 0;
      while (Date.now() < until) {
        await operation(db, w, n);
        n += 1;
      }
      return n;
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const operations = counts.reduce((a, b) => a + b, 0);
  return { writers, operations, seconds: elapsed, perSecond: operations / elapsed, cpuMsPerOp: (cpu.user + cpu.system) / 1000 / operations };
}


// Exit once stdout is flushed (embedded-postgres may keep handles open).
main().then(
  () => process.stdout.write('', () => process.exit(0)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
