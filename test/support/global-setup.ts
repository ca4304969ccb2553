import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb } from '../../db/connect';
import { migrateToLatest } from '../../db/migrate';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from '../../platform/embedded-postgres';
import { freePort } from '../../platform/free-port';

export const TEMPLATE_DATABASE = 'xingtu_template';

declare global {
  var __xingtuTestPg: { server?: EmbeddedDatabase; dataDir: string } | undefined;
}

/**
 * One real PostgreSQL for the whole run (embedded, under the temp dir), with a migrated template
 * database; each test file clones its own database from the template (test/support/db.ts).
 * TEST_DATABASE_ADMIN_URL points the tests at an existing server instead.
 */
export default async function globalSetup(): Promise<void> {
  if (globalThis.__xingtuTestPg) return; // int and e2e projects share one server
  let adminUrl = process.env.TEST_DATABASE_ADMIN_URL;
  const dataDir = mkdtempSync(join(tmpdir(), 'xingtu-test-pg-'));
  chmodSync(dataDir, 0o755); // Postgres runs as its own user when we are root
  globalThis.__xingtuTestPg = { dataDir };
  if (!adminUrl) {
    const server = await startEmbeddedPostgres({ dataDir: join(dataDir, 'data'), port: await freePort() });
    globalThis.__xingtuTestPg.server = server;
    adminUrl = server.url('postgres');
    process.env.TEST_DATABASE_ADMIN_URL = adminUrl;
  }
  await ensureDatabase(adminUrl, TEMPLATE_DATABASE);
  const db = createDb({ connectionString: adminUrl.replace(/\/[^/]*$/, `/${TEMPLATE_DATABASE}`), maxConnections: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}
