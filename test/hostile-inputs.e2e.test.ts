import { connect } from 'node:net';
import { sql } from 'kysely';
import type { OpenApiDocument } from '../api/openapi';
import { parseJsonExact } from '../client/json';
import { mapLimit } from '../platform/map-limit';
import { placement, placementBody } from './support/fixtures';
import {
  CONTROL_TEXT,
  HOSTILE_INSTANTS,
  HOSTILE_NUMBERS,
  HOSTILE_QUERY_NUMBERS,
  UNSTORABLE_TEXT,
  forgedCursors,
  hostileTokensFor,
  leavesOf,
  operationsOf,
  sampleOf,
  tableCounts,
  withRawLeaf,
  type HostileRequest,
  type Role,
} from './support/hostile';
import { TEST_TOKENS, withStack } from './support/stack';

/**
 * Issue 18 (SPEC §8, §10 "Hostile peers and inputs"): every route of the OpenAPI document and every
 * console page, sent NUL and lone surrogates in every string, path parameter, query parameter and
 * cursor, instants outside PostgreSQL's range, numbers beyond 2^53 and 1e300, and repeated query
 * parameters, as every role and unauthenticated. No answer is a 5xx, and the refused requests
 * write nothing (every table of the schema counted before and after). Amounts beyond 2^53 are
 * answered exactly. Prints what it sent.
 */
let doc: OpenApiDocument;
const ROLES: readonly Role[] = ['backend', 'ops', 'finance', 'none'];
const CONCURRENCY = 8;
/** A refusal is immediate; a request still running after this was let through to the workflows. */
const ANSWER_WITHIN_MS = 10_000;
const tally = { requests: 0, values: new Set<string>(), fiveXx: [] as string[] };

const stack = withStack('sandbox', {
  setUp: async () => {
    doc = (await stack.get('/v1/openapi.json')).body;
    const p = placement({ orderId: 'o-hostile', clientId: 'c-hostile' });
    expect((await stack.post('/v1/task-orders', placementBody(p))).status).toBe(201);
  },
  tearDown: async () => {
    process.stdout.write(`hostile inputs: ${tally.requests} requests sent, ${tally.values.size} distinct hostile values tried, ${tally.fiveXx.length} answered 5xx\n`);
  },
  stopTimeoutMs: 60_000,
});

/** Percent-encoding that can also carry a lone surrogate (as the WTF-8 bytes a hostile client sends). */
function encodeHostile(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out += char.length === 1 && code >= 0xd800 && code <= 0xdfff ? [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('') : encodeURIComponent(char);
  }
  return out;
}

const KNOWN: Record<string, string> = { orderId: 'o-hostile', clientId: 'c-hostile', account: 'client:c-hostile' };

function pathWith(template: string, values: Record<string, string> = {}): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => values[name] ?? encodeURIComponent(KNOWN[name] ?? 'x1'));
}

const acceptsArrays = (schema: unknown) => JSON.stringify(schema).includes('"array"');

async function send(request: HostileRequest): Promise<{ status: number; text: string }> {
  tally.requests += 1;
  const headers: Record<string, string> = {
    ...(request.role === 'none' ? {} : { authorization: `Bearer ${TEST_TOKENS[request.role]}` }),
    ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
  };
  const init = { method: request.method, headers, ...(request.body === undefined ? {} : { body: request.body }), redirect: 'manual' as const, signal: AbortSignal.timeout(ANSWER_WITHIN_MS) };
  const response = await fetch(`${stack.baseUrl}${request.path}`, init).catch((error: unknown) => {
    tally.fiveXx.push(`no answer in ${ANSWER_WITHIN_MS} ms: ${request.method} ${request.path} (${request.role}, ${request.what}): ${String(error)}`);
    return undefined;
  });
  if (!response) return { status: 0, text: '' };
  const text = await response.text();
  if (response.status >= 500) tally.fiveXx.push(`${response.status} ${request.method} ${request.path} (${request.role}, ${request.what}): ${text.slice(0, 200)}`);
  return { status: response.status, text };
}

type Operation = ReturnType<typeof operationsOf>[number];

/** Required query parameters with plausible values, so the hostile one is the reason for a refusal. */
function requiredQuery(op: Operation, except: string): string[] {
  return op.parameters
    .filter((p) => p.in === 'query' && p.name !== except && (p as { required?: boolean }).required)
    .map((p) => `${p.name}=${encodeURIComponent(String(sampleOf(p.schema, doc)))}`);
}

