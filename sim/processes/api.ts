/**
 * The simulation's API process: the product's `buildApp` (api/app.ts) with the simulation's
 * short-duration policies (sim/policy.ts), so deadlines fire during a run. Only the simulation
 * starts it (sim/stack.ts); `npm run api` and `npm start` never place orders with these policies.
 *
 * Env: DATABASE_URL, TEMPORAL_ADDRESS, TASK_QUEUE, PORT, API_TOKENS, SIM_POLICY (JSON SimPolicy).
 */
import { buildApp } from '../../api/app';
import { createDb } from '../../db/connect';
import { parseApiTokens } from '../../platform/config';
import { logUnhandledRejections } from '../../platform/process-safety';
import { apiTemporalClient } from '../../platform/temporal-client';
import { productPolicies } from '../policy';
import type { SimPolicy } from '../types';
import { exitWithParent, log, ready, required } from './common';

async function main(): Promise<void> {
  exitWithParent();
  const port = Number(required('PORT'));
  const policies = productPolicies(JSON.parse(required('SIM_POLICY')) as SimPolicy);
  // Wired as the standalone API (api/main.ts) is, so the simulation tests what production runs.
  logUnhandledRejections((message) => console.error(message));
  const db = createDb({ connectionString: required('DATABASE_URL'), onConnectionError: (error) => console.warn(`[postgres] connection lost: ${error.message}`) });
  // Lazy: the API starts even while Temporal restarts (a fault); the client connects on first use.
  const { client, connection } = apiTemporalClient(required('TEMPORAL_ADDRESS'), process.env.TEMPORAL_NAMESPACE || 'default');
  const app = buildApp({
    db,
    client,
    taskQueue: required('TASK_QUEUE'),
    tokens: parseApiTokens(required('API_TOKENS')),
    logger: { stream: process.stdout, level: process.env.SIM_API_LOG_LEVEL || 'warn' },
    policies,
  });
  await app.listen({ host: '127.0.0.1', port });
  log('api', `listening on 127.0.0.1:${port} (pid ${process.pid})`);
  ready();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void app
        .close()
        .then(() => Promise.allSettled([connection.close(), db.destroy()]))
        .finally(() => process.exit(0));
    });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
