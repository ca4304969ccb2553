import { writeCounts } from './support/db';
import { TEST_TOKENS, authHeader, withStack } from './support/stack';

/**
 * Checkouts (SPEC C1–C5) through the HTTP API, as the main backend drives them, on the whole
 * stack (HTTP API, worker, Temporal dev server, PostgreSQL): a client's account topped up, a
 * creator's videos fed so that its boost is available, a quote, a preview that writes nothing, a
 * three-line checkout (one boosted) placed and paid once, read back by the backend, ops and
 * finance, told on the feed; a repeat, a conflict and refusals; the console's checkout page.
 */
const stack = withStack('dev');
const { post, get } = stack;

const DAY = 24 * 3_600_000;
const stamp = Date.now().toString(36);
let seq = 0;
const unique = (prefix: string) => `${prefix}-${stamp}-${(seq += 1)}`;
const brief = { title: 'Autumn launch', industry: 'beauty', expectedPublishAt: '2031-01-01T00:00:00.000Z' };

// Line 0 (boosted): 100 000 + 10% fee + a 10 000 boost fee; line 1: 50 000 + 5 000; line 2: 80 000 + 8 000.
const TOTAL = 120_000 + 55_000 + 88_000;

async function topUp(clientId: string, amountFen: number): Promise<void> {
  const response = await post(`/v1/clients/${clientId}/top-ups`, { paymentRef: unique('top'), amountFen });
  expect(response.status).toBe(201);
}

/** B8 → B1: three videos of 10 000 views in the last 45 days, then the quote for that creator at 100 000 fen. */
async function boostQuote(clientId: string, creatorId: string): Promise<string> {
  const now = Date.now();
  for (const ageDays of [5, 10, 15]) {
    const stats = await post('/v1/video-stats', { videoId: unique('v'), creatorId, publishedAt: new Date(now - ageDays * DAY).toISOString(), views: 10_000, observedAt: new Date(now).toISOString() });
    expect(stats.status).toBe(201);
  }
  const quoted = await post('/v1/boost-quotes', { clientId, items: [{ creatorId, priceFen: 100_000 }] });
  expect(quoted.status).toBe(201);
  expect(quoted.body.quotes[0]).toMatchObject({ available: true, boostFeeFen: 10_000, expectedViews: 10_000 });
  return quoted.body.quotes[0].quoteId as string;
}

/** A three-line basket for a client, its first line boosted. */
async function basket(clientId: string) {
  const boosted = unique('k');
  const quoteId = await boostQuote(clientId, boosted);
  return {
    checkoutId: unique('co'),
    clientId,
    paymentMode: 'full',
    funding: { source: 'account' },
    lines: [
      { orderId: unique('o'), creatorId: boosted, taskType: 'douyin_video', priceFen: 100_000, brief, boost: { boostOrderId: unique('b'), quoteId } },
      { orderId: unique('o'), creatorId: unique('k'), taskType: 'douyin_live', priceFen: 50_000, brief },
      { orderId: unique('o'), creatorId: unique('k'), taskType: 'xigua_video', priceFen: 80_000, brief },
    ],
  };
}
type Basket = Awaited<ReturnType<typeof basket>>;

/** The rows stored for a basket's ids: a refusal leaves none. */
async function rowsOf(b: Basket) {
  const db = stack.database.db;
  const orderIds = b.lines.map((l) => l.orderId);
  const boostIds = b.lines.flatMap((l) => (l.boost ? [l.boost.boostOrderId] : []));
  return {
    tasks: (await db.selectFrom('task_orders').select('order_id').where('order_id', 'in', orderIds).execute()).length,
    boosts: (await db.selectFrom('boost_orders').select('boost_order_id').where('boost_order_id', 'in', boostIds).execute()).length,
    claims: (await db.selectFrom('order_id_claims').select('id').where('id', 'in', [...orderIds, ...boostIds]).execute()).length,
  };
}

