/**
 * `npm start`: the whole system on localhost with nothing but Node.js (SPEC §9) — an embedded
 * PostgreSQL, a Temporal dev server with its UI, migrations, the worker and the API.
 * `npm run sandbox`: the same on the time-skipping test server, with the sandbox clock routes.
 * DATABASE_URL and TEMPORAL_ADDRESS switch to external servers.
 */
import type { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, makeTelemetryFilterString } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildApp, type SandboxClock } from '../api/app';
import { generateApiTokens, generatedTokensBanner } from '../api/auth';
import { createDb } from '../db/connect';
import { migrateToLatest } from '../db/migrate';
import { loadConfig } from '../platform/config';
import { logUnhandledRejections } from '../platform/process-safety';
import { runInOwnProcessGroup } from '../platform/own-process-group';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from '../platform/embedded-postgres';
import { registerSearchAttributes } from '../platform/search-attributes';
import { apiTemporalClient } from '../platform/temporal-client';
import { startDevServer, startTimeSkippingServer } from '../platform/temporal-env';
import { createWorker } from '../worker/create-worker';
import { installRuntimeWithMetrics } from '../worker/metrics-runtime';
import { startWebhookDelivery } from '../worker/webhook-delivery';
import { countWebhookAttempt } from '../platform/metrics';

const sandbox = process.argv.includes('--sandbox');
const log = (component: string, message: string) => console.log(`${new Date().toISOString()} [${component}] ${message}`);

