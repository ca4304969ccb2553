/**
 * The processes `npm run bench:orders` (bench/orders.ts) starts besides PostgreSQL and Temporal,
 * one per role, each a child with an IPC channel: it says `ready` over it and exits when it closes
 * (the bench died), so nothing outlives a run.
 *
 *   api              the product's HTTP API (api/app.ts), wired as `npm start` wires it
 *   worker           the product's worker (worker/create-worker.ts) on TASK_QUEUE
 *   baseline-worker  the worker of the bench's two limits (bench/baseline-workflow.ts) on TASK_QUEUE:
 *                    the engine baseline (no-op activities) and the same-job baseline (its local
 *                    activity inserts a row through its own pg pool)
 *   relay            the same-job baseline's HTTP relay (bench/same-job-relay.ts) to TASK_QUEUE
 *
 * Env: DATABASE_URL, TEMPORAL_ADDRESS, TASK_QUEUE; the api also API_TOKENS.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, makeTelemetryFilterString } from '@temporalio/worker';
import { buildApp } from '../api/app';
import { createDb } from '../db/connect';
import { loadConfig } from '../platform/config';
import { dataConverter } from '../platform/data-converter';
import { apiTemporalClient } from '../platform/temporal-client';
import { createWorker } from '../worker/create-worker';
import { Pool } from 'pg';
import { baselineActivities, sameJobActivities } from './baseline-activities';
import { sameJobRelay } from './same-job-relay';

export const CHILD_ROLES = ['api', 'worker', 'baseline-worker', 'relay'] as const;
export type ChildRole = (typeof CHILD_ROLES)[number];

/** What a child tells the bench once it serves. */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly role: ChildRole;
  readonly pid: number;
  /** The api's or the relay's address, e.g. http://127.0.0.1:41234. */
  readonly url?: string;
}

const NAMESPACE = 'default';
const noop = () => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (bench/orders-child.ts is started by bench/orders.ts)`);
  return value;
}

function ready(message: Omit<ReadyMessage, 'type' | 'pid'>): void {
  process.send?.({ type: 'ready', pid: process.pid, ...message } satisfies ReadyMessage);
}

async function main(): Promise<void> {
  const role = process.argv[2] as ChildRole;
  if (!CHILD_ROLES.includes(role)) throw new Error(`usage: orders-child.ts ${CHILD_ROLES.join('|')}`);
  process.on('disconnect', () => process.exit(0)); // the bench is gone
  const address = required('TEMPORAL_ADDRESS');
  const taskQueue = required('TASK_QUEUE');

  if (role === 'api') {
    // As scripts/start.ts wires it: the API's own Temporal client, no request log.
    const config = loadConfig();
    const db = createDb({ connectionString: required('DATABASE_URL') });
    const { client } = apiTemporalClient(address, NAMESPACE);
    const app = buildApp({ db, client, taskQueue, tokens: config.apiTokens ?? [] });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    ready({ role, url });
    return; // serves until the bench kills it
  }
  if (role === 'relay') {
    // The same Temporal client setup as the API's (platform/temporal-client.ts), nothing else.
    const { client } = apiTemporalClient(address, NAMESPACE);
    const server = sameJobRelay(client, taskQueue);
    server.keepAliveTimeout = 600_000; // idle between its phases: never close a socket the driver may reuse
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    const where = server.address();
    if (where === null || typeof where === 'string') throw new Error('the relay has no port');
    ready({ role, url: `http://127.0.0.1:${where.port}` });
    return;
  }

  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
  const connection = await NativeConnection.connect({ address });
  let worker: Worker;
  if (role === 'worker') {
    const db = createDb({ connectionString: required('DATABASE_URL') });
    worker = await createWorker({ connection, namespace: NAMESPACE, taskQueue, db, localWrites: true }); // issue 21's design, measured
  } else {
    // The same worker options as the product's (worker/create-worker.ts): SDK defaults, our payload converter.
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('./baseline-workflow'),
      payloadConverterPath: dataConverter.payloadConverterPath,
      logger: quietBundlerLogger,
    });
    // The same-job baseline's pool: as many connections as the product's (db/connect.ts: 10).
    const pool = new Pool({ connectionString: required('DATABASE_URL'), max: 10 });
    const activities = { ...baselineActivities, ...sameJobActivities(pool) };
    worker = await Worker.create({ connection, namespace: NAMESPACE, taskQueue, workflowBundle, activities, dataConverter });
  }
  const running = worker.run();
  ready({ role });
  await running;
  await connection.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
