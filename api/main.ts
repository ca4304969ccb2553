import { Client, Connection } from '@temporalio/client';
import { createDb } from '../db/connect';
import { loadConfig } from '../platform/config';
import { dataConverter } from '../platform/data-converter';
import { buildApp } from './app';
import { generateApiTokens, generatedTokensBanner } from './auth';

/** The API alone (docker compose; any number of replicas): DATABASE_URL and TEMPORAL_ADDRESS. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl || !config.temporalAddress) throw new Error('the standalone API needs DATABASE_URL and TEMPORAL_ADDRESS');
  const db = createDb({ connectionString: config.databaseUrl });
  const connection = await Connection.connect({ address: config.temporalAddress });
  const client = new Client({ connection, namespace: config.temporalNamespace, dataConverter });
  // API_TOKENS, or fresh random tokens shown once on stdout (never a well-known default).
  const tokens = config.apiTokens ?? generateApiTokens();
  if (!config.apiTokens) console.log(generatedTokensBanner(tokens));
  const app = buildApp({ db, client, taskQueue: config.taskQueue, tokens, logger: true });
  await app.listen({ host: config.apiHost, port: config.apiPort });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void app.close().then(() => Promise.all([connection.close(), db.destroy()]));
    });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
