/**
 * Audit at scale (issue 11). Starts its own embedded PostgreSQL, builds a ledger of
 * `--transactions` transactions from realistic task and boost orders, then times the finance CLI's
 * audit on it — the full audit, then, after `--increment` more transactions, the incremental one
 * (`--since-checkpoint`) next to a full audit of the same database — and prints the figures.
 *
 * How the database is built: every order's history is decided by the pure domain core
 * (bench/audit-orders.ts: decide/evolve, decideBoost/evolveBoost), planned by the activities' own
 * planAppend (events, outbox rows, the read-model row, the ledger transactions with their content
 * hashes and chains) and written by the product's database function append_order_stream, as the
 * application's role; top-ups go through postTopUp. So every row, chain link and chain head is one
 * the product writes. To load fast, each order's whole history is one append (its events as one
 * stream write, as a workflow catching up would record them; `causation` says `bench:…`), many
 * orders are sent per round trip (one multi-statement query, one transaction), and `--writers`
 * connections write at once — each owning its own hash chains and clients, so they never wait for
 * each other's chain heads or balance rows. The increment then goes through the real activities
 * (recordTaskEvents / recordBoostEvents): open orders move on (some close), new orders are placed.
 *
 * The audits run in a child process — `node --import tsx scripts/finance.ts audit --skip-workflows`,
 * the CLI as finance runs it — with bench/audit-probe.ts preloaded to report its peak RSS and heap.
 * There is no Temporal here, so L6's comparison with the workflows is skipped (and the report says
 * so); everything else is audited.
 *
 * Usage: npm run bench:audit -- [--transactions 1000000] [--increment 10000] [--writers 2]
 *          [--batch 100] [--seed 1] [--repeat 1] [--keep] [--build-only]
 * (--repeat N: the first full audit N times; --keep: leave the data directory; --build-only: build,
 * keep it and stop.) The temporary directory and PostgreSQL go away at the end, on failure and on
 * Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { freePort } from '../platform/free-port';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { createActivities } from '../activities';
import { planAppend, type OrderStream } from '../activities/append-to-stream';
import { boostOrderStream } from '../activities/boost-orders';
import { taskOrderStream } from '../activities/task-orders';
import { APP_ROLE, createDb, type Db } from '../db/connect';
import { LEDGER_CHAIN_COUNT, ledgerChainFor } from '../db/ledger';
import { migrateToLatest } from '../db/migrate';
import { streamWriteJson } from '../db/stream-append';
import { postTopUp } from '../db/top-ups';
import { boostLedgerTransactionFor, evolveBoost, isClosedBoostStatus, type BoostEvent } from '../domain/boost';
import type { LedgerTransaction } from '../domain/ledger/types';
import type { RecordedEvent } from '../domain/recorded-event';
import { evolve, isClosedTaskStatus, ledgerTransactionFor, type Funding, type TaskEvent } from '../domain/task-order';
import { ensureDatabase, startEmbeddedPostgres } from '../platform/embedded-postgres';
import { Rng, TASK_LIFECYCLES, advanceOpenOrder, boostable, generateOrder, type BoostHistory, type GeneratedOrder, type OrderParties, type TaskHistory } from './audit-orders';

const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

interface Options {
  readonly transactions: number;
  readonly increment: number;
  readonly writers: number;
  readonly batch: number;
  readonly seed: number;
  readonly repeat: number;
  readonly keep: boolean;
  /** Build, keep the data directory, and stop (to audit it by hand). */
  readonly buildOnly: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      transactions: { type: 'string', default: '1000000' },
      increment: { type: 'string', default: '10000' },
      writers: { type: 'string', default: '2' },
      batch: { type: 'string', default: '100' },
      seed: { type: 'string', default: '1' },
      repeat: { type: 'string', default: '1' },
      keep: { type: 'boolean', default: false },
      'build-only': { type: 'boolean', default: false },
    },
  });
  const int = (name: keyof typeof values, min: number, max: number) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}…${max}`);
    return n;
  };
  return {
    transactions: int('transactions', 100, 20_000_000),
    increment: int('increment', 0, 1_000_000),
    writers: int('writers', 1, LEDGER_CHAIN_COUNT),
    batch: int('batch', 1, 5000),
    seed: int('seed', 0, 2 ** 31),
    repeat: int('repeat', 1, 10),
    keep: values.keep === true,
    buildOnly: values['build-only'] === true,
  };
}

async function main(): Promise<void> {
  const opts = options();
  const dir = mkdtempSync(join(tmpdir(), 'xingtu-bench-audit-'));
  chmodSync(dir, 0o755); // Postgres runs as its own user when we are root
  log(`starting embedded PostgreSQL in ${dir} …`);
  // PostgreSQL's own log only when it says something about shutting down or failing.
  let stopping = false;
  const pgLog = (line: string) => {
    if (!stopping && /shutdown|terminat|FATAL|PANIC|ERROR/.test(line)) log(`postgres: ${line}`);
  };
  const server = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), port: await freePort(), log: pgLog });
  let keep = opts.keep;
  let builtPgCpu = 0;
  // Ctrl-C or a kill: stop PostgreSQL and remove the directory before leaving (an audit child, in
  // the same process group, gets the terminal's signal itself).
  const interrupted = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping …`);
    stopping = true;
    void server.stop().finally(() => {
      if (!keep) rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await ensureDatabase(server.url('postgres'), 'bench');
    const url = server.url('bench');
    const owner = createDb({ connectionString: url, maxConnections: 1, role: null });
    await migrateToLatest(owner);
    // Loading speed only (the rows are the same): fewer checkpoints while loading, commits that do
    // not wait for the WAL flush. The audits read; these settings do not touch them.
    await sql`alter system set max_wal_size = '8GB'`.execute(owner);
    await sql`alter system set checkpoint_timeout = '30min'`.execute(owner);
    await sql`select pg_reload_conf()`.execute(owner);
    const { rows: version } = await sql<{ v: string; sb: string }>`select version() as v, current_setting('shared_buffers') as sb`.execute(owner);

    const generator = new Generator(opts, url);
    const pgCpuBefore = postgresCpuSeconds(server.dataDir);
    const built = await generator.build(opts.transactions);
    const buildPgCpu = postgresCpuSeconds(server.dataDir) - pgCpuBefore;
    builtPgCpu = buildPgCpu;
    log(`build: PostgreSQL CPU ${buildPgCpu.toFixed(0)} s, ${((buildPgCpu * 1000) / built.orders).toFixed(2)} ms per order`);
    log('vacuum analyze …');
    const vacuumStarted = Date.now();
    await sql`vacuum (analyze)`.execute(owner);
    const vacuumSeconds = (Date.now() - vacuumStarted) / 1000;
    const size = async () => (await sql<{ size: string }>`select pg_size_pretty(pg_database_size(current_database())) as size`.execute(owner)).rows[0]?.size ?? '?';
    const counts = await databaseCounts(owner);
    log(`built: ${JSON.stringify(counts)}, database ${await size()}`);
    if (opts.buildOnly) {
      keep = true;
      await owner.destroy();
      await generator.close();
      process.stdout.write(`built in ${built.seconds.toFixed(0)} s: ${JSON.stringify(counts)}\n`);
      return;
    }

    const audit = async (label: string, args: string[]) => {
      const before = postgresCpuSeconds(server.dataDir);
      const run = await runAudit(url, label, args);
      return { ...run, postgresCpuSeconds: postgresCpuSeconds(server.dataDir) - before };
    };
    const fulls: MeasuredRun[] = [];
    for (let i = 0; i < opts.repeat; i += 1) fulls.push(await audit(opts.repeat > 1 ? `full (run ${i + 1})` : 'full', []));

    let increment: { seconds: number; transactions: number; advanced: number; placed: number } | undefined;
    let incrementals: MeasuredRun[] = [];
    let fullAfter: MeasuredRun | undefined;
    if (opts.increment > 0) {
      increment = await generator.increment(opts.increment);
      await sql`analyze`.execute(owner);
      log(`increment: ${JSON.stringify(increment)}`);
      incrementals = [await audit('incremental (--since-checkpoint)', ['--since-checkpoint'])];
      fullAfter = await audit('full, after the increment', []);
      // The next incremental audit starts from the checkpoint that full audit recorded: nothing new.
      incrementals.push(await audit('incremental, nothing new', ['--since-checkpoint']));
    }
    const after = await databaseCounts(owner);
    const databaseSize = await size();
    await owner.destroy();
    await generator.close();

    const cpu = cpus()[0]?.model ?? '?';
    const lines = [
      `PostgreSQL ${version[0]?.v.split(' ')[1]} (shared_buffers ${version[0]?.sb}), ${availableParallelism()} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GB; writers ${opts.writers}, batch ${opts.batch}, seed ${opts.seed}`,
      `database: ${counts.transactions} transactions (${counts.transfers} transfers), ${counts.taskOrders} task orders (${counts.taskClosed} closed), ${counts.boostOrders} boost orders (${counts.boostClosed} closed), ${counts.events} events, ${counts.clients} client accounts; ${databaseSize} after the increment`,
      `build: ${built.seconds.toFixed(0)} s (${(built.transactions / built.seconds).toFixed(0)} transactions/s, ${(built.orders / built.seconds).toFixed(0)} orders/s; PostgreSQL CPU ${builtPgCpu.toFixed(0)} s), vacuum analyze ${vacuumSeconds.toFixed(0)} s`,
      ...(increment
        ? [`increment: ${increment.transactions} transactions in ${increment.seconds.toFixed(1)} s (${increment.advanced} open orders moved on through the activities, ${increment.placed} new orders) → ${after.transactions} transactions`]
        : []),
      '',
      '| audit | transactions checked | orders checked | closed orders reconciled | wall s | peak RSS MB | peak heap MB (audit thread) | CPU s: audit process | CPU s: PostgreSQL | ok |',
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|---|',
      ...[...fulls, ...(incrementals[0] ? [incrementals[0]] : []), ...(fullAfter ? [fullAfter] : []), ...incrementals.slice(1)].map((r) =>
        `| ${r.label} | ${r.report.checkedTransactions} | ${r.report.checkedOrders} | ${r.report.reconciledOrders} | ${(r.probe.wallMs / 1000).toFixed(1)} | ${(r.probe.maxRssBytes / 2 ** 20).toFixed(0)} | ${(r.probe.peakHeapUsedBytes / 2 ** 20).toFixed(0)} | ${((r.probe.cpuUserMs + r.probe.cpuSystemMs) / 1000).toFixed(1)} | ${r.postgresCpuSeconds.toFixed(1)} | ${r.report.ok ? 'yes' : `NO (${r.report.discrepancyCount})`} |`,
      ),
      '',
      `L6 against the workflows: ${fulls[0]?.report.workflows.skipped ?? 'compared'}`,
    ];
    if (incrementals[0] && fullAfter) {
      lines.push(`incremental / full after the increment: ${(incrementals[0].probe.wallMs / fullAfter.probe.wallMs).toFixed(3)} of the wall time`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    const failed = [...fulls, ...incrementals, ...(fullAfter ? [fullAfter] : [])].filter((r) => !r.report.ok);
    if (failed.length > 0) {
      keep = true;
      throw new Error(`audit found discrepancies (${failed.map((r) => r.label).join(', ')}): ${JSON.stringify(failed[0]?.report.discrepancies.slice(0, 5))}`);
    }
  } finally {
    stopping = true;
    await server.stop();
    if (keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

// ── The audit, as finance runs it ──────────────────────────────────────────────────────────────

interface AuditReportFigures {
  ok: boolean;
  checkedTransactions: number;
  checkedOrders: number;
  reconciledOrders: number;
  discrepancyCount: number;
  discrepancies: unknown[];
  workflows: { skipped?: string };
}

type MeasuredRun = AuditRun & { readonly postgresCpuSeconds: number };

interface AuditRun {
  readonly label: string;
  readonly report: AuditReportFigures;
  readonly probe: { wallMs: number; maxRssBytes: number; peakHeapUsedBytes: number; cpuUserMs: number; cpuSystemMs: number };
}

/** `npm run finance -- audit --skip-workflows [args]` in a child process, with the probe preloaded. */
function runAudit(url: string, label: string, args: string[]): Promise<AuditRun> {
  log(`audit: ${label} …`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', join(__dirname, 'audit-probe.ts'), join(__dirname, '..', 'scripts', 'finance.ts'), 'audit', '--skip-workflows', ...args], {
      env: { ...process.env, DATABASE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timeout = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timeout);
      const probeLine = stderr.split('\n').find((l) => l.startsWith('AUDIT_PROBE '));
      if ((code !== 0 && code !== 1) || !probeLine) {
        reject(new Error(`audit exited with ${code}: ${stderr.slice(-2000)}`));
        return;
      }
      const run = { label, report: JSON.parse(stdout) as AuditReportFigures, probe: JSON.parse(probeLine.slice('AUDIT_PROBE '.length)) as AuditRun['probe'] };
      log(`audit: ${label}: ${(run.probe.wallMs / 1000).toFixed(1)} s, ${(run.probe.maxRssBytes / 2 ** 20).toFixed(0)} MB RSS, ${run.report.checkedTransactions} transactions, ok ${run.report.ok}`);
      resolve(run);
    });
  });
}

// ── Building the database ──────────────────────────────────────────────────────────────────────

const BENCH_START = Date.parse('2026-01-05T01:00:00.000Z');
const ORDER_INTERVAL_MS = 20_000;
const CLIENTS_PER_WRITER = 400;
const CREATORS = 3000;
/** Open orders kept in memory, to move on in the increment. */
const OPEN_SAMPLE = 5000;

interface StreamStatement {
  readonly text: string;
  readonly transactions: number;
}

/** One writer: its own connection, chains (chain % writers = index) and clients. */
class Writer {
  private pending: string[] = [];
  private pendingOrders = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private failure: unknown;
  readonly balances = new Map<string, bigint>();
  constructor(
    readonly index: number,
    private readonly client: pg.Client,
    private readonly batch: number,
  ) {}

  async add(statements: readonly StreamStatement[]): Promise<void> {
    if (this.failure) throw this.failure;
    for (const s of statements) this.pending.push(s.text);
    this.pendingOrders += 1;
    if (this.pendingOrders >= this.batch) await this.flush();
  }

  /** Sends what is pending as one multi-statement query (one transaction); waits for the previous one first. */
  async flush(): Promise<void> {
    await this.inFlight;
    if (this.failure) throw this.failure;
    if (this.pending.length === 0) return;
    const text = this.pending.join('\n');
    this.pending = [];
    this.pendingOrders = 0;
    this.inFlight = this.client.query(text).then(
      () => undefined,
      (error: unknown) => {
        this.failure = error;
      },
    );
  }

  /** Sends what is pending and waits until it is committed. */
  async drain(): Promise<void> {
    await this.flush();
    await this.inFlight;
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    await this.drain();
    await this.client.end();
    if (this.failure) throw this.failure;
  }
}

class Generator {
  private readonly rng: Rng;
  private readonly writers: Writer[] = [];
  private readonly db: Db;
  private orderNo = 0;
  private idNo = 0;
  private readonly open: Array<{ task: TaskHistory; boost?: BoostHistory }> = [];
  private openSeen = 0;

  constructor(
    private readonly opts: Options,
    private readonly url: string,
  ) {
    this.rng = new Rng(opts.seed);
    this.db = createDb({ connectionString: url, maxConnections: 8 });
  }

  private async connect(): Promise<void> {
    if (this.writers.length > 0) return;
    for (let w = 0; w < this.opts.writers; w += 1) {
      // As the application's role, like the activities; commits without waiting for the WAL flush.
      const client = new pg.Client({ connectionString: this.url, options: `-c role=${APP_ROLE} -c synchronous_commit=off` });
      client.on('error', (error) => log(`writer ${w}: connection lost: ${error.message}`));
      await client.connect();
      this.writers.push(new Writer(w, client, this.opts.batch));
    }
  }

  /** An id `${prefix}-…` whose ledger chain belongs to writer `w`. */
  private idFor(prefix: string, w: number, key: (id: string) => Pick<LedgerTransaction, 'txId' | 'orderId'>): string {
    for (;;) {
      const id = `${prefix}-${(this.idNo += 1).toString(36)}`;
      if (ledgerChainFor(key(id)) % this.writers.length === w) return id;
    }
  }

  private partiesFor(w: number, withBoost: boolean): OrderParties {
    const rng = this.rng;
    const orderId = this.idFor('o', w, (id) => ({ txId: '', orderId: id }));
    const funding = (id: string): Funding => (rng.next() < 0.5 ? { source: 'account' } : { source: 'external', paymentRef: `pay-${id}` });
    const boostOrderId = withBoost ? this.idFor('b', w, (id) => ({ txId: '', orderId: id })) : undefined;
    return {
      orderId,
      clientId: `c-${w}-${rng.int(1, CLIENTS_PER_WRITER)}`,
      creatorId: `k-${rng.int(1, CREATORS)}`,
      funding: funding(orderId),
      ...(boostOrderId ? { boostOrderId, boostFunding: funding(boostOrderId) } : {}),
    };
  }

  /** Builds orders until at least `transactions` ledger transactions are written. */
  async build(transactions: number): Promise<{ seconds: number; transactions: number; orders: number }> {
    await this.connect();
    const started = Date.now();
    let written = 0;
    let orders = 0;
    let lastLog = started;
    while (written < transactions) {
      const w = this.orderNo % this.writers.length;
      const writer = this.writers[w] as Writer;
      const lifecycle = this.rng.weighted(TASK_LIFECYCLES);
      const withBoost = boostable(lifecycle) && this.rng.next() < 0.25;
      const placedAt = BENCH_START + (this.orderNo += 1) * ORDER_INTERVAL_MS;
      const order = generateOrder(this.rng, this.partiesFor(w, withBoost), placedAt, lifecycle);
      const statements = this.statementsOf(order, `bench:${lifecycle}`);
      await this.topUpIfNeeded(writer, order, placedAt);
      await writer.add(statements);
      written += statements.reduce((n, s) => n + s.transactions, 0);
      orders += order.boost ? 2 : 1;
      this.keepOpen(order);
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        const s = (lastLog - started) / 1000;
        log(`build: ${written} transactions, ${orders} orders, ${(written / s).toFixed(0)} transactions/s`);
      }
    }
    for (const writer of this.writers) await writer.drain();
    return { seconds: (Date.now() - started) / 1000, transactions: written, orders };
  }

  /** A reservoir sample of the open orders, for the increment to move on. */
  private keepOpen(order: GeneratedOrder): void {
    const openTask = !isClosedTaskStatus(order.task.state.status);
    const openBoost = order.boost !== undefined && !isClosedBoostStatus(order.boost.state.status);
    if (!openTask && !openBoost) return;
    this.openSeen += 1;
    const entry = { task: order.task, ...(order.boost ? { boost: order.boost } : {}) };
    if (this.open.length < OPEN_SAMPLE) this.open.push(entry);
    else {
      const j = Math.floor(this.rng.next() * this.openSeen);
      if (j < OPEN_SAMPLE) this.open[j] = entry;
    }
  }

  /**
   * L2: an order paid from the client's account needs the money there: a top-up (postTopUp, as the
   * top-up route posts it) before the order whenever the client's balance would not cover it.
   */
  private async topUpIfNeeded(writer: Writer, order: GeneratedOrder, atMs: number): Promise<void> {
    const clientId = order.task.state.placement.clientId;
    const account = `client:${clientId}`;
    let need = 0n;
    let balance = writer.balances.get(account) ?? 0n;
    const txs = [...ledgerOf(order.task.events, undefined, ledgerTransactionFor, evolve), ...(order.boost ? ledgerOf(order.boost.events, undefined, boostLedgerTransactionFor, evolveBoost) : [])];
    for (const tx of txs) {
      for (const t of tx.transfers) {
        if (t.debitAccount === account) {
          balance -= t.amountFen;
          if (-balance > need) need = -balance;
        }
        if (t.creditAccount === account) balance += t.amountFen;
      }
    }
    if (need > 0n) {
      // A margin of 2–4 million yuan: the next orders of this client rarely need another. The
      // writer's batch in flight is waited for first: it may hold the top-up's chain head while
      // waiting for the client's balance row the top-up would lock.
      const amountFen = need + BigInt(this.rng.int(200, 400)) * 1_000_000n;
      const paymentRef = this.idFor('tu', writer.index, (ref) => ({ txId: `topup:${ref}`, orderId: null }));
      await writer.drain();
      await postTopUp(this.db, { clientId, paymentRef, amountFen }, new Date(atMs - 60_000));
      balance += amountFen;
    }
    writer.balances.set(account, balance);
  }

  /** The product's append of each stream of the order, as one `select append_order_stream(…)` each. */
  private statementsOf(order: GeneratedOrder, causation: string): StreamStatement[] {
    const { task, boost } = order;
    const statements = [statementOf(taskOrderStream(task.state.placement.orderId), task.events, causation)];
    if (boost) statements.push(statementOf(boostOrderStream(boost.state.terms.boostOrderId), boost.events, causation));
    return statements;
  }

  /**
   * After the checkpoint: about `transactions` more, through the real activities (each command's
   * events one recordTaskEvents / recordBoostEvents call): open orders move on, new orders are placed.
   */
  async increment(transactions: number): Promise<{ seconds: number; transactions: number; advanced: number; placed: number }> {
    const activities = createActivities({ db: this.db });
    const before = await countTransactions(this.db);
    const started = Date.now();
    const nowMs = BENCH_START + (this.orderNo + 10) * ORDER_INTERVAL_MS;
    let advanced = 0;
    let placed = 0;
    const target = before + BigInt(transactions);
    // Decided up front (the same seed, the same steps), then written by 8 concurrent "workflows".
    const moveOn = this.open.splice(0, Math.min(this.open.length, Math.ceil(transactions / 4))).map(({ task, boost }) => ({
      orderId: task.state.placement.orderId,
      boostOrderId: boost?.state.terms.boostOrderId,
      steps: advanceOpenOrder(this.rng, task, boost, nowMs),
    }));
    await mapLimitSimple(moveOn, 8, async ({ orderId, boostOrderId, steps }) => {
      for (const events of steps.task) await activities.recordTaskEvents({ orderId, events, causation: 'bench:increment' });
      for (const events of steps.boost.flatMap((s) => groupByTime(s))) {
        await activities.recordBoostEvents({ boostOrderId: boostOrderId as string, events, causation: 'bench:increment' });
      }
      advanced += 1;
    });
    // New orders, each command through the activities, until the target is reached.
    let count = await countTransactions(this.db);
    while (count < target) {
      const batch = Array.from({ length: 50 }, () => {
        const w = this.orderNo % this.writers.length;
        const lifecycle = this.rng.weighted(TASK_LIFECYCLES);
        const withBoost = boostable(lifecycle) && this.rng.next() < 0.25;
        const placedAt = nowMs + (this.orderNo += 1) * 1000;
        return { w, order: generateOrder(this.rng, this.partiesFor(w, withBoost), placedAt, lifecycle), placedAt };
      });
      for (const { w, order, placedAt } of batch) await this.topUpIfNeeded(this.writers[w] as Writer, order, placedAt);
      await mapLimitSimple(batch, 8, async ({ order }) => {
        for (const events of groupByTime(order.task.events)) await activities.recordTaskEvents({ orderId: order.task.state.placement.orderId, events, causation: 'bench:increment' });
        if (order.boost) {
          for (const events of groupByTime(order.boost.events)) await activities.recordBoostEvents({ boostOrderId: order.boost.state.terms.boostOrderId, events, causation: 'bench:increment' });
        }
        placed += 1;
      });
      count = await countTransactions(this.db);
    }
    return { seconds: (Date.now() - started) / 1000, transactions: Number(count - before), advanced, placed };
  }

  async close(): Promise<void> {
    for (const writer of this.writers) await writer.close();
    await this.db.destroy();
  }
}

/** A command's events share its time: the appends a workflow makes, one per command. */
function groupByTime<E extends { occurredAt: number }>(events: readonly E[]): E[][] {
  const groups: E[][] = [];
  for (const e of events) {
    const last = groups[groups.length - 1];
    if (last && (last[0] as E).occurredAt === e.occurredAt) last.push(e);
    else groups.push([e]);
  }
  return groups;
}

/** The activity's plan of the write (planAppend) as the call of append_order_stream writeStreamAppend makes. */
function statementOf<S, E extends TaskEvent | BoostEvent>(stream: OrderStream<S, E>, events: ReadonlyArray<RecordedEvent<E>>, causation: string): StreamStatement {
  const { write } = planAppend(stream, [], events, causation);
  if (!write) throw new Error('bench: nothing to write');
  const json = streamWriteJson(write);
  return {
    text: `select append_order_stream(${literal(write.kind)}, ${literal(write.streamId)}, ${literal(causation)}, ${literal(json.events)}::jsonb, ${literal(json.notifications)}::jsonb, ${literal(json.readModel)}::jsonb, ${literal(json.ledger)}::jsonb);`,
    transactions: write.ledger.length,
  };
}

/** A standard-conforming SQL string literal (standard_conforming_strings is on). */
function literal(text: string): string {
  if (text.includes('\0')) throw new Error('bench: NUL in a literal');
  return `'${text.replace(/'/g, "''")}'`;
}

function ledgerOf<S, E extends { version: number; occurredAt: number }>(
  events: readonly E[],
  initial: S | undefined,
  txFor: (before: S | undefined, recorded: E) => LedgerTransaction | undefined,
  fold: (state: S | undefined, recorded: E) => S,
): LedgerTransaction[] {
  const txs: LedgerTransaction[] = [];
  let state = initial;
  for (const e of events) {
    const tx = txFor(state, e);
    if (tx && tx.transfers.length > 0) txs.push(tx);
    state = fold(state, e);
  }
  return txs;
}

async function countTransactions(db: Db): Promise<bigint> {
  const { rows } = await sql<{ n: bigint }>`select count(*)::int8 as n from ledger_transactions`.execute(db);
  return rows[0]?.n ?? 0n;
}

async function databaseCounts(db: Db) {
  const { rows } = await sql<Record<string, bigint>>`
    select (select count(*) from ledger_transactions)::int8 as transactions,
           (select count(*) from ledger_transfers)::int8 as transfers,
           (select count(*) from task_orders)::int8 as task_orders,
           (select count(*) from task_orders where status in ('completed', 'cancelled'))::int8 as task_closed,
           (select count(*) from boost_orders)::int8 as boost_orders,
           (select count(*) from boost_orders where status = 'closed')::int8 as boost_closed,
           (select count(*) from order_events)::int8 as events,
           (select count(*) from client_balances)::int8 as clients`.execute(db);
  const r = rows[0] ?? {};
  const n = (k: string) => Number(r[k] ?? 0n);
  return {
    transactions: n('transactions'),
    transfers: n('transfers'),
    taskOrders: n('task_orders'),
    taskClosed: n('task_closed'),
    boostOrders: n('boost_orders'),
    boostClosed: n('boost_closed'),
    events: n('events'),
    clients: n('clients'),
  };
}

async function mapLimitSimple<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/**
 * CPU seconds PostgreSQL has used so far: the postmaster (with the backends it has reaped) and its
 * live children, from /proc (0 where there is no /proc).
 */
function postgresCpuSeconds(dataDir: string): number {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync('/proc/self') || !existsSync(pidFile)) return 0;
  const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  const ticks = 100; // USER_HZ
  const stat = (pid: number | string) => {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      return { ppid: Number(fields[1]), cpu: Number(fields[11]) + Number(fields[12]), children: Number(fields[13]) + Number(fields[14]) };
    } catch {
      return undefined;
    }
  };
  const main = stat(postmaster);
  if (!main) return 0;
  let total = main.cpu + main.children;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(entry);
    if (s?.ppid === postmaster) total += s.cpu;
  }
  return total / ticks;
}


// Exit once stdout is flushed (embedded-postgres may keep handles open).
main().then(
  () => process.stdout.write('', () => process.exit(0)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
