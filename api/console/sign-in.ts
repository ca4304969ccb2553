import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiRole } from '../../platform/config';
import type { Caller } from '../auth';
import { clearCookie, readCookie, setCookie } from './cookies';
import { html } from './html';
import { CONSOLE_PATH, notice, page } from './layout';
import { errorPage, sendPage } from './respond';
import { csrfMatches, newCsrfToken, newSessionId, SESSION_COOKIE, SESSION_TTL_MS, type ConsoleSession, type ConsoleSessions } from './session';

/** Before sign-in there is no session to bind a CSRF token to: a short-lived cookie of its own (double submit). */
const SIGN_IN_COOKIE = 'xingtu_console_signin';

export interface SignInDeps {
  readonly sessions: ConsoleSessions;
  /** api/auth.ts's constant-time token lookup over API_TOKENS: the token's role and person. */
  readonly verify: (token: string) => Caller | undefined;
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

export function registerSignIn(instance: FastifyInstance, { sessions, verify, secure }: SignInDeps): void {
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
<p>Sign in with your ops or finance API token. It is kept, encrypted, in a session cookie of this browser until you sign out or close the browser. Your actions are recorded under the person your token belongs to.</p>
<form method="post" action="${CONSOLE_PATH}/sign-in">
  <input type="hidden" name="_csrf" value="${nonce}">
  ${next ? html`<input type="hidden" name="next" value="${next}">` : ''}
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
    handler: async (request, reply) => {
      const session = await sessions.current(request);
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
      const token = typeof body.token === 'string' ? body.token.trim() : '';
      const caller = token.length > 0 && token.length <= 256 ? verify(token) : undefined;
      if (caller === undefined) return form(reply, request, 401, 'Unknown token.');
      if (caller.role !== 'ops' && caller.role !== 'finance') return form(reply, request, 403, `The console is for the ops and finance roles; this is a ${caller.role} token.`);
      // Issue 18: the session is the token's person's; any name the form might carry is ignored.
      const session: ConsoleSession = { sid: newSessionId(), role: caller.role, person: caller.person, token, csrf: newCsrfToken(), expiresAtMs: Date.now() + SESSION_TTL_MS };
      clearCookie(reply, SIGN_IN_COOKIE, cookieOptions(request));
      setCookie(reply, SESSION_COOKIE, sessions.seal(session), cookieOptions(request)); // no Max-Age: a browser-session cookie
      return reply.redirect(safeNext(body.next) ?? homeOf(caller.role), 303);
    },
  });
  instance.route({
    method: 'POST',
    url: `${CONSOLE_PATH}/sign-out`,
    config,
    handler: async (request, reply) => {
      const session = await sessions.current(request);
      if (session && !csrfMatches(session.csrf, (request.body as Record<string, unknown> | undefined)?._csrf)) {
        return sendPage(reply, 403, errorPage(session, 'Refused: missing or wrong CSRF token', 'Sign out from the console\'s own button.'));
      }
      // Issue 18: revoked server-side, so a copy of the cookie (another tab, a stolen one) is refused too.
      if (session) await sessions.revoke(session);
      clearCookie(reply, SESSION_COOKIE, cookieOptions(request));
      return reply.redirect(`${CONSOLE_PATH}/sign-in`, 303);
    },
  });
}
