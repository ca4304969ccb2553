import { createXingtuClient, type XingtuClient } from '../client';
import { TEST_TOKENS, withStack } from './support/stack';
import { tokenFingerprint } from '../api/auth';

/**
 * Issue 12 item 4: the generated typed client (client/) drives a whole task lifecycle and a whole
 * boost lifecycle against the sandbox stack — and nothing else does: every call below goes through
 * `createXingtuClient`, and `tsc` checks each one (paths, parameters, bodies, response fields)
 * against client/schema.d.ts, the types generated from the served document. So the document is
 * proven by use: a response that does not match it, or a call it does not allow, fails here.
 */
let backend: XingtuClient;
let finance: XingtuClient;
let ops: XingtuClient;

const stack = withStack('sandbox', {
  setUp: async ({ baseUrl }) => {
    backend = createXingtuClient({ baseUrl, token: TEST_TOKENS.backend });
    finance = createXingtuClient({ baseUrl, token: TEST_TOKENS.finance });
    ops = createXingtuClient({ baseUrl, token: TEST_TOKENS.ops });
  },
});

const DAY_MS = 24 * 3_600_000;

/** The body of a successful call, or the test fails with the API's error. */
function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) throw new Error(`${result.response.url} → ${result.response.status} ${JSON.stringify(result.error)}`);
  return result.data;
}

async function clockMs(): Promise<number> {
  return Date.parse(ok(await backend.GET('/v1/sandbox/clock')).now);
}

/** Timers fire in the worker shortly after the clock moves: poll the boost order (bounded). */
async function boostReaches(boostOrderId: string, status: string) {
  for (let i = 0; i < 150; i += 1) {
    const order = ok(await backend.GET('/v1/boost-orders/{boostOrderId}', { params: { path: { boostOrderId } } }));
    if (order.status === status) return order;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`boost order ${boostOrderId} never reached ${status}`);
}

/** Places a full-mode order paid externally and brings it to approval: the steps both lifecycles share. */
async function approvedOrder(orderId: string, clientId: string, creatorId: string) {
  const creator = { type: 'creator' as const, id: creatorId };
  const path = { orderId };
  const placed = await backend.POST('/v1/task-orders', {
    params: { header: { 'Idempotency-Key': `place-${orderId}` } },
    body: {
      orderId, clientId, creatorId, taskType: 'douyin_video', priceFen: 100_000, paymentMode: 'full',
      funding: { source: 'external', paymentRef: `pay-${orderId}` },
      brief: { title: 'Spring launch', industry: 'beauty', expectedPublishAt: '2030-01-01T00:00:00Z' },
    },
  });
  expect(placed.response.status).toBe(201);
  expect(ok(placed)).toMatchObject({ orderId, status: 'awaiting_acceptance', priceFen: 100_000, serviceFeeFen: 10_000 });
  expect(ok(await backend.POST('/v1/task-orders/{orderId}/accept', { params: { path }, body: { actor: creator } })).status).toBe('in_production');
  const uploaded = ok(await backend.POST('/v1/task-orders/{orderId}/videos', { params: { path }, body: { actor: creator, draftId: 'draft-1' } }));
  expect(uploaded).toMatchObject({ status: 'in_review', uploads: 1 });
  const approved = ok(await backend.POST('/v1/task-orders/{orderId}/reviews', { params: { path }, body: { actor: { type: 'client', id: clientId }, decision: 'approve' } }));
  expect(approved.status).toBe('approved');
  return { creator, path };
}

