import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app';
import { defineRoute } from '../api/routes';
import { writeCounts } from './support/db';
import { placement, placementBody } from './support/fixtures';
import { TEST_API_TOKENS, authHeader, requests, withStack } from './support/stack';

/** SPEC §8: `Idempotency-Key` on every POST — replay, mismatch, concurrency, what is stored. */
let extra: FastifyInstance;
let extraUrl: string;
/** A second API instance of the same app on the same database (its own claim keeper), with the slow route. */
let twin: FastifyInstance;
let twinUrl: string;
const executions = { slow: 0, flaky: 0 };

const stack = withStack('dev', {
  setUp: async () => {
    // The same app on the same database, with two test routes registered after buildApp (as a later
    // module would): one slow, to race duplicates against, one that fails with a 500 once.
    extra = buildApp({ db: stack.database.db, client: stack.env.client, taskQueue: 'unused', tokens: TEST_API_TOKENS });
    const slowRoute = (app: FastifyInstance) =>
      defineRoute(app, {
        method: 'POST',
        path: '/v1/test/slow',
        roles: ['backend'],
        summary: 'counts its executions',
        responses: { 201: { description: 'executed' } },
        handler: async (_input, _request, reply) => {
          executions.slow += 1;
          const n = executions.slow;
          await new Promise((r) => setTimeout(r, 400));
          return reply.code(201).send({ execution: n });
        },
      });
    slowRoute(extra);
    twin = buildApp({ db: stack.database.db, client: stack.env.client, taskQueue: 'unused', tokens: TEST_API_TOKENS });
    slowRoute(twin);
    twinUrl = await twin.listen({ host: '127.0.0.1', port: 0 });
    defineRoute(extra, {
      method: 'POST',
      path: '/v1/test/flaky',
      roles: ['backend', 'ops'],
      summary: 'fails with a 500 the first time, and whenever asked to',
      responses: { 200: { description: 'executed' } },
      handler: (_input, request) => {
        executions.flaky += 1;
        if (executions.flaky === 1 || request.headers['x-test-fail'] === '1') throw new Error('transient failure');
        return { execution: executions.flaky };
      },
    });
    extraUrl = await extra.listen({ host: '127.0.0.1', port: 0 });
  },
  tearDown: async () => {
    await extra?.close();
    await twin?.close();
  },
});

