import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import Fastify from 'fastify';
import { buildApp } from '../api/app';
import { checkRouteAccess, installAuth } from '../api/auth';
import type { OpenApiDocument } from '../api/openapi';
import { defineRoute, recordRoutes } from '../api/routes';
import { PlaceTaskOrderBody } from '../api/schemas';
import type { Db } from '../db/connect';
import { API_ROLES, loadConfig, parseApiTokens } from '../platform/config';

/** SPEC §8: the OpenAPI document describes every route the app has, in valid OpenAPI 3 shape. */

const tokens = parseApiTokens('backend:unit-backend-token-000000,ops:unit-ops-token-00000000,finance:unit-finance-token-000000');
let app: FastifyInstance;
let base: string;
let doc: OpenApiDocument;

beforeAll(async () => {
  // No request reaches the database or Temporal here: the document is built from the routes alone.
  app = buildApp({ db: {} as Db, client: { options: { namespace: 'default' } } as unknown as Client, taskQueue: 'unused', tokens, clock: { nowMs: async () => 0, advance: async () => undefined } });
  base = await app.listen({ host: '127.0.0.1', port: 0 }); // (jest cannot load inject's ESM dependency)
  doc = (await (await fetch(`${base}/v1/openapi.json`)).json()) as OpenApiDocument;
});

afterAll(async () => {
  await app?.close();
});

/** Every route fastify has, read from its own route tree (independent of our registry). */
function fastifyRoutes(instance: FastifyInstance): Array<{ method: string; path: string }> {
  const routes: Array<{ method: string; path: string }> = [];
  const stack: string[] = [];
  for (const line of instance.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] as string).length / 4;
    stack.length = depth;
    stack.push(match[2] as string);
    for (const method of (match[3] ?? '').split(', ').filter(Boolean)) routes.push({ method, path: stack.join('') });
  }
  return routes;
}

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));

