import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/connect';
import type { ApiToken, TrustProxy } from '../platform/config';
import { installAuth } from './auth';
import { registerDocsRoutes } from './docs-page';
import { ApiError, UNAVAILABLE_RETRY_AFTER_SECONDS, refusedValue } from './errors';
import { registerFinanceRoutes } from './finance-routes';
import { createReadGuards, loadReadLimits, type ReadLimits } from './rate-limit';
import { temporalWorkflowOutcomes } from './workflow-outcomes';
import { registerBoostRoutes } from './boost-routes';
import { registerCheckoutRoutes } from './checkout-routes';
import { registerOpsRoutes } from './ops-routes';
import { registerEventRoutes } from './events-routes';
import { registerWebhookRoutes } from './webhook-routes';
import { loadWebhookSecretsKey, loadWebhookUrlPolicy } from '../platform/config';
import { createSecretBox, type SecretBox } from '../platform/secret-box';
import type { WebhookUrlPolicy } from '../platform/url-safety';
import { registerConsole } from './console/plugin';
import { CONSOLE_PATH } from './console/layout';
import { SECURITY_HEADERS, errorPage, sendPage } from './console/respond';
import { createOpsService } from './ops-service';
import { installIdempotency } from './idempotency';
import { installRequestMetrics, registerMetricsRoute, type MetricsOptions } from './metrics-route';
import { unavailableDependency } from '../platform/faults';
import { checkHealth } from './health';
import { stringifyExact } from '../platform/exact-json';
import { logController, loggerOptions, type LoggerOption } from './request-log';
export { REDACTED_LOG_PATHS } from './request-log';
import { DOCS_PATH, OPENAPI_PATH, RETRY_AFTER_HEADER, buildOpenApiDocument, type OpenApiDocument } from './openapi';
import { ClockAdvanced, ClockNow, Health, OpenApiDocumentView } from './responses';
import { defineRoute, recordRoutes } from './routes';
import { ClockAdvanceBody, inputDepthIssue } from './schemas';
import { registerTaskOrderRoutes } from './task-order-routes';
import { startStreamSyncer } from './stream-sync';
import type { TaskPolicy } from '../domain/task-order/policy';
import type { BoostPolicy } from '../domain/boost/policy';

/** The sandbox's test clock (SPEC §9): present only when Temporal is the time-skipping server. */
export interface SandboxClock {
  nowMs(): Promise<number>;
  advance(ms: number): Promise<void>;
}

export interface AppDeps {
  readonly db: Db;
  readonly client: Client;
  readonly taskQueue: string;
  readonly clock?: SandboxClock | undefined;
  /**
   * SPEC §8: the bearer tokens and their roles (platform/config.ts API_TOKENS). None: every route
   * but the public ones answers 401 (fail closed).
   */
  readonly tokens?: readonly ApiToken[];
  /** true: log to stdout; a stream: log there (tests); false or omitted: no log. */
  readonly logger?: LoggerOption;
  /** How long an order command waits for its outcome before answering 202 (default 30 s). */
  readonly commandWaitMs?: number;
  /**
   * The policies new orders are placed with (SPEC §1 policy snapshot). Production always uses the
   * defaults; only a process that builds the app itself (the simulation) can choose others.
   */
  readonly policies?: { readonly task?: TaskPolicy; readonly boost?: BoostPolicy };
  /** The Idempotency-Key in-flight lease in seconds (default IDEMPOTENCY_LEASE_SECONDS); tests shorten it. */
  readonly idempotencyLeaseSeconds?: number;
  /** SPEC §10 GET /metrics: how often its order gauges are collected, and the SDK exporter of this process (npm start). */
  readonly metrics?: MetricsOptions;
  /** E5: where webhook endpoints may point (default: platform/config.ts loadWebhookUrlPolicy from the environment). */
  readonly webhookUrlPolicy?: WebhookUrlPolicy;
  /** E5: how webhook secrets are stored (default: under WEBHOOK_SECRETS_KEY, platform/secret-box.ts). */
  readonly webhookSecrets?: SecretBox;
  /**
   * Fastify's trustProxy (TRUST_PROXY, platform/config.ts; default false): behind a TLS-terminating
   * proxy, the request's protocol comes from X-Forwarded-Proto, so the console cookie is Secure and
   * answers carry HSTS (issue 18). Never trust it without a proxy that sets the header itself.
   */
  readonly trustProxy?: TrustProxy;
  /** Issue 18: limits on sign-in and the expensive reads (default: api/rate-limit.ts loadReadLimits from the environment). */
  readonly readLimits?: ReadLimits;
}

