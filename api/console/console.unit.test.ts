import type { Client } from '@temporalio/client';
import Fastify from 'fastify';
import type { Db } from '../../db/connect';
import { loadConsoleSessionKey } from '../../platform/config';
import { registerConsole } from './plugin';
import { createSessionSealer, csrfMatches, SESSION_COOKIE } from './session';
import { homeOf } from './sign-in';
import { answerOf } from './api-client';
import { duration, escapeHtml, fromShanghaiLocal, html, money, shanghai, time, toShanghaiLocal, yuan } from './html';
import { foundOrdersTable } from './ops-pages';
import { changesOf, eventsTable, ledgerTable } from './views';

describe('F6 console formatting', () => {
  test('§1: amounts are ¥ with two decimals from integer fen, exact beyond 2^53, never a float', () => {
    expect(yuan(0n)).toBe('¥0.00');
    expect(yuan(5n)).toBe('¥0.05');
    expect(yuan(110_000n)).toBe('¥1,100.00');
    expect(yuan(-220_000n)).toBe('−¥2,200.00');
    expect(yuan(12_345_678_901_234_567_891n)).toBe('¥123,456,789,012,345,678.91');
    expect(yuan(99n)).toBe('¥0.99');
    const _compileTimeOnly = () => {
      // @ts-expect-error money is bigint fen (issue 19): a number does not compile
      yuan(99);
      // @ts-expect-error nor does a string
      money('99');
    };
  });

  test('§1 (issue 19): the pages take every amount of an API answer as bigint; above 2^53 they render exactly', () => {
    const text = `{"orders":[{"orderId":"o-big","title":"Launch","clientId":"c-1","priceFen":9007199254740993,"createdAt":"2026-12-01T00:00:00.000Z","status":"completed"},{"orderId":"o-1","title":"Small","clientId":"c-1","priceFen":110000,"createdAt":"2026-12-01T00:00:00.000Z","status":"completed"}],"total":2,"seq":[3],"note":"9007199254740993","refund":{"amountFen":0},"amountsFen":[5,9007199254740995]}`;
    const answer = answerOf(new Response(text, { headers: { 'content-type': 'application/json' } }), text);
    expect(answer.body).toEqual({
      orders: [
        { orderId: 'o-big', title: 'Launch', clientId: 'c-1', priceFen: 9_007_199_254_740_993n, createdAt: '2026-12-01T00:00:00.000Z', status: 'completed' },
        { orderId: 'o-1', title: 'Small', clientId: 'c-1', priceFen: 110_000n, createdAt: '2026-12-01T00:00:00.000Z', status: 'completed' },
      ],
      total: 2,
      seq: [3],
      note: '9007199254740993',
      refund: { amountFen: 0n },
      amountsFen: [5n, 9_007_199_254_740_995n],
    });

    // The search results (ops-pages.ts): the exact amount, and a normal one as before.
    const found = foundOrdersTable(answer.body.orders).value;
    expect(found).toContain('<td class="num"><span class="amount" data-fen="9007199254740993">¥90,071,992,547,409.93</span></td>');
    expect(found).toContain('<td class="num"><span class="amount" data-fen="110000">¥1,100.00</span></td>');

    // A ledger (views.ts): transfers and their net changes, exactly.
    const big = 2n ** 60n + 1n;
    const ledger = [{ txId: 'task:o-big:v1:placement_payment', seq: 1, kind: 'placement_payment', occurredAt: '2026-12-01T00:00:00.000Z', transfers: [{ debitAccount: 'client:c-1', creditAccount: 'escrow:task:o-big', amountFen: big }] }];
    expect(ledgerTable('Ledger', ledger, false).value).toContain('<td class="num"><span class="amount" data-fen="1152921504606846977">¥11,529,215,046,068,469.77</span></td>');
    expect(changesOf(ledger)).toEqual([{ account: 'client:c-1', changeFen: -big }, { account: 'escrow:task:o-big', changeFen: big }]);

    // An event's payload shows its amounts as the JSON integers they are (JSON.stringify throws on a bigint).
    const events = (payload: Record<string, unknown>) => eventsTable([{ version: 1, type: 'TaskOrderPlaced', occurredAt: '2026-12-01T00:00:00.000Z', payload }]).value;
    expect(events({ priceFen: big, title: 'Launch' })).toContain('<pre class="json">{\n  &quot;priceFen&quot;: 1152921504606846977,\n  &quot;title&quot;: &quot;Launch&quot;\n}</pre>');
    const normal = { priceFen: 110_000, serviceFeeFen: 5_500, title: 'Launch' };
    expect(events({ ...normal, priceFen: 110_000n, serviceFeeFen: 5_500n })).toBe(events(normal));
    expect(events(normal)).toContain(`<pre class="json">${escapeHtml(JSON.stringify(normal, null, 2))}</pre>`);
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
