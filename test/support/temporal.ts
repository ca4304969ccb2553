import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Db } from '../../db/connect';
import { bundleWorkflows, createWorker } from '../../worker/create-worker';

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

export async function testWorker(env: TestWorkflowEnvironment, db: Db, taskQueue: string): Promise<Worker> {
  return createWorker({ connection: env.nativeConnection, namespace: env.namespace ?? 'default', taskQueue, db, workflowBundle: await workflowBundle() });
}

/** A worker running for the whole test file; `stop` shuts it down and waits for it. */
export async function runningWorker(env: TestWorkflowEnvironment, db: Db, taskQueue: string): Promise<{ worker: Worker; stop: () => Promise<void> }> {
  const worker = await testWorker(env, db, taskQueue);
  const running = worker.run();
  return {
    worker,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
