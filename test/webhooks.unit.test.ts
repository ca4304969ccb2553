import { Webhook } from 'standardwebhooks';
import { decodeFeedCursor, encodeFeedCursor, feedEventJson, parseFeedEventId } from '../db/event-feed';
import { checkResolvedAddress, checkWebhookUrl, type WebhookUrlPolicy } from '../platform/url-safety';
import { generateWebhookSecret, isWebhookSecret, signWebhook, webhookSignature } from '../platform/webhook-signing';
import { attemptsWithin, retryDelayMs, WEBHOOK_DEFAULTS } from '../worker/webhook-delivery';
import { RESPONSE_SNIPPET_BYTES, responseSnippet, storableText } from '../worker/webhook-delivery-http';
import { loadWebhookSecretsKey, loadWebhookUrlPolicy } from '../platform/config';
import { SecretUnreadableError, createSecretBox } from '../platform/secret-box';

/** E5 signing, backoff and URL safety; E4 cursors. Signatures are checked with the independent `standardwebhooks` package. */
describe('E5 Standard Webhooks signing (platform/webhook-signing.ts)', () => {
  const body = JSON.stringify({ id: 'evt_1', type: 'new_task', payload: { orderId: 'o-1', title: '新品 测评' } });

  test('a generated secret is whsec_ + 32 random bytes, different every time', () => {
    const a = generateWebhookSecret();
    expect(isWebhookSecret(a)).toBe(true);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(a);
  });

  test('the standardwebhooks library verifies our signature, and refuses a changed body, id or timestamp', () => {
    const secret = generateWebhookSecret();
    const now = Math.floor(Date.now() / 1000);
    const headers = signWebhook([secret], 'evt_1', now, body);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    const verifier = new Webhook(secret);
    expect(verifier.verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(() => verifier.verify(body.replace('o-1', 'o-2'), { ...headers })).toThrow();
    expect(() => verifier.verify(body, { ...headers, 'webhook-id': 'evt_2' })).toThrow();
    expect(() => verifier.verify(body, { ...headers, 'webhook-timestamp': String(now + 1) })).toThrow();
    expect(() => new Webhook(generateWebhookSecret()).verify(body, { ...headers })).toThrow();
  });

  test('the same as the library computes for the same input (byte for byte)', () => {
    const secret = generateWebhookSecret();
    const at = new Date(1_700_000_000_000);
    expect(webhookSignature(secret, 'evt_9', 1_700_000_000, body)).toBe(new Webhook(secret).sign('evt_9', at, body));
  });

  test('during a rotation both secrets sign: a receiver with either verifies (two v1, signatures)', () => {
    const [old, fresh] = [generateWebhookSecret(), generateWebhookSecret()];
    const headers = signWebhook([fresh, old], 'evt_3', Math.floor(Date.now() / 1000), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(old).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(fresh).verify(body, { ...headers })).not.toThrow();
  });

  test('refuses to sign without a secret, with a malformed secret or a bad timestamp', () => {
    expect(() => signWebhook([], 'evt_1', 1, body)).toThrow('no secret');
    expect(() => signWebhook(['whsec_short'], 'evt_1', 1, body)).toThrow('not a whsec_ secret');
    expect(() => signWebhook([generateWebhookSecret()], 'evt_1', 1.5, body)).toThrow('whole seconds');
  });
});

describe('E5 retries: exponential backoff over at least 3 days', () => {
  test('doubles from the base up to the cap, with ±10 % jitter', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 5_000, 3_600_000, mid))).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(retryDelayMs(30, 5_000, 3_600_000, mid)).toBe(3_600_000);
    expect(retryDelayMs(1_000, 5_000, 3_600_000, mid)).toBe(3_600_000); // no overflow
    expect(retryDelayMs(1, 10_000, 3_600_000, () => 0)).toBe(9_000);
    expect(retryDelayMs(1, 10_000, 3_600_000, () => 0.999999)).toBe(11_000);
  });

  test('the defaults keep retrying for the whole 3-day window, a bounded number of times', () => {
    const { backoffBaseMs, backoffMaxMs, retryWindowMs, timeoutMs } = WEBHOOK_DEFAULTS;
    expect([retryWindowMs, timeoutMs]).toEqual([3 * 24 * 3_600_000, 10_000]);
    const attempts = attemptsWithin(retryWindowMs, backoffBaseMs, backoffMaxMs);
    expect(attempts).toBeGreaterThanOrEqual(20);
    expect(attempts).toBeLessThanOrEqual(30);
  });
});