describe('the typed client (client/) drives the API (issue 12)', () => {
  test('a task lifecycle: place, accept, upload, approve, publish → completed; the creator is paid in the ledger', async () => {
    const stamp = Date.now().toString(36);
    const [orderId, clientId, creatorId] = [`o-tc-${stamp}`, `c-tc-${stamp}`, `k-tc-${stamp}`];
    const { creator, path } = await approvedOrder(orderId, clientId, creatorId);

    // A business refusal is typed too: the §8 error body, with its code.
    const again = await backend.POST('/v1/task-orders/{orderId}/accept', { params: { path }, body: { actor: creator } });
    expect(again.response.status).toBe(409);
    expect(again.error?.error.code).toBe('invalid_state');

    const publishedAt = new Date(await clockMs()).toISOString();
    const completed = ok(await backend.POST('/v1/task-orders/{orderId}/publish', { params: { path }, body: { actor: creator, videoId: `v-${stamp}`, publishedAt } }));
    expect(completed).toMatchObject({ status: 'completed', escrowFen: 0, settlement: { creatorFen: 100_000, serviceFeeFen: 10_000, refundFen: 0 } });
    expect(completed.publishedVideo?.videoId).toBe(`v-${stamp}`);

    const read = ok(await backend.GET('/v1/task-orders/{orderId}', { params: { path } }));
    expect(read.version).toBe(completed.version);
    const listed = ok(await backend.GET('/v1/task-orders', { params: { query: { clientId } } }));
    expect(listed.orders.map((o) => [o.orderId, o.status])).toEqual([[orderId, 'completed']]);

    const account = ok(await finance.GET('/v1/ledger/accounts/{account}', { params: { path: { account: `creator:${creatorId}` } } }));
    expect(account.balanceFen).toBe(100_000);
    expect(account.entries.map((e) => [e.direction, e.amountFen, e.orderId])).toEqual([['credit', 100_000, orderId]]);
    const escrow = ok(await backend.GET('/v1/ledger/accounts/{account}', { params: { path: { account: `escrow:task:${orderId}` } } }));
    expect(escrow.balanceFen).toBe(0);
  });

  test('a boost lifecycle: stats, quote, boost order, publication, progress, 14 days, evaluation, refund released', async () => {
    const stamp = Date.now().toString(36);
    const [orderId, clientId, creatorId, boostOrderId] = [`o-tb-${stamp}`, `c-tb-${stamp}`, `k-tb-${stamp}`, `b-tb-${stamp}`];
    const { creator, path } = await approvedOrder(orderId, clientId, creatorId);

    // B8 → B2: three videos in the last 45 days, 10 000 views each.
    const now = await clockMs();
    for (const ageDays of [3, 9, 27]) {
      const stats = await backend.POST('/v1/video-stats', {
        body: { videoId: `old-${stamp}-${ageDays}`, creatorId, publishedAt: new Date(now - ageDays * DAY_MS).toISOString(), views: 10_000, observedAt: new Date(now).toISOString() },
      });
      expect([stats.response.status, ok(stats).outcome]).toEqual([201, 'created']);
    }
    const { quotes } = ok(await backend.POST('/v1/boost-quotes', { body: { clientId, items: [{ creatorId, priceFen: 100_000 }] } }));
    const [quote] = quotes;
    expect(quote).toMatchObject({ available: true, expectedViews: 10_000, premiumBp: 1000, boostFeeFen: 10_000 });
    if (!quote) throw new Error('no quote');

    const ordered = await backend.POST('/v1/boost-orders', {
      body: { boostOrderId, taskOrderId: orderId, clientId, quoteId: quote.quoteId, funding: { source: 'external', paymentRef: `boost-pay-${stamp}` } },
    });
    expect(ordered.response.status).toBe(201);
    expect(ok(ordered)).toMatchObject({ boostOrderId, status: 'awaiting_publication', escrowFen: 10_000, progress: null });

    const publishedAt = new Date(await clockMs()).toISOString();
    const videoId = `v-${stamp}`;
    expect(ok(await backend.POST('/v1/task-orders/{orderId}/publish', { params: { path }, body: { actor: creator, videoId, publishedAt } })).status).toBe('completed');
    await boostReaches(boostOrderId, 'boosting');
    const counted = await backend.POST('/v1/video-stats', { body: { videoId, creatorId, publishedAt, views: 9_500, observedAt: new Date(await clockMs()).toISOString() } });
    expect(counted.response.status).toBe(201);
    const boosting = ok(await backend.GET('/v1/boost-orders/{boostOrderId}', { params: { path: { boostOrderId } } }));
    expect(boosting.progress).toMatchObject({ viewsSoFar: 9_500, expectedViews: 10_000, ended: false, ifEndedNow: { succeeded: false, compensationFen: 5_500 } });
    expect(boosting.progress?.timeLeftMs).toBeGreaterThan(13 * DAY_MS);

    // B6: 14 days later, evaluated with 9 500 views: 5 500 back (B7: due within 7 business days).
    ok(await backend.POST('/v1/sandbox/clock/advance', { body: { days: 14, minutes: 1 } }));
    const scheduled = await boostReaches(boostOrderId, 'refund_scheduled');
    expect(scheduled).toMatchObject({ evaluation: { actualViews: 9_500, succeeded: false, compensationFen: 5_500, platformKeepsFen: 4_500 }, refund: { amountFen: 5_500, postedAt: null } });

    // F5: finance releases it early; the backend may not.
    const byBackend = await backend.POST('/v1/boost-orders/{boostOrderId}/release-refund', { params: { path: { boostOrderId } }, body: {} });
    expect([byBackend.response.status, byBackend.error?.error.code]).toEqual([403, 'forbidden']);
    const released = await finance.POST('/v1/boost-orders/{boostOrderId}/release-refund', { params: { path: { boostOrderId } }, body: { reason: 'client asked' } });
    expect(released.response.status).toBe(200);
    const closed = await boostReaches(boostOrderId, 'closed');
    expect(closed).toMatchObject({ escrowFen: 0, refund: { amountFen: 5_500, early: true, releasedBy: { type: 'finance', id: tokenFingerprint(TEST_TOKENS.finance) } } });

    const client = ok(await finance.GET('/v1/ledger/accounts/{account}', { params: { path: { account: `client:${clientId}` } } }));
    expect(client.balanceFen).toBe(5_500);
    const inspection = ok(await ops.GET('/v1/ops/boost-orders/{boostOrderId}', { params: { path: { boostOrderId } } }));
    expect(inspection.ledger.map((t) => t.kind)).toEqual(['boost_payment', 'boost_premium', 'boost_refund']);
  }, 60_000);

  test('safe retries: an answer lost on the way is retried with the same Idempotency-Key and runs once', async () => {
    const stamp = Date.now().toString(36);
    const sent: Array<string | null> = [];
    let lose = 1;
    // The first answer is lost (the call reached the API, which placed the order) and a 503 comes back instead.
    const flaky = createXingtuClient({
      baseUrl: stack.baseUrl,
      token: TEST_TOKENS.backend,
      maxRetryDelayMs: 10,
      fetch: async (request) => {
        sent.push(request.headers.get('idempotency-key'));
        const response = await fetch(request);
        if (lose-- <= 0) return response;
        return new Response(JSON.stringify({ error: { code: 'unavailable', message: 'lost' } }), { status: 503, headers: { 'content-type': 'application/json', 'retry-after': '1' } });
      },
    });
    const orderId = `o-tr-${stamp}`;
    const placed = await flaky.POST('/v1/task-orders', {
      body: {
        orderId, clientId: `c-tr-${stamp}`, creatorId: `k-tr-${stamp}`, taskType: 'douyin_video', priceFen: 100_000, paymentMode: 'full',
        funding: { source: 'external', paymentRef: `pay-${orderId}` },
        brief: { title: 'Retry', industry: 'beauty', expectedPublishAt: '2030-01-01T00:00:00Z' },
      },
    });
    expect(placed.response.status).toBe(201);
    expect(placed.response.headers.get('idempotent-replayed')).toBe('true');
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatch(/^xc-[0-9a-f-]{36}$/);
    expect(sent[1]).toBe(sent[0]);
    const account = ok(await finance.GET('/v1/ledger/accounts/{account}', { params: { path: { account: `escrow:task:${orderId}` } } }));
    expect([account.balanceFen, account.entries.length]).toEqual([110_000, 1]);
  });
});