async function main(): Promise<void> {
  // Ctrl-C (SIGINT) or SIGTERM at any moment, even while starting: the stack is then stopped in
  // order (stopAll) as soon as it is up, never left half-started without its owner.
  const stopRequested = new Promise<void>((done) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => done());
  });
  const config = loadConfig();
  // SPEC §10: this process owns Temporal and PostgreSQL; a stray rejection must not take them down.
  logUnhandledRejections((message) => log('process', message));
  // SPEC §10: the SDK's Prometheus exporter, read by the API's GET /metrics of this process.
  installRuntimeWithMetrics(
    {
      logger: new DefaultLogger(process.env.TEMPORAL_LOG_LEVEL === 'DEBUG' ? 'DEBUG' : 'WARN'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
      // Ctrl-C is ours to handle (stopAll below, in order): the SDK's own signal handlers would
      // start shutting the worker down on their own, outside that order.
      shutdownSignals: [],
    },
    config.temporalMetricsAddress,
    (message) => log('metrics', message),
  );
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => log('shutdown', String(e)));
  };

  try {
    const dataDir = resolve(config.dataDir, sandbox ? 'sandbox' : '');
    mkdirSync(dataDir, { recursive: true });

    // PostgreSQL
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const pg: EmbeddedDatabase = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), port: config.embeddedPostgresPort + (sandbox ? 1 : 0) });
      stops.push(() => pg.stop());
      await ensureDatabase(pg.url('postgres'), 'xingtu');
      databaseUrl = pg.url('xingtu');
      log('postgres', `embedded PostgreSQL on 127.0.0.1:${config.embeddedPostgresPort + (sandbox ? 1 : 0)}, data in ${join(dataDir, 'postgres')}`);
    } else {
      log('postgres', 'using DATABASE_URL');
    }
    // A restart of PostgreSQL drops the pool's connections: logged, and the next query reconnects.
    // Once the pool is closing, its last connections may still be closing too when PostgreSQL stops
    // (pg's pool.end() resolves before their sockets are closed): that is no loss to report.
    let dbClosing = false;
    const db = createDb({ connectionString: databaseUrl, onConnectionError: (error) => dbClosing || log('postgres', `connection lost: ${error.message} (reconnecting at the next query)`) });
    stops.push(() => {
      dbClosing = true;
      return db.destroy();
    });
    const applied = await migrateToLatest(db);
    log('migrate', applied.length ? `applied ${applied.join(', ')}` : 'schema up to date');

    // Temporal
    let client: Client;
    let nativeConnection: NativeConnection;
    let clock: SandboxClock | undefined;
    if (config.temporalAddress && !sandbox) {
      const api = apiTemporalClient(config.temporalAddress, config.temporalNamespace, config.temporalTls);
      const connection = api.connection;
      stops.push(() => connection.close());
      client = api.client;
      nativeConnection = await NativeConnection.connect({ address: config.temporalAddress, ...(config.temporalTls ? { tls: config.temporalTls } : {}) });
      stops.push(() => nativeConnection.close());
      log('temporal', `using ${config.temporalAddress}`);
      await registerSearchAttributes(connection, config.temporalNamespace).catch((e: unknown) =>
        log('temporal', `could not register search attributes (register them on the cluster): ${String(e)}`),
      );
    } else {
      const env: TestWorkflowEnvironment = sandbox
        ? await startTimeSkippingServer()
        : await startDevServer({ port: config.temporalPort, uiPort: config.temporalUiPort, dbFilename: join(dataDir, 'temporal.sqlite') });
      stops.push(() => env.teardown());
      nativeConnection = env.nativeConnection;
      // The sandbox needs the environment's own client (it lets the test server skip time); the
      // dev server gets the API's client, which answers 503 soon if the server stops answering.
      client = sandbox ? env.client : apiClientOf(env.address, config.temporalNamespace, stops);
      if (sandbox) {
        clock = { nowMs: () => env.currentTimeMs(), advance: (ms) => env.sleep(ms) };
        log('temporal', `time-skipping test server on ${env.address} (sandbox clock: GET/POST /v1/sandbox/clock)`);
      } else {
        log('temporal', `dev server on ${env.address}, UI on http://127.0.0.1:${config.temporalUiPort}`);
      }
    }

    // Worker
    const worker = await createWorker({ connection: nativeConnection, namespace: config.temporalNamespace, taskQueue: config.taskQueue, db });
    const running = worker.run();
    stops.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });
    log('worker', `polling task queue ${config.taskQueue}`);
    // E5: the webhook delivery loop runs next to the worker (worker/webhook-delivery.ts).
    const webhooks = startWebhookDelivery(db, { urlPolicy: config.webhookUrlPolicy, log: (message) => log('webhooks', message), onAttempt: countWebhookAttempt });
    stops.push(() => webhooks.stop());

    // API: the tokens of API_TOKENS, or fresh random ones shown once (never a well-known default)
    const tokens = [...(config.apiTokens ?? generateApiTokens()), ...(config.metricsToken ? [{ role: 'metrics' as const, token: config.metricsToken }] : [])];
    // SPEC §10: this process is the API and the worker, so its GET /metrics also carries the SDK's exporter.
    const metrics = { collectIntervalMs: config.metricsCollectIntervalSeconds * 1000, sdkMetricsUrl: `http://${config.temporalMetricsAddress}/metrics` };
    // Issue 18: one JSON line per request and a stack per 500 on stdout (api/request-log.ts), never a credential.
    const app = buildApp({ db, client, taskQueue: config.taskQueue, clock, tokens, metrics, logger: true, trustProxy: config.trustProxy });
    stops.push(() => app.close());
    if (config.apiTokens) log('api', `${tokens.length} API tokens from API_TOKENS (${[...new Set(tokens.map((t) => t.role))].join(', ')})`);
    else console.log(generatedTokensBanner(tokens));
    await app.listen({ host: config.apiHost, port: config.apiPort });
    const base = `http://${config.apiHost}:${config.apiPort}`;
    log('api', `listening on ${base} (health: /health, docs: ${base}/docs, OpenAPI: ${base}/v1/openapi.json, console: ${base}/console)`);

    await new Promise<void>((done) => {
      void stopRequested.then(done);
      running.catch((error: unknown) => {
        log('worker', `stopped: ${String(error)}`);
        done();
      });
    });
    log('shutdown', 'stopping …');
    await stopAll();
    log('shutdown', 'stopped cleanly');
  } catch (error) {
    log('start', `failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    await stopAll();
    process.exitCode = 1;
  }
}

/** The API's Temporal client (platform/temporal-client.ts), closed with the rest. */
function apiClientOf(address: string, namespace: string, stops: Array<() => Promise<void>>): Client {
  const { client, connection } = apiTemporalClient(address, namespace);
  stops.push(() => connection.close());
  return client;
}

// Ctrl-C must reach this process only, not its PostgreSQL and Temporal: they stop after the API
// and the worker (platform/own-process-group.ts).
if (!runInOwnProcessGroup()) void main();
