import { createDb } from './connect';
import { migrateToLatest } from './migrate';
import { loadConfig } from '../platform/config';

async function main(): Promise<void> {
  const { databaseUrl } = loadConfig();
  if (!databaseUrl) throw new Error('DATABASE_URL is not set (npm start runs migrations on its embedded database itself)');
  const db = createDb({ connectionString: databaseUrl, maxConnections: 1 });
  try {
    const applied = await migrateToLatest(db);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await db.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
