import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { OpenApiDocument } from '../api/openapi';
import { placement, placementBody } from './support/fixtures';
import { TEST_TOKENS, withStack } from './support/stack';

/**
 * Issue 12 item 3 / SPEC §8 "a human-readable docs page": GET /docs is Swagger UI, served by the API
 * itself, loaded in a real headless Chromium. It renders every operation of the served document,
 * only this origin is contacted (no CDN), nothing violates the page's CSP, and an integrator can
 * "try it": a call without a token is refused (401), with the bearer token entered in the
 * Authorize dialog it answers 200 with the real order, and the token survives a reload.
 *
 * `UPDATE_SCREENSHOTS=1` also writes docs/screenshots/api-reference.png.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let doc: OpenApiDocument;
let browser: Browser;
let orderId: string;

beforeAll(() => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
});
const stack = withStack('dev', {
  setUp: async () => {
    doc = (await stack.get('/v1/openapi.json', { authorization: '' })).body;
    const p = placement();
    orderId = p.orderId;
    expect((await stack.post('/v1/task-orders', placementBody(p))).status).toBe(201);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  },
  tearDown: async () => {
    await browser?.close();
  },
});

interface Watched {
  readonly page: Page;
  readonly problems: string[];
  readonly foreign: string[];
}

/** A page that records console errors, script errors and every request leaving this origin. */
async function openDocs(context: Browser | BrowserContext): Promise<Watched> {
  const page = await context.newPage();
  const problems: string[] = [];
  const foreign: string[] = [];
  page.on('console', (message) => {
    // A try-it call answered 401/404 is logged by the browser as a failed load: that is the API
    // answering; the page's own files are checked by their responses below.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('response', (response) => {
    if (new URL(response.url()).pathname.startsWith('/docs') && response.status() !== 200) problems.push(`${response.url()} → ${response.status()}`);
  });
  page.on('request', (request) => {
    if (!request.url().startsWith(stack.baseUrl) && !request.url().startsWith('data:')) foreign.push(request.url());
  });
  await page.goto(`${stack.baseUrl}/docs`);
  await page.waitForSelector('.opblock', { timeout: 30_000 });
  return { page, problems, foreign };
}

const operationIds = () => Object.values(doc.paths).flatMap((methods) => Object.values(methods).map((op) => op.operationId));

/** Expands GET /v1/task-orders/{orderId}, fills the id and executes it: the status and body shown. */
async function tryGetOrder(page: Page, id: string): Promise<{ status: string; body: string }> {
  const block = page.locator('[id$="-getV1TaskOrdersOrderId"]');
  if (!(await block.locator('.btn.execute').isVisible())) await block.locator('.opblock-summary-control').click();
  await block.locator('tr[data-param-name="orderId"] input').fill(id);
  await block.locator('.btn.execute').click();
  const status = block.locator('.live-responses-table tr.response .response-col_status').first();
  await status.waitFor({ timeout: 20_000 });
  return { status: (await status.innerText()).trim(), body: await block.locator('.live-responses-table tr.response .response-col_description pre').first().innerText() };
}

describe('GET /docs: Swagger UI over the served document (issue 12, SPEC §8)', () => {
  test('renders every operation of the document, from this origin only, with its CSP and no script error', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const { page, problems, foreign } = await openDocs(context);
    const rendered = await page.$$eval('.opblock', (blocks) => blocks.map((b) => b.id));
    expect(rendered.length).toBe(operationIds().length);
    for (const id of operationIds()) expect({ id, rendered: rendered.some((r) => r.endsWith(`-${id}`)) }).toEqual({ id, rendered: true });
    // "Try it out" is on for every operation, for every method, and the token is kept across reloads.
    const config = await page.evaluate(() => {
      const ui = (globalThis as unknown as { ui: { getConfigs(): Record<string, unknown> } }).ui.getConfigs();
      return { tryItOutEnabled: ui.tryItOutEnabled, persistAuthorization: ui.persistAuthorization, methods: ui.supportedSubmitMethods, url: ui.url };
    });
    expect(config).toEqual({ tryItOutEnabled: true, persistAuthorization: true, methods: expect.arrayContaining(['get', 'post', 'delete']), url: '/v1/openapi.json' });
    const response = await fetch(`${stack.baseUrl}/docs`);
    expect(response.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(await response.text()).not.toMatch(/https?:\/\//);
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
    // The recorded examples (api/examples) are offered for the request body and shown per response status.
    const place = page.locator('[id$="-postV1TaskOrders"]');
    await place.locator('.opblock-summary-control').click();
    const requestExamples = place.locator('.opblock-section-request-body select.examples-select-element option');
    await requestExamples.first().waitFor({ state: 'attached', timeout: 10_000 });
    expect(await requestExamples.allInnerTexts()).toEqual(expect.arrayContaining([expect.stringContaining('T1, T3: place a full-mode order paid externally')]));
    expect(JSON.parse(await place.locator('.opblock-section-request-body textarea.body-param__text').inputValue())).toMatchObject({ orderId: 'o-ex-full', paymentMode: 'full' });
    expect(await place.locator('.responses-table tr[data-code="422"]').innerText()).toContain('idempotency_mismatch');
    if (process.env.UPDATE_SCREENSHOTS === '1') {
      mkdirSync(join(__dirname, '..', 'docs', 'screenshots'), { recursive: true });
      await place.scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(__dirname, '..', 'docs', 'screenshots', 'api-reference.png') });
    }
    await context.close();
  }, 60_000);

  test('try it: refused without a token, the real order with the bearer token, the token kept after a reload', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const { page, problems, foreign } = await openDocs(context);
    const anonymous = await tryGetOrder(page, orderId);
    expect(anonymous.status).toBe('401');
    expect(anonymous.body).toContain('unauthenticated');

    await page.locator('.auth-wrapper button.authorize').click();
    await page.locator('#auth-bearer-value').fill(TEST_TOKENS.backend);
    await page.locator('.auth-container button.modal-btn.authorize').click();
    await page.locator('.auth-container button.btn-done').click();
    const authorized = await tryGetOrder(page, orderId);
    expect(authorized.status).toBe('200');
    expect(JSON.parse(authorized.body)).toMatchObject({ orderId, status: 'awaiting_acceptance' });
    const missing = await tryGetOrder(page, 'o-not-there');
    expect(missing.status).toBe('404');

    // persistAuthorization: a reload keeps the token (in this browser's local storage).
    await page.reload();
    await page.waitForSelector('.opblock', { timeout: 30_000 });
    expect((await tryGetOrder(page, orderId)).status).toBe('200');
    const block = page.locator('[id$="-getV1TaskOrdersOrderId"]');
    await block.scrollIntoViewIfNeeded();
    await block.locator('.live-responses-table').scrollIntoViewIfNeeded();
    await page.screenshot({ path: process.env.UPDATE_SCREENSHOTS === '1' ? join(__dirname, '..', 'docs', 'screenshots', 'api-reference-try-it.png') : join(tmpdir(), 'xingtu-api-reference-try-it.png') });
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);
});
