import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { placement, placementBody } from './support/fixtures';
import { balances } from './support/ledger';
import { TEST_PERSON_TOKENS, authHeader, withStack } from './support/stack';

/**
 * SPEC F5/F6 in a real browser: a boost refund scheduled for the 7th business day (B6, B7) is
 * listed among the scheduled refunds; finance release it early with a reason after a preview of
 * where the money goes, and the client's account receives exactly the previewed amount, once.
 */
jest.setTimeout(120_000);

const DAY = 86_400_000;
const SHOTS = process.env.SCREENSHOTS === '1' ? join(__dirname, '..', 'docs', 'screenshots') : undefined;
let browser: Browser;

const stack = withStack('sandbox', {
  setUp: async () => {
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  },
  tearDown: async () => {
    await browser?.close();
  },
});

const { post } = stack;
const clockMs = async () => Date.parse((await stack.get('/v1/sandbox/clock')).body.now);

/** A published, boosted video with 9 500 of 10 000 expected views: 5 500 fen refund scheduled (B6). */
async function boostWithScheduledRefund(): Promise<{ boostOrderId: string; clientId: string }> {
  const stamp = Date.now().toString(36);
  const p = placement({ clientId: `c-rf-${stamp}`, creatorId: `k-rf-${stamp}` });
  const o = `/v1/task-orders/${p.orderId}`;
  const creator = { type: 'creator', id: p.creatorId };
  expect((await post('/v1/task-orders', placementBody(p))).status).toBe(201);
  await post(`${o}/accept`, { actor: creator });
  await post(`${o}/videos`, { actor: creator, draftId: 'd1' });
  await post(`${o}/reviews`, { actor: { type: 'client', id: p.clientId }, decision: 'approve' });
  const now = await clockMs();
  for (const ageDays of [3, 9, 27]) {
    const at = new Date(now - ageDays * DAY).toISOString();
    expect((await post('/v1/video-stats', { videoId: `old-${stamp}-${ageDays}`, creatorId: p.creatorId, publishedAt: at, views: 10_000, observedAt: new Date(now).toISOString() })).status).toBe(201);
  }
  const [quote] = (await post('/v1/boost-quotes', { clientId: p.clientId, items: [{ creatorId: p.creatorId, priceFen: 100_000 }] })).body.quotes;
  const boostOrderId = `b-${stamp}`;
  const ordered = await post('/v1/boost-orders', { boostOrderId, taskOrderId: p.orderId, clientId: p.clientId, quoteId: quote.quoteId, funding: { source: 'external', paymentRef: `bp-${stamp}` } });
  expect(ordered.status).toBe(201);
  const videoId = `v-${stamp}`;
  const publishedAt = new Date(await clockMs()).toISOString();
  expect((await post(`${o}/publish`, { actor: creator, videoId, publishedAt })).status).toBe(200);
  expect((await post('/v1/video-stats', { videoId, creatorId: p.creatorId, publishedAt, views: 9_500, observedAt: publishedAt })).status).toBe(201);
  await post('/v1/sandbox/clock/advance', { days: 14, minutes: 1 });
  for (let i = 0; i < 100; i += 1) {
    const b = (await stack.get(`/v1/boost-orders/${boostOrderId}`)).body;
    if (b.status === 'refund_scheduled') return { boostOrderId, clientId: p.clientId };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the refund was never scheduled');
}

test('F5: finance release a scheduled boost refund early, after a preview; confirming again posts nothing more', async () => {
  const { boostOrderId, clientId } = await boostWithScheduledRefund();
  const accounts = { client: `client:${clientId}`, escrow: `escrow:boost:${boostOrderId}` };
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${stack.baseUrl}/console/sign-in`);
  await page.fill('input[name=token]', TEST_PERSON_TOKENS.fay.token); // issue 18: fay is the token's person, not a typed name
  await page.click('button[type=submit]');
  await page.waitForURL('**/console/finance/trial-balance');

  await page.click('nav a:text-is("Boost refunds")');
  const row = page.locator('tr', { hasText: boostOrderId });
  expect(await row.innerText()).toContain('¥55.00');
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'refunds.png'), fullPage: true });
  await row.locator('a.button').click();
  await page.fill('#release-reason', 'client escalated; approved by finance lead');
  await page.click('button:has-text("Preview")');
  const preview = await page.locator('table').first().innerText();
  expect(preview).toMatch(new RegExp(`client:${clientId}\\s+¥55\\.00`));
  expect(preview).toMatch(new RegExp(`escrow:boost:${boostOrderId}\\s+¥55\\.00`));
  expect(await balances(stack.database.db, accounts)).toEqual({ client: 0n, escrow: 5_500n });

  const fields = Object.fromEntries(
    await page.locator(`form[action="/console/refunds/${boostOrderId}/release"] input`).evaluateAll((inputs) => inputs.map((i) => [(i as unknown as { name: string }).name, (i as unknown as { value: string }).value])),
  );
  await page.click('button:has-text("Confirm")');
  await page.waitForURL(`**/console/refunds/${boostOrderId}/release`);
  expect(await page.locator('main').innerText()).toContain('The refund of ¥55.00 was posted');
  expect(await balances(stack.database.db, accounts)).toEqual({ client: 5_500n, escrow: 0n });
  const again = await context.request.post(`${stack.baseUrl}/console/refunds/${boostOrderId}/release`, { form: fields, maxRedirects: 0 });
  expect(again.status()).toBe(200); // the same Idempotency-Key: the first answer again
  expect(await balances(stack.database.db, accounts)).toEqual({ client: 5_500n, escrow: 0n });
  const b = (await stack.get(`/v1/boost-orders/${boostOrderId}`, authHeader('finance'))).body;
  expect(b.refund).toMatchObject({ early: true, releasedBy: { type: 'finance', id: 'fay' } });
  await page.goto(`${stack.baseUrl}/console/refunds`);
  expect(await page.locator('tr', { hasText: boostOrderId }).count()).toBe(0);
  await context.close();
});
