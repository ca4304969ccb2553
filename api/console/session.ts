import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { ApiRole } from '../../platform/config';

/**
 * F6 sign-in: one session per browser, kept in the session cookie itself, encrypted and
 * authenticated with AES-256-GCM under CONSOLE_SESSION_KEY, or a key drawn at random per process
 * (then nothing survives a restart); a forged or edited cookie is simply not a session. The cookie
 * carries a random session id, the role, the token's person, the CSRF token and the bearer token
 * itself: every page and action goes through the API's own routes in-process with that token
 * (api/console/api-client.ts), so the API's role checks, validation, idempotency and attribution
 * (the token's person, issue 18) apply unchanged, and a token removed from API_TOKENS ends its
 * sessions at their next request. Signing out records the session id server-side
 * (db/console-sessions.ts), so a copy of the cookie is refused afterwards. See docs/decisions.md.
 */
export interface ConsoleSession {
  /** Random; what sign-out revokes (issue 18). */
  readonly sid: string;
  readonly role: ApiRole;
  /** The person of the token signed in with (API_TOKENS, or the token's fingerprint): shown, never typed. */
  readonly person: string;
  readonly token: string;
  /** Bound to this session; every POST form carries it (synchronizer token). */
  readonly csrf: string;
  /** Epoch ms after which the session is refused even if the browser keeps the cookie. */
  readonly expiresAtMs: number;
}

export const SESSION_COOKIE = 'xingtu_console';
/** A browser session lasts at most a working day (the cookie itself has no Max-Age: it ends with the browser). */
export const SESSION_TTL_MS = 12 * 3600_000;
// v2 (issue 18): sessions carry an id and the token's person; v1 cookies (a typed name, no id) are no longer sessions.
const VERSION = 'v2';

export interface SessionSealer {
  seal(session: ConsoleSession): string;
  open(cookie: string | undefined, nowMs: number): ConsoleSession | undefined;
}

/** The console's sessions: sealed cookies, checked against the server-side sign-outs (issue 18). */
export interface ConsoleSessions {
  seal(session: ConsoleSession): string;
  /** The request's session: its cookie opens, has not expired, and was not signed out. */
  current(request: FastifyRequest): Promise<ConsoleSession | undefined>;
  /** Signs the session out for good: its cookie, or any copy of it, is refused from now on. */
  revoke(session: ConsoleSession): Promise<void>;
}

export function createSessionSealer(configured?: Buffer): SessionSealer {
  const key = configured ?? randomBytes(32);
  if (key.length !== 32) throw new RangeError('the console session key must be 32 bytes');
  return {
    seal(session) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(VERSION));
      const body = Buffer.concat([cipher.update(JSON.stringify(session), 'utf8'), cipher.final()]);
      return [VERSION, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    open(cookie, nowMs) {
      if (!cookie || cookie.length > 4096) return undefined;
      const [version, iv, body, tag] = cookie.split('.');
      if (version !== VERSION || !iv || !body || !tag) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(VERSION));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
        const session = JSON.parse(text) as ConsoleSession;
        return session.expiresAtMs > nowMs && typeof session.sid === 'string' ? session : undefined;
      } catch {
        return undefined; // not ours, edited, or from a previous process: not a session
      }
    },
  };
}

export function newSessionId(): string {
  return randomBytes(18).toString('base64url');
}

export function newCsrfToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(expected: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length === 0 || presented.length > 256) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
