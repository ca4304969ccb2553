import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loadConsoleSessionKey } from '../../platform/config';
import { unavailableDependency } from '../../platform/faults';
import { createTokenVerifier } from '../auth';
import { ApiError, refusedValue } from '../errors';
import { STORABLE_TEXT_MESSAGE, unstorableTextIssues } from '../schemas';
import { abortWhenClientLeaves } from '../stream-reply';
import { consoleApi } from './api-client';
import { readCookie } from './cookies';
import { registerFinancePages } from './finance-pages';
import { Html } from './html';
import { ASSETS_PATH, CONSOLE_PATH } from './layout';
import { registerOpsPages } from './ops-pages';
import { registerRefundPages } from './refund-pages';
import { SECURITY_HEADERS, errorPage, sendPage, type ConsoleContext, type ConsoleDeps, type ConsoleRouter, type Handler, type SessionRevocations } from './respond';
import { createSessionSealer, csrfMatches, SESSION_COOKIE, type ConsoleSession, type ConsoleSessions, type SessionSealer } from './session';
import type { Db } from '../../db/connect';
import { isConsoleSessionRevoked, revokeConsoleSession } from '../../db/console-sessions';
import { registerSignIn } from './sign-in';

/**
 * SPEC F6: the ops and finance console under /console, registered as an encapsulated plugin so its
 * form parser, cookie parser and HTML error pages stay out of the JSON API. Its routes are
 * `public` for the bearer-token layer (api/auth.ts: the browser has no bearer token) and check the
 * session cookie themselves; they are `hidden` from the OpenAPI document.
 */
export function registerConsole(app: FastifyInstance, deps: ConsoleDeps): void {
  const context: ConsoleContext = {
    ...deps,
    temporalUiUrl: (deps.temporalUiUrl ?? process.env.TEMPORAL_UI_URL ?? `http://127.0.0.1:${process.env.TEMPORAL_UI_PORT || 8233}`).replace(/\/+$/, ''),
    namespace: (deps.client.options as { namespace?: string } | undefined)?.namespace ?? 'default',
  };
  void app.register(async (instance) => {
    await instance.register(formbody, { bodyLimit: 32 * 1024 });
    instance.addHook('onSend', async (request, reply, payload) => {
      if (request.url.startsWith(CONSOLE_PATH)) reply.headers(SECURITY_HEADERS);
      return payload;
    });
    instance.setErrorHandler((error, request, reply) => sendErrorPage(reply, error, request));
    registerAssets(instance);
    const sealer = createSessionSealer(deps.sessionKey ?? loadConsoleSessionKey());
    const sessions = consoleSessions(sealer, deps.revocations ?? databaseRevocations(deps.db));
    // Behind a TLS-terminating proxy this is https only with trustProxy (TRUST_PROXY): X-Forwarded-Proto.
    const secure = (request: FastifyRequest) => request.protocol === 'https';
    limitSignIn(instance, deps.signInGuard);
    registerSignIn(instance, { sessions, verify: createTokenVerifier(deps.tokens), secure });
    const router = consoleRouter(instance, deps.app, sessions);
    registerOpsPages(router, context);
    registerFinancePages(router, context);
    registerRefundPages(router, context);
  });
}

function databaseRevocations(db: Db): SessionRevocations {
  return { isRevoked: (sid) => isConsoleSessionRevoked(db, sid), revoke: (sid, expiresAt) => revokeConsoleSession(db, sid, expiresAt) };
}

/** Sessions as the console checks them: a cookie that opens, has not expired and was not signed out. */
function consoleSessions(sealer: SessionSealer, revocations: SessionRevocations): ConsoleSessions {
  return {
    seal: (session) => sealer.seal(session),
    async current(request) {
      const session = sealer.open(readCookie(request, SESSION_COOKIE), Date.now());
      if (!session) return undefined;
      return (await revocations.isRevoked(session.sid)) ? undefined : session;
    },
    revoke: (session) => revocations.revoke(session.sid, new Date(session.expiresAtMs)),
  };
}

/** Issue 18: sign-in attempts pass `guard` (rate limited per client address) before the form is checked. */
function limitSignIn(instance: FastifyInstance, guard: ConsoleDeps['signInGuard']): void {
  if (!guard) return;
  instance.addHook('preHandler', async (request, reply) => {
    if (request.method === 'POST' && request.routeOptions.url === `${CONSOLE_PATH}/sign-in`) await guard(request, reply);
  });
}

