import { createDb } from '../db/connect';
import { loadConfig } from '../platform/config';
import { logUnhandledRejections } from '../platform/process-safety';
import { apiTemporalClient } from '../platform/temporal-client';
import { buildApp } from './app';
import { generateApiTokens, generatedTokensBanner } from './auth';

/**
 * The API alone (docker compose; any number of replicas): DATABASE_URL and TEMPORAL_ADDRESS.
 * It starts, and stays up, whether or not they answer (SPEC §10): meanwhile requests answer
 * `503 unavailable` and GET /health says which one is down.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl || !config.temporalAddress) throw new Error('the standalone API needs DATABASE_URL and TEMPORAL_ADDRESS');
  logUnhandledRejections((message) => console.error(message));
  const db = createDb({ connectionString: config.databaseUrl, onConnectionError: (error) => console.warn(`[postgres] connection lost: ${error.message} (reconnecting at the next query)`) });
  const { client, connection } = apiTemporalClient(config.temporalAddress, config.temporalNamespace, config.temporalTls);
  // API_TOKENS, or fresh random tokens shown once on stdout (never a well-known default).
  const generated = config.apiTokens ?? generateApiTokens();
  if (!config.apiTokens) console.log(generatedTokensBanner(generated));
  // METRICS_TOKEN: the scraper's token (role metrics, GET /metrics only), shared with the workers' endpoints.
  const tokens = [...generated, ...(config.metricsToken ? [{ role: 'metrics' as const, token: config.metricsToken }] : [])];
  const app = buildApp({ db, client, taskQueue: config.taskQueue, tokens, logger: true, trustProxy: config.trustProxy, metrics: { collectIntervalMs: config.metricsCollectIntervalSeconds * 1000 } });
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