/** The feed's events of one type about one checkout (the whole feed, page by page). */
async function feedOf(type: string, checkoutId: string): Promise<Array<{ payload: Record<string, unknown> }>> {
  const found: Array<{ payload: Record<string, unknown> }> = [];
  let after: string | undefined;
  for (;;) {
    const page = await get(`/v1/events?type=${type}&limit=500${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    expect(page.status).toBe(200);
    found.push(...(page.body.events as Array<{ payload: Record<string, unknown> }>).filter((e) => e.payload.checkoutId === checkoutId));
    if (!page.body.hasMore) return found;
    after = page.body.nextCursor as string;
  }
}

let placed: Basket;
let placedBody: Record<string, unknown>;
/** The checkout refused for want of money (C3). */
let poorCheckoutId: string;

describe('C1–C5: a basket placed and paid once, through the HTTP API', () => {
  test('C2: the preview prices each line and the total, says the boost is available, and writes nothing', async () => {
    const clientId = unique('c');
    await topUp(clientId, TOTAL);
    placed = await basket(clientId);
    const before = await writeCounts(stack.database.db);
    const preview = await post('/v1/checkouts/preview', placed);
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({
      totalFen: TOTAL,
      refusal: null,
      lines: [
        { lineIndex: 0, serviceFeeFen: 10_000, placementFen: 110_000, boost: { available: true, boostFeeFen: 10_000, expectedViews: 10_000 }, lineTotalFen: 120_000 },
        { lineIndex: 1, serviceFeeFen: 5_000, placementFen: 55_000, boost: null, lineTotalFen: 55_000 },
        { lineIndex: 2, serviceFeeFen: 8_000, placementFen: 88_000, boost: null, lineTotalFen: 88_000 },
      ],
    });
    expect(await writeCounts(stack.database.db)).toEqual(before);
    expect(await rowsOf(placed)).toEqual({ tasks: 0, boosts: 0, claims: 0 });
  });

  test('C1/C3/C4: placed → 201, every line placed with its boost, the total paid once and the checkout escrow drained', async () => {
    const response = await post('/v1/checkouts', placed);
    expect(response.status).toBe(201);
    placedBody = response.body;
    expect(placedBody).toMatchObject({ checkoutId: placed.checkoutId, clientId: placed.clientId, status: 'completed', totalFen: TOTAL, escrowFen: 0, failure: null });
    expect(placedBody.lines).toEqual(
      placed.lines.map((l, lineIndex) => expect.objectContaining({ lineIndex, orderId: l.orderId, orderPlaced: true, boost: l.boost ? expect.objectContaining({ ...l.boost, boostFeeFen: 10_000, boostPlaced: true }) : null })),
    );
    expect(await rowsOf(placed)).toEqual({ tasks: 3, boosts: 1, claims: 4 });
    const client = await get(`/v1/ledger/accounts/client:${placed.clientId}`);
    expect(client.body.balanceFen).toBe(0);
    const escrow = await get(`/v1/ledger/accounts/escrow:checkout:${placed.checkoutId}`);
    expect(escrow.body.balanceFen).toBe(0);
  });

  test('C5: GET shows it (backend, ops and finance alike); each order names its checkout; the feed carries checkout_completed once', async () => {
    for (const role of ['backend', 'ops', 'finance'] as const) {
      const read = await get(`/v1/checkouts/${placed.checkoutId}`, authHeader(role));
      expect([role, read.status]).toEqual([role, 200]);
      expect(read.body).toEqual(placedBody);
    }
    for (const line of placed.lines) {
      const order = await get(`/v1/task-orders/${line.orderId}`);
      expect([order.status, order.body.checkoutId, order.body.status]).toEqual([200, placed.checkoutId, 'awaiting_acceptance']);
    }
    const boost = await get(`/v1/boost-orders/${placed.lines[0]!.boost!.boostOrderId}`);
    expect([boost.status, boost.body.checkoutId]).toEqual([200, placed.checkoutId]);
    const completed = await feedOf('checkout_completed', placed.checkoutId);
    expect(completed).toHaveLength(1);
    expect(completed[0]!.payload).toMatchObject({ checkoutId: placed.checkoutId, totalFen: TOTAL, lines: placed.lines.map((l) => ({ orderId: l.orderId, boostOrderId: l.boost?.boostOrderId ?? null })) });
  });

  test('C4: the same checkoutId with the same content answers 200 the same; with other content 409, nothing written', async () => {
    const before = await writeCounts(stack.database.db);
    const again = await post('/v1/checkouts', placed);
    expect([again.status, again.body]).toEqual([200, placedBody]);
    const other = await post('/v1/checkouts', { ...placed, paymentMode: 'deposit' });
    expect([other.status, other.body.error.code, other.body.error.details.checkoutId]).toEqual([409, 'invalid_state', placed.checkoutId]);
    expect(await writeCounts(stack.database.db)).toEqual(before);
  });

  test('C3/C5: not enough money → 409 insufficient_funds; nothing placed or paid; GET shows it failed; the feed carries checkout_failed; the same again answers the same', async () => {
    const clientId = unique('c');
    await topUp(clientId, TOTAL - 1);
    const poor = await basket(clientId);
    poorCheckoutId = poor.checkoutId;
    const refused = await post('/v1/checkouts', poor);
    expect([refused.status, refused.body.error.code]).toEqual([409, 'insufficient_funds']);
    expect(refused.body.error.details).toMatchObject({ checkoutId: poor.checkoutId });
    expect(refused.body.error.details.lineIndex).toBeUndefined(); // the payment itself failed, no line
    expect(await rowsOf(poor)).toEqual({ tasks: 0, boosts: 0, claims: 0 });
    expect((await get(`/v1/ledger/accounts/client:${clientId}`)).body.balanceFen).toBe(TOTAL - 1);
    const read = await get(`/v1/checkouts/${poor.checkoutId}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ status: 'failed', escrowFen: 0, failure: { lineIndex: null, code: 'insufficient_funds' } });
    expect(read.body.lines.every((l: { orderPlaced: boolean }) => !l.orderPlaced)).toBe(true);
    const failed = await feedOf('checkout_failed', poor.checkoutId);
    expect(failed.map((e) => e.payload)).toEqual([expect.objectContaining({ checkoutId: poor.checkoutId, lineIndex: null, code: 'insufficient_funds' })]);
    const before = await writeCounts(stack.database.db);
    const again = await post('/v1/checkouts', poor);
    expect([again.status, again.body.error.code]).toEqual([409, 'insufficient_funds']);
    expect(await writeCounts(stack.database.db)).toEqual(before);
  });

  test('C3: an orderId another order already uses → 409 invalid_state with details.lineIndex; nothing placed or paid', async () => {
    const clientId = unique('c');
    await topUp(clientId, TOTAL);
    const b = await basket(clientId);
    const taken = { ...b, lines: [b.lines[0]!, b.lines[1]!, { ...b.lines[2]!, orderId: placed.lines[1]!.orderId }] };
    const refused = await post('/v1/checkouts', taken);
    expect([refused.status, refused.body.error.code, refused.body.error.details.lineIndex]).toEqual([409, 'invalid_state', 2]);
    expect(await rowsOf(b)).toEqual({ tasks: 0, boosts: 0, claims: 0 });
    expect((await get(`/v1/ledger/accounts/client:${clientId}`)).body.balanceFen).toBe(TOTAL);
  });
});

