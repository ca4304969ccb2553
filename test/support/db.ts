import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { createDb, type Db } from '../../db/connect';

const TEMPLATE_DATABASE = 'xingtu_template';

export interface TestDatabase {
  readonly db: Db;
  readonly url: string;
  readonly drop: () => Promise<void>;
}

function adminUrl(): string {
  const url = process.env.TEST_DATABASE_ADMIN_URL;
  if (!url) throw new Error('TEST_DATABASE_ADMIN_URL is not set: run int/e2e tests through jest (test/support/global-setup.ts)');
  return url;
}

/** A fresh, migrated database of its own for one test file (cloned from the template). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  await admin(`create database ${name} template ${TEMPLATE_DATABASE}`);
  const url = adminUrl().replace(/\/[^/]*$/, `/${name}`);
  const db = createDb({ connectionString: url });
  return {
    db,
    url,
    drop: async () => {
      await db.destroy();
      await admin(`drop database if exists ${name} with (force)`);
    },
  };
}

/** createTestDatabase, plus a pool on it as the login user (the schema owner; a superuser in tests); `drop` closes both. */
export async function createOwnedTestDatabase(): Promise<TestDatabase & { readonly owner: Db }> {
  const database = await createTestDatabase();
  const owner = createDb({ connectionString: database.url, role: null, maxConnections: 2 });
  return {
    ...database,
    owner,
    drop: async () => {
      await owner.destroy();
      await database.drop();
    },
  };
}

/** Registers beforeAll/afterAll for createOwnedTestDatabase; `set` receives it once created. */
export function withOwnedTestDatabase(set: (world: { database: TestDatabase; app: Db; owner: Db }) => void): void {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    const owned = await createOwnedTestDatabase();
    database = owned;
    set({ database: owned, app: owned.db, owner: owned.owner });
  }, 60_000);
  afterAll(async () => {
    await database?.drop();
  });
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Row counts of every table a command could write, to prove a refused request wrote nothing. */
export async function writeCounts(db: Db): Promise<Record<string, number>> {
  const tables = ['order_events', 'ledger_transactions', 'ledger_transfers', 'task_orders', 'notifications', 'client_balances', 'boost_orders', 'boost_quotes', 'video_stats', 'checkouts', 'order_id_claims'];
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}`.execute(db);
    counts[table] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}
