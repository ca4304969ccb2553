import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema';

const INT8_OID = 20;

/** A pg type set that reads int8 as bigint (never parseInt: SPEC §1), without touching pg's globals. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => BigInt(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/**
 * L4: the database role the application works as. It may read and append to the ledger and the
 * event streams but holds no UPDATE, DELETE or TRUNCATE on them (db/migrations/0002). Migrations
 * create it and run as the login user (the schema owner).
 */
export const APP_ROLE = 'xingtu_app';

export interface DbOptions {
  readonly connectionString: string;
  readonly maxConnections?: number;
  /**
   * The role every connection of the pool runs as (`SET ROLE`, sent as a startup option, so no
   * connection ever runs a statement under another role). Default: APP_ROLE. `null` (or an
   * explicit `undefined`) keeps the login user, e.g. the owner for maintenance.
   */
  readonly role?: string | null | undefined;
  /**
   * Told about every connection the pool loses (PostgreSQL restarted, the network dropped), idle
   * or checked out, e.g. to log it. The query that was running fails on its own; the pool
   * replaces the connection at the next query. Default: nothing (the errors are expected).
   */
  readonly onConnectionError?: ((error: Error) => void) | undefined;
}

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Options of each pool createDb made, so that migrations can connect as the owner (db/migrate.ts). */
const created = new WeakMap<Kysely<Database>, DbOptions>();

export function createDb(options: DbOptions): Kysely<Database> {
  const { connectionString, maxConnections = 10 } = options;
  const role = 'role' in options ? (options.role ?? null) : APP_ROLE;
  if (role !== null && !ROLE_NAME.test(role)) throw new Error(`invalid database role name ${role}`);
  const pool = new pg.Pool({
    connectionString,
    max: maxConnections,
    types,
    connectionTimeoutMillis: 10_000,
    // `-c role=…` is `SET ROLE` at connection start: a missing role fails the connection itself
    // (run the migrations first), it can never silently fall back to the owner.
    ...(role === null ? {} : { options: `-c role=${role}` }),
  });
  keepProcessAliveOnConnectionLoss(pool, options.onConnectionError ?? (() => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  created.set(db, { connectionString, maxConnections, role, onConnectionError: options.onConnectionError });
  return db;
}

/**
 * SPEC §10: a lost connection must never crash the process. pg emits 'error' on a client whose
 * socket dies: the pool listens only while the client is idle (then emits it on the pool), and
 * Kysely adds no listener while it has the client checked out for a query, so an unhandled
 * 'error' event ("Connection terminated unexpectedly") would kill the process. Every client gets
 * a listener of its own when it connects; the broken client is dropped by the pool when Kysely
 * releases it (pg-pool discards clients that are no longer queryable).
 */
function keepProcessAliveOnConnectionLoss(pool: pg.Pool, onError: (error: Error) => void): void {
  pool.on('connect', (client) => client.on('error', onError));
  pool.on('error', () => undefined); // an idle client's error, already told by its own listener
}

/**
 * The same database as `db`, connected as the login user (the schema owner) with one connection;
 * undefined when `db` was not made by createDb (then the caller uses `db` as it is).
 */
export function createOwnerDb(db: Kysely<Database>): Kysely<Database> | undefined {
  const options = created.get(db);
  if (!options) return undefined;
  return createDb({ connectionString: options.connectionString, maxConnections: 1, role: null, onConnectionError: options.onConnectionError });
}

export type Db = Kysely<Database>;