function queryValuesFor(name: string, schema: Record<string, unknown>): string[] {
  const text = JSON.stringify(schema);
  return [
    ...UNSTORABLE_TEXT,
    '%FF', // raw invalid UTF-8, sent as is below
    ...(text.includes('date-time') ? HOSTILE_INSTANTS : []),
    ...(text.includes('integer') || text.includes('number') ? HOSTILE_QUERY_NUMBERS : []),
    ...(/cursor|after|before/i.test(name) ? forgedCursors() : []),
  ];
}

/** Every hostile request of one operation for one role: path, query, repeated query, body. */
function hostileRequests(op: Operation, role: Role): Array<HostileRequest & { mustRefuse: boolean }> {
  const out: Array<HostileRequest & { mustRefuse: boolean }> = [];
  const base = { method: op.method, role, mustRefuse: true };
  for (const param of op.parameters.filter((p) => p.in === 'path')) {
    for (const value of [...UNSTORABLE_TEXT, '%FF']) {
      tally.values.add(value);
      out.push({ ...base, path: pathWith(op.path, { [param.name]: value === '%FF' ? value : encodeHostile(value) }), what: `path ${param.name}=${JSON.stringify(value)}`, ...bodyOf(op) });
    }
  }
  for (const param of op.parameters.filter((p) => p.in === 'query')) {
    const others = requiredQuery(op, param.name);
    for (const value of queryValuesFor(param.name, param.schema)) {
      tally.values.add(value);
      const encoded = value === '%FF' ? value : encodeHostile(value);
      out.push({ ...base, path: `${pathWith(op.path)}?${[...others, `${param.name}=${encoded}`].join('&')}`, what: `query ${param.name}=${JSON.stringify(value)}`, ...bodyOf(op) });
    }
    const sample = encodeURIComponent(String(sampleOf(param.schema, doc)));
    out.push({ ...base, mustRefuse: !acceptsArrays(param.schema), path: `${pathWith(op.path)}?${[...others, `${param.name}=${sample}`, `${param.name}=${sample}`].join('&')}`, what: `repeated query ${param.name}` });
  }
  if (op.body) out.push(...hostileBodies(op, role));
  return out;
}

function baseBody(op: Operation): unknown {
  return op.example ?? sampleOf(op.body, doc);
}

/** A plausible body for a request whose hostile part is elsewhere. */
function bodyOf(op: Operation): { body?: string } {
  return op.body ? { body: JSON.stringify(baseBody(op)) } : {};
}

function hostileBodies(op: Operation, role: Role): Array<HostileRequest & { mustRefuse: boolean }> {
  const body = baseBody(op);
  const out: Array<HostileRequest & { mustRefuse: boolean }> = [];
  for (const leaf of leavesOf(body)) {
    for (const token of hostileTokensFor(leaf.value)) {
      tally.values.add(token);
      out.push({ method: op.method, role, mustRefuse: true, path: pathWith(op.path), body: withRawLeaf(body, leaf.path, token), what: `body ${leaf.path.join('.')}=${token}` });
    }
  }
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    out.push({ method: op.method, role, mustRefuse: true, path: pathWith(op.path), body: JSON.stringify({ ...body, 'k\u0000': 1 }), what: 'body key with NUL' });
  }
  return out;
}

test('every operation, every role: hostile values are refused with a §8 4xx, never a 5xx, and write nothing', async () => {
  const before = await tableCounts(stack.database.db);
  const requests = operationsOf(doc).flatMap((op) => ROLES.flatMap((role) => hostileRequests(op, role)));
  const answers = await mapLimit(requests, CONCURRENCY, async (request) => ({ request, ...(await send(request)) }));
  const accepted = answers.filter((a) => a.request.mustRefuse && (a.status < 400 || a.status >= 500)).map((a) => `${a.status} ${a.request.method} ${a.request.path} (${a.request.role}, ${a.request.what})`);
  expect(tally.fiveXx).toEqual([]);
  expect(accepted).toEqual([]);
  const refusedBodies = answers.filter((a) => a.status === 400);
  const notSpec = refusedBodies.filter((a) => !a.text.startsWith('{"error":{"code":"validation_failed"')).map((a) => `${a.request.method} ${a.request.path}: ${a.text.slice(0, 120)}`);
  expect(notSpec).toEqual([]); // SPEC §8: a 400 is validation_failed, in the §8 error shape
  // Validation refuses them, not PostgreSQL (api/errors.ts refusedValue is only the safety net).
  expect(refusedBodies.filter((a) => a.text.includes('SQLSTATE')).map((a) => `${a.request.method} ${a.request.path} (${a.request.what})`)).toEqual([]);
  expect(await tableCounts(stack.database.db)).toEqual(before);
  process.stdout.write(`hostile inputs (API): ${requests.length} requests over ${operationsOf(doc).length} operations × ${ROLES.length} roles; ${refusedBodies.length} answered 400 validation_failed\n`);
}, 120_000);