describe('C5: ops see a checkout with its orders', () => {
  test('GET /v1/ops/checkouts/{id}: the checkout, each order and boost with its status, its events and its payment; ops only', async () => {
    const inspection = await get(`/v1/ops/checkouts/${placed.checkoutId}`, authHeader('ops'));
    expect(inspection.status).toBe(200);
    expect(inspection.body).toMatchObject({ kind: 'checkout', checkout: placedBody });
    expect(inspection.body.orders).toEqual(
      placed.lines.map((l, lineIndex) => ({ lineIndex, orderId: l.orderId, orderStatus: 'awaiting_acceptance', boostOrderId: l.boost?.boostOrderId ?? null, boostStatus: l.boost ? 'awaiting_publication' : null })),
    );
    expect(inspection.body.events.map((e: { type: string }) => e.type)).toEqual(['CheckoutPaid', ...Array(4).fill(expect.stringMatching(/^Checkout(Task|Boost)Placed$/)), 'CheckoutCompleted']);
    // Its own payment only (L3 prefixes): each line's placement is on its order's inspection.
    expect(inspection.body.ledger).toEqual([expect.objectContaining({ kind: 'checkout_payment', transfers: [{ debitAccount: `client:${placed.clientId}`, creditAccount: `escrow:checkout:${placed.checkoutId}`, amountFen: TOTAL }] })]);
    expect(inspection.body.temporal).toMatchObject({ workflowId: `checkout:${placed.checkoutId}`, status: expect.stringMatching(/^(RUNNING|COMPLETED)$/) }); // it may still be closing
    for (const role of ['backend', 'finance'] as const) {
      const refused = await get(`/v1/ops/checkouts/${placed.checkoutId}`, authHeader(role));
      expect([role, refused.status, refused.body.error.code]).toEqual([role, 403, 'forbidden']);
    }
    const unknown = await get('/v1/ops/checkouts/co-unknown', authHeader('ops'));
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'not_found']);
  });

  test('a failed checkout: its refusal, no order, no ledger transaction', async () => {
    const inspection = await get(`/v1/ops/checkouts/${poorCheckoutId}`, authHeader('ops'));
    expect(inspection.status).toBe(200);
    expect(inspection.body.checkout).toMatchObject({ status: 'failed', failure: { code: 'insufficient_funds' } });
    expect(inspection.body.orders.every((o: { orderStatus: unknown; boostStatus: unknown }) => o.orderStatus === null && o.boostStatus === null)).toBe(true);
    expect(inspection.body.events.map((e: { type: string }) => e.type)).toEqual(['CheckoutRefused']);
    expect(inspection.body.ledger).toEqual([]);
  });
});

