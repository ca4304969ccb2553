import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildApp } from '../../api/app';
import { startDevServer, startTimeSkippingServer } from '../../platform/temporal-env';
import { createTestDatabase, type TestDatabase } from './db';
import { installQuietRuntime, runningWorker } from './temporal';

export interface TestStack {
  readonly baseUrl: string;
  readonly database: TestDatabase;
  readonly env: TestWorkflowEnvironment;
  readonly stop: () => Promise<void>;
}

/**
 * The whole system for an e2e test: a real Temporal server (the dev server, or the time-skipping
 * server for the sandbox), a real PostgreSQL database, the worker and the HTTP API on a free port.
 */
export async function startStack(mode: 'dev' | 'sandbox' = 'dev'): Promise<TestStack> {
  installQuietRuntime();
  const taskQueue = `e2e-${mode}-${process.pid}`;
  const [env, database] = await Promise.all([mode === 'dev' ? startDevServer() : startTimeSkippingServer(), createTestDatabase()]);
  const worker = await runningWorker(env, database.db, taskQueue);
  const clock = mode === 'sandbox' ? { nowMs: () => env.currentTimeMs(), advance: (ms: number) => env.sleep(ms) } : undefined;
  const app = buildApp({ db: database.db, client: env.client, taskQueue, ...(clock ? { clock } : {}) });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    baseUrl: address,
    database,
    env,
    stop: async () => {
      await app.close();
      await worker.stop();
      await env.teardown();
      await database.drop();
    },
  };
}

export interface JsonResponse {
  readonly status: number;
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function http(baseUrl: string, method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}
