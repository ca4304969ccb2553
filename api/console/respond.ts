import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/connect';
import type { ApiToken } from '../../platform/config';
import type { ApiAnswer, ConsoleApi } from './api-client';
import { html, type Html } from './html';
import { CONSOLE_PATH, notice, page } from './layout';
import { clearCookie } from './cookies';
import { SESSION_COOKIE, type ConsoleSession } from './session';

/** What the console's pages need: the app to call in-process, the database for previews, the workflows' clock. */
export interface ConsoleDeps {
  /** The root app: the console calls its API routes (api/console/api-client.ts). */
  readonly app: FastifyInstance;
  readonly db: Db;
  readonly client: Client;
  readonly tokens: readonly ApiToken[];
  /** Now in the workflows' clock (the sandbox clock in the sandbox): previews and countdowns use it. */
  readonly nowMs: () => Promise<number>;
  /** The Temporal UI's base URL for the links to a workflow (TEMPORAL_UI_URL, default the dev server's UI). */
  readonly temporalUiUrl?: string;
  /** The session cookies' key (CONSOLE_SESSION_KEY); default that variable, else a random key per process. */
  readonly sessionKey?: Buffer;
  /** Where sign-outs are recorded (issue 18); default the console_session_revocations table (db/console-sessions.ts). */
  readonly revocations?: SessionRevocations;
  /** Issue 18: runs before each sign-in attempt (a per-address rate limit that answers 429 with Retry-After). */
  readonly signInGuard?: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

/** The server-side record of signed-out sessions. */
export interface SessionRevocations {
  isRevoked(sessionId: string): Promise<boolean>;
  revoke(sessionId: string, expiresAt: Date): Promise<void>;
}

export const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
};

export interface ConsoleContext extends ConsoleDeps {
  readonly temporalUiUrl: string;
  readonly namespace: string;
}

/** A signed-in request: its session and the API as that session's role. */
export interface Signed {
  readonly session: ConsoleSession;
  readonly api: ConsoleApi;
}

export type Handler = (signed: Signed, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** Declares a console page or action: HTML, not part of the JSON API (hidden from the OpenAPI document). */
export interface ConsoleRouter {
  get(path: string, handler: Handler): void;
  /** A form POST: refused with 403 unless it carries the session's CSRF token. */
  post(path: string, handler: Handler): void;
}

export function sendPage(reply: FastifyReply, status: number, body: Html): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(body.value);
}

export function errorPage(session: ConsoleSession | undefined, title: string, message: string): Html {
  return page({ title, session, body: html`${notice('error', message)}<p><a href="${CONSOLE_PATH}">Back to the console</a></p>` });
}

/** An API refusal as the page's answer, with the API's status (403 stays 403, 409 stays 409). */
export function refusalPage(reply: FastifyReply, session: ConsoleSession, answer: ApiAnswer, what: string): FastifyReply {
  if (answer.status === 401) {
    // The token was removed from API_TOKENS (rotated): the session ends here.
    clearCookie(reply, SESSION_COOKIE, { path: CONSOLE_PATH, secure: reply.request.protocol === 'https' });
    return reply.redirect(`${CONSOLE_PATH}/sign-in`, 303);
  }
  const retryAfter = answer.headers.get('retry-after'); // 429 and 503 say when to retry (issue 18)
  if (retryAfter) void reply.header('retry-after', retryAfter);
  const error = answer.body?.error as { code?: string; message?: string } | undefined;
  const title = answer.status === 403 ? `Not allowed for the ${session.role} role` : answer.status === 404 ? 'Not found' : `Refused: ${error?.code ?? answer.status}`;
  return sendPage(reply, answer.status, errorPage(session, title, `${what}: ${error?.message ?? `HTTP ${answer.status}`}`));
}