describe('the OpenAPI document', () => {
  test('is an OpenAPI 3 document: version, info, paths, operations, components', () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info).toEqual(expect.objectContaining({ title: expect.any(String), version: expect.any(String) }));
    expect(Object.keys(doc.paths).length).toBeGreaterThan(10);
    expect(doc.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(doc.components.schemas.Error).toBeDefined();

    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`;
      expect({ where, ok: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method) }).toEqual({ where, ok: true });
      expect(path.startsWith('/')).toBe(true);
      expect(ids.has(op.operationId)).toBe(false);
      ids.add(op.operationId);
      expect(op.summary.length).toBeGreaterThan(0);
      expect(Object.keys(op.responses).length).toBeGreaterThan(0);
      for (const [status, response] of Object.entries(op.responses)) {
        expect({ where, status, ok: /^[1-5]\d\d$/.test(status) && typeof response.description === 'string' }).toEqual({ where, status, ok: true });
      }
      // Path templates and path parameters match one to one.
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = op.parameters.filter((p) => p.in === 'path').map((p) => p.name).sort();
      expect({ where, declared }).toEqual({ where, declared: templated });
      for (const p of op.parameters) {
        expect(['path', 'query', 'header']).toContain(p.in);
        if (p.in === 'path') expect(p.required).toBe(true);
        expect(typeof p.schema).toBe('object');
      }
      // Every $ref points at a component.
      for (const ref of JSON.stringify(op).matchAll(/"\$ref":"([^"]+)"/g)) {
        expect(ref[1]).toMatch(/^#\/components\/schemas\//);
        expect(doc.components.schemas[(ref[1] as string).split('/').pop() as string]).toBeDefined();
      }
    }
  });

  test('lists every route fastify has, and nothing else', () => {
    // Hidden from the document by design (it describes the JSON API): the console's HTML pages (F6)
    // and the static assets of the /docs page.
    const isConsole = (path: string) => path === '/console' || path.startsWith('/console/') || path.startsWith('/docs/');
    const all = fastifyRoutes(app).map(({ method, path }) => ({ method, path: path.replace(/:([A-Za-z0-9_]+)/g, '{$1}') }));
    const inFastify = all.filter(({ path }) => !isConsole(path)).map(({ method, path }) => `${method} ${path}`).sort();
    const inDocument = operations().map(({ method, path }) => `${method} ${path}`).sort();
    expect(inFastify.length).toBeGreaterThan(20);
    expect(inDocument).toEqual(inFastify);
    expect(inDocument.filter((where) => isConsole(where.split(' ')[1] as string))).toEqual([]);
  });

  test('each protected operation: bearer security, its roles, the §8 error body for every refusal', () => {
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`;
      if (op.security.length === 0) {
        expect({ where, public: ['GET /health', 'GET /v1/openapi.json', 'GET /docs'].includes(where) }).toEqual({ where, public: true });
        continue;
      }
      expect(op.security).toEqual([{ bearerAuth: [] }]);
      expect(op['x-roles'].length).toBeGreaterThan(0);
      for (const role of op['x-roles']) expect(API_ROLES).toContain(role);
      for (const status of ['400', '401', '403', '404', '409', '422', '429']) {
        expect({ where, status, schema: op.responses[status]?.content?.['application/json']?.schema }).toEqual({ where, status, schema: { $ref: '#/components/schemas/Error' } });
      }
      expect(Object.keys(op.responses).some((s) => s.startsWith('2'))).toBe(true);
      if (method === 'POST') {
        expect(op.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }));
        const body = op.requestBody?.content['application/json']?.schema ?? {};
        expect({ where, body: body.type === 'object' || Array.isArray(body.oneOf) || Array.isArray(body.anyOf) }).toEqual({ where, body: true });
      }
    }
  });

  test('§8 every protected operation documents 503 unavailable with Retry-After; §10 /health documents its 503 report', () => {
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`;
      if (op.security.length === 0) continue;
      const unavailable = op.responses['503'];
      expect({ where, schema: unavailable?.content?.['application/json']?.schema }).toEqual({ where, schema: { $ref: '#/components/schemas/Error' } });
      expect({ where, retryAfter: Object.keys(unavailable?.headers ?? {}) }).toEqual({ where, retryAfter: ['Retry-After'] });
    }
    const errorCodes = (doc.components.schemas.Error as { properties: { error: { properties: { code: { enum: string[] } } } } }).properties.error.properties.code.enum;
    expect(errorCodes).toContain('unavailable');
    const health = doc.paths['/health']?.get;
    expect(Object.keys(health?.responses ?? {}).sort()).toEqual(['200', '503']);
    expect(Object.keys(health?.responses['503']?.headers ?? {})).toEqual(['Retry-After']);
    const report = health?.responses['503']?.content?.['application/json']?.schema as { properties: { dependencies: { properties: Record<string, unknown> } } };
    expect(Object.keys(report.properties.dependencies.properties).sort()).toEqual(['postgres', 'temporal']);
  });

  test('bodies and queries come from the zod schemas', () => {
    const place = doc.paths['/v1/task-orders']?.post;
    const body = place?.requestBody?.content['application/json']?.schema as { properties: Record<string, { type?: string }>; required: string[]; additionalProperties: boolean };
    expect(body.required).toEqual(expect.arrayContaining(['orderId', 'clientId', 'creatorId', 'taskType', 'priceFen', 'brief', 'paymentMode', 'funding']));
    expect(body.properties.priceFen?.type).toBe('integer');
    expect(body.additionalProperties).toBe(false);
    const list = doc.paths['/v1/task-orders']?.get;
    expect(list?.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['clientId', 'creatorId', 'status', 'createdFrom', 'createdTo', 'cursor', 'limit']));
    expect(list?.responses['200']?.content?.['application/json']?.schema).toEqual(expect.objectContaining({ type: 'object' }));
    const exportCsv = doc.paths['/v1/ledger/export.csv']?.get;
    expect(exportCsv?.parameters.filter((p) => p.required).map((p) => p.name).sort()).toEqual(['from', 'to']);
    expect(Object.keys(exportCsv?.responses['200']?.content ?? {})).toEqual(['text/csv']);
  });

  test('the role map of SPEC §8 (issue 6)', () => {
    const roles = (method: string, path: string) => doc.paths[path]?.[method]?.['x-roles'];
    expect(roles('post', '/v1/task-orders')).toEqual(['backend']);
    expect(roles('post', '/v1/task-orders/{orderId}/accept')).toEqual(['backend']);
    expect(roles('get', '/v1/task-orders/{orderId}')).toEqual(expect.arrayContaining(['backend', 'ops', 'finance']));
    expect(roles('get', '/v1/task-orders')).toEqual(expect.arrayContaining(['backend', 'ops', 'finance']));
    expect(roles('post', '/v1/balance-payments')).toEqual(['backend']);
    expect(roles('post', '/v1/clients/{clientId}/top-ups')).toEqual(['backend']);
    expect(roles('get', '/v1/ledger/accounts/{account}')).toEqual(expect.arrayContaining(['backend', 'finance']));
    expect(roles('get', '/v1/ledger/accounts/{account}')).not.toContain('ops');
    for (const path of ['/v1/ledger/trial-balance', '/v1/ledger/transactions', '/v1/ledger/audit', '/v1/ledger/export.csv']) expect(roles('get', path)).toEqual(['finance']);
    expect(roles('get', '/v1/sandbox/clock')).toEqual(['backend', 'ops']);
    expect(roles('post', '/v1/sandbox/clock/advance')).toEqual(['backend', 'ops']);
  });

  test('GET /docs is the API reference served by the API itself: every asset local, no CDN (issue 12)', async () => {
    const response = await fetch(`${base}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await response.text();
    expect(page).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/i); // nothing from another origin
    const assets = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      expect(asset.startsWith('/docs/')).toBe(true);
      expect({ asset, status: (await fetch(`${base}${asset}`)).status }).toEqual({ asset, status: 200 });
    }
  });
});

