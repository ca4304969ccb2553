import { createSessionSealer, csrfMatches } from './session';
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
  const session = { role: 'ops' as const, operator: 'alice', token: 'secret-token-value', csrf: 'c'.repeat(32), expiresAtMs: 2_000 };

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
