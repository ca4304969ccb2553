import { approvedTaskOrder, placement, placementBody } from './support/fixtures';

import { writeCounts } from './support/db';
import { buildApp } from '../api/app';
import { freePort } from '../platform/free-port';
import { apiTemporalClient } from '../platform/temporal-client';
import { TEST_API_TOKENS, authHeader, withStack } from './support/stack';

/**
 * Boost orders (SPEC §3) through the HTTP API on the sandbox stack (the time-skipping server), so the
 * clock can move: quote, an expired quote, an order, the stats feed, progress, evaluation and the
 * refund in the ledger.
 */
const stack = withStack('sandbox');

const DAY = 24 * 3_600_000;
const { post, get } = stack;
const clockMs = async () => Date.parse((await get('/v1/sandbox/clock')).body.now);
const advance = (body: Record<string, number>) => post('/v1/sandbox/clock/advance', body);

async function ok(path: string, body: unknown, expected = [200, 201]) {
  const response = await post(path, body);
  if (!expected.includes(response.status)) throw new Error(`${path} → ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Timers fire in the worker shortly after the clock moves: poll the read model (bounded). */
async function eventually(boostOrderId: string, done: (order: any) => boolean): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  let order = (await get(`/v1/boost-orders/${boostOrderId}`)).body;
  for (let i = 0; i < 100 && !done(order); i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    order = (await get(`/v1/boost-orders/${boostOrderId}`)).body;
  }
  return order;
}


describe('boost orders through the HTTP API (sandbox clock)', () => {
  test('B1–B8, F5 roles: quote → expired quote → order → publication → stats → progress → evaluation → refund at its due time', async () => {
    const stamp = Date.now().toString(36);
    const p = placement({ clientId: `c-boost-${stamp}`, creatorId: `k-boost-${stamp}` });
    const o = `/v1/task-orders/${p.orderId}`;
    const creator = { type: 'creator', id: p.creatorId };
    await approvedTaskOrder(ok, p);

    // B8 → B2: three videos of the creator in the last 45 days, 10 000 views each.
    const now = await clockMs();
    for (const ageDays of [3, 9, 27]) {
      const stats = await post('/v1/video-stats', {
        videoId: `old-${stamp}-${ageDays}`, creatorId: p.creatorId, publishedAt: new Date(now - ageDays * DAY).toISOString(),
        views: 10_000, observedAt: new Date(now).toISOString(),
      });
      expect([stats.status, stats.body.outcome]).toEqual([201, 'created']);
    }
    // B2 (issue 12): a video older than 45 days does not count, and the quote says so.
    const tooOld = `old-${stamp}-60`;
    expect((await post('/v1/video-stats', { videoId: tooOld, creatorId: p.creatorId, publishedAt: new Date(now - 60 * DAY).toISOString(), views: 1, observedAt: new Date(now).toISOString() })).status).toBe(201);

    // B1: the quote, with its explanation; valid 30 minutes.
    const quoteOf = async () => {
      const quoted = await post('/v1/boost-quotes', { clientId: p.clientId, items: [{ creatorId: p.creatorId, priceFen: 100_000 }, { creatorId: `nobody-${stamp}`, priceFen: 50_000 }] });
      expect(quoted.status).toBe(201);
      return quoted.body.quotes;
    };
    const [first, unavailable] = await quoteOf();
    expect(first).toMatchObject({ creatorId: p.creatorId, priceFen: 100_000, available: true, reason: null, expectedViews: 10_000, premiumBp: 1000, boostFeeFen: 10_000, totalFen: 110_000, expectedCpmFen: 11_000 });
    expect(Date.parse(first.validUntilAt) - Date.parse(first.quotedAt)).toBe(30 * 60_000);
    expect(first.explanation.videosUsed).toHaveLength(3);
    expect(first.explanation.videosUsed[0]).toEqual({ videoId: expect.any(String), publishedAt: expect.any(String), views: 10_000, ageDays: expect.any(Number), weight: expect.any(Number), cumulativeWeight: expect.any(Number) });
    expect(first.explanation.videosExcluded).toEqual([{ videoId: tooOld, publishedAt: new Date(now - 60 * DAY).toISOString(), views: 1, ageDays: expect.closeTo(60, 1), reason: 'outside_window' }]);
    expect(first.explanation).toMatchObject({ medianViews: 10_000, shortfall: 0, clamped: 'min' });
    expect(unavailable).toMatchObject({ available: false, reason: 'not_enough_videos', boostFeeFen: null });

    // B1: 31 minutes later the quote has expired → 409 deadline_passed, nothing written.
    await advance({ minutes: 31 });
    const boostOrderId = `b-${stamp}`;
    const request = { boostOrderId, taskOrderId: p.orderId, clientId: p.clientId, funding: { source: 'external', paymentRef: `boost-pay-${stamp}` } };
    const before = await writeCounts(stack.database.db);
    const expired = await post('/v1/boost-orders', { ...request, quoteId: first.quoteId });
    expect([expired.status, expired.body.error.code]).toEqual([409, 'deadline_passed']);
    expect(await writeCounts(stack.database.db)).toEqual(before);

    // B3: a valid quote → ordered, the fee in escrow; the same request again → the same order; other content → 422.
    const [fresh] = await quoteOf();
    const order = { ...request, quoteId: fresh.quoteId };
    const placed = await post('/v1/boost-orders', order);
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ boostOrderId, status: 'awaiting_publication', boostFeeFen: 10_000, escrowFen: 10_000, expectedViews: 10_000, progress: null, video: null });
    expect(placed.body.deadlines).toEqual([expect.objectContaining({ kind: 'publication', at: placed.body.validUntilAt })]);
    const again = await post('/v1/boost-orders', order);
    expect([again.status, again.body.version]).toEqual([200, placed.body.version]);
    const other = await post('/v1/boost-orders', { ...order, funding: { source: 'account' } });
    expect([other.status, other.body.error.code]).toEqual([422, 'idempotency_mismatch']);
    const second = await post('/v1/boost-orders', { ...order, boostOrderId: `b2-${stamp}` });
    expect([second.status, second.body.error.code]).toEqual([409, 'invalid_state']);

    // T18 → B5: publication starts 14 days of boost.
    const videoId = `v-${stamp}`;
    const publishedAt = new Date(await clockMs()).toISOString();
    await ok(`${o}/publish`, { actor: creator, videoId, publishedAt });
    const boosting = await eventually(boostOrderId, (b) => b.status === 'boosting');
    expect(boosting).toMatchObject({ video: { videoId, publishedAt }, progress: { viewsSoFar: null, ifEndedNow: null, ended: false } });

    // B8: counts never decrease.
    const stat = (views: number) => post('/v1/video-stats', { videoId, creatorId: p.creatorId, publishedAt, views, observedAt: new Date().toISOString() });
    expect((await stat(9_000)).status).toBe(201);
    expect((await stat(9_500)).body.outcome).toBe('updated');
    const lower = await stat(9_400);
    expect([lower.status, lower.body.error.code]).toEqual([409, 'invalid_state']);
    expect(lower.body.error.message).toMatch(/lower than the stored 9500/);
    expect([(await stat(9_500)).status, (await stat(9_500)).body.outcome]).toEqual([200, 'unchanged']);

    // B5: progress now.
    const progress = (await get(`/v1/boost-orders/${boostOrderId}`)).body.progress;
    expect(progress).toMatchObject({ viewsSoFar: 9_500, expectedViews: 10_000, ended: false, ifEndedNow: { succeeded: false, compensationFen: 5_500, platformKeepsFen: 4_500 } });
    expect(progress.timeLeftMs).toBeGreaterThan(13 * DAY);
    expect(progress.timeLeftMs).toBeLessThanOrEqual(14 * DAY);

    // F5 is finance's (and ops'): the backend may not release; nothing to release yet.
    const byBackend = await post(`/v1/boost-orders/${boostOrderId}/release-refund`, {});
    expect(byBackend.status).toBe(403);
    const tooEarly = await post(`/v1/boost-orders/${boostOrderId}/release-refund`, {}, authHeader('finance'));
    expect([tooEarly.status, tooEarly.body.error.code]).toEqual([409, 'invalid_state']);

    // B6: 14 days later: evaluated with 9 500 views → 5 500 back within 7 business days, 4 500 kept.
    await advance({ days: 14, minutes: 1 });
    const scheduled = await eventually(boostOrderId, (b) => b.status === 'refund_scheduled');
    expect(scheduled).toMatchObject({ evaluation: { actualViews: 9_500, succeeded: false, compensationFen: 5_500, platformKeepsFen: 4_500 }, refund: { amountFen: 5_500, postedAt: null } });
    const dueAtMs = Date.parse(scheduled.refund.dueAt);
    expect(new Date(dueAtMs).toISOString().slice(11)).toBe('16:00:00.000Z'); // 24:00 Asia/Shanghai

    // B7: at its due time the refund is posted automatically.
    await advance({ seconds: Math.ceil((dueAtMs - (await clockMs())) / 1000) + 60 });
    const closed = await eventually(boostOrderId, (b) => b.status === 'closed');
    expect(closed).toMatchObject({ escrowFen: 0, refund: { amountFen: 5_500, early: false } });
    expect(Date.parse(closed.refund.postedAt)).toBeGreaterThanOrEqual(dueAtMs);
    const late = await post(`/v1/boost-orders/${boostOrderId}/release-refund`, {}, authHeader('finance'));
    expect([late.status, late.body.error.code]).toEqual([409, 'deadline_passed']);

    // The outcome in the ledger (L1/L6): external 10 000 in; 4 500 to the platform; 5 500 to the client; escrow 0.
    const transfers = await stack.database.db
      .selectFrom('ledger_transfers')
      .innerJoin('ledger_transactions', 'ledger_transactions.tx_id', 'ledger_transfers.tx_id')
      .select(['ledger_transactions.kind', 'ledger_transactions.occurred_at', 'debit_account', 'credit_account', 'amount_fen'])
      .where('ledger_transactions.order_id', '=', boostOrderId)
      .orderBy('ledger_transactions.seq')
      .execute();
    expect(transfers.map((t) => [t.kind, t.debit_account, t.credit_account, t.amount_fen])).toEqual([
      ['boost_payment', 'external:payments', `escrow:boost:${boostOrderId}`, 10_000n],
      ['boost_premium', `escrow:boost:${boostOrderId}`, 'platform:boost_premiums', 4_500n],
      ['boost_refund', `escrow:boost:${boostOrderId}`, `client:${p.clientId}`, 5_500n],
    ]);
    expect(transfers[2]!.occurred_at.getTime()).toBeGreaterThanOrEqual(dueAtMs);
    const escrow = await get(`/v1/ledger/accounts/${encodeURIComponent(`escrow:boost:${boostOrderId}`)}`, authHeader('finance'));
    expect([escrow.status, escrow.body.balanceFen]).toEqual([200, 0]);

    // O2: ops inspect the boost order: its events, its ledger transactions, Temporal's description
    const inspection = await get(`/v1/ops/boost-orders/${boostOrderId}`, authHeader('ops'));
    expect(inspection.status).toBe(200);
    // The order as GET /v1/boost-orders shows it, and event payloads with ISO instants (issue 12, SPEC §1).
    expect(inspection.body).toMatchObject({ kind: 'boost', order: { boostOrderId, status: 'closed', refund: { amountFen: 5_500 } }, temporal: { workflowId: `boost-order:${boostOrderId}`, startedAt: expect.any(String) } });
    const refundScheduled = inspection.body.events.find((e: { type: string }) => e.type === 'RefundScheduled').payload;
    expect(refundScheduled).toMatchObject({ type: 'RefundScheduled', amountFen: 5_500, dueAt: new Date(dueAtMs).toISOString() });
    expect(refundScheduled).not.toHaveProperty('dueAtMs');
    expect(JSON.stringify(inspection.body)).not.toMatch(/AtMs"|"validUntilMs"/);
    expect(inspection.body.events.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['BoostOrdered', 'BoostEvaluated', 'RefundPosted']));
    expect(inspection.body.ledger.map((t: { kind: string }) => t.kind)).toEqual(['boost_payment', 'boost_premium', 'boost_refund']);
    expect((await get('/v1/ops/boost-orders/b-unknown', authHeader('ops'))).status).toBe(404);
  }, 60_000); // a whole lifecycle: more than the default 5 s on a loaded machine (then its clock moves under the next tests)

  test('§8 (issue 12): a well-formed boost order a rule refuses is 409, not 400: a douyin_live task, an unavailable quote', async () => {
    const stamp = `r${Date.now().toString(36)}`;
    const live = placement({ clientId: `c-live-${stamp}`, creatorId: `k-live-${stamp}`, taskType: 'douyin_live' });
    await ok('/v1/task-orders', placementBody(live));
    const [liveQuote] = (await ok('/v1/boost-quotes', { items: [{ creatorId: live.creatorId, priceFen: 100_000 }] })).quotes;
    const before = await writeCounts(stack.database.db);
    const onLive = await post('/v1/boost-orders', { boostOrderId: `b-live-${stamp}`, taskOrderId: live.orderId, clientId: live.clientId, quoteId: liveQuote.quoteId, funding: { source: 'account' } });
    expect([onLive.status, onLive.body.error]).toEqual([409, expect.objectContaining({ code: 'invalid_state', details: expect.objectContaining({ taskType: 'douyin_live' }) })]);
    expect(await writeCounts(stack.database.db)).toEqual(before);

    const video = placement({ clientId: `c-unav-${stamp}`, creatorId: `k-unav-${stamp}` });
    await ok('/v1/task-orders', placementBody(video));
    const [unavailable] = (await ok('/v1/boost-quotes', { items: [{ creatorId: video.creatorId, priceFen: 100_000 }] })).quotes;
    expect(unavailable).toMatchObject({ available: false, reason: 'not_enough_videos' });
    const beforeUnavailable = await writeCounts(stack.database.db);
    const onUnavailable = await post('/v1/boost-orders', { boostOrderId: `b-unav-${stamp}`, taskOrderId: video.orderId, clientId: video.clientId, quoteId: unavailable.quoteId, funding: { source: 'account' } });
    expect([onUnavailable.status, onUnavailable.body.error]).toEqual([409, expect.objectContaining({ code: 'invalid_state', details: { quoteId: unavailable.quoteId, reason: 'not_enough_videos' } })]);
    expect(await writeCounts(stack.database.db)).toEqual(beforeUnavailable);
  }, 60_000);

  test('B8/§8 (issue 18): a count whose wake-up cannot reach Temporal answers 503 unavailable with Retry-After (the count stored); the retry answers 200 unchanged and the evaluation proceeds', async () => {
    const stamp = `w${Date.now().toString(36)}`;
    const p = placement({ clientId: `c-wake-${stamp}`, creatorId: `k-wake-${stamp}` });
    await approvedTaskOrder(ok, p);
    const now = await clockMs();
    for (const ageDays of [3, 9, 27]) {
      await ok('/v1/video-stats', { videoId: `old-${stamp}-${ageDays}`, creatorId: p.creatorId, publishedAt: new Date(now - ageDays * DAY).toISOString(), views: 10_000, observedAt: new Date(now).toISOString() });
    }
    const [quoted] = (await ok('/v1/boost-quotes', { clientId: p.clientId, items: [{ creatorId: p.creatorId, priceFen: 100_000 }] })).quotes;
    const boostOrderId = `b-${stamp}`;
    await ok('/v1/boost-orders', { boostOrderId, taskOrderId: p.orderId, clientId: p.clientId, quoteId: quoted.quoteId, funding: { source: 'external', paymentRef: `boost-pay-${stamp}` } });
    const videoId = `v-${stamp}`;
    const publishedAt = new Date(await clockMs()).toISOString();
    await ok(`/v1/task-orders/${p.orderId}/publish`, { actor: { type: 'creator', id: p.creatorId }, videoId, publishedAt });
    await eventually(boostOrderId, (b) => b.status === 'boosting');
    // The 14 days end with no count: the evaluation waits (B8).
    await advance({ days: 14, minutes: 1 });
    expect((await eventually(boostOrderId, (b) => b.status === 'evaluating')).status).toBe('evaluating');

    // The feed posts the count to an API instance that cannot reach Temporal (a restart, a partition).
    const nowhere = apiTemporalClient(`127.0.0.1:${await freePort()}`, 'default');
    const cut = buildApp({ db: stack.database.db, client: nowhere.client, taskQueue: stack.taskQueue, tokens: TEST_API_TOKENS });
    const cutUrl = await cut.listen({ host: '127.0.0.1', port: 0 });
    const body = { videoId, creatorId: p.creatorId, publishedAt, views: 12_000, observedAt: new Date().toISOString() };
    const key = { 'idempotency-key': `stats-${stamp}` };
    try {
      const response = await fetch(`${cutUrl}/v1/video-stats`, { method: 'POST', headers: { 'content-type': 'application/json', ...authHeader('backend'), ...key }, body: JSON.stringify(body) });
      const answer = (await response.json()) as { error?: { code: string; details: unknown } };
      expect([response.status, response.headers.get('retry-after'), answer.error?.code, answer.error?.details]).toEqual([503, '1', 'unavailable', { dependency: 'temporal' }]);
    } finally {
      await cut.close();
      await nowhere.connection.close();
    }
    // The count is stored (the write is idempotent), the evaluation still waits: nothing woke it.
    const waiting = (await get(`/v1/boost-orders/${boostOrderId}`)).body;
    expect([waiting.status, waiting.progress.viewsSoFar]).toEqual(['evaluating', 12_000]);

    // The caller retries (same body, same Idempotency-Key: a 503 is not stored): 200 unchanged, and the wake-up goes through.
    const retried = await post('/v1/video-stats', body, key);
    expect([retried.status, retried.body.outcome, retried.body.views]).toEqual([200, 'unchanged', 12_000]);
    const closed = await eventually(boostOrderId, (b) => b.status === 'closed');
    expect(closed).toMatchObject({ status: 'closed', evaluation: { actualViews: 12_000, succeeded: true, compensationFen: 0, platformKeepsFen: 10_000 } });
  }, 60_000);

  test('validation: malformed bodies are 400, an unknown boost order is 404', async () => {
    for (const body of [{}, { videoId: 'v', creatorId: 'k', publishedAt: 'yesterday', views: 1, observedAt: new Date().toISOString() }, { videoId: 'v', creatorId: 'k', publishedAt: new Date().toISOString(), views: -1, observedAt: new Date().toISOString() }]) {
      expect((await post('/v1/video-stats', body)).status).toBe(400);
    }
    expect((await post('/v1/boost-quotes', { items: [] })).status).toBe(400);
    expect((await post('/v1/boost-quotes', { items: Array.from({ length: 21 }, () => ({ creatorId: 'k', priceFen: 1 })) })).status).toBe(400);
    expect((await get('/v1/boost-orders/b-missing')).status).toBe(404);
    const doc = (await get('/v1/openapi.json')).body;
    for (const path of ['/v1/video-stats', '/v1/boost-quotes', '/v1/boost-orders', '/v1/boost-orders/{boostOrderId}', '/v1/boost-orders/{boostOrderId}/release-refund']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    const unknownQuote = await post('/v1/boost-orders', { boostOrderId: 'b-x', taskOrderId: 'o-missing', clientId: 'c', quoteId: 'q-missing', funding: { source: 'account' } });
    expect([unknownQuote.status, unknownQuote.body.error.code]).toEqual([404, 'not_found']);
  });
});
