import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildApp, type AppDeps } from '../../api/app';
import type { ApiRole, ApiToken } from '../../platform/config';
import { startDevServer, startTimeSkippingServer } from '../../platform/temporal-env';
import { createTestDatabase, type TestDatabase } from './db';
import { startWebhookDelivery, type WebhookDelivery, type WebhookDeliveryOptions } from '../../worker/webhook-delivery';
import { installQuietRuntime, runningWorker } from './temporal';

/** The e2e stacks' API tokens, one per role (SPEC §8); `http()` sends the backend's by default. */
export const TEST_TOKENS: Readonly<Record<ApiRole, string>> = {
  backend: 'test-backend-token-0123456789abcdef',
  ops: 'test-ops-token-0123456789abcdef',
  finance: 'test-finance-token-0123456789abcdef',
  metrics: 'test-metrics-token-0123456789abcdef',
};
/**
 * Tokens that name their person (issue 18: `ops:alice:<token>` in API_TOKENS): what such a
 * token does is recorded under that person; the nameless TEST_TOKENS record their fingerprint.
 */
export const TEST_PERSON_TOKENS = {
  alice: { role: 'ops', person: 'alice', token: 'test-ops-alice-token-0123456789abcdef' },
  bob: { role: 'ops', person: 'bob', token: 'test-ops-bob-token-0123456789abcdef' },
  fay: { role: 'finance', person: 'fay', token: 'test-finance-fay-token-0123456789abcdef' },
} as const satisfies Record<string, ApiToken & { person: string }>;
export const TEST_API_TOKENS: readonly ApiToken[] = [
  ...(Object.entries(TEST_TOKENS) as Array<[ApiRole, string]>).map(([role, token]) => ({ role, token })),
  ...Object.values(TEST_PERSON_TOKENS),
];
/** The same tokens as API_TOKENS would carry them (`role:token`, `role:person:token`). */
export const TEST_API_TOKENS_ENV = TEST_API_TOKENS.map(({ role, person, token }) => (person ? `${role}:${person}:${token}` : `${role}:${token}`)).join(',');

/** `Authorization: Bearer …` for a named person's test token. */
export function personHeader(person: keyof typeof TEST_PERSON_TOKENS): Record<string, string> {
  return { authorization: `Bearer ${TEST_PERSON_TOKENS[person].token}` };
}

/** `Authorization: Bearer …` for a role's test token. */
export function authHeader(role: ApiRole): Record<string, string> {
  return { authorization: `Bearer ${TEST_TOKENS[role]}` };
}

export interface TestStack {
  readonly baseUrl: string;
  readonly taskQueue: string;
  readonly database: TestDatabase;
  readonly env: TestWorkflowEnvironment;
  /** E5: the stack's webhook delivery loop (as a worker process runs it); a test may kill it and start another. */
  readonly webhooks: WebhookDelivery;
  /** Stops the worker (commands then wait in Temporal), and starts a new one on the same task queue. */
  readonly pauseWorker: () => Promise<void>;
  readonly resumeWorker: () => Promise<void>;
  readonly stop: () => Promise<void>;
}

/** The test stack's webhook loop: http to loopback allowed (the tests' receivers), quick polling. */
export const TEST_WEBHOOK_OPTIONS: WebhookDeliveryOptions = { urlPolicy: { allowHttpLoopback: true, allowPrivateTargets: false }, pollIntervalMs: 200 };

/**
 * The whole system for an e2e test: a real Temporal server (the dev server, or the time-skipping
 * server for the sandbox), a real PostgreSQL database, the worker and the HTTP API on a free port.
 */
export interface StartStackOptions {
  logger?: AppDeps['logger'];
  policies?: AppDeps['policies'];
  webhooks?: Partial<WebhookDeliveryOptions>;
  trustProxy?: AppDeps['trustProxy'];
}