test('control bytes PostgreSQL can store are accepted or refused, never a 5xx', async () => {
  const gets = operationsOf(doc).filter((op) => op.method === 'GET');
  const requests = gets.flatMap((op) =>
    op.parameters.flatMap((param) =>
      CONTROL_TEXT.map((value): HostileRequest => {
        tally.values.add(value);
        const path = param.in === 'path' ? pathWith(op.path, { [param.name]: encodeURIComponent(value) }) : `${pathWith(op.path)}?${param.name}=${encodeURIComponent(value)}`;
        return { method: 'GET', path, role: 'finance', what: `${param.in} ${param.name}=${JSON.stringify(value)}` };
      }),
    ),
  );
  const earlier = tally.fiveXx.length; // each test answers for its own requests
  await mapLimit(requests, CONCURRENCY, send);
  expect(tally.fiveXx.slice(earlier)).toEqual([]);
});

test('a malformed Idempotency-Key (NUL, too long, spaces) is a 4xx and writes nothing', async () => {
  const before = await tableCounts(stack.database.db);
  const body = JSON.stringify({ paymentRef: 'pay-hostile', amountFen: 100 });
  for (const key of ['', 'has space', 'x'.repeat(129)]) {
    tally.requests += 1;
    const response = await fetch(`${stack.baseUrl}/v1/clients/c-hostile/top-ups`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKENS.backend}`, 'content-type': 'application/json', 'idempotency-key': key }, body });
    expect({ key, status: response.status }).toEqual({ key, status: 400 });
  }
  // fetch will not send a NUL or a DEL in a header; a hostile client will: straight onto the socket.
  for (const key of ['a\u0000b', 'a\u007fb', 'a\u00ffb']) {
    const status = await rawStatus(`POST /v1/clients/c-hostile/top-ups HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_TOKENS.backend}\r\nIdempotency-Key: ${key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    expect({ key, status }).toEqual({ key, status: 400 });
  }
  expect(await tableCounts(stack.database.db)).toEqual(before);
});

async function rawStatus(request: string): Promise<number> {
  tally.requests += 1;
  const url = new URL(stack.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.end(Buffer.from(request, 'latin1')));
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    socket.on('error', reject);
  });
}

const TOP_UPS = 902;
const TOP_UP_FEN = 10_000_000_000_000n; // MAX_AMOUNT_FEN: the largest single amount
const BIG_BALANCE_FEN = BigInt(TOP_UPS) * TOP_UP_FEN;

