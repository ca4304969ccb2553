import { NativeConnection } from '@temporalio/worker';
import { createDb } from '../db/connect';
import { loadConfig } from '../platform/config';
import { createWorker } from './create-worker';

/** A standalone worker (docker compose, or any number of extra workers): DATABASE_URL and TEMPORAL_ADDRESS. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl || !config.temporalAddress) throw new Error('the standalone worker needs DATABASE_URL and TEMPORAL_ADDRESS');
  const db = createDb({ connectionString: config.databaseUrl });
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const worker = await createWorker({ connection, namespace: config.temporalNamespace, taskQueue: config.taskQueue, db });
  console.log(`worker polling task queue ${config.taskQueue} on ${config.temporalAddress}`);
  await worker.run(); // resolves after SIGINT/SIGTERM (the SDK installs the handlers)
  await connection.close();
  await db.destroy();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
