import type { NativeConnection} from '@temporalio/worker';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities, type Activities } from '../activities';
import { LOCAL_WRITES_OFF } from '../domain/activity-failures';
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
  /**
   * SPEC §10 Speed: order writes as local activities (issue 21). On unless `LOCAL_WRITES=off`:
   * then a local write is refused here and the workflow writes through the regular activity, as
   * before (docs/decisions.md, "One command, one workflow task").
   */
  readonly localWrites?: boolean;
  /**
   * The SDK's workflow cache (default: the SDK's). 0: no cache, hence no sticky queue, so that a
   * worker started after this one takes the order's next task at once (tests that stop a worker).
   */
  readonly maxCachedWorkflows?: number;
}

/** The order writes a workflow may run as local activities. */
const LOCAL_WRITE_ACTIVITIES = ['recordTaskEvents', 'recordBoostEvents', 'recordCheckoutEvents'] as const;

/** Refuses the order writes when run as local activities, at once and for good: the workflow falls back. */
function withoutLocalWrites(activities: Activities): Activities {
  const refused = { ...activities };
  for (const name of LOCAL_WRITE_ACTIVITIES) {
    const write = activities[name] as (input: never) => Promise<unknown>;
    (refused as Record<string, unknown>)[name] = (input: never) => {
      if (Context.current().info.isLocal) throw ApplicationFailure.create({ type: LOCAL_WRITES_OFF, message: 'local writes are off on this worker', nonRetryable: true });
      return write(input);
    };
  }
  return refused;
}

export async function createWorker({ connection, namespace, taskQueue, db, workflowBundle, wrapActivities, localWrites = process.env.LOCAL_WRITES !== 'off', maxCachedWorkflows }: WorkerDeps): Promise<Worker> {
  const created = createActivities({ db });
  const activities = localWrites ? created : withoutLocalWrites(created);
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: wrapActivities ? wrapActivities(activities) : activities,
    dataConverter,
    ...(maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows }),
    interceptors: { activity: [activityMetricsInterceptor] }, // SPEC §10 activity retries (platform/metrics.ts)
  });
}

export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, payloadConverterPath: dataConverter.payloadConverterPath, logger: quietBundlerLogger });
}

const noop = () => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };
