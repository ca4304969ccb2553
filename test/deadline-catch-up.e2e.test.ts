import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DEFAULT_TASK_POLICY } from '../domain/task-order';
import { startDevServer } from '../platform/temporal-env';
import { TASK_COMMAND_UPDATES, TASK_ORDER_WORKFLOW, placementUpdate, stateQuery, taskOrderWorkflowId, type TaskOrderInput } from '../workflows/task-order-api';
import { createTestDatabase, type TestDatabase } from './support/db';
import { placement } from './support/fixtures';
import { installQuietRuntime, runningWorker } from './support/temporal';

/**
 * SPEC §1: "an action that arrives after its deadline fired is rejected". When no worker ran while
 * a deadline passed (killed, restarting), its timer and a command reach the workflow together;
 * the command is decided at workflow time, after the deadline, so the deadline applies first.
 */
let env: TestWorkflowEnvironment;
let database: TestDatabase;
const taskQueue = `catch-up-${process.pid}`;
beforeAll(async () => {
  installQuietRuntime();
  [env, database] = await Promise.all([startDevServer(), createTestDatabase()]);
}, 120_000);
afterAll(async () => {
  await env?.teardown();
  await database?.drop();
});

test('T6 §1: the acceptance deadline passes while no worker runs; an accept sent then is refused deadline_passed and the order is cancelled', async () => {
  const p = placement();
  const policy = { ...DEFAULT_TASK_POLICY, acceptanceTimeoutMs: 3_000 };
  let worker = await runningWorker(env, database.db, taskQueue);
  const handle = await env.client.workflow.start(TASK_ORDER_WORKFLOW, { workflowId: taskOrderWorkflowId(p.orderId), taskQueue, args: [{ placement: p, policy } satisfies TaskOrderInput] });
  expect((await handle.executeUpdate(placementUpdate)).placed).toBe(true);
  await worker.stop();

  await new Promise((resolve) => setTimeout(resolve, 4_000)); // past the deadline, nobody to fire it
  const accept = handle.executeUpdate(TASK_COMMAND_UPDATES.accept, { args: [{ actor: { type: 'creator', id: p.creatorId } }] }).then(
    () => 'applied',
    (error: unknown) => (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure ? error.cause.type : String(error)),
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  worker = await runningWorker(env, database.db, taskQueue);
  try {
    expect(await accept).toBe('deadline_passed');
    expect((await handle.query(stateQuery))?.state).toMatchObject({ status: 'cancelled', cancelReason: 'not_accepted_in_time' });
  } finally {
    await worker.stop();
  }
}, 60_000);
