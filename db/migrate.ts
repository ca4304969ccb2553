import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import { createOwnerDb, type Db } from './connect';
import * as m0001 from './migrations/0001_orders_and_ledger';
import * as m0002 from './migrations/0002_ledger_integrity';
import * as m0003 from './migrations/0003_client_balance_debits';

/** Migrations are listed statically, so bundling or a different working directory cannot lose one. */
const MIGRATIONS: Record<string, Migration> = {
  '0001_orders_and_ledger': m0001,
  '0002_ledger_integrity': m0002,
  '0003_client_balance_debits': m0003,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/**
 * Migrations run as the login user (the schema owner), never as the application's role (L4): for a
 * pool made by createDb, on a connection of their own without `SET ROLE`.
 */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const owner = createOwnerDb(db);
  try {
    const migrator = new Migrator({ db: owner ?? db, provider });
    const { error, results } = await migrator.migrateToLatest();
    if (error) throw error instanceof Error ? error : new Error(String(error));
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  } finally {
    await owner?.destroy();
  }
}
