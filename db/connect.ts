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

export interface DbOptions {
  readonly connectionString: string;
  readonly maxConnections?: number;
}

export function createDb({ connectionString, maxConnections = 10 }: DbOptions): Kysely<Database> {
  const pool = new pg.Pool({ connectionString, max: maxConnections, types, connectionTimeoutMillis: 10_000 });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

export type Db = Kysely<Database>;
