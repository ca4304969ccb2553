import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildApp } from '../api/app';
import { tokenFingerprint } from '../api/auth';
import { writeCounts } from './support/db';
import { captureLog } from './support/log-capture';
import { placement, placementBody } from './support/fixtures';
import { TEST_API_TOKENS, TEST_PERSON_TOKENS, TEST_TOKENS, authHeader, personHeader, withStack } from './support/stack';

/**
 * Issue 18, on the real stack: an anonymous request writes nothing (§8); no webhook secret is kept
 * in idempotency rows, and only the backend owns its endpoints (E5); what a token does is recorded
 * under the token's person, never a typed name (O4, F5, F6); console sign-out is server-side and
 * the cookie is Secure with HSTS behind a trusted TLS proxy (F6).
 */
let proxied: FastifyInstance;
let proxiedUrl: string;
const log = captureLog();

const stack = withStack('dev', {
  logger: { stream: log.stream, level: 'trace' },
  setUp: async () => {
    // The same system behind a TLS-terminating proxy: TRUST_PROXY set.
    proxied = buildApp({ db: stack.database.db, client: stack.env.client, taskQueue: stack.taskQueue, tokens: TEST_API_TOKENS, trustProxy: true });
    proxiedUrl = await proxied.listen({ host: '127.0.0.1', port: 0 });
  },
  tearDown: async () => {
    await proxied?.close();
  },
});

/** Every row count a request could change: the business tables, idempotency keys, endpoints, sign-outs. */
async function everyCount(): Promise<Record<string, number>> {
  const counts = await writeCounts(stack.database.db);
  for (const table of ['idempotency_keys', 'webhook_endpoints', 'console_session_revocations', 'stream_syncs']) {
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}`.execute(stack.database.db);
    counts[table] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}

/** The console's sign-in form: its CSRF nonce and cookie. */
async function signInForm(baseUrl: string, headers: Record<string, string> = {}) {
  const form = await fetch(`${baseUrl}/console/sign-in`, { headers });
  const setCookie = form.headers.getSetCookie()[0] ?? '';
  const nonce = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  return { nonce, cookie: setCookie.split(';')[0] ?? '', setCookie, hsts: form.headers.get('strict-transport-security') };
}

/** Posts the sign-in form; the answer's session cookie (Set-Cookie as sent), if any. */
async function signIn(baseUrl: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  const { nonce, cookie } = await signInForm(baseUrl, headers);
  const answer = await fetch(`${baseUrl}/console/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': `sign-in-${Date.now()}`, ...headers },
    body: new URLSearchParams({ _csrf: nonce, ...fields }).toString(),
  });
  const session = answer.headers.getSetCookie().find((c) => c.startsWith('xingtu_console='));
  return { status: answer.status, session, value: session?.split(';')[0] ?? '', hsts: answer.headers.get('strict-transport-security') };
}

describe('§8 issue 18: a request without a valid token writes nothing', () => {
  test('§8: anonymous POSTs with an Idempotency-Key — to an unknown path, a real route, a public route — store no row, and nothing is replayed', async () => {
    const before = await everyCount();
    const longPath = `/v1/${'x'.repeat(2000)}`;
    const key = { 'idempotency-key': 'anon-key-1' };
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const unknown = await stack.post(longPath, {}, { ...key, authorization: '' });
      expect([unknown.status, unknown.headers.get('idempotent-replayed')]).toEqual([404, null]);
      const noToken = await stack.post('/v1/task-orders', placementBody(placement()), { ...key, authorization: '' });
      expect([noToken.status, noToken.headers.get('idempotent-replayed')]).toEqual([401, null]);
      const badToken = await stack.post('/v1/task-orders', placementBody(placement()), { ...key, authorization: 'Bearer not-a-configured-token-000' });
      expect([badToken.status, badToken.headers.get('idempotent-replayed')]).toEqual([401, null]);
      const unknownWithToken = await stack.post(longPath, {}, { ...key, ...authHeader('backend') });
      expect([unknownWithToken.status, unknownWithToken.headers.get('idempotent-replayed')]).toEqual([404, null]);
      const forbidden = await stack.post('/v1/task-orders', placementBody(placement()), { ...key, ...authHeader('ops') });
      expect([forbidden.status, forbidden.headers.get('idempotent-replayed')]).toEqual([403, null]);
    }
    expect(await everyCount()).toEqual(before);
  });

  test('F6: a failed console sign-in writes nothing; a successful one writes no idempotency row', async () => {
    const before = await everyCount();
    expect((await signIn(stack.baseUrl, { token: 'not-a-configured-token-000' })).status).toBe(401);
    expect((await signIn(stack.baseUrl, { token: TEST_TOKENS.backend })).status).toBe(403); // the backend has no console
    expect(await everyCount()).toEqual(before);
    const ok = await signIn(stack.baseUrl, { token: TEST_PERSON_TOKENS.alice.token });
    expect(ok.status).toBe(303);
    expect(await everyCount()).toEqual(before);
  });
});

