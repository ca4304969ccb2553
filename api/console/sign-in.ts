import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiRole } from '../../platform/config';
import { Id } from '../schemas';
import { clearCookie, readCookie, setCookie } from './cookies';
import { html } from './html';
import { CONSOLE_PATH, notice, page } from './layout';
import { errorPage, sendPage } from './respond';
import { csrfMatches, newCsrfToken, SESSION_COOKIE, SESSION_TTL_MS, type SessionSealer } from './session';

/** Before sign-in there is no session to bind a CSRF token to: a short-lived cookie of its own (double submit). */
const SIGN_IN_COOKIE = 'xingtu_console_signin';

export interface SignInDeps {
  readonly sealer: SessionSealer;
  /** api/auth.ts's constant-time token lookup over API_TOKENS. */
  readonly verify: (token: string) => ApiRole | undefined;
  readonly secure: (request: FastifyRequest) => boolean;
}

/** The page each role lands on. */
export function homeOf(role: ApiRole): string {
  if (role === 'ops') return `${CONSOLE_PATH}/ops/stuck`;
  if (role === 'finance') return `${CONSOLE_PATH}/finance/trial-balance`;
  return `${CONSOLE_PATH}/sign-in`; // the other roles have no console
}

/** Only a path inside the console may be a redirect target after sign-in (no open redirect). */
function safeNext(next: unknown): string | undefined {
  return typeof next === 'string' && /^\/console(\/[A-Za-z0-9\-._~/%?=&:+]*)?$/.test(next) && !next.startsWith('//') ? next : undefined;
}

export function registerSignIn(instance: FastifyInstance, { sealer, verify, secure }: SignInDeps): void {
  const config = { public: true, hidden: true } as const;
  const cookieOptions = (request: FastifyRequest) => ({ path: CONSOLE_PATH, secure: secure(request) });

  const form = (reply: FastifyReply, request: FastifyRequest, status: number, message?: string) => {
    const nonce = randomBytes(24).toString('base64url');
    setCookie(reply, SIGN_IN_COOKIE, nonce, { ...cookieOptions(request), maxAgeSeconds: 3600 });
    const next = safeNext((request.query as Record<string, unknown> | undefined)?.next ?? (request.body as Record<string, unknown> | undefined)?.next);
    return sendPage(
      reply,
      status,
      page({
        title: 'Sign in',
        body: html`<div class="card signin">
${message ? notice('error', message) : ''}
<p>Sign in with your ops or finance API token. It is kept, encrypted, in a session cookie of this browser until you sign out or close the browser.</p>
<form method="post" action="${CONSOLE_PATH}/sign-in">
  <input type="hidden" name="_csrf" value="${nonce}">
  ${next ? html`<input type="hidden" name="next" value="${next}">` : ''}
  <label>Your name (recorded as the operator of your actions)<input name="operator" autocomplete="username" required maxlength="64"></label>
  <label>API token<input name="token" type="password" autocomplete="current-password" required maxlength="256"></label>
  <button type="submit">Sign in</button>
</form>
</div>`,
      }),
    );
  };

  instance.route({ method: 'GET', url: CONSOLE_PATH, config, handler: (request, reply) => reply.redirect(`${CONSOLE_PATH}/`, 303) });
  instance.route({
    method: 'GET',
    url: `${CONSOLE_PATH}/`,
    config,
    handler: (request, reply) => {
      const session = sealer.open(readCookie(request, SESSION_COOKIE), Date.now());
      return reply.redirect(session ? homeOf(session.role) : `${CONSOLE_PATH}/sign-in`, 303);
    },
  });
  instance.route({ method: 'GET', url: `${CONSOLE_PATH}/sign-in`, config, handler: (request, reply) => form(reply, request, 200) });
  instance.route({
    method: 'POST',
    url: `${CONSOLE_PATH}/sign-in`,
    config,
    handler: (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const expected = readCookie(request, SIGN_IN_COOKIE);
      if (!expected || !csrfMatches(expected, body._csrf)) return form(reply, request, 403, 'The sign-in form expired (or did not come from this console): try again.');
      const operator = Id.safeParse(typeof body.operator === 'string' ? body.operator.trim() : undefined);
      const token = typeof body.token === 'string' ? body.token.trim() : '';
      const role = token.length > 0 && token.length <= 256 ? verify(token) : undefined;
      if (!operator.success) return form(reply, request, 400, 'Give your name as 1–64 letters, digits, dots, dashes or underscores.');
      if (role === undefined) return form(reply, request, 401, 'Unknown token.');
      if (role !== 'ops' && role !== 'finance') return form(reply, request, 403, `The console is for the ops and finance roles; this is a ${role} token.`);
      const session = { role, operator: operator.data, token, csrf: newCsrfToken(), expiresAtMs: Date.now() + SESSION_TTL_MS };
      clearCookie(reply, SIGN_IN_COOKIE, cookieOptions(request));
      setCookie(reply, SESSION_COOKIE, sealer.seal(session), cookieOptions(request)); // no Max-Age: a browser-session cookie
      return reply.redirect(safeNext(body.next) ?? homeOf(role), 303);
    },
  });
  instance.route({
    method: 'POST',
    url: `${CONSOLE_PATH}/sign-out`,
    config,
    handler: (request, reply) => {
      const session = sealer.open(readCookie(request, SESSION_COOKIE), Date.now());
      if (session && !csrfMatches(session.csrf, (request.body as Record<string, unknown> | undefined)?._csrf)) {
        return sendPage(reply, 403, errorPage(session, 'Refused: missing or wrong CSRF token', 'Sign out from the console\'s own button.'));
      }
      clearCookie(reply, SESSION_COOKIE, cookieOptions(request));
      return reply.redirect(`${CONSOLE_PATH}/sign-in`, 303);
    },
  });
}