describe('C5: the console shows a checkout with its orders', () => {
  /** Signs in through the form as a browser would; the session cookie. */
  async function signIn(role: 'ops' | 'finance'): Promise<string> {
    const form = await fetch(`${stack.baseUrl}/console/sign-in`);
    const nonceCookie = (form.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const response = await fetch(`${stack.baseUrl}/console/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: nonceCookie },
      body: new URLSearchParams({ _csrf: nonceCookie.split('=')[1] as string, token: TEST_TOKENS[role] }).toString(),
    });
    const session = response.headers.getSetCookie().find((c) => c.startsWith('xingtu_console='));
    if (!session) throw new Error(`console sign-in failed for ${role}: ${response.status}`);
    return session.split(';')[0] as string;
  }

  const page = async (cookie: string, path: string) => {
    const response = await fetch(`${stack.baseUrl}${path}`, { headers: { cookie }, redirect: 'manual' });
    return { status: response.status, text: await response.text(), location: response.headers.get('location') };
  };

  test('the checkout page lists its lines, each linking to its task and boost order pages, and those pages link back', async () => {
    const cookie = await signIn('ops');
    const checkout = await page(cookie, `/console/ops/checkouts/${placed.checkoutId}`);
    expect(checkout.status).toBe(200);
    for (const line of placed.lines) expect(checkout.text).toContain(`href="/console/ops/orders/${line.orderId}"`);
    const boostOrderId = placed.lines[0]!.boost!.boostOrderId;
    expect(checkout.text).toContain(`href="/console/ops/boost-orders/${boostOrderId}"`);
    expect(checkout.text).toContain(`data-fen="${TOTAL}"`);
    expect(checkout.text).toContain('CheckoutCompleted');
    const back = `href="/console/ops/checkouts/${placed.checkoutId}"`;
    expect((await page(cookie, `/console/ops/orders/${placed.lines[1]!.orderId}`)).text).toContain(back);
    expect((await page(cookie, `/console/ops/boost-orders/${boostOrderId}`)).text).toContain(back);
    // The search finds it by id.
    const searched = await page(cookie, `/console/ops/orders?checkoutId=${placed.checkoutId}`);
    expect([searched.status, searched.location]).toEqual([303, `/console/ops/checkouts/${placed.checkoutId}`]);
  });

  test('§8: an unknown id, odd bytes, a slash, a finance session: a clear error page with a way back, never a 5xx; nothing written', async () => {
    const cookie = await signIn('ops');
    const before = await writeCounts(stack.database.db);
    const cases: Array<[string, number]> = [
      ['/console/ops/checkouts/co-unknown', 404],
      ['/console/ops/checkouts/a%00b', 400],
      ['/console/ops/checkouts/%ED%A0%80', 400],
      ['/console/ops/checkouts/%FF', 400],
      ['/console/ops/checkouts/a%2Fb', 400],
      ['/console/ops/checkouts/a/b', 404],
      ['/console/ops/checkouts/%3Cscript%3E', 400],
      [`/console/ops/checkouts/${'x'.repeat(65)}`, 400],
    ];
    for (const [path, status] of cases) {
      const answer = await page(cookie, path);
      expect([path, answer.status]).toEqual([path, status]);
      expect(answer.text).toContain('href="/console"');
      expect(answer.text).not.toContain('<script>');
    }
    const finance = await page(await signIn('finance'), `/console/ops/checkouts/${placed.checkoutId}`);
    expect(finance.status).toBe(403);
    expect(finance.text).toContain('<nav');
    expect(await writeCounts(stack.database.db)).toEqual(before);
  });
});