export async function startStack(mode: 'dev' | 'sandbox' = 'dev', options: StartStackOptions = {}): Promise<TestStack> {
  installQuietRuntime();
  const taskQueue = `e2e-${mode}-${process.pid}`;
  const [env, database] = await Promise.all([mode === 'dev' ? startDevServer() : startTimeSkippingServer(), createTestDatabase()]);
  let worker: { stop: () => Promise<void> } | undefined = await runningWorker(env, database.db, taskQueue);
  const clock = mode === 'sandbox' ? { nowMs: () => env.currentTimeMs(), advance: (ms: number) => env.sleep(ms) } : undefined;
  const app = buildApp({ db: database.db, client: env.client, taskQueue, tokens: TEST_API_TOKENS, ...(clock ? { clock } : {}), ...(options.logger ? { logger: options.logger } : {}), ...(options.policies ? { policies: options.policies } : {}), ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }) });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const webhooks = startWebhookDelivery(database.db, { ...TEST_WEBHOOK_OPTIONS, ...options.webhooks });
  return {
    baseUrl: address,
    taskQueue,
    database,
    env,
    pauseWorker: async () => {
      await worker?.stop();
      worker = undefined;
    },
    resumeWorker: async () => {
      worker ??= await runningWorker(env, database.db, taskQueue);
    },
    webhooks,
    stop: async () => {
      await webhooks.stop();
      await app.close();
      await worker?.stop();
      await env.teardown();
      await database.drop();
    },
  };
}

export interface JsonResponse {
  readonly status: number;
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The body as it came, byte for byte. */
  readonly text: string;
  readonly headers: Headers;
}

/**
 * One request to the API, as the backend (its test token) unless `headers` carries another
 * `authorization`; `authorization: ''` sends none.
 */
export async function http(baseUrl: string, method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const given = Object.keys(headers).find((name) => name.toLowerCase() === 'authorization');
  const auth = given === undefined ? authHeader('backend') : headers[given] === '' ? {} : { authorization: headers[given] as string };
  const rest = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== given));
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...auth, ...rest },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, text, headers: response.headers };
}

/** Requests to the API as one role (its test token), unless `headers` carries another `authorization`. */
export interface Requests {
  readonly post: (path: string, body?: unknown, headers?: Record<string, string>) => Promise<JsonResponse>;
  readonly get: (path: string, headers?: Record<string, string>) => Promise<JsonResponse>;
}

/** `post` and `get` to `baseUrl` (or the URL it returns when called) as `role`. */
export function requests(baseUrl: string | (() => string), role: ApiRole = 'backend'): Requests {
  const url = typeof baseUrl === 'string' ? () => baseUrl : baseUrl;
  const as = (headers: Record<string, string> = {}) => (Object.keys(headers).some((name) => name.toLowerCase() === 'authorization') ? headers : { ...authHeader(role), ...headers });
  return {
    post: (path, body, headers) => http(url(), 'POST', path, body, as(headers)),
    get: (path, headers) => http(url(), 'GET', path, undefined, as(headers)),
  };
}

export interface WithStackOptions extends StartStackOptions {
  /** The file's own set-up, once the stack runs (in the same `beforeAll`). */
  readonly setUp?: (stack: TestStack) => Promise<void>;
  /** The file's own tear-down, before the stack stops (in the same `afterAll`). */
  readonly tearDown?: () => Promise<void>;
  /** The `beforeAll`'s timeout (120 s). */
  readonly timeoutMs?: number;
  /** The `afterAll`'s timeout (jest's default). */
  readonly stopTimeoutMs?: number;
}

/** A test file's stack: read through it once its `beforeAll` ran; `post`/`get` as the backend, `as(role)` as another. */
export interface StackAccess extends TestStack, Requests {
  readonly as: (role: ApiRole) => Requests;
}

/**
 * The whole system for a test file (`startStack`), started before its tests and stopped after them
 * (the e2e counterpart of `withTimeSkippingWorker`); the accessor it returns reads the running stack.
 */
export function withStack(mode: 'dev' | 'sandbox' = 'dev', options: WithStackOptions = {}): StackAccess {
  const { setUp, tearDown, timeoutMs = 120_000, stopTimeoutMs, ...start } = options;
  let started: TestStack | undefined;
  const running = (): TestStack => {
    if (!started) throw new Error('the test stack is not running (read it inside a test or hook, after withStack)');
    return started;
  };
  beforeAll(async () => {
    started = await startStack(mode, start);
    await setUp?.(started);
  }, timeoutMs);
  afterAll(async () => {
    try {
      await tearDown?.();
    } finally {
      await started?.stop();
    }
  }, stopTimeoutMs);
  const backend = requests(() => running().baseUrl);
  return {
    get baseUrl() {
      return running().baseUrl;
    },
    get taskQueue() {
      return running().taskQueue;
    },
    get database() {
      return running().database;
    },
    get env() {
      return running().env;
    },
    get webhooks() {
      return running().webhooks;
    },
    pauseWorker: () => running().pauseWorker(),
    resumeWorker: () => running().resumeWorker(),
    stop: () => running().stop(),
    post: backend.post,
    get: backend.get,
    as: (role) => requests(() => running().baseUrl, role),
  };
}
