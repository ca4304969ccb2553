import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { placement, placementBody } from './support/fixtures';
import { balances } from './support/ledger';
import { TEST_PERSON_TOKENS, authHeader, withStack } from './support/stack';

/**
 * SPEC F6 in a real browser (headless Debian Chromium driven by playwright-core): ops find a stuck
 * order, arbitrate it with a reason after a preview and see the money move (O1, O2, O4, T22, T20);
 * finance read the trial balance, a statement and the audit, and download a CSV whose totals match
 * the trial balance (F1–F4); a role never gets an action it may not take, and the API refuses it if
 * forced (§8 403); a form without the session's CSRF token is refused. SCREENSHOTS=1 saves the main
 * pages to docs/screenshots/.
 */
jest.setTimeout(120_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = process.env.SCREENSHOTS === '1' ? join(__dirname, '..', 'docs', 'screenshots') : undefined;
const WIDE = { width: 1280, height: 900 };
const NARROW = { width: 390, height: 844 };

let browser: Browser;

const stack = withStack('sandbox', {
  ...(process.env.CONSOLE_TEST_LOG === '1' ? { logger: { stream: process.stderr, level: 'error' } } : {}),
  setUp: async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  },
  tearDown: async () => {
    await browser?.close();
  },
});

async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const viewport = page.viewportSize();
  await page.setViewportSize(NARROW);
  await page.screenshot({ path: join(SHOTS, `${name}-narrow.png`), fullPage: true });
  if (viewport) await page.setViewportSize(viewport);
}

/** Signs in with the keyboard only (F6: keyboard reachable): tab to each field, Enter to submit. */
async function signIn(context: BrowserContext, person: keyof typeof TEST_PERSON_TOKENS): Promise<Page> {
  const { role, token } = TEST_PERSON_TOKENS[person]; // issue 18: the session is the token's person's; no name is typed
  const page = await context.newPage();
  await page.goto(`${stack.baseUrl}/console`);
  expect(new URL(page.url()).pathname).toBe('/console/sign-in');
  expect(await page.locator('input[name=operator]').count()).toBe(0);
  await page.locator('input[name=token]').focus();
  await page.keyboard.type(token);
  await page.keyboard.press('Enter');
  await page.waitForURL(role === 'ops' ? '**/console/ops/stuck' : '**/console/finance/trial-balance');
  return page;
}

