import type { Client } from '@temporalio/client';
import Fastify from 'fastify';
import type { Db } from '../../db/connect';
import { loadConsoleSessionKey } from '../../platform/config';
import { registerConsole } from './plugin';
import { createSessionSealer, csrfMatches, SESSION_COOKIE } from './session';
import { homeOf } from './sign-in';
import { duration, escapeHtml, fromShanghaiLocal, html, shanghai, time, toShanghaiLocal, yuan } from './html';

describe('F6 console formatting', () => {
  test('§1: amounts are ¥ with two decimals from integer fen, exact beyond 2^53, never a float', () => {
    expect(yuan(0n)).toBe('¥0.00');
    expect(yuan(5n)).toBe('¥0.05');
    expect(yuan(110_000n)).toBe('¥1,100.00');
    expect(yuan(-220_000)).toBe('−¥2,200.00');
    expect(yuan(12_345_678_901_234_567_891n)).toBe('¥123,456,789,012,345,678.91');
    expect(yuan('99')).toBe('¥0.99');
  });

  test('§1: times in Asia/Shanghai (UTC+8), UTC on hover; a datetime-local in Shanghai time is the same instant', () => {
    expect(shanghai('2026-12-01T16:00:00.000Z')).toBe('2026-12-02 00:00:00');
    expect(time('2026-12-01T16:00:00.000Z').value).toBe('<time datetime="2026-12-01T16:00:00.000Z" title="2026-12-01T16:00:00Z UTC">2026-12-02 00:00:00</time>');
    expect(fromShanghaiLocal('2026-12-02T00:00')).toBe('2026-12-01T16:00:00.000Z');
    expect(toShanghaiLocal('2026-12-01T16:00:00.000Z')).toBe('2026-12-02T00:00');
    expect(fromShanghaiLocal('yesterday')).toBeUndefined();
  });

  test('every interpolated value is escaped; nested html is not escaped twice', () => {
    const reason = '<script>alert("x")</script> & \'q\'';
    expect(html`<td>${reason}</td>`.value).toBe('<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;</td>');
    expect(html`<p>${html`<b>${'<i>'}</b>`}</p>`.value).toBe('<p><b>&lt;i&gt;</b></p>');
    expect(html`<a title="${'" onmouseover="x'}">`.value).toBe('<a title="&quot; onmouseover=&quot;x">');
    expect(escapeHtml('`')).toBe('&#96;');
    expect(html`${[1, null, undefined, false, 'a']}`.value).toBe('1a');
  });

  test('durations', () => {
    expect(duration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3 d 4 h');
    expect(duration(125 * 60_000)).toBe('2 h 5 min');
    expect(duration(59_000)).toBe('0 min');
  });
});

describe('F6 console session cookie', () => {
  const session = { sid: 's'.repeat(24), role: 'ops' as const, person: 'alice', token: 'secret-token-value', csrf: 'c'.repeat(32), expiresAtMs: 2_000 };

  test('sealed: opens with its key only, never shows the token, refuses an edit and an expired session', () => {
    const sealer = createSessionSealer();
    const cookie = sealer.seal(session);
    expect(cookie).not.toContain('secret-token-value');
    expect(sealer.open(cookie, 1_000)).toEqual(session);
    expect(sealer.open(cookie, 2_000)).toBeUndefined(); // expired
    expect(createSessionSealer().open(cookie, 1_000)).toBeUndefined(); // another process's key
    const [v, iv, body, tag] = cookie.split('.') as [string, string, string, string];
    const flipped = `${body.slice(0, -2)}${body.at(-2) === 'A' ? 'B' : 'A'}${body.at(-1)}`;
    expect(sealer.open([v, iv, flipped, tag].join('.'), 1_000)).toBeUndefined();
    expect(sealer.open('garbage', 1_000)).toBeUndefined();
    expect(sealer.open(undefined, 1_000)).toBeUndefined();
  });

  test('CSRF: only the exact token matches', () => {
    expect(csrfMatches('abc', 'abc')).toBe(true);
    expect(csrfMatches('abc', 'abd')).toBe(false);
    expect(csrfMatches('abc', undefined)).toBe(false);
    expect(csrfMatches('abc', '')).toBe(false);
    expect(csrfMatches('abc', ['abc'])).toBe(false);
  });
});

describe('F6 CONSOLE_SESSION_KEY: sessions survive a restart and cross API instances', () => {
  const key = 'k'.repeat(32);
  const hex = Buffer.from(key).toString('hex');
  const base64 = Buffer.from(key).toString('base64');

  test('the key is 32 bytes as hex or base64; anything else is refused without echoing it; unset is a random key', () => {
    expect(loadConsoleSessionKey({ CONSOLE_SESSION_KEY: hex })).toEqual(Buffer.from(key));
    expect(loadConsoleSessionKey({ CONSOLE_SESSION_KEY: base64 })).toEqual(Buffer.from(key));
    expect(loadConsoleSessionKey({ CONSOLE_SESSION_KEY: Buffer.from(key).toString('base64url') })).toEqual(Buffer.from(key));
    expect(loadConsoleSessionKey({})).toBeUndefined();
    for (const bad of ['short-secret', hex.slice(2), `${base64}AAAA`, 'z'.repeat(64)]) {
      expect(() => loadConsoleSessionKey({ CONSOLE_SESSION_KEY: bad })).toThrow(/^CONSOLE_SESSION_KEY must be 32 bytes/);
      expect(() => loadConsoleSessionKey({ CONSOLE_SESSION_KEY: bad })).not.toThrow(bad);
    }
  });

  test('a session signed in on one API instance is a session on another with the same key (and on a restarted one), not with another key', async () => {
    const token = 'ops-token-0123456789abcdef';
    const noSignOuts = { isRevoked: async () => false, revoke: async () => undefined };
    // Real listeners and fetch: fastify's inject loads an ESM-only cookie module jest cannot run.
    const instance = async (sessionKey?: Buffer) => {
      const app = Fastify();
      registerConsole(app, { app, db: {} as Db, client: { options: { namespace: 'default' } } as unknown as Client, tokens: [{ role: 'ops', token }], nowMs: async () => Date.now(), revocations: noSignOuts, ...(sessionKey ? { sessionKey } : {}) });
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      return { app, url };
    };
    const [first, second, other] = await Promise.all([instance(Buffer.from(key)), instance(Buffer.from(key)), instance()]);
    try {
      const form = await fetch(`${first.url}/console/sign-in`);
      const nonceCookie = form.headers.getSetCookie()[0]!.split(';')[0]!;
      const nonce = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
      const signedIn = await fetch(`${first.url}/console/sign-in`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: nonceCookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: nonce ?? '', token }).toString(),
      });
      expect(signedIn.status).toBe(303);
      const sessionCookie = signedIn.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!.split(';')[0]!;
      const home = (at: { url: string }) => fetch(`${at.url}/console/`, { redirect: 'manual', headers: { cookie: sessionCookie } }).then((r) => r.headers.get('location'));
      expect(await home(first)).toBe(homeOf('ops'));
      expect(await home(second)).toBe(homeOf('ops'));
      expect(await home(other)).toBe('/console/sign-in');
    } finally {
      await Promise.all([first.app.close(), second.app.close(), other.app.close()]);
    }
  });
});