describe('§10 hostile receivers: what is stored of an answer (worker/webhook-delivery-http.ts)', () => {
  /** What PostgreSQL refuses in text (NUL) or what is not valid UTF-16 once encoded (a lone surrogate). */
  const storable = (text: string) => !text.includes('\u0000') && !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text) && Buffer.from(text, 'utf8').toString('utf8') === text;

  test('NUL, controls and invalid UTF-8 become U+FFFD; tab, newline, carriage return and any valid text stay', () => {
    expect(responseSnippet(Buffer.from('ok\u0000\u0000{"a":1}\u0000'))).toBe('ok\uFFFD\uFFFD{"a":1}\uFFFD');
    expect(responseSnippet(Buffer.from([0x61, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xff, 0x09, 0x0a, 0x0d, 0x1b, 0x7f, 0x62]))).toBe('a\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\t\n\r\uFFFD\uFFFDb');
    expect(responseSnippet(Buffer.from('新品 测评 ✓ 🎉', 'utf8'))).toBe('新品 测评 ✓ 🎉');
    expect(responseSnippet(Buffer.alloc(0))).toBeNull();
  });

  test('every byte sequence gives storable text of at most 512 characters; a character cut at the end is dropped', () => {
    let seed = 20261207;
    const byte = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >> 8) & 0xff;
    for (let i = 0; i < 500; i += 1) {
      const snippet = responseSnippet(Buffer.from(Array.from({ length: 1 + (i % 700) }, byte)));
      expect(snippet === null || (storable(snippet) && snippet.length <= RESPONSE_SNIPPET_BYTES)).toBe(true);
    }
    expect(responseSnippet(Buffer.from(`${'x'.repeat(511)}测`, 'utf8'))).toBe('x'.repeat(511)); // 测 is 3 bytes: cut at 512
  });

  test('any text a peer shapes (a Location, a certificate name) is bounded and storable, surrogate pairs kept whole', () => {
    expect(storableText('a\u0000b\uD800c\uDC00🎉', 100)).toBe('a\uFFFDb\uFFFDc\uFFFD🎉');
    expect(storableText('🎉'.repeat(10), 3)).toBe('🎉\uFFFD'); // cut inside the second pair
    expect(storableText('x'.repeat(1000), 300)).toHaveLength(300);
  });
});