describe('routes must declare their roles (fail closed)', () => {
  test('a route without roles is refused when it is registered', () => {
    const bare = Fastify();
    installAuth(bare, tokens);
    expect(() => bare.get('/v1/forgotten', async () => ({}))).toThrow(/declares no roles/);
    expect(() => bare.get('/v1/empty', { config: { roles: [] } }, async () => ({}))).toThrow(/declares no roles/);
    expect(() => bare.get('/v1/typo', { config: { roles: ['admin' as never] } }, async () => ({}))).toThrow(/unknown role/);
    expect(() => bare.get('/v1/ok', { config: { roles: ['ops'] } }, async () => ({}))).not.toThrow();
    expect(() => bare.get('/v1/open', { config: { public: true } }, async () => ({}))).not.toThrow();
    void bare.close();
  });

  test('a route registered later, in a plugin, is checked too', async () => {
    const bare = Fastify();
    installAuth(bare, tokens);
    await bare.register(async (child) => {
      child.get('/v1/in-a-plugin', async () => ({}));
    }).ready().then(
      () => {
        throw new Error('should have failed');
      },
      (error: Error) => expect(error.message).toMatch(/declares no roles/),
    );
  });

  test('checkRouteAccess refuses public routes that also name roles', () => {
    expect(() => checkRouteAccess({ method: 'GET', url: '/x', config: { public: true, roles: ['ops'] } })).toThrow(/public and has roles/);
  });

  test('routes registered directly still appear in the document, with their path parameters', async () => {
    const bare = Fastify();
    const routes = recordRoutes(bare);
    installAuth(bare, tokens);
    bare.get('/v1/ops/orders/:orderId', { config: { roles: ['ops'] } }, async () => ({}));
    defineRoute(bare, { method: 'POST', path: '/v1/things', roles: ['backend'], summary: 'a thing', responses: { 201: { description: 'made' } }, handler: () => ({}) });
    const { buildOpenApiDocument } = await import('../api/openapi');
    const built = buildOpenApiDocument(routes, { title: 't', version: '1', description: 'd' });
    expect(built.paths['/v1/ops/orders/{orderId}']?.get?.parameters).toEqual([{ name: 'orderId', in: 'path', required: true, schema: { type: 'string' } }]);
    expect(built.paths['/v1/ops/orders/{orderId}']?.get?.['x-roles']).toEqual(['ops']);
    expect(built.paths['/v1/things']?.post?.responses['201']).toBeDefined();
    await bare.close();
  });
});

