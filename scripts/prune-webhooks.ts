import { createDb } from '../db/connect';
import { pruneWebhookHistory } from '../db/webhook-retention';
import { loadConfig } from '../platform/config';

/**
 * E5 retention, for ops or a daily cron: `npm run prune-webhooks -- --older-than-days 30`
 * deletes finished webhook deliveries (and their attempts) older than that. DATABASE_URL is the
 * schema owner's, as for `npm run migrate` (attempts are append-only for the application's role).
 */
async function main(): Promise<void> {
  const index = process.argv.indexOf('--older-than-days');
  const days = Number(index >= 0 ? process.argv[index + 1] : NaN);
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new Error('usage: npm run prune-webhooks -- --older-than-days <1–3650>');
  const { databaseUrl } = loadConfig();
  if (!databaseUrl) throw new Error('DATABASE_URL is not set (the schema owner\'s connection, as for npm run migrate)');
  const owner = createDb({ connectionString: databaseUrl, maxConnections: 1, role: null });
  try {
    const result = await pruneWebhookHistory(owner, days);
    console.log(`deleted ${result.deliveries} finished deliveries and ${result.attempts} attempts older than ${days} days${result.more ? '; more are left: run again' : ''}`);
  } finally {
    await owner.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
