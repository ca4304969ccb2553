import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import { seedBusinessCalendar } from './calendar';
import { createOwnerDb, type Db } from './connect';
import * as m0001 from './migrations/0001_orders_and_ledger';
import * as m0002 from './migrations/0002_ledger_integrity';
import * as m0003 from './migrations/0003_client_balance_debits';
import * as m0004 from './migrations/0004_idempotency_keys';
import * as m0005 from './migrations/0005_boosts';
import * as m0006 from './migrations/0006_append_order_stream';
import * as m0007 from './migrations/0007_audit_checkpoints';
import * as m0008 from './migrations/0008_event_feed_and_webhooks';
import * as m0009 from './migrations/0009_webhook_secrets_at_rest';
import * as m0010 from './migrations/0010_console_session_revocations';
import * as m0011 from './migrations/0011_webhook_unrecordable_attempts';
import * as m0012 from './migrations/0012_checkouts';
import * as m0013 from './migrations/0013_post_ledger_transaction';
import * as m0014 from './migrations/0014_stream_syncs';

/** Migrations are listed statically, so bundling or a different working directory cannot lose one. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001_orders_and_ledger': m0001,
  '0002_ledger_integrity': m0002,
  '0003_client_balance_debits': m0003,
  '0004_idempotency_keys': m0004,
  '0005_boosts': m0005,
  '0006_append_order_stream': m0006,
  '0007_audit_checkpoints': m0007,
  '0008_event_feed_and_webhooks': m0008,
  '0009_webhook_secrets_at_rest': m0009,
  '0010_console_session_revocations': m0010,
  '0011_webhook_unrecordable_attempts': m0011,
  '0012_checkouts': m0012,
  '0013_post_ledger_transaction': m0013,
  '0014_stream_syncs': m0014,
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
    // B7: the bundled business-calendar years the table does not have yet (db/calendar.ts), so
    // every place that migrates (npm start, npm run migrate, compose, the tests) also seeds.
    await seedBusinessCalendar(owner ?? db);
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  } finally {
    await owner?.destroy();
  }
}
