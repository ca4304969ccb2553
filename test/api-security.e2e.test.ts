import type { OpenApiDocument } from '../api/openapi';
import { API_ROLES, type ApiRole } from '../platform/config';
import { writeCounts } from './support/db';
import { captureLog } from './support/log-capture';
import { placement, placementBody } from './support/fixtures';
import { TEST_TOKENS, authHeader, withStack } from './support/stack';

/**
 * SPEC §8 authentication and roles over every route of the OpenAPI document (so a route added
 * later is covered without touching this file), the party check of order commands, and the
 * tokens' absence from the logs. The sandbox stack, so that the clock routes are included.
 */
let doc: OpenApiDocument;
const log = captureLog();

const stack = withStack('sandbox', {
  logger: { stream: log.stream, level: 'trace' },
  setUp: async () => {
    doc = (await stack.get('/v1/openapi.json', { authorization: '' })).body;
  },
});

const UNKNOWN_TOKEN = 'not-a-configured-token-7f3a9c';

/** A concrete request for an operation: sample path parameters, an empty JSON body for a POST. */
function sample(path: string): string {
  const values: Record<string, string> = { account: 'client:c-security', clientId: 'c-security' };
  return path.replace(/\{([^}]+)\}/g, (_m, name: string) => values[name] ?? `x-${name}`);
}

function operations() {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase() as 'GET' | 'POST', op })),
  );
}

