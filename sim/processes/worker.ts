/**
 * A simulation worker process: the product's `createWorker` (worker/create-worker.ts) on a
 * workflow bundle the simulation built once (so a restarted worker is polling within seconds).
 * Only the simulation starts it (sim/stack.ts); several run at once.
 *
 * Env: DATABASE_URL, TEMPORAL_ADDRESS, TASK_QUEUE, SIM_WORKFLOW_BUNDLE (path of the bundle's code;
 * its source map next to it, `.map`), SIM_WORKER_NAME, SIM_WEBHOOK_DELIVERY (JSON SimWebhookDelivery).
 *
 * Like the standalone worker (worker/main.ts) it also runs the webhook delivery loop, with the
 * simulation's short knobs (sim/policy.ts SIM_WEBHOOK_DELIVERY); a SIGKILL cuts its sends off.
 */
import { readFileSync } from 'node:fs';
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { createDb } from '../../db/connect';
import { loadWebhookUrlPolicy } from '../../platform/config';
import { logUnhandledRejections } from '../../platform/process-safety';
import { createWorker } from '../../worker/create-worker';
import { startWebhookDelivery } from '../../worker/webhook-delivery';
import { parseWebhookDelivery } from '../policy';
import { exitWithParent, log, ready, required, retrying } from './common';

async function main(): Promise<void> {
  exitWithParent();
  const name = process.env.SIM_WORKER_NAME || `worker-${process.pid}`;
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
  const bundlePath = required('SIM_WORKFLOW_BUNDLE');
  const workflowBundle = { code: readFileSync(bundlePath, 'utf8'), sourceMap: readFileSync(`${bundlePath}.map`, 'utf8') };
  // Wired as the standalone worker (worker/main.ts) is, so the simulation tests what production runs.
  logUnhandledRejections((message) => console.error(message));
  const db = createDb({ connectionString: required('DATABASE_URL'), onConnectionError: (error) => console.warn(`[postgres] connection lost: ${error.message}`) });
  const address = required('TEMPORAL_ADDRESS');
  const connection = await retrying('Temporal', () => NativeConnection.connect({ address }));
  const taskQueue = required('TASK_QUEUE');
  const knobs = parseWebhookDelivery(required('SIM_WEBHOOK_DELIVERY'));
  const worker = await createWorker({ connection, namespace: process.env.TEMPORAL_NAMESPACE || 'default', taskQueue, db, workflowBundle });
  const running = worker.run(); // resolves after SIGINT/SIGTERM (the SDK installs the handlers)
  const webhooks = startWebhookDelivery(db, { ...knobs, urlPolicy: loadWebhookUrlPolicy(), log: (message) => log(name, message) });
  log(name, `polling ${taskQueue} on ${address}, delivering webhooks (pid ${process.pid})`);
  ready();
  await running;
  await webhooks.stop();
  await connection.close();
  await db.destroy();
  log(name, 'stopped');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