test(`${TOP_UPS} top-ups of 10^13 fen: every answer exact beyond 2^53, and the account and trial balance stay readable`, async () => {
  const indexes = Array.from({ length: TOP_UPS }, (_v, i) => i);
  const statuses = await mapLimit(indexes, CONCURRENCY, async (i) => {
    tally.requests += 1;
    const response = await fetch(`${stack.baseUrl}/v1/clients/c-big/top-ups`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKENS.backend}`, 'content-type': 'application/json' }, body: `{"paymentRef":"big-${i}","amountFen":${TOP_UP_FEN}}` });
    const body = parseJsonExact(await response.text()) as { balanceFen?: bigint | number };
    return { status: response.status, balanceFen: BigInt(body.balanceFen ?? -1) };
  });
  expect(statuses.filter((s) => s.status !== 201)).toEqual([]);
  expect(statuses.map((s) => s.balanceFen).sort((a, b) => (a < b ? -1 : 1)).at(-1)).toBe(BIG_BALANCE_FEN);

  const account = await fetch(`${stack.baseUrl}/v1/ledger/accounts/client:c-big?limit=1`, { headers: { authorization: `Bearer ${TEST_TOKENS.finance}` } });
  const text = await account.text();
  expect(account.status).toBe(200);
  expect(text).toContain(`"balanceFen":${BIG_BALANCE_FEN}`); // an exact JSON integer, not a string or a rounded float
  expect((parseJsonExact(text) as { balanceFen: bigint }).balanceFen).toBe(BIG_BALANCE_FEN);

  const trial = await fetch(`${stack.baseUrl}/v1/ledger/trial-balance`, { headers: { authorization: `Bearer ${TEST_TOKENS.finance}` } });
  const tb = parseJsonExact(await trial.text()) as { totalFen: number; totalDebitsFen: bigint; accounts: Array<{ account: string; balanceFen: bigint | number }> };
  expect(trial.status).toBe(200);
  expect(tb.totalFen).toBe(0);
  expect(tb.accounts.find((a) => a.account === 'client:c-big')?.balanceFen).toBe(BIG_BALANCE_FEN);
  expect(typeof tb.totalDebitsFen).toBe('bigint');
}, 120_000);

describe('the console', () => {
  /** Signs in through the form as a browser would; the session cookie. */
  async function signIn(role: 'ops' | 'finance'): Promise<string> {
    const form = await fetch(`${stack.baseUrl}/console/sign-in`);
    const nonceCookie = (form.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const nonce = nonceCookie.split('=')[1] as string;
    const response = await fetch(`${stack.baseUrl}/console/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: nonceCookie },
      body: new URLSearchParams({ _csrf: nonce, operator: `hostile-${role}`, token: TEST_TOKENS[role] }).toString(),
    });
    const session = (response.headers.getSetCookie?.() ?? []).find((c) => c.startsWith('xingtu_console='));
    if (!session) throw new Error(`console sign-in failed for ${role}: ${response.status}`);
    return session.split(';')[0] as string;
  }

  /** The console's pages as its navigation links them (new pages are covered once linked). */
  async function pagesOf(cookie: string, home: string): Promise<string[]> {
    const html = await (await fetch(`${stack.baseUrl}${home}`, { headers: { cookie } })).text();
    const links = [...html.matchAll(/href="(\/console\/[^"#?]*)/g)].map((m) => m[1] as string).filter((href) => !href.includes('/assets/'));
    return [...new Set([home, ...links])];
  }

  const PARAMS = ['account', 'cursor', 'limit', 'orderId', 'from', 'to', 'run', 'since', 'next', 'status', 'q'];

  test('every page, as ops and finance and signed out: hostile and repeated query parameters are a 400 page with the navigation, never a 5xx', async () => {
    const before = await tableCounts(stack.database.db);
    const earlier = tally.fiveXx.length; // each test answers for its own requests
    let sent = 0;
    for (const role of ['ops', 'finance'] as const) {
      const cookie = await signIn(role);
      const pages = await pagesOf(cookie, role === 'ops' ? '/console/ops/stuck' : '/console/finance/trial-balance');
      const urls = pages.flatMap((page) => [
        ...PARAMS.flatMap((name) => [...UNSTORABLE_TEXT, ...HOSTILE_INSTANTS, '%FF'].map((value) => ({ url: `${page}?${name}=${value === '%FF' ? value : encodeHostile(value)}`, repeated: false }))),
        ...PARAMS.map((name) => ({ url: `${page}?${name}=a&${name}=b`, repeated: true })),
        { url: `${page}/${encodeHostile('a\u0000b')}`, repeated: false },
      ]);
      const answers = await mapLimit(urls, CONCURRENCY, async ({ url, repeated }) => {
        for (const withCookie of [cookie, '']) {
          sent += 1;
          const response = await fetch(`${stack.baseUrl}${url}`, { headers: withCookie ? { cookie: withCookie } : {}, redirect: 'manual' });
          const text = await response.text();
          if (response.status >= 500) tally.fiveXx.push(`${response.status} GET ${url} (console ${withCookie ? role : 'signed out'}): ${text.slice(0, 200)}`);
          if (repeated && withCookie && response.status !== 400) return `${url}: ${response.status}, not 400`;
          if (repeated && withCookie && !text.includes('<nav')) return `${url}: a 400 page without the navigation`;
        }
        return undefined;
      });
      expect(answers.filter(Boolean)).toEqual([]);
    }
    tally.requests += sent;
    expect(tally.fiveXx.slice(earlier)).toEqual([]);
    expect(await tableCounts(stack.database.db)).toEqual(before);
    process.stdout.write(`hostile inputs (console): ${sent} requests\n`);
  }, 60_000);

  test('a statement and the trial balance beyond 2^53 are shown exactly', async () => {
    const cookie = await signIn('finance');
    const page = await (await fetch(`${stack.baseUrl}/console/finance/statement?account=client:c-big`, { headers: { cookie } })).text();
    expect(page).toContain(`data-fen="${BIG_BALANCE_FEN}"`);
    const trial = await (await fetch(`${stack.baseUrl}/console/finance/trial-balance`, { headers: { cookie } })).text();
    expect(trial).toContain(`data-fen="${BIG_BALANCE_FEN}"`);
  });
});