/** HSTS on every answer given over https (issue 18): a year, the console's cookies included. */
const HSTS = 'max-age=31536000; includeSubDomains';

const MAX_BODY_BYTES = 64 * 1024;

export function buildApp({ db, client, taskQueue, clock, tokens = [], logger = false, commandWaitMs, policies = {}, idempotencyLeaseSeconds, metrics = {}, webhookUrlPolicy, webhookSecrets, trustProxy = false, readLimits }: AppDeps): FastifyInstance {
  // Issue 18: one log line per request (api/request-log.ts).
  const app = Fastify({ logger: loggerOptions(logger), logController: logController(), bodyLimit: MAX_BODY_BYTES, exposeHeadRoutes: false, trustProxy, frameworkErrors: badRequestBeforeRouting });
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.protocol === 'https') reply.header('strict-transport-security', HSTS);
    return payload;
  });
  /** Now in the workflows' clock: the sandbox clock in the sandbox (§9: every sandbox time), else the wall clock. */
  const nowMs = clock ? () => clock.nowMs() : async () => Date.now();
  const guards = createReadGuards(readLimits ?? loadReadLimits()); // one instance's share (issue 18)

  // Every route registered from here on — in this file, in finance-routes.ts, or anywhere later —
  // is recorded for the OpenAPI document, must declare its roles, and takes Idempotency-Key.
  const routes = recordRoutes(app);
  installAuth(app, tokens);
  // SPEC §8: a body nested deeper than any schema is refused before anything walks it (the
  // Idempotency-Key's fingerprint, the text check, zod): a walk that deep would overflow the stack.
  app.addHook('preValidation', async (request) => {
    const tooDeep = inputDepthIssue(request.body);
    if (tooDeep) throw new ApiError('validation_failed', 'the request is not valid', [tooDeep]);
  });
  installIdempotency(app, db, idempotencyLeaseSeconds === undefined ? {} : { leaseSeconds: idempotencyLeaseSeconds });
  installRequestMetrics(app); // SPEC §10: every request by route pattern and status, every command by outcome

  app.setReplySerializer((payload) => stringifyExact(payload)); // issue 18: bigint fen exactly, also beyond 2^53
  app.setErrorHandler((error, request, reply) => sendError(reply, error, request));
  app.setNotFoundHandler((request, reply) => {
    // SPEC §8: a console address no page has (an id with a slash, a typo) is a page with a way back, not JSON.
    if (request.url === CONSOLE_PATH || request.url.startsWith(`${CONSOLE_PATH}/`)) return sendPage(reply.headers(SECURITY_HEADERS), 404, errorPage(undefined, 'Not found', 'No console page has this address.'));
    return sendError(reply, new ApiError('not_found', `no route ${request.method} ${request.url}`), request);
  });

  // ── Public: health, the OpenAPI document and its docs page ─────────────────────────────────
  defineRoute(app, {
    method: 'GET',
    path: '/health',
    roles: 'public',
    tags: ['meta'],
    summary: 'Health check (SPEC §10): the API is up and reaches PostgreSQL and Temporal',
    description: 'Each dependency is checked with one cheap call, given up after 2 s.',
    responses: {
      200: { description: 'every dependency is up', schema: Health },
      503: { description: 'a dependency is down (see dependencies)', schema: Health, headers: RETRY_AFTER_HEADER },
    },
    handler: async (_input, request, reply) => {
      const report = await checkHealth(db, client, (dependency, error) => request.log.warn({ err: error, dependency }, 'health check failed'));
      if (report.status === 'ok') return report;
      return reply.code(503).header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS)).send(report);
    },
  });

  let document: OpenApiDocument | undefined;
  const openApi = () =>
    (document ??= buildOpenApiDocument(routes, {
      title: 'Xingtu order workflows API',
      version: '1.0.0',
      description: 'Task orders and boost orders as durable workflows with an exactly-once double-entry ledger (SPEC §8).',
    }));
  defineRoute(app, {
    method: 'GET',
    path: OPENAPI_PATH,
    roles: 'public',
    tags: ['meta'],
    summary: 'This OpenAPI 3 document',
    responses: { 200: { description: 'the OpenAPI document', schema: OpenApiDocumentView } },
    handler: () => openApi(),
  });
  // Swagger UI over the document above, with its assets (api/docs-page.ts, issue 12).
  registerDocsRoutes(app, { docsPath: DOCS_PATH, openApiPath: OPENAPI_PATH });

  // ── Task orders (SPEC §2) and their payments (T14, L5): api/task-order-routes.ts ───────────
  // L3 (issue 21): workflows told to look in their stream when an Update's outcome stayed unknown.
  const syncs = startStreamSyncer({ db, client, log: (message, error) => app.log.warn({ err: error }, message) });
  app.addHook('onClose', () => syncs.stop());
  const onUnknownOutcome = (workflowId: string) => syncs.request(workflowId);
  const orders = registerTaskOrderRoutes(app, { db, client, taskQueue, nowMs, commandWaitMs, policy: policies.task, onUnknownOutcome });

  // ── Finance (SPEC §7) ──────────────────────────────────────────────────────────────────────
  registerFinanceRoutes(app, { db, workflows: temporalWorkflowOutcomes(client), guards });
  const boosts = registerBoostRoutes(app, { db, client, taskQueue, nowMs, onUnknownOutcome, ...(policies.boost ? { policy: policies.boost } : {}) });
  const checkouts = registerCheckoutRoutes(app, { db, client, taskQueue, nowMs, taskPolicy: policies.task, boostPolicy: policies.boost, waitMs: commandWaitMs });
  registerOpsRoutes(app, { db, ops: createOpsService({ db, client, nowMs }), orders, boosts, checkouts, guards });
  // ── Events and webhooks (SPEC E4, E5) ──────────────────────────────────────────────────────
  registerEventRoutes(app, { db });
  registerWebhookRoutes(app, { db, urlPolicy: webhookUrlPolicy ?? loadWebhookUrlPolicy(), secrets: webhookSecrets ?? createSecretBox(loadWebhookSecretsKey()) });
  registerMetricsRoute(app, { db, client, nowMs, ...metrics, log: (message, error) => app.log.warn({ err: error }, message) });

  // ── The ops and finance web console (SPEC F6): HTML pages over the routes above ─────────────
  registerConsole(app, { app, db, client, tokens, nowMs, signInGuard: guards.signIn });

  // ── Sandbox clock (SPEC §9) ────────────────────────────────────────────────────────────────
  if (clock) {
    defineRoute(app, {
      method: 'GET',
      path: '/v1/sandbox/clock',
      roles: ['backend', 'ops'],
      tags: ['sandbox'],
      summary: "The sandbox clock's time",
      responses: { 200: { description: 'now, in Temporal time', schema: ClockNow } },
      handler: async () => ({ now: new Date(await clock.nowMs()).toISOString() }),
    });
    defineRoute(app, {
      method: 'POST',
      path: '/v1/sandbox/clock/advance',
      roles: ['backend', 'ops'],
      tags: ['sandbox'],
      summary: 'Move the sandbox clock forward, firing every timer in between',
      body: ClockAdvanceBody,
      responses: { 200: { description: 'advanced', schema: ClockAdvanced } },
      handler: async ({ body: advanceMs }) => {
        await clock.advance(advanceMs);
        return { advancedMs: advanceMs, now: new Date(await clock.nowMs()).toISOString() };
      },
    });
  }
  return app;
}