const key = () => `key-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

/** A POST as the backend with an Idempotency-Key (when given), to the stack or to `baseUrl`. */
const post = (path: string, body: unknown, idempotencyKey?: string, headers: Record<string, string> = {}, baseUrl = stack.baseUrl) =>
  requests(baseUrl).post(path, body, { ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }), ...headers });

describe('Idempotency-Key', () => {
  test('the same key and body → the first response again, byte for byte, and nothing written twice', async () => {
    const p = placement();
    const k = key();
    const first = await post('/v1/task-orders', placementBody(p), k);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const after = await writeCounts(stack.database.db);

    // Without the key, T1 answers 200 for the same placement; with it, the 201 is replayed.
    const again = await post('/v1/task-orders', placementBody(p), k);
    expect({ status: again.status, text: again.text, replayed: again.headers.get('idempotent-replayed'), contentType: again.headers.get('content-type') }).toEqual({
      status: 201,
      text: first.text,
      replayed: 'true',
      contentType: first.headers.get('content-type'),
    });
    // Key order in the body does not matter: the body is compared as JSON.
    const reordered = Object.fromEntries(Object.entries(placementBody(p)).reverse());
    expect((await post('/v1/task-orders', reordered, k)).text).toBe(first.text);
    expect(await writeCounts(stack.database.db)).toEqual(after);
  });

  test('a command replayed: the same response although running it again would be refused', async () => {
    const p = placement();
    await post('/v1/task-orders', placementBody(p));
    const k = key();
    const accept = { actor: { type: 'creator', id: p.creatorId } };
    const first = await post(`/v1/task-orders/${p.orderId}/accept`, accept, k);
    expect(first.status).toBe(200);
    const after = await writeCounts(stack.database.db);
    const replay = await post(`/v1/task-orders/${p.orderId}/accept`, accept, k);
    expect([replay.status, replay.text, replay.headers.get('idempotent-replayed')]).toEqual([200, first.text, 'true']);
    const withoutKey = await post(`/v1/task-orders/${p.orderId}/accept`, accept);
    expect([withoutKey.status, withoutKey.body.error.code]).toEqual([409, 'invalid_state']);
    expect(await writeCounts(stack.database.db)).toEqual(after);
  });

  test('the same key with another body, path or route → 422 idempotency_mismatch, nothing written', async () => {
    const p = placement();
    const k = key();
    expect((await post('/v1/task-orders', placementBody(p), k)).status).toBe(201);
    const before = await writeCounts(stack.database.db);
    const other = placement();
    for (const [path, body] of [
      ['/v1/task-orders', placementBody(other)],
      ['/v1/task-orders', { ...placementBody(p), priceFen: 100_001 }],
      [`/v1/clients/${p.clientId}/top-ups`, { paymentRef: `top-${p.orderId}`, amountFen: 100 }],
      [`/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } }],
    ] as const) {
      const response = await post(path, body, k);
      expect({ path, status: response.status, code: response.body?.error?.code }).toEqual({ path, status: 422, code: 'idempotency_mismatch' });
    }
    expect(await writeCounts(stack.database.db)).toEqual(before);
    expect((await stack.get(`/v1/task-orders/${other.orderId}`)).status).toBe(404);
  });

  test('4xx answers are stored and replayed too; requests refused before they run (401, 403) are not', async () => {
    const k = key();
    const invalid = { orderId: 'has spaces' };
    const first = await post('/v1/task-orders', invalid, k);
    expect([first.status, first.body.error.code]).toEqual([400, 'validation_failed']);
    const replay = await post('/v1/task-orders', invalid, k);
    expect([replay.status, replay.text, replay.headers.get('idempotent-replayed')]).toEqual([400, first.text, 'true']);

    const k2 = key();
    const p = placement();
    expect((await post('/v1/task-orders', placementBody(p), k2, { authorization: 'Bearer wrong-token-0000000000' })).status).toBe(401);
    expect((await post('/v1/task-orders', placementBody(p), k2, authHeader('ops'))).status).toBe(403);
    expect(await stack.database.db.selectFrom('idempotency_keys').selectAll().where('key', '=', k2).execute()).toEqual([]);
    // The key is still free for the backend.
    expect((await post('/v1/task-orders', placementBody(p), k2)).status).toBe(201);
  });

  test('keys are scoped by role, stored with the fingerprint and the response; a 5xx is not stored', async () => {
    const k = key();
    const p = placement();
    await post('/v1/task-orders', placementBody(p), k);
    const rows = await stack.database.db.selectFrom('idempotency_keys').selectAll().where('key', '=', k).execute();
    expect(rows).toEqual([
      expect.objectContaining({ role: 'backend', key: k, status_code: 201, request_hash: expect.stringMatching(/^[0-9a-f]{64}$/), completed_at: expect.any(Date) }),
    ]);
    expect(JSON.parse(rows[0]?.response_body ?? '')).toMatchObject({ orderId: p.orderId });

    // A 5xx is not stored: the retry runs again. The backend's key of the same name is another key.
    const shared = key();
    expect((await post('/v1/test/flaky', {}, shared, authHeader('ops'), extraUrl)).status).toBe(500);
    // Not stored: no response kept, only the request's fingerprint (the key stays bound to it, §8).
    expect(await stack.database.db.selectFrom('idempotency_keys').select(['status_code', 'response_body']).where('key', '=', shared).execute()).toEqual([{ status_code: null, response_body: null }]);
    const asOps = await post('/v1/test/flaky', {}, shared, authHeader('ops'), extraUrl);
    const asBackend = await post('/v1/test/flaky', {}, shared, authHeader('backend'), extraUrl);
    expect([asOps.status, asOps.body.execution, asBackend.status, asBackend.body.execution]).toEqual([200, 2, 200, 3]);
    expect((await post('/v1/test/flaky', {}, shared, authHeader('backend'), extraUrl)).body.execution).toBe(3);

    // §8: a key whose request failed with a 5xx stays that request's (it may have run after all:
    // a 503's command applied later): another request under it is 422, and runs nothing.
    const failed = key();
    expect((await post('/v1/test/flaky', {}, failed, { ...authHeader('ops'), 'x-test-fail': '1' }, extraUrl)).status).toBe(500);
    const runs = executions.flaky;
    const other = await post('/v1/test/flaky', { other: true }, failed, authHeader('ops'), extraUrl);
    expect([other.status, other.body.error.code, executions.flaky]).toEqual([422, 'idempotency_mismatch', runs]);
  });

  test('concurrent duplicates run once: the others wait for the first (409 in progress) or get its response', async () => {
    const k = key();
    const before = executions.slow;
    const responses = await Promise.all(Array.from({ length: 8 }, () => post('/v1/test/slow', { n: 1 }, k, {}, extraUrl)));
    expect(executions.slow).toBe(before + 1);
    const winner = responses.filter((r) => r.status === 201);
    expect(winner.length).toBeGreaterThanOrEqual(1);
    for (const r of responses) {
      if (r.status === 201) expect(r.body).toEqual({ execution: before + 1 });
      else expect([r.status, r.body.error.code, r.body.error.message]).toEqual([409, 'invalid_state', expect.stringContaining('in progress')]);
    }
    const later = await post('/v1/test/slow', { n: 1 }, k, {}, extraUrl);
    expect([later.status, later.body, later.headers.get('idempotent-replayed')]).toEqual([201, { execution: before + 1 }, 'true']);
    expect(executions.slow).toBe(before + 1);
  });

  test('issue 11: 30 concurrent duplicates over two API instances run once; every other answer is 409 in progress or the replay', async () => {
    const k = key();
    const before = executions.slow;
    const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => post('/v1/test/slow', { n: 30 }, k, {}, i % 2 === 0 ? extraUrl : twinUrl)));
    expect(executions.slow).toBe(before + 1);
    for (const r of responses) {
      if (r.status === 201) expect([r.body, r.headers.get('idempotent-replayed') === null || r.headers.get('idempotent-replayed') === 'true']).toEqual([{ execution: before + 1 }, true]);
      else expect([r.status, r.body.error.code]).toEqual([409, 'invalid_state']);
    }
    expect(responses.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    // Then every instance replays it, and a retry storm of the same key still runs nothing.
    const replays = await Promise.all(Array.from({ length: 10 }, (_, i) => post('/v1/test/slow', { n: 30 }, k, {}, i % 2 === 0 ? extraUrl : twinUrl)));
    expect(replays.map((r) => [r.status, r.headers.get('idempotent-replayed'), r.body])).toEqual(Array.from({ length: 10 }, () => [201, 'true', { execution: before + 1 }]));
    expect((await post('/v1/test/slow', { n: 31 }, k, {}, twinUrl)).status).toBe(422);
    expect(executions.slow).toBe(before + 1);
  });

  test('concurrent duplicate placements with one key: one execution, one order', async () => {
    const p = placement();
    const k = key();
    const before = await writeCounts(stack.database.db);
    const responses = await Promise.all(Array.from({ length: 6 }, () => post('/v1/task-orders', placementBody(p), k)));
    for (const r of responses) expect([201, 409]).toContain(r.status);
    const done = responses.filter((r) => r.status === 201);
    expect(new Set(done.map((r) => r.text)).size).toBe(1);
    const after = await writeCounts(stack.database.db);
    expect(after.task_orders).toBe((before.task_orders ?? 0) + 1);
    expect(after.order_events).toBe((before.order_events ?? 0) + 1);
    expect(after.ledger_transactions).toBe((before.ledger_transactions ?? 0) + 1);
  });

  test.each([
    ['', 400],
    ['has space', 400],
    ['x'.repeat(129), 400],
    ['tab\there', 400],
    ['x'.repeat(128), 201],
    ['!~#$%&()*+,-./:;<=>?@[]^_`{|}', 201],
  ])('key %j → %d', async (k, status) => {
    const p = placement();
    const before = await writeCounts(stack.database.db);
    // fetch sends every one of these values (a tab included); a network error (a reset, a refused
    // connection) is no answer and fails the test: it throws here, it never passes silently.
    const response = await fetch(`${stack.baseUrl}/v1/task-orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeader('backend'), 'idempotency-key': k },
      body: JSON.stringify(placementBody(p)),
    });
    expect(response.status).toBe(status);
    if (status === 400) {
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('validation_failed');
      expect(await writeCounts(stack.database.db)).toEqual(before);
    }
  });

  test('GET requests ignore the header', async () => {
    const response = await fetch(`${stack.baseUrl}/v1/task-orders?limit=1`, { headers: { ...authHeader('backend'), 'idempotency-key': 'has space' } });
    expect(response.status).toBe(200);
  });
});
