import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Db } from '../../db/connect';
import { startTimeSkippingServer } from '../../platform/temporal-env';
import { createTestDatabase, type TestDatabase } from './db';
import { bundleWorkflows, createWorker, type WorkerDeps } from '../../worker/create-worker';
import { DEFAULT_TASK_POLICY, type TaskPlacement } from '../../domain/task-order';
import { TASK_ORDER_WORKFLOW, placementUpdate, taskOrderWorkflowId, type TaskOrderInput } from '../../workflows/task-order-api';

let runtimeInstalled = false;
let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Quiet SDK logs in tests; warnings and errors still show. */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed in this process
  }
}

/** The workflow bundle, built once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflows();
  return bundle;
}

export async function testWorker(env: TestWorkflowEnvironment, db: Db, taskQueue: string, wrapActivities?: WorkerDeps['wrapActivities']): Promise<Worker> {
  // Tests run the order writes as local activities (issue 21's path, the default), whatever LOCAL_WRITES says.
  return createWorker({ connection: env.nativeConnection, namespace: env.namespace ?? 'default', taskQueue, db, workflowBundle: await workflowBundle(), localWrites: true, ...(wrapActivities ? { wrapActivities } : {}) });
}

/** A worker running for the whole test file (or until `stop`, which shuts it down and waits for it). */
export async function runningWorker(
  env: TestWorkflowEnvironment,
  db: Db,
  taskQueue: string,
  wrapActivities?: WorkerDeps['wrapActivities'],
): Promise<{ worker: Worker; stop: () => Promise<void> }> {
  const worker = await testWorker(env, db, taskQueue, wrapActivities);
  const running = worker.run();
  return {
    worker,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

/**
 * A test file's world on the time-skipping server: the server, a database of its own and a worker
 * on `taskQueue`, started before the file's tests (handed to `use`) and stopped after them.
 */
export function withTimeSkippingWorker(taskQueue: string, use: (world: { env: TestWorkflowEnvironment; database: TestDatabase }) => void): void {
  let stop: (() => Promise<void>) | undefined;
  let world: { env: TestWorkflowEnvironment; database: TestDatabase } | undefined;
  beforeAll(async () => {
    installQuietRuntime();
    const [env, database] = await Promise.all([startTimeSkippingServer(), createTestDatabase()]);
    world = { env, database };
    use(world);
    ({ stop } = await runningWorker(env, database.db, taskQueue));
  }, 120_000);
  afterAll(async () => {
    await stop?.();
    await world?.env.teardown();
    await world?.database.drop();
  });
}

/**
 * `place(p, historyLimit?)`: starts the task order's workflow on `taskQueue` (the default policy)
 * and places it through its placement Update, which must answer `placed`; the workflow's handle.
 */
export function taskOrderPlacer(env: () => TestWorkflowEnvironment, taskQueue: string): (p: TaskPlacement, historyLimit?: number) => Promise<WorkflowHandle> {
  return async (p, historyLimit) => {
    const input: TaskOrderInput = { placement: p, policy: DEFAULT_TASK_POLICY, ...(historyLimit === undefined ? {} : { historyLimit }) };
    const handle = await env().client.workflow.start(TASK_ORDER_WORKFLOW, { workflowId: taskOrderWorkflowId(p.orderId), taskQueue, args: [input] });
    expect((await handle.executeUpdate(placementUpdate)).placed).toBe(true);
    return handle;
  };
}