async function call(method: 'GET' | 'POST', path: string, authorization: string) {
  const response = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: { ...(authorization ? { authorization } : {}), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  const text = await response.text();
  let code: string | undefined;
  try {
    code = JSON.parse(text)?.error?.code;
  } catch {
    code = undefined;
  }
  return { status: response.status, code, wwwAuthenticate: response.headers.get('www-authenticate') };
}

describe('SPEC §8: bearer tokens and roles on every route of the OpenAPI document', () => {
  test('the document lists the routes, each with its roles', () => {
    const protectedOps = operations().filter(({ op }) => op.security.length > 0);
    expect(protectedOps.length).toBeGreaterThan(20);
    expect(protectedOps.map(({ method, path }) => `${method} ${path}`)).toEqual(expect.arrayContaining(['POST /v1/sandbox/clock/advance', 'GET /v1/ledger/audit', 'POST /v1/task-orders']));
  });

  test('role × route: no token → 401, a role not allowed → 403, an allowed role → neither', async () => {
    const before = await writeCounts(stack.database.db);
    const seen: string[] = [];
    for (const { path, method, op } of operations()) {
      const url = sample(path);
      const where = `${method} ${path}`;
      if (op.security.length === 0) {
        expect({ where, status: (await call(method, url, '')).status }).toEqual({ where, status: 200 });
        continue;
      }
      for (const [label, authorization] of [
        ['no token', ''],
        ['unknown token', `Bearer ${UNKNOWN_TOKEN}`],
        ['not bearer', `Basic ${Buffer.from(`backend:${TEST_TOKENS.backend}`).toString('base64')}`],
        ['token prefix', `Bearer ${TEST_TOKENS.backend.slice(0, -1)}`],
        ['token plus', `Bearer ${TEST_TOKENS.backend}x`],
      ] as const) {
        const response = await call(method, url, authorization);
        expect({ where, label, status: response.status, code: response.code, wwwAuthenticate: response.wwwAuthenticate }).toEqual({
          where,
          label,
          status: 401,
          code: 'unauthenticated',
          wwwAuthenticate: 'Bearer',
        });
      }
      for (const role of API_ROLES) {
        const response = await call(method, url, `Bearer ${TEST_TOKENS[role]}`);
        if (op['x-roles'].includes(role)) {
          expect({ where, role, refused: [401, 403].includes(response.status) && ['unauthenticated', 'forbidden'].includes(response.code ?? '') }).toEqual({ where, role, refused: false });
          expect({ where, role, serverError: response.status >= 500 }).toEqual({ where, role, serverError: false });
        } else {
          expect({ where, role, status: response.status, code: response.code }).toEqual({ where, role, status: 403, code: 'forbidden' });
        }
        seen.push(`${role} ${where}`);
      }
    }
    expect(seen.length).toBeGreaterThan(60);
    // Refused requests wrote nothing.
    expect(await writeCounts(stack.database.db)).toEqual(before);
  }, 30_000); // every route × 4 roles: ~3 s alone, more on a busy machine

  test('the scheme name is case-insensitive, the token is not', async () => {
    expect((await call('GET', '/v1/task-orders', `bearer ${TEST_TOKENS.ops}`)).status).toBe(200);
    expect((await call('GET', '/v1/task-orders', `Bearer ${TEST_TOKENS.ops.toUpperCase()}`)).status).toBe(401);
    expect((await call('GET', '/v1/task-orders', 'Bearer')).status).toBe(401);
    expect((await call('GET', '/v1/task-orders', `Bearer ${TEST_TOKENS.ops} ${TEST_TOKENS.ops}`)).status).toBe(401);
  });

  test('an unknown route stays 404 (no token needed to learn it does not exist)', async () => {
    const response = await call('GET', '/v1/no-such-thing', '');
    expect([response.status, response.code]).toEqual([404, 'not_found']);
  });
});

describe('SPEC §8: commands are refused for anyone who is not the order’s party', () => {
  test('another creator or client → 403 forbidden, nothing written', async () => {
    const p = placement({ paymentMode: 'full' });
    expect((await stack.post('/v1/task-orders', placementBody(p))).status).toBe(201);
    const before = await writeCounts(stack.database.db);
    const o = `/v1/task-orders/${p.orderId}`;
    const cases: Array<[string, unknown]> = [
      [`${o}/accept`, { actor: { type: 'creator', id: 'another-creator' } }],
      [`${o}/reject`, { actor: { type: 'creator', id: 'another-creator' }, reason: 'not mine' }],
      [`${o}/accept`, { actor: { type: 'client', id: p.clientId } }], // the client cannot accept for the creator
      [`${o}/cancel`, { actor: { type: 'client', id: 'another-client' } }],
      [`${o}/remind`, { actor: { type: 'client', id: 'another-client' } }],
      [`${o}/videos`, { actor: { type: 'creator', id: 'another-creator' }, draftId: 'd-1' }],
    ];
    for (const [path, body] of cases) {
      const response = await stack.post(path, body);
      expect({ path, body, status: response.status, code: response.body?.error?.code }).toEqual({ path, body, status: 403, code: 'forbidden' });
    }
    const foreign = await stack.post('/v1/balance-payments', { clientId: 'another-client', orderIds: [p.orderId], funding: { source: 'account' } });
    expect([foreign.status, foreign.body.error.code]).toEqual([403, 'forbidden']);
    expect(await writeCounts(stack.database.db)).toEqual(before);
  });

  test('a role check comes before the party check: ops cannot command an order even as its party', async () => {
    const p = placement();
    await stack.post('/v1/task-orders', placementBody(p));
    const response = await stack.post(`/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } }, authHeader('ops'));
    expect([response.status, response.body.error.code]).toEqual([403, 'forbidden']);
    expect((await stack.get(`/v1/task-orders/${p.orderId}`, authHeader('ops'))).body.status).toBe('awaiting_acceptance');
    expect((await stack.get(`/v1/task-orders/${p.orderId}`, authHeader('finance'))).status).toBe(200);
  });
});

describe('tokens never reach the logs', () => {
  test('requests are logged with their headers, the Authorization header redacted', async () => {
    const role: ApiRole = 'finance';
    expect((await call('GET', '/v1/ledger/trial-balance', `Bearer ${TEST_TOKENS[role]}`)).status).toBe(200);
    await call('GET', '/v1/ledger/trial-balance', `Bearer ${UNKNOWN_TOKEN}`);
    await new Promise((r) => setTimeout(r, 100)); // let the logger flush
    expect(log.text()).toContain('incoming request');
    expect(log.text()).toContain('/v1/ledger/trial-balance');
    expect(log.text()).toContain('"authorization":"[redacted]"');
    for (const token of [...Object.values(TEST_TOKENS), UNKNOWN_TOKEN, Buffer.from(`backend:${TEST_TOKENS.backend}`).toString('base64')]) {
      expect({ token, logged: log.text().includes(token) }).toEqual({ token, logged: false });
    }
  });

  test('issue 18: one summary line per request (method, route, status, ms, reqId), and never a body', async () => {
    const secretish = 'whsec_not-for-the-log-0123456789';
    const p = placement();
    const placed = await stack.post('/v1/task-orders', placementBody({ ...p, brief: { ...p.brief, title: secretish } }));
    expect(placed.status).toBe(201);
    await new Promise((r) => setTimeout(r, 100)); // let the logger flush
    const lines = log.text().split('\n').filter((line) => line.includes('"msg":"request"')).map((line) => JSON.parse(line) as Record<string, unknown>);
    const line = lines.find((l) => l.route === '/v1/task-orders' && l.status === 201);
    expect(line).toMatchObject({ level: 30, method: 'POST', route: '/v1/task-orders', status: 201, reqId: expect.any(String), ms: expect.any(Number) });
    expect(lines.filter((l) => l.reqId === line?.reqId)).toHaveLength(1);
    expect(log.text()).not.toContain(secretish); // neither the request body nor the response body is logged
  });
});