describe('API_TOKENS', () => {
  test('role:token pairs, several per role, spaces ignored', () => {
    expect(parseApiTokens(' backend:aaaaaaaaaaaaaaaa1 , backend:aaaaaaaaaaaaaaaa2,ops:bbbbbbbbbbbbbbbb ,finance:cccccccccccccccc')).toEqual([
      { role: 'backend', token: 'aaaaaaaaaaaaaaaa1' },
      { role: 'backend', token: 'aaaaaaaaaaaaaaaa2' },
      { role: 'ops', token: 'bbbbbbbbbbbbbbbb' },
      { role: 'finance', token: 'cccccccccccccccc' },
    ]);
    expect(loadConfig({}).apiTokens).toBeUndefined();
    expect(loadConfig({ API_TOKENS: '  ' }).apiTokens).toBeUndefined();
    expect(loadConfig({ API_TOKENS: 'ops:bbbbbbbbbbbbbbbb' }).apiTokens).toEqual([{ role: 'ops', token: 'bbbbbbbbbbbbbbbb' }]);
  });

  test('issue 18: role:person:token names the token\'s person; role:token still works', () => {
    expect(parseApiTokens('ops:alice:aaaaaaaaaaaaaaaa1, finance:bob.k:bbbbbbbbbbbbbbbb,backend:cccccccccccccccc')).toEqual([
      { role: 'ops', person: 'alice', token: 'aaaaaaaaaaaaaaaa1' },
      { role: 'finance', person: 'bob.k', token: 'bbbbbbbbbbbbbbbb' },
      { role: 'backend', token: 'cccccccccccccccc' },
    ]);
  });

  test('issue 18: TRUST_PROXY is false unless set to true or proxy addresses; anything else stops the start', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.5,10.1.0.0/16' }).trustProxy).toBe('10.0.0.5,10.1.0.0/16');
    for (const bad of ['yes', '1', 'proxy.local', '10.0.0.1/33']) expect(() => loadConfig({ TRUST_PROXY: bad })).toThrow(/^TRUST_PROXY must be/);
  });

  test.each([
    ['ops:a l i c e:aaaaaaaaaaaaaaaa', /a person is/],
    ['ops:token-1234abcd:aaaaaaaaaaaaaaaa', /a person is/],
    ['ops:alice:bob:aaaaaaaaaaaaaaaa', /not role:token or role:person:token/],
    ['admin:aaaaaaaaaaaaaaaa', /unknown role/],
    ['backend', /not role:token/],
    ['backend:short', /16–256 characters/],
    ['backend:has spaces inside it', /16–256 characters/],
    ['backend:aaaaaaaaaaaaaaaa,ops:aaaaaaaaaaaaaaaa', /twice/],
    [',', /names no token/],
  ])('%s is refused without echoing the token', (value, message) => {
    expect(() => parseApiTokens(value)).toThrow(message);
    try {
      parseApiTokens(value);
    } catch (error) {
      expect((error as Error).message).not.toContain('aaaaaaaaaaaaaaaa');
    }
  });
});

describe('input PostgreSQL cannot store is refused by the schemas (found by fuzzing)', () => {
  const valid = {
    orderId: 'o-1', clientId: 'c-1', creatorId: 'k-1', taskType: 'douyin_video', priceFen: 100, paymentMode: 'full',
    funding: { source: 'account' }, brief: { title: 'Spring 🌸', industry: 'beauty', expectedPublishAt: '2030-01-01T00:00:00+08:00' },
  };
  const withBrief = (brief: Record<string, string>) => ({ ...valid, brief: { ...valid.brief, ...brief } });

  test('a valid body passes, emoji (surrogate pairs) and ±14:00 included', () => {
    expect(PlaceTaskOrderBody.safeParse(valid).success).toBe(true);
    expect(PlaceTaskOrderBody.safeParse(withBrief({ expectedPublishAt: '2030-01-01T00:00:00-14:00' })).success).toBe(true);
  });

  test.each([
    ['NUL in text', { title: 'a\u0000b' }],
    ['a lone high surrogate', { title: 'a\ud800' }],
    ['a lone low surrogate', { industry: '\udc00x' }],
    ['an offset beyond ±14:00', { expectedPublishAt: '2030-08-05T10:56:50.7-23:05' }],
    ['year 0', { expectedPublishAt: '0000-01-01T00:00:00Z' }],
    ['before 1970', { expectedPublishAt: '0199-08-05T10:56:50Z' }],
  ])('%s → refused', (_label, brief) => {
    expect(PlaceTaskOrderBody.safeParse(withBrief(brief)).success).toBe(false);
  });
});
