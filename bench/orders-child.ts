/**
 * The processes `npm run bench:orders` (bench/orders.ts) starts besides PostgreSQL and Temporal,
 * one per role, each a child with an IPC channel: it says `ready` over it and exits when it closes
 * (the bench died), so nothing outlives a run.
 *
 *   api              the product's HTTP API (api/app.ts), wired as `npm start` wires it
 *   worker           the product's worker (worker/create-worker.ts) on TASK_QUEUE
 *   baseline-worker  the engine baseline's worker (bench/baseline-workflow.ts) on TASK_QUEUE
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
import { baselineActivities } from './baseline-activities';

export const CHILD_ROLES = ['api', 'worker', 'baseline-worker'] as const;
export type ChildRole = (typeof CHILD_ROLES)[number];

/** What a child tells the bench once it serves. */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly role: ChildRole;
  readonly pid: number;
  /** The api's address, e.g. http://127.0.0.1:41234. */
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

  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
  const connection = await NativeConnection.connect({ address });
  let worker: Worker;
  if (role === 'worker') {
    const db = createDb({ connectionString: required('DATABASE_URL') });
    worker = await createWorker({ connection, namespace: NAMESPACE, taskQueue, db });
  } else {
    // The same worker options as the product's (worker/create-worker.ts): SDK defaults, our payload converter.
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('./baseline-workflow'),
      payloadConverterPath: dataConverter.payloadConverterPath,
      logger: quietBundlerLogger,
    });
    worker = await Worker.create({ connection, namespace: NAMESPACE, taskQueue, workflowBundle, activities: baselineActivities, dataConverter });
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
