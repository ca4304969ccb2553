/**
 * The ops CLI (O1, O2, O4), a thin client of the running API:
 *
 *   npm run ops -- stuck
 *   npm run ops -- show <orderId>
 *   npm run ops -- show-boost <boostOrderId>
 *   npm run ops -- arbitrate <orderId> confirm|decline --reason <text>
 *   npm run ops -- cancel <orderId> full_refund|creator_compensation|deposit_forfeited --reason <text>
 *
 * API_URL (default http://127.0.0.1:3000) and OPS_TOKEN (an ops token of API_TOKENS) say where and who: the
 * operator recorded is the person API_TOKENS names for that token (`ops:alice:<token>`), or its fingerprint.
 */
const [command = '', ...rest] = process.argv.slice(2);
const apiUrl = (process.env.API_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');

function option(name: string): string {
  const index = rest.indexOf(`--${name}`);
  const value = index >= 0 ? rest[index + 1] : undefined;
  if (!value) fail(`--${name} is required`);
  return value;
}

function fail(message: string): never {
  console.error(`ops: ${message}`);
  process.exit(2);
}

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const token = process.env.OPS_TOKEN;
  if (!token) fail('set OPS_TOKEN to an ops token (the one npm start printed, or see API_TOKENS in docs/operations.md)');
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const payload: unknown = await response.json().catch(() => null);
  if (!response.ok) fail(`${response.status} ${JSON.stringify(payload)}`);
  return payload;
}

function printStuck(list: { generatedAt: string; entries: Array<Record<string, unknown>> }): void {
  console.log(`stuck orders at ${list.generatedAt}: ${list.entries.length}`);
  for (const e of list.entries) {
    console.log(`  ${String(e.orderId).padEnd(24)} ${String(e.reason).padEnd(22)} ${String(e.status ?? '').padEnd(20)} ${String(e.detail)}`);
  }
}

/** Every page of the stuck list (O1 is paged, issue 18), at most 100 pages. */
async function printAllStuck(): Promise<void> {
  let cursor: string | null = null;
  for (let page = 0; page < 100; page += 1) {
    const list = (await call('GET', `/v1/ops/stuck?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)) as { generatedAt: string; entries: Array<Record<string, unknown>>; nextCursor: string | null; truncated?: boolean };
    printStuck(list);
    if (list.truncated && page === 0) console.log('  (the list reached its bound: there may be more stuck orders than listed)');
    cursor = list.nextCursor;
    if (!cursor) return;
  }
}

async function main(): Promise<void> {
  const orderId = rest[0];
  switch (command) {
    case 'stuck':
      await printAllStuck();
      return;
    case 'show':
      if (!orderId) fail('usage: show <orderId>');
      console.log(JSON.stringify(await call('GET', `/v1/ops/orders/${encodeURIComponent(orderId)}`), null, 2));
      return;
    case 'show-boost':
      if (!orderId) fail('usage: show-boost <boostOrderId>');
      console.log(JSON.stringify(await call('GET', `/v1/ops/boost-orders/${encodeURIComponent(orderId)}`), null, 2));
      return;
    case 'arbitrate': {
      const decision = rest[1];
      if (!orderId || (decision !== 'confirm' && decision !== 'decline')) fail('usage: arbitrate <orderId> confirm|decline --reason <text>');
      const body = { action: 'arbitrate', decision, reason: option('reason') };
      console.log(JSON.stringify(await call('POST', `/v1/ops/orders/${encodeURIComponent(orderId)}/actions`, body), null, 2));
      return;
    }
    case 'cancel': {
      const outcome = rest[1];
      if (!orderId || !outcome) fail('usage: cancel <orderId> full_refund|creator_compensation|deposit_forfeited --reason <text>');
      const body = { action: 'cancel', outcome, reason: option('reason') };
      console.log(JSON.stringify(await call('POST', `/v1/ops/orders/${encodeURIComponent(orderId)}/actions`, body), null, 2));
      return;
    }
    default:
      fail('usage: npm run ops -- stuck | show <orderId> | show-boost <boostOrderId> | arbitrate … | cancel …');
  }
}

main().catch((error: unknown) => fail(String(error)));