/**
 * C1–C5 (SPEC §8, §10): the checkout's own fields, one hostile value at a time, on POST
 * /v1/checkouts and its preview: odd ids, briefs, amounts, line lists, funding shapes, unknown
 * fields, repeated creators and ids, huge bodies; and odd ids in the GET paths. Each is a §8 4xx,
 * never a 5xx, and writes nothing: no checkout, order, claim, event or money for any of its ids.
 */
describe('checkouts (C1–C5): hostile bodies and ids', () => {
  const BRIEF = { title: 'Spring launch', industry: 'beauty', expectedPublishAt: '2030-01-01T00:00:00.000Z' };
  /** A valid basket (two lines, the second boosted with a well-formed quote id) the cases mutate one value of. */
  const basket = () => ({
    checkoutId: 'co-hostile',
    clientId: 'c-hostile',
    paymentMode: 'full',
    funding: { source: 'external', paymentRef: 'pay-co-hostile' },
    lines: [
      { orderId: 'o-co-hostile-1', creatorId: 'k-co-hostile-1', taskType: 'douyin_video', priceFen: 100_000, brief: BRIEF },
      { orderId: 'o-co-hostile-2', creatorId: 'k-co-hostile-2', taskType: 'douyin_live', priceFen: 50_000, brief: BRIEF, boost: { boostOrderId: 'b-co-hostile-2', quoteId: 'q-co-hostile' } },
    ],
  });
  const IDS = ['co-hostile', 'o-co-hostile-1', 'o-co-hostile-2', 'b-co-hostile-2'];
  /** `repeat`: a C1 repeat, well-formed JSON: POST refuses it 400, the preview answers it as its refusal (200, C2). */
  type Case = { readonly what: string; readonly body: string; readonly repeat?: true };
  const json = (value: unknown) => JSON.stringify(value);
  const at = (path: ReadonlyArray<string | number>, token: string): Case => ({ what: `${path.join('.')}=${token.slice(0, 60)}`, body: withRawLeaf(basket(), path, token) });
  const edited = (what: string, edit: (b: ReturnType<typeof basket>) => unknown): Case => ({ what, body: json(edit(basket())) });

  const ODD_IDS = [...UNSTORABLE_TEXT, ...CONTROL_TEXT, '', ' ', 'a/b', '../x', '%00', 'a b', 'x'.repeat(65), '\u202eevil', '\uff4f-1', 'o-1\n', '<script>'].map(json);
  const NOT_STRINGS = ['1', 'null', 'true', '[]', '{}'];
  const ID_PATHS: ReadonlyArray<ReadonlyArray<string | number>> = [['checkoutId'], ['clientId'], ['lines', 0, 'orderId'], ['lines', 0, 'creatorId'], ['lines', 1, 'boost', 'boostOrderId'], ['lines', 1, 'boost', 'quoteId'], ['funding', 'paymentRef']];
  const BAD_TEXT = [...UNSTORABLE_TEXT.map(json), json(''), json('   '), json('x'.repeat(201)), ...NOT_STRINGS];
  const BAD_AMOUNTS = [...HOSTILE_NUMBERS, '-1', '0', '1.5', '-0.5', '10000000000001', '9007199254740992', json('100000'), 'null', 'true', '[]', '{}'];
  const line = (i: number) => ({ orderId: `o-co-many-${i}`, creatorId: `k-co-many-${i}`, taskType: 'douyin_live', priceFen: 10_000, brief: BRIEF });

  function cases(): Case[] {
    return [
      ...ID_PATHS.flatMap((path) => [...ODD_IDS, ...NOT_STRINGS].map((token) => at(path, token))),
      ...(['title', 'industry'] as const).flatMap((field) => BAD_TEXT.map((token) => at(['lines', 0, 'brief', field], token))),
      ...[...HOSTILE_INSTANTS.map(json), json('tomorrow'), json('2030-01-01'), ...NOT_STRINGS].map((token) => at(['lines', 0, 'brief', 'expectedPublishAt'], token)),
      ...BAD_AMOUNTS.map((token) => at(['lines', 0, 'priceFen'], token)),
      ...[json('partial'), json('FULL'), 'null', '1'].map((token) => at(['paymentMode'], token)),
      ...[json('tiktok'), 'null', '1'].map((token) => at(['lines', 1, 'taskType'], token)),
      // C1: 1–50 lines, as an array of lines.
      edited('0 lines', (b) => ({ ...b, lines: [] })),
      edited('51 lines', (b) => ({ ...b, lines: Array.from({ length: 51 }, (_v, i) => line(i)) })),
      ...['{}', json('x'), 'null', '1', '[null]', '[1]', '[[]]', json([json(basket().lines[0])])].map((token) => at(['lines'], token)),
      edited('no lines', ({ lines: _lines, ...b }) => b),
      edited('no brief', (b) => ({ ...b, lines: [{ ...b.lines[0], brief: undefined }] })),
      // L5: the funding, once for the whole checkout.
      ...[{ source: 'bank' }, { source: 'external' }, { source: 'external', paymentRef: '' }, { source: 'account', paymentRef: 'x' }, { source: 'checkout', checkoutId: 'co-x' }, 'account', null, [], {}].map((funding) => at(['funding'], json(funding))),
      // Unknown fields, at every level.
      edited('unknown top-level field', (b) => ({ ...b, discountFen: 1 })),
      edited('unknown line field', (b) => ({ ...b, lines: [{ ...b.lines[0], discountFen: 1 }, b.lines[1]] })),
      edited('unknown brief field', (b) => ({ ...b, lines: [{ ...b.lines[0], brief: { ...BRIEF, extra: 'x' } }, b.lines[1]] })),
      edited('unknown boost field', (b) => ({ ...b, lines: [b.lines[0], { ...b.lines[1], boost: { ...b.lines[1]!.boost, boostFeeFen: 1 } }] })),
      edited('unknown funding field', (b) => ({ ...b, funding: { ...b.funding, amountFen: 1 } })),
      { what: 'a __proto__ key', body: json(basket()).replace('{', '{"__proto__":{"admin":true},') },
      { what: 'a key with NUL', body: json(basket()).replace('{', '{"k\\u0000":1,') },
      // C1: a creator, an order id or a boost id at most once.
      ...[
        edited('a creator twice', (b) => ({ ...b, lines: [b.lines[0], { ...b.lines[1], creatorId: b.lines[0]!.creatorId }] })),
        edited('an orderId twice', (b) => ({ ...b, lines: [b.lines[0], { ...b.lines[1], orderId: b.lines[0]!.orderId }] })),
        edited('a boostOrderId twice', (b) => ({ ...b, lines: [{ ...b.lines[0], boost: b.lines[1]!.boost }, b.lines[1]] })),
        edited('a boost id equal to its own line\'s orderId', (b) => ({ ...b, lines: [b.lines[0], { ...b.lines[1], boost: { ...b.lines[1]!.boost, boostOrderId: b.lines[1]!.orderId } }] })),
        edited('an orderId used as a boost id', (b) => ({ ...b, lines: [b.lines[0], { ...b.lines[1], boost: { ...b.lines[1]!.boost, boostOrderId: b.lines[0]!.orderId }, orderId: b.lines[1]!.boost!.boostOrderId }] })),
      ].map((c): Case => ({ ...c, repeat: true })),
      // Huge bodies, malformed JSON.
      at(['lines', 0, 'brief', 'title'], json('x'.repeat(2 * 1024 * 1024))),
      edited('50 lines with 1 KB titles', (b) => ({ ...b, lines: Array.from({ length: 50 }, (_v, i) => ({ ...line(i), brief: { ...BRIEF, title: 't'.repeat(1000) } })) })),
      { what: 'nested 30 000 deep (the body limit allows it)', body: `${'['.repeat(30_000)}${']'.repeat(30_000)}` },
      { what: 'a line nested 30 000 deep', body: json(basket()).replace('"lines":[', `"lines":[${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)},`) },
      { what: '33 levels deep', body: `${'['.repeat(33)}${']'.repeat(33)}` },
      { what: 'truncated JSON', body: json(basket()).slice(0, 40) },
      { what: 'not JSON', body: 'checkoutId=co-hostile' },
      { what: 'an array', body: json([basket()]) },
    ];
  }

  /** The rows of any kind for the cases' ids: none, whatever was sent. */
  async function rowsForIds(): Promise<number> {
    const db = stack.database.db;
    const like = [...IDS, 'o-co-many-%', 'k-co-many-%'];
    const { rows } = await sql<{ n: string }>`
      select ((select count(*) from checkouts where checkout_id like any(${like}))
            + (select count(*) from task_orders where order_id like any(${like}))
            + (select count(*) from boost_orders where boost_order_id like any(${like}))
            + (select count(*) from order_id_claims where id like any(${like}))
            + (select count(*) from order_events where order_id like any(${like.map((id) => `%${id}`)})))::text as n`.execute(db);
    return Number(rows[0]?.n ?? -1);
  }

  async function sendCase(path: string, c: Case): Promise<{ what: string; status: number; text: string }> {
    tally.requests += 1;
    const response = await fetch(`${stack.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKENS.backend}`, 'content-type': 'application/json' }, body: c.body, signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
    const text = await response.text();
    if (response.status >= 500) tally.fiveXx.push(`${response.status} POST ${path} (${c.what}): ${text.slice(0, 200)}`);
    return { what: c.what, status: response.status, text };
  }

  /** SPEC §8: a 4xx in the error shape; a 400 is validation_failed. */
  const notSpec = (a: { what: string; status: number; text: string }) => {
    let body: { error?: { code?: unknown; message?: unknown } } = {};
    try {
      body = JSON.parse(a.text) as typeof body;
    } catch {
      // not JSON: reported below
    }
    const shaped = typeof body.error?.code === 'string' && typeof body.error.message === 'string' && (a.status !== 400 || body.error.code === 'validation_failed');
    return a.status >= 400 && a.status < 500 && shaped ? undefined : `${a.status} ${a.what}: ${a.text.slice(0, 160)}`;
  };

  test.each(['/v1/checkouts', '/v1/checkouts/preview'])('POST %s: every hostile field is a §8 4xx, never a 5xx, and writes nothing', async (path) => {
    const before = await tableCounts(stack.database.db);
    const earlier = tally.fiveXx.length;
    const preview = path.endsWith('/preview');
    const all = cases();
    const answers = await mapLimit(all, CONCURRENCY, (c) => sendCase(path, c));
    expect(tally.fiveXx.slice(earlier)).toEqual([]);
    const repeats = new Set(all.filter((c) => c.repeat).map((c) => c.what));
    expect(repeats.size).toBe(5);
    expect(answers.filter((a) => !(preview && repeats.has(a.what))).map(notSpec).filter(Boolean)).toEqual([]);
    // C2: the preview names the repeat as its refusal, at line 1, and changes nothing.
    const previewed = answers.filter((a) => preview && repeats.has(a.what)).map((a) => ({ what: a.what, status: a.status, refusal: (JSON.parse(a.text) as { refusal?: unknown }).refusal }));
    expect(previewed).toEqual(preview ? [...repeats].map((what) => ({ what, status: 200, refusal: expect.objectContaining({ lineIndex: 1, code: 'validation_failed' }) })) : []);
    expect(answers.filter((a) => a.text.includes('SQLSTATE')).map((a) => a.what)).toEqual([]); // refused by validation, not by PostgreSQL
    expect(await tableCounts(stack.database.db)).toEqual(before);
    expect(await rowsForIds()).toBe(0);
    process.stdout.write(`hostile inputs (${path}): ${answers.length} bodies, all refused 4xx\n`);
  }, 60_000);

  test('§8: a body nested deeper than any schema, with an Idempotency-Key (its fingerprint walks the body), is a 400 on every POST route, never a 5xx', async () => {
    const before = await tableCounts(stack.database.db);
    const posts = operationsOf(doc).filter((op) => op.method === 'POST');
    const deep = `{"a":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    const answers = await mapLimit(posts, CONCURRENCY, async (op) => {
      tally.requests += 1;
      const response = await fetch(`${stack.baseUrl}${pathWith(op.path)}`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKENS.backend}`, 'content-type': 'application/json', 'idempotency-key': `deep-${op.path}`.replace(/[^A-Za-z0-9-]/g, '-') }, body: deep });
      return { what: `POST ${op.path}`, status: response.status, text: await response.text() };
    });
    expect(answers.filter((a) => a.status !== 400 && a.status !== 403).map((a) => `${a.status} ${a.what}: ${a.text.slice(0, 120)}`)).toEqual([]);
    expect(answers.map(notSpec).filter(Boolean)).toEqual([]);
    expect(await tableCounts(stack.database.db)).toEqual(before);
  });

  test('C1: a creator twice is refused 400 at its line before anything is recorded, so the corrected basket may use the same checkoutId', async () => {
    const b = basket();
    const twice = { ...b, checkoutId: 'co-hostile-twice', lines: [b.lines[0]!, { ...b.lines[0]!, orderId: 'o-co-hostile-twice' }] };
    const refused = await sendCase('/v1/checkouts', { what: 'a creator twice', body: json(twice) });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text).error).toMatchObject({ code: 'validation_failed', details: { lineIndex: 1, checkoutId: 'co-hostile-twice' } });
    const row = await stack.database.db.selectFrom('checkouts').select('checkout_id').where('checkout_id', '=', 'co-hostile-twice').executeTakeFirst();
    expect(row).toBeUndefined();
    // The preview says the same as data (C2: it answers why the checkout would be refused).
    const preview = await sendCase('/v1/checkouts/preview', { what: 'preview: a creator twice', body: json(twice) });
    expect([preview.status, JSON.parse(preview.text).refusal]).toEqual([200, expect.objectContaining({ lineIndex: 1, code: 'validation_failed' })]);
    // Corrected, under the same checkoutId: placed (a recorded refusal would have made it a 409 conflict).
    const corrected = await sendCase('/v1/checkouts', { what: 'the corrected basket', body: json({ ...twice, lines: [twice.lines[0], { ...twice.lines[1], creatorId: 'k-co-hostile-twice' }] }) });
    expect([corrected.status, JSON.parse(corrected.text).status]).toEqual([201, 'completed']);
  });

  test('GET /v1/checkouts/{id} and /v1/ops/checkouts/{id}: odd ids in the path are a §8 4xx, never a 5xx', async () => {
    const before = await tableCounts(stack.database.db);
    const ids = ['a%2Fb', '%2F', '..%2F..%2Fv1%2Fevents', 'a%00b', '%00', '%ED%A0%80', '%FF', '%3Cscript%3E', 'a%20b', 'x'.repeat(65), '%C0%AF', 'co%2Fhostile%00', 'a/b', 'co-unknown', encodeURIComponent('\u202eevil')];
    const answers = await mapLimit(
      ids.flatMap((id) => [
        { path: `/v1/checkouts/${id}`, role: 'backend' as const },
        { path: `/v1/checkouts/${id}`, role: 'finance' as const },
        { path: `/v1/ops/checkouts/${id}`, role: 'ops' as const },
      ]),
      CONCURRENCY,
      async ({ path, role }) => {
        tally.requests += 1;
        const response = await fetch(`${stack.baseUrl}${path}`, { headers: { authorization: `Bearer ${TEST_TOKENS[role]}` } });
        const what = `GET ${path} (${role})`;
        return { what, status: response.status, text: await response.text() };
      },
    );
    expect(answers.filter((a) => a.status >= 500).map((a) => a.what)).toEqual([]);
    expect(answers.map(notSpec).filter(Boolean)).toEqual([]);
    expect(answers.filter((a) => a.what.includes('co-unknown') || a.what.includes('a/b')).map((a) => a.status)).toEqual([404, 404, 404, 404, 404, 404]);
    expect(await tableCounts(stack.database.db)).toEqual(before);
  });
});
