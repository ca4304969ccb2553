import type { NativeConnection} from '@temporalio/worker';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities, type Activities } from '../activities';
import type { Db } from '../db/connect';
import { dataConverter } from '../platform/data-converter';
import { activityMetricsInterceptor } from './metrics-interceptor';

export const WORKFLOWS_PATH = require.resolve('../workflows');

export interface WorkerDeps {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly db: Db;
  /** A prebuilt bundle (tests build it once); otherwise the worker bundles the workflows itself. */
  readonly workflowBundle?: WorkflowBundleWithSourceMap;
  /** Tests hold a step between two activities (a race): the real activities, wrapped. */
  readonly wrapActivities?: (activities: Activities) => Activities;
}

export async function createWorker({ connection, namespace, taskQueue, db, workflowBundle, wrapActivities }: WorkerDeps): Promise<Worker> {
  const activities = createActivities({ db });
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: wrapActivities ? wrapActivities(activities) : activities,
    dataConverter,
    interceptors: { activity: [activityMetricsInterceptor] }, // SPEC §10 activity retries (platform/metrics.ts)
  });
}

export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, payloadConverterPath: dataConverter.payloadConverterPath, logger: quietBundlerLogger });
}

const noop = () => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };
