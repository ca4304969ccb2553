import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The console's two cookies, read and written here rather than with @fastify/cookie: version 11
 * loads its `cookie` dependency with a dynamic ESM import, which jest's CommonJS runtime (our test
 * runner, without --experimental-vm-modules) cannot execute. Our cookie values are base64url and
 * '.', so nothing needs encoding; names and values are checked anyway.
 */
const VALUE = /^[A-Za-z0-9_.-]{1,4096}$/;

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string' || header.length > 16_384) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return VALUE.test(value) ? value : undefined;
  }
  return undefined;
}

export interface CookieOptions {
  readonly path: string;
  readonly secure: boolean;
  /** Seconds; omitted: a browser-session cookie. 0 deletes it. */
  readonly maxAgeSeconds?: number;
}

/** Always HttpOnly and SameSite=Strict (F6). */
export function setCookie(reply: FastifyReply, name: string, value: string, options: CookieOptions): void {
  if (!VALUE.test(value) && value !== '') throw new RangeError('cookie value out of range');
  const parts = [`${name}=${value}`, `Path=${options.path}`, 'HttpOnly', 'SameSite=Strict'];
  if (options.secure) parts.push('Secure');
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`);
  const existing = reply.getHeader('set-cookie');
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing.map(String) : [String(existing)];
  void reply.header('set-cookie', [...list, parts.join('; ')]);
}

export function clearCookie(reply: FastifyReply, name: string, options: Omit<CookieOptions, 'maxAgeSeconds'>): void {
  setCookie(reply, name, '', { ...options, maxAgeSeconds: 0 });
}
