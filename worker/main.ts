import { NativeConnection, type Worker } from '@temporalio/worker';
import { createDb, type Db } from '../db/connect';
import { loadConfig, type Config } from '../platform/config';
import { unavailableDependency } from '../platform/faults';
import { logUnhandledRejections } from '../platform/process-safety';
import { createWorker } from './create-worker';
import { startWebhookDelivery } from './webhook-delivery';
import { countWebhookAttempt } from '../platform/metrics';
import { startWorkerMetricsServer } from './metrics-server';
import { installRuntimeWithMetrics } from './metrics-runtime';

/**
 * A standalone worker (docker compose, or any number of extra workers): DATABASE_URL and
 * TEMPORAL_ADDRESS. SPEC §10: it outlives its dependencies. While PostgreSQL is away its activities
 * fail and Temporal retries them; while Temporal is away the SDK keeps polling until it is back.
 * Temporal unreachable at start is waited for too, instead of exiting.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl || !config.temporalAddress) throw new Error('the standalone worker needs DATABASE_URL and TEMPORAL_ADDRESS');
  logUnhandledRejections((message) => console.error(message));
  const metrics = await startMetrics(config);
  const db = createDb({ connectionString: config.databaseUrl, onConnectionError: (error) => console.warn(`[postgres] connection lost: ${error.message} (reconnecting at the next query)`) });
  const { connection, worker } = await untilConnected(config, db);
  console.log(`worker polling task queue ${config.taskQueue} on ${config.temporalAddress}`);
  // E5: every worker process also delivers webhooks (worker/webhook-delivery.ts; any number may run).
  const webhooks = startWebhookDelivery(db, { urlPolicy: config.webhookUrlPolicy, log: (message) => console.warn(message), onAttempt: countWebhookAttempt });
  await worker.run(); // resolves after SIGINT/SIGTERM (the SDK installs the handlers)
  await webhooks.stop();
  await connection.close();
  await db.destroy();
  await metrics?.close();
}

/**
 * SPEC §10: with WORKER_METRICS_PORT set, the SDK runtime's Prometheus exporter runs on
 * TEMPORAL_METRICS_ADDRESS (loopback by default; it must be installed before any NativeConnection)
 * and the worker's endpoint serves it with this process's own metrics (worker/metrics-server.ts).
 */
async function startMetrics(config: Config): Promise<{ close: () => Promise<void> } | undefined> {
  if (config.workerMetricsPort === undefined) return undefined;
  installRuntimeWithMetrics({}, config.temporalMetricsAddress, (message) => console.warn(`worker: ${message}`));
  let server: Awaited<ReturnType<typeof startWorkerMetricsServer>>;
  try {
    server = await startWorkerMetricsServer({
      host: config.workerMetricsHost,
      port: config.workerMetricsPort,
      token: config.metricsToken,
      sdkMetricsUrl: `http://${config.temporalMetricsAddress}/metrics`,
    });
  } catch (error) {
    // A port taken must not keep the orders from running; a host beyond loopback without a token still fails.
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    console.warn(`worker: metrics endpoint not started: port ${config.workerMetricsPort} is taken (set WORKER_METRICS_PORT)`);
    return undefined;
  }
  console.log(`worker metrics on http://${config.workerMetricsHost}:${server.port}/metrics (${config.metricsToken ? 'Bearer METRICS_TOKEN' : 'loopback, no token'}); Temporal SDK exporter on ${config.temporalMetricsAddress}`);
  return server;
}

const RETRY_DELAYS_MS = [1000, 2000, 5000];

/** Connects to Temporal and creates the worker, retrying for as long as Temporal does not answer. */
async function untilConnected(config: Config, db: Db): Promise<{ connection: NativeConnection; worker: Worker }> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const connection = await NativeConnection.connect({ address: config.temporalAddress, ...(config.temporalTls ? { tls: config.temporalTls } : {}) });
      try {
        return { connection, worker: await createWorker({ connection, namespace: config.temporalNamespace, taskQueue: config.taskQueue, db }) };
      } catch (error) {
        await connection.close();
        throw error;
      }
    } catch (error) {
      if (!unavailableDependency(error)) throw error; // a bad address or namespace is not worth waiting for
      const delay = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)] as number;
      console.warn(`worker: Temporal at ${config.temporalAddress} not ready (${error instanceof Error ? error.message : String(error)}); retrying in ${delay / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