function consoleRouter(instance: FastifyInstance, app: FastifyInstance, sessions: ConsoleSessions): ConsoleRouter {
  const config = { public: true, hidden: true } as const;
  const signedIn = async (request: FastifyRequest, reply: FastifyReply): Promise<ConsoleSession | undefined> => {
    const session = await sessions.current(request);
    if (session) return session;
    if (request.headers['hx-request']) void reply.header('hx-redirect', `${CONSOLE_PATH}/sign-in`).code(204).send();
    else void reply.redirect(`${CONSOLE_PATH}/sign-in?next=${encodeURIComponent(request.url)}`, 303);
    return undefined;
  };
  const run = async (handler: Handler, session: ConsoleSession, request: FastifyRequest, reply: FastifyReply) => {
    const problem = inputProblem(request);
    if (problem) return sendPage(reply, 400, errorPage(session, 'Refused: the request is not valid', problem));
    const client = abortWhenClientLeaves(reply); // a page the browser left stops its API calls (issue 18)
    let result: unknown;
    try {
      result = await handler({ session, api: consoleApi(app, session, client.signal) }, request, reply);
    } catch (error) {
      if (client.signal.aborted) return reply; // the browser left: nobody to show an error page to
      throw error;
    } finally {
      client.dispose();
    }
    if (reply.sent) return reply;
    if (result instanceof Html) return reply.type('text/html; charset=utf-8').send(result.value);
    return result;
  };
  return {
    get(path, handler) {
      instance.route({
        method: 'GET',
        url: path,
        config,
        handler: async (request, reply) => {
          const session = await signedIn(request, reply);
          return session ? run(handler, session, request, reply) : reply;
        },
      });
    },
    post(path, handler) {
      instance.route({
        method: 'POST',
        url: path,
        config,
        handler: async (request, reply) => {
          const session = await signedIn(request, reply);
          if (!session) return reply;
          if (!csrfMatches(session.csrf, (request.body as Record<string, unknown> | undefined)?._csrf)) {
            return sendPage(reply, 403, errorPage(session, 'Refused: missing or wrong CSRF token', 'This form did not carry this session\'s CSRF token. Reload the page and submit it again.'));
          }
          return run(handler, session, request, reply);
        },
      });
    },
  };
}

/**
 * Issue 18: what no console page accepts, checked once for all of them (their own 400 page, with
 * the navigation): a repeated query parameter (the pages read one value each) and text PostgreSQL
 * cannot store, anywhere in the query, the path or the form.
 */
function inputProblem(request: FastifyRequest): string | undefined {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const repeated = Object.keys(query).filter((key) => Array.isArray(query[key]));
  if (repeated.length > 0) return `the query parameter ${repeated.join(', ')} is repeated; give it once`;
  const unstorable = [request.query, request.params, request.body].flatMap((input) => unstorableTextIssues(input));
  return unstorable.length > 0 ? `a value of the request is not text the console accepts: ${STORABLE_TEXT_MESSAGE}` : undefined;
}

function registerAssets(instance: FastifyInstance): void {
  const require = createRequire(__filename);
  const files: Record<string, { type: string; body: Buffer }> = {
    'htmx.min.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(require.resolve('htmx.org/dist/htmx.min.js')) },
    'console.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(join(__dirname, 'assets', 'console.js')) },
    'console.css': { type: 'text/css; charset=utf-8', body: readFileSync(join(__dirname, 'assets', 'console.css')) },
    'favicon.svg': { type: 'image/svg+xml', body: readFileSync(join(__dirname, 'assets', 'favicon.svg')) },
  };
  for (const [name, file] of Object.entries(files)) {
    instance.route({
      method: 'GET',
      url: `${ASSETS_PATH}/${name}`,
      config: { public: true, hidden: true },
      handler: (_request, reply) => reply.type(file.type).header('cache-control', 'public, max-age=300').send(file.body),
    });
  }
}

function sendErrorPage(reply: FastifyReply, error: unknown, request: FastifyRequest) {
  const dependency = unavailableDependency(error);
  if (dependency) {
    request.log.warn({ dependency, error: String(error) }, 'console: dependency unavailable');
    void reply.header('retry-after', '1');
    return sendPage(reply, 503, errorPage(undefined, 'Temporarily unavailable', ApiError.unavailable(dependency).message));
  }
  const refused = refusedValue(error); // issue 18: a value PostgreSQL refused is the request's fault (400)
  if (refused) request.log.warn({ err: error }, 'console: PostgreSQL refused a request value that validation let through');
  const failure = refused ?? error;
  const status = failure instanceof ApiError ? failure.status : (failure as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return sendPage(reply, status === 415 || status === 413 ? 400 : status, errorPage(undefined, 'Refused', (failure as Error).message));
  }
  request.log.error({ err: error, message: String(error), stack: (error as Error).stack }, 'console: internal error');
  return sendPage(reply, 500, errorPage(undefined, 'Internal error', 'The console failed; the error is in the API log.'));
}