describe('E5 URL safety (platform/url-safety.ts)', () => {
  const dev: WebhookUrlPolicy = { allowHttpLoopback: true, allowPrivateTargets: false };
  const prod: WebhookUrlPolicy = { allowHttpLoopback: false, allowPrivateTargets: false };
  const privateAllowed: WebhookUrlPolicy = { allowHttpLoopback: false, allowPrivateTargets: true };
  const ok = (url: string, policy: WebhookUrlPolicy) => checkWebhookUrl(url, policy).ok;

  test('https to a public host always; http only to loopback and only in development', () => {
    expect(ok('https://hooks.example.com/xingtu', prod)).toBe(true);
    expect(ok('https://8.8.8.8/hook', prod)).toBe(true);
    expect(ok('http://127.0.0.1:8080/hook', dev)).toBe(true);
    expect(ok('http://localhost:8080/hook', dev)).toBe(true);
    expect(ok('http://[::1]:8080/hook', dev)).toBe(true);
    expect(ok('http://127.0.0.1:8080/hook', prod)).toBe(false);
    expect(ok('http://hooks.example.com/hook', dev)).toBe(false);
    expect(ok('https://127.0.0.1/hook', prod)).toBe(false);
  });

  test.each([
    'https://10.1.2.3/', 'https://172.16.0.1/', 'https://192.168.1.1/', 'https://169.254.169.254/latest/meta-data', 'https://100.64.0.1/',
    'https://0.0.0.0/', 'https://[fd00::1]/', 'https://[fe80::1]/', 'https://[::ffff:10.0.0.1]/', 'https://224.0.0.1/',
  ])('a private or reserved target is refused unless configured: %s', (url) => {
    expect(ok(url, prod)).toBe(false);
    expect(ok(url, dev)).toBe(false);
    expect(ok(url, privateAllowed)).toBe(true);
  });

  test('no credentials, fragments, other schemes or overlong URLs', () => {
    for (const url of ['https://user:pw@hooks.example.com/', 'https://hooks.example.com/#x', 'ftp://hooks.example.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url', `https://hooks.example.com/${'a'.repeat(2048)}`]) {
      expect(ok(url, privateAllowed)).toBe(false);
    }
  });

  test('resolved addresses are checked too (DNS pointing inward)', () => {
    expect(checkResolvedAddress('93.184.216.34', prod)).toBeUndefined();
    expect(checkResolvedAddress('10.0.0.5', prod)?.reason).toMatch(/not a public/);
    expect(checkResolvedAddress('127.0.0.1', prod)).toBeDefined();
    expect(checkResolvedAddress('127.0.0.1', dev)).toBeUndefined();
    expect(checkResolvedAddress('10.0.0.5', privateAllowed)).toBeUndefined();
  });

  test('configuration: http loopback outside production only; private targets only when asked; typos refused', () => {
    expect(loadWebhookUrlPolicy({})).toEqual({ allowHttpLoopback: true, allowPrivateTargets: false });
    expect(loadWebhookUrlPolicy({ NODE_ENV: 'production' })).toEqual({ allowHttpLoopback: false, allowPrivateTargets: false });
    expect(loadWebhookUrlPolicy({ NODE_ENV: 'production', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' })).toEqual({ allowHttpLoopback: false, allowPrivateTargets: true });
    expect(() => loadWebhookUrlPolicy({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'yes' })).toThrow('true or false');
  });
});

describe('E4 feed cursors and event JSON (db/event-feed.ts)', () => {
  test('a cursor round-trips and is opaque; anything else is refused', () => {
    const cursor = encodeFeedCursor({ xid: '18446744073709551615', id: 42n });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeFeedCursor(cursor)).toEqual({ xid: '18446744073709551615', id: 42n });
    for (const bad of ['', 'abc', Buffer.from('v1:1:x').toString('base64url'), Buffer.from('v1:18446744073709551616:1').toString('base64url'), 'a'.repeat(100), 'ä']) {
      expect(decodeFeedCursor(bad)).toBeUndefined();
    }
  });

  test('event ids: evt_ and the outbox row id', () => {
    expect(parseFeedEventId('evt_17')).toBe(17n);
    expect(parseFeedEventId('evt_9223372036854775807')).toBe(2n ** 63n - 1n);
    for (const bad of ['evt_0', 'evt_-1', 'evt_01', '17', 'evt_1x', `evt_${'9'.repeat(20)}`, 'evt_9223372036854775808']) expect(parseFeedEventId(bad)).toBeUndefined();
  });

  test('a boost event carries the boost order id, integer amounts and instants named …At', () => {
    const json = feedEventJson({
      id: 5n, writer_xid: '900', order_id: 'boost:b-1', event_version: 1, recipient_type: 'client', recipient_id: 'c-1', kind: 'boost_ordered',
      data: { boostOrderId: 'b-1', taskOrderId: 't-1', boostFeeFen: '10000', expectedViews: '12000', validUntil: '2026-01-01T00:00:00.000Z' },
      created_at: new Date('2026-01-01T00:00:01Z'), order_kind: 'boost', occurred_at: new Date('2026-01-01T00:00:00Z'),
    });
    expect(json).toEqual({
      id: 'evt_5', type: 'boost_ordered', occurredAt: '2026-01-01T00:00:00.000Z', recordedAt: '2026-01-01T00:00:01.000Z', orderId: 'b-1', orderKind: 'boost', orderVersion: 1,
      recipient: { type: 'client', id: 'c-1' },
      payload: { boostOrderId: 'b-1', taskOrderId: 't-1', boostFeeFen: 10_000, expectedViews: 12_000, validUntilAt: '2026-01-01T00:00:00.000Z' },
    });
  });
});

describe('E5 secrets at rest (platform/secret-box.ts)', () => {
  const key = Buffer.alloc(32, 3);
  const secret = generateWebhookSecret();

  test('sealed under the key with the endpoint as associated data; opens only with that key and that endpoint', () => {
    const box = createSecretBox(key);
    const stored = box.seal(secret, 'we_1');
    expect(stored).toMatch(/^enc1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(stored).not.toContain(secret.slice('whsec_'.length));
    expect(box.seal(secret, 'we_1')).not.toBe(stored); // a fresh IV every time
    expect(box.open(stored, 'we_1')).toBe(secret);
    expect(() => box.open(stored, 'we_2')).toThrow(SecretUnreadableError); // copied onto another endpoint
    expect(() => createSecretBox(Buffer.alloc(32, 4)).open(stored, 'we_1')).toThrow(/not the key it was stored with/);
    expect(() => createSecretBox(undefined).open(stored, 'we_1')).toThrow(/WEBHOOK_SECRETS_KEY is not set/);
    const [p, iv, body, tag] = stored.split('.') as [string, string, string, string];
    // Flip one bit of the ciphertext itself: a changed last base64 character may touch only padding bits.
    const tampered = Buffer.from(body, 'base64url');
    tampered[0] = (tampered[0] as number) ^ 1;
    expect(() => box.open([p, iv, tampered.toString('base64url'), tag].join('.'), 'we_1')).toThrow(SecretUnreadableError);
  });

  test('without a key secrets are stored as they are; a plain stored secret still opens once a key is set', () => {
    expect(createSecretBox(undefined).seal(secret, 'we_1')).toBe(secret);
    expect(createSecretBox(undefined).open(secret, 'we_1')).toBe(secret);
    expect(createSecretBox(key).open(secret, 'we_1')).toBe(secret);
    expect(() => createSecretBox(Buffer.alloc(16))).toThrow(RangeError);
  });

  test('WEBHOOK_SECRETS_KEY: 32 bytes as hex or base64, anything else refused without echoing it', () => {
    expect(loadWebhookSecretsKey({ WEBHOOK_SECRETS_KEY: key.toString('hex') })).toEqual(key);
    expect(loadWebhookSecretsKey({ WEBHOOK_SECRETS_KEY: key.toString('base64') })).toEqual(key);
    expect(loadWebhookSecretsKey({ WEBHOOK_SECRETS_KEY: '' })).toBeUndefined();
    expect(() => loadWebhookSecretsKey({ WEBHOOK_SECRETS_KEY: 'hunter2-hunter2' })).toThrow(/^WEBHOOK_SECRETS_KEY must be 32 bytes/);
    expect(() => loadWebhookSecretsKey({ WEBHOOK_SECRETS_KEY: 'hunter2-hunter2' })).not.toThrow(/hunter2/);
  });
});