/** T20/T22: an uploaded order whose client asked to cancel and got no answer in 72 h: awaiting arbitration. */
async function orderAwaitingArbitration(): Promise<{ orderId: string; clientId: string; creatorId: string }> {
  const clientId = `c-con-${Date.now()}`;
  const creatorId = `k-con-${Date.now()}`;
  const p = placement({ clientId, creatorId });
  const o = `/v1/task-orders/${p.orderId}`;
  expect((await stack.post('/v1/task-orders', placementBody(p))).status).toBe(201);
  expect((await stack.post(`${o}/accept`, { actor: { type: 'creator', id: creatorId } })).status).toBe(200);
  expect((await stack.post(`${o}/videos`, { actor: { type: 'creator', id: creatorId }, draftId: 'd1' })).status).toBe(200);
  expect((await stack.post(`${o}/cancel`, { actor: { type: 'client', id: clientId }, reason: 'brand withdrew' })).status).toBe(200);
  expect((await stack.post('/v1/sandbox/clock/advance', { hours: 73 })).status).toBe(200);
  for (let i = 0; i < 100; i += 1) {
    const entries = (await stack.get('/v1/ops/stuck', authHeader('ops'))).body.entries as Array<{ orderId: string; reason: string }>;
    if (entries.some((e) => e.orderId === p.orderId && e.reason === 'awaiting_arbitration')) return { orderId: p.orderId, clientId, creatorId };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the order never showed as awaiting arbitration');
}

const ledgerCount = async () => Number((await stack.database.db.selectFrom('ledger_transactions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

let order: { orderId: string; clientId: string; creatorId: string };

test('ops: sign in, find the stuck order, arbitrate it after a preview, see the money move; confirming twice applies once', async () => {
  order = await orderAwaitingArbitration();
  const accounts = { client: `client:${order.clientId}`, creator: `creator:${order.creatorId}`, escrow: `escrow:task:${order.orderId}`, fees: 'platform:service_fees' };
  const context = await browser.newContext({ viewport: WIDE });
  const page = await signIn(context, 'alice');

  // O1: the stuck list, filtered by reason and kind.
  const row = page.locator('#stuck tr', { hasText: order.orderId });
  await expect(row.textContent()).resolves.toContain('Awaiting arbitration');
  expect(await row.locator('td').nth(1).innerText()).toMatch(/^\d+ (min|h \d+ min)$/); // its age: escalated at 72 h, seen at 73 h
  await page.selectOption('select[name=reason]', 'awaiting_arbitration');
  await page.selectOption('select[name=kind]', 'task');
  await page.click('form[role=search] button');
  await expect(row.count()).resolves.toBe(1);
  await shot(page, 'stuck-list');
  // It refreshes by itself (htmx, loaded locally under the console's CSP), keeping the filter.
  const refreshed = await page.waitForResponse((r) => r.url().includes('/console/ops/stuck/rows?reason=awaiting_arbitration&kind=task'), { timeout: 15_000 });
  expect(refreshed.status()).toBe(200);
  await expect(row.count()).resolves.toBe(1);
  await page.selectOption('select[name=reason]', 'publish_overdue');
  await page.click('form[role=search] button');
  await expect(row.count()).resolves.toBe(0);

  // O2: the order page, reached from the search (by id).
  await page.goto(`${stack.baseUrl}/console/ops/orders`);
  await page.fill('input[name=orderId]', order.orderId);
  await page.press('input[name=orderId]', 'Enter');
  await page.waitForURL(`**/console/ops/orders/${order.orderId}`);
  const text = await page.locator('main').innerText();
  expect(text).toContain('awaiting arbitration');
  expect(text).toContain('CancellationRequested');
  expect(text).toContain('¥1,100.00'); // paid in: 100 000 + 10 000 fen
  expect(await page.locator('a[href*="/namespaces/default/workflows/"]').first().getAttribute('href')).toBe(`http://127.0.0.1:8233/namespaces/default/workflows/${encodeURIComponent(`task-order:${order.orderId}`)}`);
  expect(await page.locator('time').first().getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z UTC$/);
  await shot(page, 'order-page');

  // O4 with a preview: nothing moves until confirmed.
  await page.check('form[aria-label=arbitrate] input[value=confirm]');
  await page.fill('#arbitrate-reason', 'creator agreed by phone');
  await page.click('form[aria-label=arbitrate] button[type=submit]');
  await page.waitForURL(`**/console/ops/orders/${order.orderId}/preview`);
  const preview = await page.locator('table').first().innerText();
  expect(preview).toMatch(new RegExp(`client:${order.clientId}\\s+¥550\\.00`));
  expect(preview).toMatch(new RegExp(`creator:${order.creatorId}\\s+¥500\\.00`));
  expect(preview).toMatch(/platform:service_fees\s+¥50\.00/);
  expect(preview).toMatch(new RegExp(`escrow:task:${order.orderId}\\s+¥1,100\\.00`));
  expect(await balances(stack.database.db, accounts)).toEqual({ client: 0n, creator: 0n, escrow: 110_000n, fees: 0n });
  await shot(page, 'order-preview');
  const transactionsBefore = await ledgerCount();
  const confirmForm = page.locator(`form[action="/console/ops/orders/${order.orderId}/actions"]`);
  const fields = Object.fromEntries(await confirmForm.locator('input').evaluateAll((inputs) => inputs.map((i) => [(i as unknown as { name: string }).name, (i as unknown as { value: string }).value])));

  await page.click('button:has-text("Confirm")');
  await page.waitForURL(`**/console/ops/orders/${order.orderId}/actions`);
  const result = await page.locator('main').innerText();
  expect(result).toContain('the order is now cancelled');
  expect(result).toMatch(new RegExp(`client:${order.clientId}\\s+¥550\\.00`));
  expect(await balances(stack.database.db, accounts)).toEqual({ client: 55_000n, creator: 50_000n, escrow: 0n, fees: 5_000n });
  expect(await ledgerCount()).toBe(transactionsBefore + 1);
  await shot(page, 'order-result');

  // The same confirmation submitted again (a double click, a resubmitted form): replayed, nothing runs twice.
  const again = await context.request.post(`${stack.baseUrl}/console/ops/orders/${order.orderId}/actions`, { form: fields, maxRedirects: 0 });
  expect(again.status()).toBe(200);
  expect(await again.text()).toContain('had already been applied');
  expect(await ledgerCount()).toBe(transactionsBefore + 1);
  expect(await balances(stack.database.db, accounts)).toEqual({ client: 55_000n, creator: 50_000n, escrow: 0n, fees: 5_000n });

  // The order page shows the arbitration (who, why) and no action any more.
  await page.goto(`${stack.baseUrl}/console/ops/orders/${order.orderId}`);
  const closed = await page.locator('main').innerText();
  expect(closed).toContain('CancellationArbitrated');
  expect(closed).toContain('ops: alice');
  expect(await page.locator('form[aria-label=cancel]').count()).toBe(0);
  await page.goto(`${stack.baseUrl}/console/ops/stuck`);
  await expect(page.locator('#stuck tr', { hasText: order.orderId }).count()).resolves.toBe(0);
  await context.close();
});

test('CSRF: a console form without the session\'s token is refused and changes nothing; sign-out ends the session', async () => {
  const context = await browser.newContext({ viewport: WIDE });
  const page = await signIn(context, 'bob');
  const other = await orderAwaitingArbitration();
  const before = await ledgerCount();
  const statusBefore = (await stack.get(`/v1/task-orders/${other.orderId}`)).body.status;
  const forged = await context.request.post(`${stack.baseUrl}/console/ops/orders/${other.orderId}/actions`, {
    form: { action: 'cancel', outcome: 'full_refund', reason: 'forged', idem: 'forged-1', seenSeq: '0' },
    maxRedirects: 0,
  });
  expect(forged.status()).toBe(403);
  const wrong = await context.request.post(`${stack.baseUrl}/console/ops/orders/${other.orderId}/actions`, {
    form: { _csrf: 'not-the-token', action: 'cancel', outcome: 'full_refund', reason: 'forged', idem: 'forged-2', seenSeq: '0' },
    maxRedirects: 0,
  });
  expect(wrong.status()).toBe(403);
  expect(await ledgerCount()).toBe(before);
  expect((await stack.get(`/v1/task-orders/${other.orderId}`)).body.status).toBe(statusBefore);

  const cookies = await context.cookies();
  expect(cookies.find((c) => c.name === 'xingtu_console')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
  const sessionCookie = cookies.find((c) => c.name === 'xingtu_console')?.value ?? '';
  expect(sessionCookie).not.toContain(TEST_PERSON_TOKENS.bob.token); // encrypted
  await page.click('button:has-text("Sign out")');
  await page.waitForURL('**/console/sign-in');
  await page.goto(`${stack.baseUrl}/console/ops/stuck`);
  expect(new URL(page.url()).pathname).toBe('/console/sign-in');
  // F6/issue 18: sign-out is server-side: a copy of the cookie taken before it is no session either.
  const replayed = await fetch(`${stack.baseUrl}/console/ops/stuck`, { redirect: 'manual', headers: { cookie: `xingtu_console=${sessionCookie}` } });
  expect([replayed.status, replayed.headers.get('location')]).toEqual([303, expect.stringMatching(/^\/console\/sign-in/)]);
  await context.close();
});

test('finance: trial balance, a statement with its running balance, the audit, and a CSV whose totals match the trial balance', async () => {
  const context = await browser.newContext({ viewport: WIDE, acceptDownloads: true });
  const page = await signIn(context, 'fay');
  const main = page.locator('main');
  expect(await main.innerText()).toContain('Balanced');
  await shot(page, 'trial-balance');

  // F1: the client's statement, from the trial balance's link.
  await page.click(`a:text-is("client:${order.clientId}")`);
  await page.waitForURL('**/console/finance/statement?account=*');
  expect(await page.locator('[data-testid=statement-balance]').innerText()).toBe('¥550.00');
  const statement = await main.innerText();
  expect(statement).toMatch(/cancellation_settlement/);
  expect(statement).toContain('end of statement');
  await shot(page, 'statement');

  // F1 paging: one entry a page; each page's running balance continues the previous one.
  await page.goto(`${stack.baseUrl}/console/finance/statement?account=external:payments&limit=1`);
  const runningBalance = async () => (await page.locator('tbody tr td:last-child').innerText()).trim();
  expect(await page.locator('tbody tr').count()).toBe(1);
  const first = await runningBalance();
  await page.click('a:has-text("Next page")');
  expect(await page.locator('tbody tr').count()).toBe(1);
  expect(await runningBalance()).toBe(first === '−¥1,100.00' ? '−¥2,200.00' : 'unexpected first page');
  expect(await page.locator('a:has-text("First page")').count()).toBe(1);

  // F3: the audit, clean.
  await page.goto(`${stack.baseUrl}/console/finance/audit`);
  await page.click('button:has-text("Run the audit")');
  await page.waitForURL('**/console/finance/audit?run=1*');
  expect(await main.innerText()).toContain('Clean');
  // Its summary counts what the audit counted: every order checked, and of those the closed ones
  // reconciled (L6) — not every order called "closed".
  const { body: api } = await stack.get('/v1/ledger/audit', authHeader('finance'));
  const { checkedOrders, reconciledOrders } = api as { checkedOrders: number; reconciledOrders: number };
  expect(reconciledOrders).toBeGreaterThan(0);
  expect(reconciledOrders).toBeLessThan(checkedOrders); // the stuck orders are open
  expect(await main.innerText()).toContain(`${checkedOrders} orders checked, ${reconciledOrders} of them closed and reconciled`);
  await shot(page, 'audit');

  // F4: the CSV of everything, summed per account, is the trial balance.
  await page.goto(`${stack.baseUrl}/console/finance/export`);
  await page.fill('input[name=from]', '2000-01-01T00:00');
  await page.fill('input[name=to]', '2099-01-01T00:00');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Download CSV")')]);
  const csv = readFileSync((await download.path()) as string, 'utf8').trim().split(/\r?\n/);
  expect(csv[0]).toBe('tx_id,seq,occurred_at,kind,order_id,debit_account,credit_account,amount_fen');
  const net = new Map<string, bigint>();
  for (const line of csv.slice(1)) {
    const [, , , , , debit, credit, amount] = line.split(',');
    net.set(debit as string, (net.get(debit as string) ?? 0n) - BigInt(amount as string));
    net.set(credit as string, (net.get(credit as string) ?? 0n) + BigInt(amount as string));
  }
  const trial = (await stack.get('/v1/ledger/trial-balance', authHeader('finance'))).body;
  expect(Object.fromEntries([...net].filter(([, v]) => v !== 0n).sort())).toEqual(
    Object.fromEntries((trial.accounts as Array<{ account: string; balanceFen: number }>).filter((a) => a.balanceFen !== 0).map((a) => [a.account, BigInt(a.balanceFen)]).sort()),
  );
  expect([...net.values()].reduce((a, b) => a + b, 0n)).toBe(0n);
  await context.close();
});

test('roles: finance is not offered ops actions, and an ops action forced by a finance session is refused 403 by the API', async () => {
  const target = await orderAwaitingArbitration();
  const context = await browser.newContext({ viewport: WIDE });
  const page = await signIn(context, 'fay');
  const nav = await page.locator('nav').innerText();
  expect(nav).not.toContain('Stuck orders');
  expect(nav).toContain('Trial balance');
  await page.goto(`${stack.baseUrl}/console/finance/transactions?orderId=${target.orderId}`);
  expect(await page.locator('form[aria-label=arbitrate], form[aria-label=cancel]').count()).toBe(0);
  const opsPage = await page.goto(`${stack.baseUrl}/console/ops/orders/${target.orderId}`);
  expect(opsPage?.status()).toBe(403);

  // Forced with this session's own, valid CSRF token: the API's role check refuses it.
  const csrf = await page.locator('input[name=_csrf]').first().getAttribute('value');
  const before = await ledgerCount();
  const forced = await context.request.post(`${stack.baseUrl}/console/ops/orders/${target.orderId}/actions`, {
    form: { _csrf: csrf as string, action: 'arbitrate', decision: 'confirm', reason: 'forced', idem: 'forced-1', seenSeq: '0' },
    maxRedirects: 0,
  });
  expect(forced.status()).toBe(403);
  expect(await forced.text()).toContain('role finance may not call POST /v1/ops/orders/:orderId/actions');
  const preview = await context.request.post(`${stack.baseUrl}/console/ops/orders/${target.orderId}/preview`, {
    form: { _csrf: csrf as string, action: 'arbitrate', decision: 'confirm', reason: 'forced' },
    maxRedirects: 0,
  });
  expect(preview.status()).toBe(403);
  expect(await ledgerCount()).toBe(before);
  expect((await stack.get(`/v1/task-orders/${target.orderId}`)).body.pendingCancellation).toMatchObject({ escalated: true });
  await context.close();
});

test('the console is not part of the JSON API: its routes are not in the OpenAPI document', async () => {
  const document = (await stack.get('/v1/openapi.json')).body;
  expect(Object.keys(document.paths).filter((p) => p.startsWith('/console'))).toEqual([]);
  const asset = await fetch(`${stack.baseUrl}/console/assets/htmx.min.js`);
  expect(asset.status).toBe(200); // served locally, no CDN
  expect((await fetch(`${stack.baseUrl}/console/ops/stuck`, { redirect: 'manual' })).status).toBe(303); // no session: to sign-in
});

test('the console has an icon: every page links it, and it is served without a session', async () => {
  const signInPage = await fetch(`${stack.baseUrl}/console/sign-in`);
  expect(await signInPage.text()).toContain('<link rel="icon" type="image/svg+xml" href="/console/assets/favicon.svg">');
  const icon = await fetch(`${stack.baseUrl}/console/assets/favicon.svg`);
  expect(icon.status).toBe(200);
  expect(icon.headers.get('content-type')).toBe('image/svg+xml');
  expect(await icon.text()).toMatch(/^<svg /);
});

/** C1: a three-line basket for a new client, its first line boosted (B8 counts, a B1 quote), paid from its account. */
async function placedCheckout(): Promise<{ checkoutId: string; orderIds: string[]; boostOrderId: string }> {
  const stamp = `${Date.now().toString(36)}`;
  const clientId = `c-co-${stamp}`;
  const boosted = `k-co-${stamp}-0`;
  const now = Date.parse((await stack.get('/v1/sandbox/clock')).body.now);
  for (const ageDays of [5, 10, 15]) {
    const stats = { videoId: `v-co-${stamp}-${ageDays}`, creatorId: boosted, publishedAt: new Date(now - ageDays * 86_400_000).toISOString(), views: 10_000, observedAt: new Date(now).toISOString() };
    expect((await stack.post('/v1/video-stats', stats)).status).toBe(201);
  }
  const quote = (await stack.post('/v1/boost-quotes', { clientId, items: [{ creatorId: boosted, priceFen: 100_000 }] })).body.quotes[0];
  expect((await stack.post(`/v1/clients/${clientId}/top-ups`, { paymentRef: `top-co-${stamp}`, amountFen: 263_000 })).status).toBe(201);
  const brief = { title: 'Autumn <launch> & "friends"', industry: 'beauty', expectedPublishAt: '2031-01-01T00:00:00.000Z' };
  const orderIds = [0, 1, 2].map((i) => `o-co-${stamp}-${i}`);
  const boostOrderId = `b-co-${stamp}`;
  const checkout = {
    checkoutId: `co-${stamp}`,
    clientId,
    paymentMode: 'full',
    funding: { source: 'account' },
    lines: [
      { orderId: orderIds[0], creatorId: boosted, taskType: 'douyin_video', priceFen: 100_000, brief, boost: { boostOrderId, quoteId: quote.quoteId } },
      { orderId: orderIds[1], creatorId: `k-co-${stamp}-1`, taskType: 'douyin_live', priceFen: 50_000, brief },
      { orderId: orderIds[2], creatorId: `k-co-${stamp}-2`, taskType: 'xigua_video', priceFen: 80_000, brief },
    ],
  };
  const placed = await stack.post('/v1/checkouts', checkout);
  expect([placed.status, placed.body.status]).toEqual([201, 'completed']);
  return { checkoutId: checkout.checkoutId, orderIds, boostOrderId };
}

test('C5: ops open a checkout, see its lines with their orders and money, follow a line to its order and back; bad ids get an error page with the navigation', async () => {
  const { checkoutId, orderIds, boostOrderId } = await placedCheckout();
  const context = await browser.newContext({ viewport: WIDE });
  const page = await signIn(context, 'alice');

  // Found from the search by its id.
  await page.goto(`${stack.baseUrl}/console/ops/orders`);
  await page.fill('input[name=checkoutId]', checkoutId);
  await page.press('input[name=checkoutId]', 'Enter');
  await page.waitForURL(`**/console/ops/checkouts/${checkoutId}`);
  const text = await page.locator('main').innerText();
  expect(text).toContain('completed');
  expect(text).toContain('¥2,630.00'); // the total: 120 000 + 55 000 + 88 000 fen
  expect(text).toContain('CheckoutPaid');
  const rows = page.locator('table').filter({ hasText: 'Task order' }).locator('tbody tr');
  await expect(rows.count()).resolves.toBe(3);
  for (const [i, orderId] of orderIds.entries()) await expect(rows.nth(i).locator(`a[href="/console/ops/orders/${orderId}"]`).count()).resolves.toBe(1);
  await expect(rows.nth(0).innerText()).resolves.toMatch(/awaiting_acceptance[\s\S]*awaiting_publication/);
  await shot(page, 'checkout-page');

  // A line's order page links back to its checkout; so does its boost.
  await rows.nth(0).locator(`a[href="/console/ops/orders/${orderIds[0]}"]`).click();
  await page.waitForURL(`**/console/ops/orders/${orderIds[0]}`);
  await page.locator(`a[href="/console/ops/checkouts/${checkoutId}"]`).click();
  await page.waitForURL(`**/console/ops/checkouts/${checkoutId}`);
  await page.locator(`a[href="/console/ops/boost-orders/${boostOrderId}"]`).click();
  await page.waitForURL(`**/console/ops/boost-orders/${boostOrderId}`);
  await expect(page.locator(`a[href="/console/ops/checkouts/${checkoutId}"]`).count()).resolves.toBe(1);

  // §8: an unknown id, an id with a slash or a NUL: an error page with the navigation, never a 5xx.
  for (const [id, status] of [['co-unknown', 404], ['a%2Fb', 400], ['a%00b', 400]] as const) {
    const answer = await page.goto(`${stack.baseUrl}/console/ops/checkouts/${id}`);
    expect([id, answer?.status()]).toEqual([id, status]);
    await expect(page.locator('nav').count()).resolves.toBe(1);
  }
  await context.close();
});
