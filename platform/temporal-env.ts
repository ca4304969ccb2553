import { TestWorkflowEnvironment } from '@temporalio/testing';
import { dataConverter } from './data-converter';
import { registerSearchAttributes } from './search-attributes';
import { temporalExecutable } from './temporal-tools';

/**
 * A Temporal dev server (the CLI's `server start-dev`, with its UI and a SQLite file so workflows
 * survive restarts), started and stopped by this process.
 */
export async function startDevServer(opts: { port?: number; uiPort?: number; dbFilename?: string } = {}): Promise<TestWorkflowEnvironment> {
  const executable = temporalExecutable('TEMPORAL_CLI_PATH');
  return withSearchAttributes(await TestWorkflowEnvironment.createLocal({
    server: {
      ...(executable ? { executable } : {}),
      ip: '127.0.0.1',
      ...(opts.port === undefined ? {} : { port: opts.port }),
      ...(opts.uiPort === undefined ? {} : { ui: true, uiPort: opts.uiPort }),
      ...(opts.dbFilename === undefined ? {} : { dbFilename: opts.dbFilename }),
    },
    client: { dataConverter },
  }));
}

/** The time-skipping test server: timers fire as soon as nothing else is running, or on `sleep`. */
export async function startTimeSkippingServer(opts: { port?: number } = {}): Promise<TestWorkflowEnvironment> {
  const executable = temporalExecutable('TEMPORAL_TEST_SERVER_PATH');
  return withSearchAttributes(await TestWorkflowEnvironment.createTimeSkipping({
    server: { ...(executable ? { executable } : {}), ...(opts.port === undefined ? {} : { port: opts.port }) },
    client: { dataConverter },
  }));
}

async function withSearchAttributes(env: TestWorkflowEnvironment): Promise<TestWorkflowEnvironment> {
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}
