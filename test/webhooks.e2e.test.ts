import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { startWebhookDelivery, type WebhookDelivery } from '../worker/webhook-delivery';
import { placement, placementBody } from './support/fixtures';
import { until } from './support/until';
import { authHeader, TEST_WEBHOOK_OPTIONS, withStack } from './support/stack';

/**
 * E4 + E5 through the HTTP API against real receivers (node:http) started here; every signature
 * is verified with the independent `standardwebhooks` package. Sandbox stack (the clock moves for
 * the boost's 14 days); the delivery loop's timing knobs are shortened (backoff, timeout, lease).
 */
const KNOBS = { backoffBaseMs: 200, backoffMaxMs: 800, timeoutMs: 1500, leaseMs: 2500, pollIntervalMs: 100 };
const loops: WebhookDelivery[] = [];
const stack = withStack('sandbox', {
  webhooks: KNOBS,
  tearDown: async () => {
    for (const loop of loops) await loop.stop();
  },
});
afterAll(async () => {
  for (const r of receivers) await r.close();
});

const { post, get } = stack;
const del = async (path: string, headers: Record<string, string> = authHeader('backend')) => {
  const response = await fetch(`${stack.baseUrl}${path}`, { method: 'DELETE', headers });
  return { status: response.status, body: (await response.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
};
const ops = authHeader('ops');
const DAY = 24 * 3_600_000;

async function ok(path: string, body: unknown) {
  const response = await post(path, body);
  if (![200, 201].includes(response.status)) throw new Error(`${path} → ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

// ── A receiver: records every request, answers as its mode says ───────────────────────────────
type Mode = 'ok' | 'fail' | 'hang';
interface Received { id: string; timestamp: string; signature: string; body: string; answered: Mode }
interface Receiver {
  url: string;
  mode: Mode;
  received: Received[];
  /** ids of the requests answered 2xx, in arrival order */
  delivered: () => string[];
  close: () => Promise<void>;
}
const receivers: Receiver[] = [];

async function startReceiver(): Promise<Receiver> {
  const hanging: ServerResponse[] = [];
  const receiver: Receiver = {
    url: '',
    mode: 'ok',
    received: [],
    delivered: () => receiver.received.filter((r) => r.answered === 'ok').map((r) => r.id),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const mode = receiver.mode;
      receiver.received.push({ id: String(req.headers['webhook-id']), timestamp: String(req.headers['webhook-timestamp']), signature: String(req.headers['webhook-signature']), body: Buffer.concat(chunks).toString('utf8'), answered: mode });
      if (mode === 'hang') return void hanging.push(res);
      res.writeHead(mode === 'ok' ? 204 : 500, { 'content-type': 'text/plain' }).end(mode === 'ok' ? undefined : 'receiver down for maintenance');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  receivers.push(receiver);
  return receiver;
}

/** Every request must verify with the secret (standardwebhooks); returns the parsed bodies. */
function verifyAll(received: readonly Received[], secret: string): Array<{ id: string }> {
  const wh = new Webhook(secret);
  return received.map((r) => {
    const parsed = wh.verify(r.body, { 'webhook-id': r.id, 'webhook-timestamp': r.timestamp, 'webhook-signature': r.signature }) as { id: string };
    expect(parsed.id).toBe(r.id);
    return parsed;
  });
}

async function register(receiver: Receiver, extra: Record<string, unknown> = {}): Promise<{ endpointId: string; secret: string }> {
  const created = await post('/v1/webhook-endpoints', { url: receiver.url, ...extra });
  expect(created.status).toBe(201);
  expect(created.body.secret).toMatch(/^whsec_/);
  return { endpointId: created.body.endpoint.endpointId, secret: created.body.secret };
}

/** Every feed event (optionally of one order), paging with the cursor. */
async function feed(query = ''): Promise<Array<{ id: string; orderId: string; type: string }>> {
  const events: Array<{ id: string; orderId: string; type: string }> = [];
  let cursor = '';
  for (let i = 0; i < 100; i += 1) {
    const page = await get(`/v1/events?limit=50${query}${cursor ? `&after=${cursor}` : ''}`);
    expect(page.status).toBe(200);
    events.push(...page.body.events);
    cursor = page.body.nextCursor;
    if (!page.body.hasMore) return events;
  }
  throw new Error('feed too long');
}

/** A placed task order through to publication (T1 → T18): new_task … settled. */
async function taskLifecycle(tag: string) {
  const p = placement({ clientId: `c-${tag}`, creatorId: `k-${tag}` });
  const o = `/v1/task-orders/${p.orderId}`;
  const creator = { type: 'creator', id: p.creatorId };
  await ok('/v1/task-orders', placementBody(p));
  await ok(`${o}/remind`, { actor: { type: 'client', id: p.clientId } });
  await ok(`${o}/accept`, { actor: creator });
  await ok(`${o}/videos`, { actor: creator, draftId: 'd1' });
  await ok(`${o}/reviews`, { actor: { type: 'client', id: p.clientId }, decision: 'approve' });
  return p;
}

describe('E4 feed and E5 webhooks', () => {
  test('§8: bad input to the feed and the webhook routes is refused with the usual errors, and changes nothing', async () => {
    const countEndpoints = async () => (await stack.database.db.selectFrom('webhook_endpoints').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n;
    const before = await countEndpoints();
    for (const body of [
      {}, { url: 'ftp://example.com/x' }, { url: 'http://example.com/hooks' }, { url: 'https://10.0.0.7/hooks' }, { url: 'https://169.254.169.254/latest' },
      { url: 'https://user:pw@example.com/' }, { url: 'https://example.com/', eventTypes: ['no_such_event'] }, { url: 'https://example.com/', eventTypes: [] },
      { url: 'https://example.com/', eventTypes: ['new_task', 'new_task'] }, { url: 'https://example.com/', secret: 'whsec_mine' }, { url: `https://example.com/${'a'.repeat(2100)}` },
      { url: `https://example.com/${'ä'.repeat(400)}` /* 2 000 characters, longer once percent-encoded */ }, { url: 'https://example.com/', description: 'nul \u0000' },
    ]) {
      const refused = await post('/v1/webhook-endpoints', body);
      expect([refused.status, refused.body.error.code]).toEqual([400, 'validation_failed']);
    }
    expect((await post('/v1/webhook-endpoints', 'not json{')).status).toBe(400);
    expect((await post('/v1/webhook-endpoints', { url: 'https://example.com/' }, authHeader('finance'))).status).toBe(403);
    expect((await post('/v1/webhook-endpoints', { url: 'https://example.com/' }, { authorization: '' })).status).toBe(401);
    expect(await countEndpoints()).toBe(before);

    for (const path of ['/v1/webhook-endpoints/we_nope', '/v1/webhook-endpoints/we_nope/deliveries']) {
      expect([(await get(path)).status, (await get(path)).body.error.code]).toEqual([404, 'not_found']);
    }
    expect((await del('/v1/webhook-endpoints/we_nope')).status).toBe(404);
    expect((await post('/v1/webhook-endpoints/we_nope/rotate-secret', {})).status).toBe(404);
    expect((await post('/v1/webhook-endpoints/we_nope/redeliver', { eventId: 'evt_1' }, ops)).status).toBe(404);

    const receiver = await startReceiver();
    const { endpointId } = await register(receiver);
    expect((await post(`/v1/webhook-endpoints/${endpointId}/redeliver`, { eventId: 'evt_1' })).status).toBe(403); // ops only
    for (const body of [{}, { eventId: 'evt_1', sinceAt: new Date().toISOString() }, { sinceAt: 'yesterday' }, { since: new Date().toISOString() }]) {
      expect((await post(`/v1/webhook-endpoints/${endpointId}/redeliver`, body, ops)).status).toBe(400);
    }
    expect((await post(`/v1/webhook-endpoints/${endpointId}/redeliver`, { eventId: 'evt_999999999' }, ops)).status).toBe(404);
    expect((await post(`/v1/webhook-endpoints/${endpointId}/rotate-secret`, { graceSeconds: -1 })).status).toBe(400);
    expect((await get(`/v1/webhook-endpoints/${endpointId}/deliveries?before=garbage`)).status).toBe(400);
    expect((await get(`/v1/webhook-endpoints/${endpointId}/deliveries?eventId=evt_9223372036854775808`)).status).toBe(400);
    expect((await post(`/v1/webhook-endpoints/${endpointId}/redeliver`, { eventId: 'evt_9223372036854775808' }, ops)).status).toBe(404);
    for (const query of ['after=garbage', 'limit=0', 'limit=501', 'type=no_such', 'orderId=a%20b', 'extra=1']) {
      const refused = await get(`/v1/events?${query}`);
      expect([refused.status, refused.body.error.code]).toEqual([400, 'validation_failed']);
    }
    expect((await get('/v1/events', authHeader('finance'))).status).toBe(403);
    expect((await del(`/v1/webhook-endpoints/${endpointId}`)).body.status).toBe('deleted');
  });

  test('a full task lifecycle and a boost lifecycle: every event reaches the receiver once per id, signed, the same as the feed', async () => {
    const receiver = await startReceiver();
    const { endpointId, secret } = await register(receiver);
    const filtered = await startReceiver();
    const narrow = await register(filtered, { eventTypes: ['settled', 'refund'] });
    // A second worker's loop, as with two worker processes: they share the work, never send one event twice.
    const secondWorker = startWebhookDelivery(stack.database.db, { ...TEST_WEBHOOK_OPTIONS, ...KNOBS });
    loops.push(secondWorker);
    const listed = await get('/v1/webhook-endpoints');
    expect(listed.body.endpoints.map((e: { endpointId: string }) => e.endpointId)).toContain(endpointId);
    expect(JSON.stringify(listed.body)).not.toContain(secret.slice(6)); // shown once, never listed

    const stamp = Date.now().toString(36);
    const p = await taskLifecycle(`life-${stamp}`);
    const creator = { type: 'creator', id: p.creatorId };
    // B8 → B1 → B3: the creator's recent videos, a quote, a boost order.
    const now = Date.parse((await get('/v1/sandbox/clock')).body.now);
    for (const ageDays of [3, 9, 27]) {
      await ok('/v1/video-stats', { videoId: `old-${stamp}-${ageDays}`, creatorId: p.creatorId, publishedAt: new Date(now - ageDays * DAY).toISOString(), views: 10_000, observedAt: new Date(now).toISOString() });
    }
    const [quote] = (await ok('/v1/boost-quotes', { clientId: p.clientId, items: [{ creatorId: p.creatorId, priceFen: 100_000 }] })).quotes;
    const boostOrderId = `b-${stamp}`;
    await ok('/v1/boost-orders', { boostOrderId, taskOrderId: p.orderId, clientId: p.clientId, quoteId: quote.quoteId, funding: { source: 'external', paymentRef: `bp-${stamp}` } });
    const videoId = `v-${stamp}`;
    const publishedAt = new Date(now).toISOString();
    await ok(`/v1/task-orders/${p.orderId}/publish`, { actor: creator, videoId, publishedAt });
    await until('boosting', async () => (await get(`/v1/boost-orders/${boostOrderId}`)).body.status === 'boosting');
    await ok('/v1/video-stats', { videoId, creatorId: p.creatorId, publishedAt, views: 9_500, observedAt: new Date().toISOString() });
    await post('/v1/sandbox/clock/advance', { days: 14, minutes: 1 });
    const scheduled = await until('refund scheduled', async () => {
      const b = (await get(`/v1/boost-orders/${boostOrderId}`)).body;
      return b.status === 'refund_scheduled' ? b : undefined;
    });
    const clock = Date.parse((await get('/v1/sandbox/clock')).body.now);
    await post('/v1/sandbox/clock/advance', { seconds: Math.ceil((Date.parse(scheduled.refund.dueAt) - clock) / 1000) + 60 });
    await until('boost closed', async () => (await get(`/v1/boost-orders/${boostOrderId}`)).body.status === 'closed');

    // E4: the feed lists a commit once every older transaction has ended (it reads below the
    // snapshot's xmin), so the last event may show a moment after the boost reads closed.
    const taskEvents = await until('the settlement in the feed', async () => {
      const events = await feed(`&orderId=${p.orderId}`);
      return events.some((e) => e.type === 'settled') ? events : undefined;
    });
    const boostEvents = await until('the refund in the feed', async () => {
      const events = await feed(`&orderId=${boostOrderId}`);
      return events.some((e) => e.type === 'refund') ? events : undefined;
    });
    expect(taskEvents.map((e) => e.type)).toEqual(expect.arrayContaining(['new_task', 'reminder', 'accepted', 'video_uploaded', 'review', 'published', 'settled']));
    expect(boostEvents.map((e) => e.type)).toEqual(['boost_ordered', 'boost_started', 'boost_evaluated', 'refund_scheduled', 'refund']);
    const expected = [...taskEvents, ...boostEvents];
    await until('every event delivered', () => expected.every((e) => receiver.delivered().includes(e.id)));
    await new Promise((r) => setTimeout(r, 500)); // anything sent twice would arrive by now

    const mine = receiver.received.filter((r) => expected.some((e) => e.id === r.id));
    expect(mine.map((r) => r.id).sort()).toEqual(expected.map((e) => e.id).sort()); // once per id
    const bodies = verifyAll(receiver.received, secret);
    for (const event of expected) expect(bodies.find((b) => b.id === event.id)).toEqual(event); // webhook body = feed event
    // Per order, in feed order.
    for (const events of [taskEvents, boostEvents]) {
      const arrival = receiver.delivered().filter((id) => events.some((e) => e.id === id));
      expect(arrival).toEqual(events.map((e) => e.id));
    }
    const deliveries = await get(`/v1/webhook-endpoints/${endpointId}/deliveries?limit=100`);
    expect(deliveries.status).toBe(200);
    const first = deliveries.body.deliveries.find((d: { eventId: string }) => d.eventId === taskEvents[0]!.id);
    expect(first).toMatchObject({ status: 'delivered', attemptCount: 1, orderId: p.orderId, orderKind: 'task', eventType: 'new_task', attempts: [{ attemptNo: 1, outcome: 'delivered', statusCode: 204, latencyMs: expect.any(Number) }] });
    const wantedByNarrow = expected.filter((e) => ['settled', 'refund'].includes(e.type)).map((e) => e.id);
    await until('the filtered endpoint got its types', () => wantedByNarrow.every((id) => filtered.delivered().includes(id)));
    expect(filtered.received.map((r) => r.id).sort()).toEqual(wantedByNarrow.sort());
    verifyAll(filtered.received, narrow.secret);
    await secondWorker.stop();
    await del(`/v1/webhook-endpoints/${endpointId}`);
    await del(`/v1/webhook-endpoints/${narrow.endpointId}`);
  }, 120_000);

  test('a receiver failing for a while: events arrive after it recovers, in order per order, with their original ids; every attempt is listed', async () => {
    const receiver = await startReceiver();
    const { endpointId, secret } = await register(receiver);
    receiver.mode = 'fail';
    const [a, b] = await Promise.all([taskLifecycle(`fail-a-${Date.now().toString(36)}`), taskLifecycle(`fail-b-${Date.now().toString(36)}`)]);
    await until('retries', () => receiver.received.filter((r) => r.answered === 'fail').length >= 6);
    const listing = (await get(`/v1/webhook-endpoints/${endpointId}/deliveries`)).body.deliveries;
    const failing = listing.find((d: { attempts: unknown[] }) => d.attempts.length > 0);
    expect(failing).toMatchObject({ status: 'pending', lastOutcome: 'http_error', lastStatusCode: 500 });
    expect(failing.attempts[0]).toMatchObject({ outcome: 'http_error', statusCode: 500, responseSnippet: 'receiver down for maintenance' });
    // While the head of an order fails, its later events wait: only first events of each order were tried.
    const tried = new Set(receiver.received.map((r) => r.id));
    const [eventsA, eventsB] = [await feed(`&orderId=${a.orderId}`), await feed(`&orderId=${b.orderId}`)];
    expect([...tried].sort()).toEqual([eventsA[0]!.id, eventsB[0]!.id].sort());

    receiver.mode = 'ok';
    await until('recovered', () => [...eventsA, ...eventsB].every((e) => receiver.delivered().includes(e.id)));
    for (const events of [eventsA, eventsB]) {
      expect(receiver.delivered().filter((id) => events.some((e) => e.id === id))).toEqual(events.map((e) => e.id));
    }
    verifyAll(receiver.received, secret); // retries carry the same id, each freshly signed
    const endpoint = (await get(`/v1/webhook-endpoints/${endpointId}`)).body;
    expect(endpoint).toMatchObject({ status: 'active', failingStartedAt: null });
    await del(`/v1/webhook-endpoints/${endpointId}`);
  }, 90_000);

  test('the delivery loop killed mid-delivery: nothing is lost, the resend carries the same id (at least once)', async () => {
    const receiver = await startReceiver();
    const { endpointId, secret } = await register(receiver);
    receiver.mode = 'hang';
    const p = placement({ clientId: 'c-kill', creatorId: 'k-kill' });
    await ok('/v1/task-orders', placementBody(p));
    const inFlight = await until('a request in flight', () => receiver.received[0]);
    await stack.webhooks.kill(); // as a crash: no answer recorded, the lease stays
    receiver.mode = 'ok';
    const replacement = startWebhookDelivery(stack.database.db, { ...TEST_WEBHOOK_OPTIONS, ...KNOBS });
    loops.push(replacement);
    await until('redelivered after the lease ran out', () => receiver.delivered().includes(inFlight.id), 20_000);
    const copies = receiver.received.filter((r) => r.id === inFlight.id);
    expect(copies.length).toBeGreaterThanOrEqual(2);
    expect(new Set(copies.map((c) => c.body)).size).toBe(1); // the same event, byte for byte
    verifyAll(receiver.received, secret);
    const events = await feed(`&orderId=${p.orderId}`);
    expect(events.map((e) => e.id)).toEqual([inFlight.id]);
    await del(`/v1/webhook-endpoints/${endpointId}`);
  }, 60_000);

  test('secret rotation: during the grace period both secrets sign (two v1 signatures); without grace only the new one', async () => {
    const receiver = await startReceiver();
    const { endpointId, secret: old } = await register(receiver, { eventTypes: ['new_task'] });
    const rotated = await post(`/v1/webhook-endpoints/${endpointId}/rotate-secret`, { graceSeconds: 3600 });
    expect(rotated.status).toBe(200);
    const fresh = rotated.body.secret as string;
    expect(fresh).not.toBe(old);
    expect(Date.parse(rotated.body.endpoint.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(3500_000);
    await ok('/v1/task-orders', placementBody(placement()));
    const first = await until('an event', () => receiver.received[0]);
    expect(first.signature.split(' ')).toHaveLength(2);
    verifyAll([first], old);
    verifyAll([first], fresh);

    const again = await post(`/v1/webhook-endpoints/${endpointId}/rotate-secret`, { graceSeconds: 0 });
    const newest = again.body.secret as string;
    await ok('/v1/task-orders', placementBody(placement()));
    const second = await until('another event', () => receiver.received[1]);
    expect(second.signature.split(' ')).toHaveLength(1);
    verifyAll([second], newest);
    expect(() => verifyAll([second], fresh)).toThrow();
    // Only new_task was asked for: no other type arrived.
    expect(receiver.received.every((r) => JSON.parse(r.body).type === 'new_task')).toBe(true);
    await del(`/v1/webhook-endpoints/${endpointId}`);
  }, 60_000);

  test('failing past the window: deliveries give up, the endpoint is disabled and on the stuck list; ops redeliver and it recovers', async () => {
    const receiver = await startReceiver();
    receiver.mode = 'fail';
    const { endpointId, secret } = await register(receiver);
    // A loop with a 2-second "3 days" (the window is a knob; the default is unit-tested).
    for (const loop of loops) await loop.stop();
    const shortWindow = startWebhookDelivery(stack.database.db, { ...TEST_WEBHOOK_OPTIONS, ...KNOBS, retryWindowMs: 2_000 });
    loops.push(shortWindow);
    const p = placement();
    await ok('/v1/task-orders', placementBody(p));
    const disabled = await until('disabled', async () => {
      const e = (await get(`/v1/webhook-endpoints/${endpointId}`)).body;
      return e.status === 'disabled' ? e : undefined;
    });
    expect(disabled.disabledAt).toEqual(expect.any(String));
    const stuck = await get('/v1/ops/stuck', ops);
    expect(stuck.body.entries).toEqual(expect.arrayContaining([expect.objectContaining({ orderId: endpointId, kind: 'webhook_endpoint', reason: 'webhook_failing' })]));
    const [event] = await feed(`&orderId=${p.orderId}`);
    const gaveUp = (await get(`/v1/webhook-endpoints/${endpointId}/deliveries?eventId=${event!.id}`)).body.deliveries;
    expect(gaveUp).toEqual([expect.objectContaining({ eventId: event!.id, status: 'failed', lastOutcome: 'http_error', nextAttemptAt: null })]);
    expect(gaveUp[0].attempts.length).toBeGreaterThanOrEqual(2);
    const attempts = receiver.received.length;
    await new Promise((r) => setTimeout(r, 800));
    expect(receiver.received.length).toBe(attempts); // nothing more is sent to a disabled endpoint

    receiver.mode = 'ok';
    const redelivered = await post(`/v1/webhook-endpoints/${endpointId}/redeliver`, { sinceAt: new Date(Date.now() - 60_000).toISOString() }, ops);
    expect(redelivered.body).toEqual({ endpointId, scheduled: 1 });
    await until('delivered after redelivery', () => receiver.delivered().includes(event!.id));
    expect((await get(`/v1/webhook-endpoints/${endpointId}`)).body.status).toBe('active');
    const again = await post(`/v1/webhook-endpoints/${endpointId}/redeliver`, { eventId: event!.id }, ops);
    expect(again.body.scheduled).toBe(1);
    await until('sent again on request', () => receiver.delivered().filter((id) => id === event!.id).length === 2);
    verifyAll(receiver.received, secret);
    expect((await get('/v1/ops/stuck', ops)).body.entries.some((e: { orderId: string }) => e.orderId === endpointId)).toBe(false);
    await del(`/v1/webhook-endpoints/${endpointId}`);
  }, 60_000);
});