describe('E5 issue 18: webhook secrets and ownership', () => {
  const backend = authHeader('backend');
  const ops = authHeader('ops');

  test('E5: create and rotate with Idempotency-Keys store no secret; a retry answers the same endpoint without its secret and creates no second one', async () => {
    const endpointsBefore = (await everyCount()).webhook_endpoints ?? 0;
    const body = { url: 'http://127.0.0.1:9/hooks', description: 'issue 18' };
    const created = await stack.post('/v1/webhook-endpoints', body, { ...backend, 'idempotency-key': 'wh-create-18' });
    expect([created.status, created.body.secret]).toEqual([201, expect.stringMatching(/^whsec_/)]);
    const endpointId = created.body.endpoint.endpointId as string;
    const retry = await stack.post('/v1/webhook-endpoints', body, { ...backend, 'idempotency-key': 'wh-create-18' });
    expect([retry.status, retry.headers.get('idempotent-replayed'), retry.body.endpoint.endpointId, retry.body.secret]).toEqual([201, 'true', endpointId, null]);
    expect((await everyCount()).webhook_endpoints).toBe(endpointsBefore + 1);

    const rotate = `/v1/webhook-endpoints/${endpointId}/rotate-secret`;
    const rotated = await stack.post(rotate, { graceSeconds: 60 }, { ...backend, 'idempotency-key': 'wh-rotate-18' });
    expect([rotated.status, rotated.body.secret]).toEqual([200, expect.stringMatching(/^whsec_/)]);
    const again = await stack.post(rotate, { graceSeconds: 60 }, { ...backend, 'idempotency-key': 'wh-rotate-18' });
    expect([again.status, again.headers.get('idempotent-replayed'), again.body.secret]).toEqual([200, 'true', null]);

    const rows = await sql<{ row: string }>`select row_to_json(k)::text as row from idempotency_keys k`.execute(stack.database.db);
    expect(rows.rows.length).toBeGreaterThan(0);
    for (const { row } of rows.rows) {
      expect(row).not.toContain('whsec_');
      expect(row).not.toContain(created.body.secret.slice('whsec_'.length));
      expect(row).not.toContain(rotated.body.secret.slice('whsec_'.length));
    }
  });

  test('E5: only the backend registers, rotates and deletes endpoints; ops get 403 there and 200 on listing, deliveries and redelivery', async () => {
    const created = await stack.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/ops-18' }, backend);
    const endpointId = created.body.endpoint.endpointId as string;
    const before = await everyCount();
    const byOps = await stack.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/mine' }, ops);
    expect([byOps.status, byOps.body.error.code]).toEqual([403, 'forbidden']);
    expect((await stack.post(`/v1/webhook-endpoints/${endpointId}/rotate-secret`, { graceSeconds: 0 }, ops)).status).toBe(403);
    expect((await fetch(`${stack.baseUrl}/v1/webhook-endpoints/${endpointId}`, { method: 'DELETE', headers: ops })).status).toBe(403);
    expect(await everyCount()).toEqual(before);

    expect((await stack.get('/v1/webhook-endpoints', ops)).status).toBe(200);
    expect((await stack.get(`/v1/webhook-endpoints/${endpointId}/deliveries`, ops)).status).toBe(200);
    const redelivered = await stack.post(`/v1/webhook-endpoints/${endpointId}/redeliver`, { sinceAt: new Date().toISOString() }, ops);
    expect([redelivered.status, redelivered.body.endpointId]).toEqual([200, endpointId]);
    expect((await fetch(`${stack.baseUrl}/v1/webhook-endpoints/${endpointId}`, { method: 'DELETE', headers: backend })).status).toBe(200);
  });
});