/**
 * Issue 18: what Fastify refuses before any route runs (a path that is not valid percent-encoded
 * UTF-8, e.g. `%FF` or a lone surrogate's bytes) gets SPEC §8's 400 body too — Fastify's own body
 * is not the §8 shape. The console's addresses get its HTML error page.
 */
function badRequestBeforeRouting(error: Error, request: FastifyRequest, reply: FastifyReply): void {
  const message = 'the request address is not valid (percent-encoded UTF-8 expected)';
  if (request.url.startsWith(CONSOLE_PATH)) {
    sendPage(reply, 400, errorPage(undefined, 'Refused', message));
    return;
  }
  void reply.code(400).send(new ApiError('validation_failed', message, [{ path: '', message: error.message }]).toBody());
}

function sendError(reply: FastifyReply, error: unknown, request: FastifyRequest) {
  const fault = unavailableDependency(error);
  if (fault) {
    // SPEC §8: a dependency away is a 503 to retry, never a 500; logged without the stack (expected).
    request.log.warn({ dependency: fault, error: String(error) }, 'dependency unavailable');
    error = ApiError.unavailable(fault);
  }
  const refused = refusedValue(error);
  if (refused) {
    // Logged with its stack: the request got a 400, but validation should have caught it first.
    request.log.warn({ err: error }, 'PostgreSQL refused a request value that validation let through');
    error = refused;
  }
  if (error instanceof ApiError) {
    if (error.code === 'unavailable') reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    return reply.code(error.status).send(error.toBody());
  }
  const status = (error as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own refusals: malformed JSON, a body too large, a wrong content type.
    return reply.code(400).send(new ApiError('validation_failed', (error as Error).message).toBody());
  }
  request.log.error({ err: error }, 'internal error'); // with its stack (pino's err serializer) and the reqId
  return reply.code(500).send({ error: { code: 'internal', message: 'internal error' } });
}