describe('O4/F6 issue 18: the token\'s person is recorded, never a typed name', () => {
  async function acceptedOrder(): Promise<string> {
    const p = placement();
    expect((await stack.post('/v1/task-orders', placementBody(p))).status).toBe(201);
    expect((await stack.post(`/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } })).status).toBe(200);
    return p.orderId;
  }

  async function operatorOf(orderId: string, headers: Record<string, string>): Promise<unknown> {
    const inspection = (await stack.get(`/v1/ops/orders/${orderId}`, headers)).body;
    return inspection.events.find((e: { type: string }) => e.type === 'TaskOrderCancelled')?.payload.by;
  }

  test('O4: an action by ops:alice:<token> is recorded as alice; a body naming "mallory" is refused and changes nothing', async () => {
    const orderId = await acceptedOrder();
    const action = `/v1/ops/orders/${orderId}/actions`;
    const before = await everyCount();
    const mallory = await stack.post(action, { action: 'cancel', operator: 'mallory', outcome: 'full_refund', reason: 'duplicate' }, personHeader('alice'));
    expect([mallory.status, mallory.body.error.code]).toEqual([400, 'validation_failed']);
    expect(await everyCount()).toEqual(before);
    const done = await stack.post(action, { action: 'cancel', outcome: 'full_refund', reason: 'duplicate' }, personHeader('alice'));
    expect(done.status).toBe(200);
    expect(await operatorOf(orderId, personHeader('alice'))).toEqual({ type: 'ops', id: 'alice' });
  });

  test('O4: a token that names nobody is recorded by its fingerprint, never the token itself', async () => {
    const orderId = await acceptedOrder();
    const done = await stack.post(`/v1/ops/orders/${orderId}/actions`, { action: 'cancel', outcome: 'full_refund', reason: 'duplicate' }, authHeader('ops'));
    expect(done.status).toBe(200);
    const by = await operatorOf(orderId, authHeader('ops'));
    expect(by).toEqual({ type: 'ops', id: tokenFingerprint(TEST_TOKENS.ops) });
    expect(JSON.stringify(by)).toMatch(/"token-[0-9a-f]{8}"/);
    expect(JSON.stringify(by)).not.toContain(TEST_TOKENS.ops);
  });

  test('F6: the console session is the token\'s person (a name in the form is ignored); sign-out revokes it, so the old cookie is refused', async () => {
    const signedIn = await signIn(stack.baseUrl, { token: TEST_PERSON_TOKENS.alice.token, operator: 'mallory' });
    expect(signedIn.status).toBe(303);
    const page = await fetch(`${stack.baseUrl}/console/ops/stuck`, { headers: { cookie: signedIn.value } });
    const text = await page.text();
    expect(page.status).toBe(200);
    expect(text).toContain('alice · ops');
    expect(text).not.toContain('mallory');

    const csrf = /name="_csrf" value="([^"]+)"/.exec(text)?.[1] ?? '';
    const out = await fetch(`${stack.baseUrl}/console/sign-out`, { method: 'POST', redirect: 'manual', headers: { cookie: signedIn.value, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf }).toString() });
    expect(out.status).toBe(303);
    expect((await everyCount()).console_session_revocations).toBeGreaterThanOrEqual(1);
    const replayed = await fetch(`${stack.baseUrl}/console/ops/stuck`, { redirect: 'manual', headers: { cookie: signedIn.value } });
    expect([replayed.status, replayed.headers.get('location')]).toEqual([303, expect.stringMatching(/^\/console\/sign-in/)]);
  });
});

describe('F6 issue 18: behind a TLS-terminating proxy', () => {
  const https = { 'x-forwarded-proto': 'https' };

  test('F6: with trustProxy and X-Forwarded-Proto: https, the session cookie is Secure and answers carry HSTS', async () => {
    const form = await signInForm(proxiedUrl, https);
    expect(form.setCookie).toMatch(/; Secure/);
    expect(form.hsts).toMatch(/^max-age=\d+/);
    const signedIn = await signIn(proxiedUrl, { token: TEST_PERSON_TOKENS.alice.token }, https);
    expect(signedIn.status).toBe(303);
    expect(signedIn.session).toMatch(/; Secure/);
    expect(signedIn.hsts).toMatch(/^max-age=\d+/);
    const api = await fetch(`${proxiedUrl}/health`, { headers: https });
    expect(api.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
  });

  test('F6: without trustProxy a client-sent X-Forwarded-Proto is not believed (no Secure claim, no HSTS); plain http has neither', async () => {
    const spoofed = await signIn(stack.baseUrl, { token: TEST_PERSON_TOKENS.alice.token }, https);
    expect(spoofed.session).not.toMatch(/Secure/);
    expect(spoofed.hsts).toBeNull();
    const plain = await signIn(proxiedUrl, { token: TEST_PERSON_TOKENS.alice.token });
    expect(plain.session).not.toMatch(/Secure/);
    expect(plain.hsts).toBeNull();
  });
});

test('§8: no token, of any role or person, is in the logs or in an idempotency row', async () => {
  const rows = await sql<{ row: string }>`select row_to_json(k)::text as row from idempotency_keys k`.execute(stack.database.db);
  for (const { token } of TEST_API_TOKENS) {
    expect(log.text()).not.toContain(token);
    for (const { row } of rows.rows) expect(row).not.toContain(token);
  }
  expect(log.text().length).toBeGreaterThan(0);
});
