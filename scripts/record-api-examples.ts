import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLES_DIR, type OperationExamples, type RecordedExample } from '../api/examples';
import type { OpenApiDocument } from '../api/openapi';
import type { ApiRole } from '../platform/config';
import globalSetup from '../test/support/global-setup';
import globalTeardown from '../test/support/global-teardown';
import { TEST_PERSON_TOKENS, TEST_TOKENS, startStack, type TestStack } from '../test/support/stack';

/**
 * `npm run docs:examples` (issue 12 item 3): records the OpenAPI document's examples from real calls.
 * It starts the sandbox test stack (embedded PostgreSQL, the time-skipping Temporal server, the
 * worker, the API), drives a task lifecycle, a deposit lifecycle, a boost lifecycle through its
 * 14 days and its refund, the ops and finance reads and a set of refusals through HTTP, and writes
 * each call's request body, status and response to api/examples/<operationId>.json.
 *
 * Normalised: server-generated UUIDs (quote ids) become stable ones, the same in every file. Ids
 * the caller chooses are fixed here; instants are the sandbox clock's, as recorded.
 */

type Method = 'GET' | 'POST';
interface CallSpec {
  readonly name: string;
  readonly summary: string;
  readonly role?: ApiRole | 'none';
  /** Call with the token of this person (test/support/stack.ts TEST_PERSON_TOKENS) instead of the role's nameless one. */
  readonly person?: keyof typeof TEST_PERSON_TOKENS;
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly idempotencyKey?: string;
  /** The status the story expects; anything else stops the recording. */
  readonly expect: number;
  /** false: a call the story needs that is not worth showing (e.g. a poll). */
  readonly record?: boolean;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

class Recorder {
  private readonly operations = new Map<string, OperationExamples & { examples: RecordedExample[] }>();
  private readonly uuids = new Map<string, string>();

  constructor(private readonly baseUrl: string, private readonly doc: OpenApiDocument) {}

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async call(method: Method, template: string, spec: CallSpec): Promise<any> {
    const op = this.doc.paths[template]?.[method.toLowerCase()];
    if (!op) throw new Error(`the document has no ${method} ${template}`);
    const path = template.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(spec.params?.[name] ?? `missing-${name}`));
    const url = `${path}${spec.query ? `?${new URLSearchParams(spec.query).toString()}` : ''}`;
    const role = spec.role ?? 'backend';
    const response = await fetch(`${this.baseUrl}${url}`, {
      method,
      headers: {
        ...(role === 'none' ? {} : { authorization: `Bearer ${spec.person ? TEST_PERSON_TOKENS[spec.person].token : TEST_TOKENS[role]}` }),
        ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(spec.idempotencyKey ? { 'idempotency-key': spec.idempotencyKey } : {}),
      },
      ...(spec.body === undefined ? {} : { body: JSON.stringify(spec.body) }),
    });
    const text = await response.text();
    const body: unknown = text ? JSON.parse(text) : undefined;
    if (response.status !== spec.expect) throw new Error(`${method} ${url} (${spec.name}): expected ${spec.expect}, got ${response.status} ${text.slice(0, 2000)}`);
    if (spec.record !== false) this.add(`${method} ${template}`, op.operationId, { name: spec.name, summary: spec.summary, call: `${method} ${url}`, ...(spec.body === undefined ? {} : { request: spec.body }), status: response.status, response: body });
    return body;
  }

  private add(operation: string, operationId: string, example: RecordedExample): void {
    const entry = this.operations.get(operation) ?? { operation, operationId, examples: [] };
    if (entry.examples.some((e) => e.name === example.name)) throw new Error(`${operation}: two examples named ${example.name}`);
    entry.examples.push(this.normalise(example));
    this.operations.set(operation, entry);
  }

  /** Server-generated UUIDs → stable ones, consistently across every example. */
  private normalise(example: RecordedExample): RecordedExample {
    const text = JSON.stringify(example).replace(UUID, (uuid) => {
      let stable = this.uuids.get(uuid.toLowerCase());
      if (!stable) {
        stable = `00000000-0000-4000-8000-${String(this.uuids.size + 1).padStart(12, '0')}`;
        this.uuids.set(uuid.toLowerCase(), stable);
      }
      return stable;
    });
    return JSON.parse(text) as RecordedExample;
  }

  write(dir: string): number {
    mkdirSync(dir, { recursive: true });
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) rmSync(join(dir, file));
    for (const entry of this.operations.values()) writeFileSync(join(dir, `${entry.operationId}.json`), `${JSON.stringify(entry, null, 2)}\n`);
    return this.operations.size;
  }
}

const CLIENT = 'c-ex-1';
const CREATOR = 'k-ex-1';
const client = { type: 'client', id: CLIENT } as const;
const creator = { type: 'creator', id: CREATOR } as const;
const DAY_MS = 24 * 3_600_000;

function placementBody(orderId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    orderId, clientId: CLIENT, creatorId: CREATOR, taskType: 'douyin_video', priceFen: 100_000, paymentMode: 'full',
    funding: { source: 'external', paymentRef: `pay-${orderId}` },
    brief: { title: 'Spring launch', industry: 'beauty', expectedPublishAt: '2030-01-01T00:00:00.000Z' },
    ...overrides,
  };
}

const ORDERS = '/v1/task-orders';
const ORDER = '/v1/task-orders/{orderId}';

/** T1–T18: a full-mode order from placement to completion, with the refusals integrators meet on the way. */
async function taskLifecycle(r: Recorder): Promise<void> {
  const orderId = 'o-ex-full';
  const params = { orderId };
  await r.call('POST', '/v1/clients/{clientId}/top-ups', { name: 'top-up', summary: "L5: credit the client's account from a captured payment", params: { clientId: CLIENT }, body: { paymentRef: 'topup-ex-1', amountFen: 1_000_000 }, expect: 201 });
  await r.call('POST', '/v1/clients/{clientId}/top-ups', { name: 'top-up-again', summary: 'the same paymentRef again: credited once', params: { clientId: CLIENT }, body: { paymentRef: 'topup-ex-1', amountFen: 1_000_000 }, expect: 200 });
  await r.call('POST', ORDERS, { name: 'place-full', summary: 'T1, T3: place a full-mode order paid externally', body: placementBody(orderId), idempotencyKey: 'place-o-ex-full', expect: 201 });
  await r.call('POST', ORDERS, { name: 'place-again', summary: 'T1: the same orderId and content again answers the existing order', body: placementBody(orderId), expect: 200 });
  await r.call('POST', ORDERS, { name: 'idempotency-mismatch', summary: '§8: the same Idempotency-Key with another body', body: placementBody('o-ex-other'), idempotencyKey: 'place-o-ex-full', expect: 422 });
  await r.call('POST', ORDERS, { name: 'invalid-body', summary: '§8: a body that does not match the schema', body: { orderId: 'o-ex-bad', priceFen: -1 }, expect: 400 });
  await r.call('GET', ORDER, { name: 'no-token', summary: '§8: no bearer token', role: 'none', params, expect: 401 });
  await r.call('POST', `${ORDER}/accept`, { name: 'not-the-party', summary: "§8: the actor is not this order's creator", params, body: { actor: { type: 'creator', id: 'k-someone-else' } }, expect: 403 });
  await r.call('POST', `${ORDER}/accept`, { name: 'accept', summary: 'T6: the creator accepts', params, body: { actor: creator }, expect: 200 });
  await r.call('POST', `${ORDER}/reviews`, { name: 'nothing-to-review', summary: 'T17: a review before any upload is refused', params, body: { actor: client, decision: 'approve' }, expect: 409 });
  await r.call('POST', `${ORDER}/videos`, { name: 'upload', summary: 'T16: the creator uploads a draft', params, body: { actor: creator, draftId: 'draft-1', videoUrl: 'https://videos.example.com/draft-1.mp4' }, expect: 200 });
  await r.call('POST', `${ORDER}/reviews`, { name: 'request-changes', summary: 'T17: the client asks for changes', params, body: { actor: client, decision: 'request_changes', comment: 'Show the product in the first 3 seconds' }, expect: 200 });
  await r.call('POST', `${ORDER}/videos`, { name: 'upload-by-url', summary: 'T16: a second draft, by its URL alone', params, body: { actor: creator, videoUrl: 'https://videos.example.com/draft-2.mp4' }, expect: 200 });
  await r.call('POST', `${ORDER}/reviews`, { name: 'approve', summary: 'T17: the client approves', params, body: { actor: client, decision: 'approve' }, expect: 200 });
  const now = (await r.call('GET', '/v1/sandbox/clock', { name: 'clock', summary: "the sandbox clock's time", expect: 200 })).now as string;
  await r.call('POST', `${ORDER}/publish`, { name: 'publish', summary: 'T18: publication completes the order', params, body: { actor: creator, videoId: 'v-ex-full', publishedAt: now }, expect: 200 });
  await r.call('GET', ORDER, { name: 'completed', summary: 'a completed order', params, expect: 200 });
  await r.call('GET', ORDER, { name: 'missing', summary: 'an unknown order', params: { orderId: 'o-ex-missing' }, expect: 404 });
  await r.call('GET', ORDERS, { name: 'by-client', summary: "a client's orders, oldest first", query: { clientId: CLIENT, limit: '2' }, expect: 200 });
  await r.call('GET', '/v1/ledger/accounts/{account}', { name: 'creator-account', summary: "F1: the creator's earnings and statement", params: { account: `creator:${CREATOR}` }, expect: 200 });
}

/** T4, T9–T14, T7, T8, T11, T20–T22, O4: the other commands. */
async function otherCommands(r: Recorder): Promise<void> {
  const deposit = { orderId: 'o-ex-deposit' };
  await r.call('POST', ORDERS, { name: 'place-deposit', summary: "T4: a deposit-mode order paid from the client's account", body: placementBody(deposit.orderId, { paymentMode: 'deposit', funding: { source: 'account' } }), expect: 201 });
  await r.call('POST', `${ORDER}/accept`, { name: 'price-out-of-range', summary: 'T9: a new price outside 80–120%', params: deposit, body: { actor: creator, newPriceFen: 200_000 }, expect: 409 });
  await r.call('POST', `${ORDER}/accept`, { name: 'accept-new-price', summary: 'T9: accept at a new price (deposit mode)', params: deposit, body: { actor: creator, newPriceFen: 110_000 }, expect: 200 });
  await r.call('POST', `${ORDER}/restore-price`, { name: 'restore-price', summary: 'T10: the client restores the original price', params: deposit, body: { actor: client }, expect: 200 });
  await r.call('POST', `${ORDER}/pay-balance`, { name: 'pay-balance', summary: 'T12: the client pays the balance from its account', params: deposit, body: { actor: client, funding: { source: 'account' } }, expect: 200 });

  for (const orderId of ['o-ex-combined-1', 'o-ex-combined-2']) {
    await r.call('POST', ORDERS, { name: `place-${orderId}`, summary: 'a deposit order', body: placementBody(orderId, { paymentMode: 'deposit' }), expect: 201, record: false });
    await r.call('POST', `${ORDER}/accept`, { name: `accept-${orderId}`, summary: 'accept', params: { orderId }, body: { actor: creator }, expect: 200, record: false });
  }
  await r.call('POST', '/v1/balance-payments', { name: 'combined', summary: "T14: pay two orders' balances in one payment", body: { clientId: CLIENT, orderIds: ['o-ex-combined-1', 'o-ex-combined-2'], funding: { source: 'account' } }, expect: 200 });

  const rejected = { orderId: 'o-ex-reject' };
  await r.call('POST', ORDERS, { name: 'place-to-reject', summary: 'a full-mode order', body: placementBody(rejected.orderId), expect: 201, record: false });
  await r.call('POST', `${ORDER}/remind`, { name: 'remind', summary: 'T8: the client reminds the creator', params: rejected, body: { actor: client }, expect: 200 });
  await r.call('POST', `${ORDER}/remind`, { name: 'remind-again', summary: 'T8: at most one reminder per hour', params: rejected, body: { actor: client }, expect: 429 });
  await r.call('POST', `${ORDER}/reject`, { name: 'reject', summary: 'T7: the creator rejects; the client is refunded', params: rejected, body: { actor: creator, reason: 'Not my audience' }, expect: 200 });

  const early = { orderId: 'o-ex-cancel' };
  await r.call('POST', ORDERS, { name: 'place-to-cancel', summary: 'a full-mode order', body: placementBody(early.orderId), expect: 201, record: false });
  await r.call('POST', `${ORDER}/cancel`, { name: 'cancel-before-acceptance', summary: 'T11: the client cancels before acceptance, free', params: early, body: { actor: client, reason: 'Campaign moved' }, expect: 200 });

  const late = { orderId: 'o-ex-cancel-request' };
  await r.call('POST', ORDERS, { name: 'place-to-cancel-late', summary: 'a full-mode order', body: placementBody(late.orderId), expect: 201, record: false });
  await r.call('POST', `${ORDER}/accept`, { name: 'accept-to-cancel', summary: 'accept', params: late, body: { actor: creator }, expect: 200, record: false });
  await r.call('POST', `${ORDER}/cancel`, { name: 'request-cancellation', summary: "T20: after acceptance a client's cancellation needs the creator's confirmation", params: late, body: { actor: client, reason: 'Budget cut' }, expect: 200 });
  await r.call('POST', `${ORDER}/cancel-response`, { name: 'confirm-cancellation', summary: 'T22: the creator confirms; nothing was uploaded, so a full refund', params: late, body: { actor: creator, accept: true }, expect: 200 });

  const byOps = { orderId: 'o-ex-ops' };
  await r.call('POST', ORDERS, { name: 'place-for-ops', summary: 'a full-mode order', body: placementBody(byOps.orderId), expect: 201, record: false });
  await r.call('POST', `${ORDER}/accept`, { name: 'accept-for-ops', summary: 'accept', params: byOps, body: { actor: creator }, expect: 200, record: false });
  await r.call('POST', '/v1/ops/orders/{orderId}/actions', { name: 'ops-cancel', summary: 'O4: ops cancel an order with a full refund; the operator recorded is the token\'s person', role: 'ops', person: 'alice', params: byOps, body: { action: 'cancel', outcome: 'full_refund', reason: 'Duplicate order' }, expect: 200 });
  await r.call('GET', '/v1/ops/orders/{orderId}', { name: 'inspect', summary: 'O2: an order with its deadlines, events, ledger and Temporal description', role: 'ops', params: byOps, expect: 200 });
}

/** B1–B8, F5: a boost through its 14 days, evaluated short of its views, its refund released early. */
async function boostLifecycle(r: Recorder): Promise<void> {
  const task = { orderId: 'o-ex-boost' };
  const boost = { boostOrderId: 'b-ex-1' };
  await r.call('POST', ORDERS, { name: 'place-for-boost', summary: 'a task to boost', body: placementBody(task.orderId), expect: 201, record: false });
  await r.call('POST', `${ORDER}/accept`, { name: 'accept-for-boost', summary: 'accept', params: task, body: { actor: creator }, expect: 200, record: false });
  const now = Date.parse((await r.call('GET', '/v1/sandbox/clock', { name: 'clock-before-boost', summary: '', expect: 200, record: false })).now);
  for (const [i, ageDays] of [3, 9, 27].entries()) {
    const stats = { videoId: `v-ex-old-${ageDays}`, creatorId: CREATOR, publishedAt: new Date(now - ageDays * DAY_MS).toISOString(), views: 10_000, observedAt: new Date(now).toISOString() };
    await r.call('POST', '/v1/video-stats', { name: i === 0 ? 'first-count' : `count-${ageDays}-days-old`, summary: "B8: a video's view count", body: stats, expect: 201, record: i === 0 });
  }
  const quotes = await r.call('POST', '/v1/boost-quotes', { name: 'quote', summary: 'B1, B2: quote two creators, one without enough videos', body: { clientId: CLIENT, items: [{ creatorId: CREATOR, priceFen: 100_000 }, { creatorId: 'k-ex-new', priceFen: 50_000 }] }, expect: 201 });
  const quoteId = quotes.quotes[0].quoteId as string;
  const order = { ...boost, taskOrderId: task.orderId, clientId: CLIENT, quoteId, funding: { source: 'external', paymentRef: 'pay-b-ex-1' } };
  await r.call('POST', '/v1/boost-orders', { name: 'order', summary: 'B3: order a boost citing the quote; the fee is paid into escrow', body: order, expect: 201 });
  await r.call('POST', '/v1/boost-orders', { name: 'order-again', summary: 'B3: the same order again answers it', body: order, expect: 200 });
  await r.call('POST', '/v1/boost-orders', { name: 'unknown-quote', summary: 'B1: an order must cite a stored quote', body: { ...order, boostOrderId: 'b-ex-2', taskOrderId: 'o-ex-deposit', quoteId: 'q-ex-missing' }, expect: 404 });
  await r.call('POST', ORDERS, { name: 'place-live', summary: 'a live-stream task', body: placementBody('o-ex-live', { taskType: 'douyin_live' }), expect: 201, record: false });
  await r.call('POST', '/v1/boost-orders', { name: 'not-a-video-task', summary: 'B3: only a video task can be boosted', body: { ...order, boostOrderId: 'b-ex-3', taskOrderId: 'o-ex-live' }, expect: 409 });
  await r.call('POST', `${ORDER}/videos`, { name: 'upload-for-boost', summary: '', params: task, body: { actor: creator, draftId: 'draft-b' }, expect: 200, record: false });
  await r.call('POST', `${ORDER}/reviews`, { name: 'approve-for-boost', summary: '', params: task, body: { actor: client, decision: 'approve' }, expect: 200, record: false });
  const publishedAt = new Date(now).toISOString();
  await r.call('POST', `${ORDER}/publish`, { name: 'publish-boosted', summary: 'T18: publication starts the linked boost (B5)', params: task, body: { actor: creator, videoId: 'v-ex-boosted', publishedAt }, expect: 200 });
  const count = (views: number) => ({ videoId: 'v-ex-boosted', creatorId: CREATOR, publishedAt, views, observedAt: new Date(now + 60_000).toISOString() });
  await r.call('POST', '/v1/video-stats', { name: 'boosted-count', summary: "B8: the boosted video's first count", body: count(9_000), expect: 201, record: false });
  await r.call('POST', '/v1/video-stats', { name: 'updated', summary: 'B8: a higher count updates it', body: count(9_500), expect: 200 });
  await r.call('POST', '/v1/video-stats', { name: 'lower-count', summary: 'B8: a count never decreases', body: count(9_400), expect: 409 });
  await waitForBoost(r, boost.boostOrderId, 'boosting');
  await r.call('GET', '/v1/boost-orders/{boostOrderId}', { name: 'boosting', summary: 'B5: progress while boosting', params: boost, expect: 200 });
  await r.call('POST', '/v1/boost-orders/{boostOrderId}/release-refund', { name: 'nothing-to-release', summary: 'F5: no refund is scheduled yet', role: 'finance', params: boost, body: {}, expect: 409 });
  await r.call('POST', '/v1/sandbox/clock/advance', { name: 'advance-14-days', summary: 'move the sandbox clock past the 14 days', body: { days: 14, minutes: 1 }, expect: 200 });
  await waitForBoost(r, boost.boostOrderId, 'refund_scheduled');
  await r.call('GET', '/v1/boost-orders/{boostOrderId}', { name: 'refund-scheduled', summary: 'B6, B7: evaluated short of its views; the refund due within 7 business days', params: boost, expect: 200 });
  await r.call('POST', '/v1/boost-orders/{boostOrderId}/release-refund', { name: 'release', summary: 'F5: finance releases the refund early; the releaser recorded is the token\'s person', role: 'finance', person: 'fay', params: boost, body: { reason: 'Client asked' }, expect: 200 });
  await r.call('GET', '/v1/ops/boost-orders/{boostOrderId}', { name: 'inspect-boost', summary: 'O2: a boost order with its events and ledger', role: 'ops', params: boost, expect: 200 });
  await r.call('GET', '/v1/ledger/accounts/{account}', { name: 'boost-escrow', summary: "F1: the boost's escrow, zero once closed", role: 'finance', params: { account: `escrow:boost:${boost.boostOrderId}` }, expect: 200 });
}

/** C1–C5: a basket of two creators, one boosted, previewed, placed and paid once; a refusal names its line. */
async function checkoutStory(r: Recorder): Promise<void> {
  const now = Date.parse((await r.call('GET', '/v1/sandbox/clock', { name: 'clock-before-checkout', summary: '', expect: 200, record: false })).now);
  const boosted = 'k-ex-basket';
  for (const ageDays of [4, 11, 20]) {
    const stats = { videoId: `v-ex-basket-${ageDays}`, creatorId: boosted, publishedAt: new Date(now - ageDays * DAY_MS).toISOString(), views: 20_000, observedAt: new Date(now).toISOString() };
    await r.call('POST', '/v1/video-stats', { name: `basket-count-${ageDays}`, summary: '', body: stats, expect: 201, record: false });
  }
  const quotes = await r.call('POST', '/v1/boost-quotes', { name: 'quote-for-basket', summary: '', body: { clientId: CLIENT, items: [{ creatorId: boosted, priceFen: 200_000 }] }, expect: 201, record: false });
  const brief = { title: 'Autumn launch', industry: 'beauty', expectedPublishAt: '2030-01-01T00:00:00.000Z' };
  const checkout = {
    checkoutId: 'co-ex-1',
    clientId: CLIENT,
    paymentMode: 'deposit',
    funding: { source: 'external', paymentRef: 'pay-co-ex-1' },
    lines: [
      { orderId: 'o-ex-basket-1', creatorId: boosted, taskType: 'douyin_video', priceFen: 200_000, brief, boost: { boostOrderId: 'b-ex-basket-1', quoteId: quotes.quotes[0].quoteId as string } },
      { orderId: 'o-ex-basket-2', creatorId: 'k-ex-basket-2', taskType: 'xigua_video', priceFen: 80_000, brief },
    ],
  };
  await r.call('POST', '/v1/checkouts/preview', { name: 'preview', summary: "C2: each line's amounts, the boost's availability and the total; nothing is written", body: checkout, expect: 200 });
  await r.call('POST', '/v1/checkouts', { name: 'place', summary: 'C1–C4: every line checked, the total paid once, then every order placed', body: checkout, expect: 201 });
  await r.call('POST', '/v1/checkouts', { name: 'place-again', summary: 'C4: the same checkout again answers it', body: checkout, expect: 200 });
  await r.call('GET', '/v1/checkouts/{checkoutId}', { name: 'completed', summary: 'C5: the checkout with its lines, orders and boosts', params: { checkoutId: checkout.checkoutId }, expect: 200 });
  await r.call('GET', '/v1/ops/checkouts/{checkoutId}', { name: 'inspect-checkout', summary: 'O2, C5: a checkout with its orders and their statuses, its events and its payment', role: 'ops', params: { checkoutId: checkout.checkoutId }, expect: 200 });
  await r.call('GET', ORDER, { name: 'placed-by-checkout', summary: 'C5: an order names the checkout that placed it', params: { orderId: 'o-ex-basket-2' }, expect: 200 });
  const refused = { ...checkout, checkoutId: 'co-ex-2', funding: { source: 'account' }, lines: [{ ...checkout.lines[1], orderId: 'o-ex-basket-3', creatorId: 'k-ex-basket-3' }, { ...checkout.lines[1], orderId: 'o-ex-basket-2' }] };
  await r.call('POST', '/v1/checkouts', { name: 'id-used', summary: 'C3: an orderId already used refuses the checkout at that line; nothing is placed or paid', body: refused, expect: 409 });
}

/** Timers fire in the worker shortly after the clock moves: poll (bounded, not recorded). */
async function waitForBoost(r: Recorder, boostOrderId: string, status: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    const order = await r.call('GET', '/v1/boost-orders/{boostOrderId}', { name: 'poll', summary: '', params: { boostOrderId }, expect: 200, record: false });
    if (order.status === status) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`boost ${boostOrderId} did not reach ${status}`);
}

async function financeAndOps(r: Recorder): Promise<void> {
  await r.call('GET', '/health', { name: 'up', summary: '§10: both dependencies up', role: 'none', expect: 200 });
  await r.call('GET', '/v1/events', { name: 'feed', summary: 'E4: the first notifications of the feed', query: { limit: '3' }, expect: 200 });
  await r.call('GET', '/v1/ops/stuck', { name: 'stuck', summary: 'O1: the stuck list', role: 'ops', expect: 200 });
  await r.call('GET', '/v1/ledger/trial-balance', { name: 'trial-balance', summary: "F2: every account's balance; the total is zero", role: 'finance', expect: 200 });
  await r.call('GET', '/v1/ledger/transactions', { name: 'transactions', summary: 'the latest ledger transactions', role: 'finance', query: { limit: '3' }, expect: 200 });
  await r.call('GET', '/v1/ledger/audit', { name: 'audit', summary: 'F3: a clean audit', role: 'finance', expect: 200 });
  await r.call('GET', '/v1/ledger/accounts/{account}', { name: 'forbidden-role', summary: '§8: a role the operation does not allow', role: 'ops', params: { account: `client:${CLIENT}` }, expect: 403 });
}

async function main(): Promise<void> {
  await globalSetup();
  let stack: TestStack | undefined;
  try {
    stack = await startStack('sandbox');
    const doc = (await (await fetch(`${stack.baseUrl}/v1/openapi.json`)).json()) as OpenApiDocument;
    const recorder = new Recorder(stack.baseUrl, doc);
    await taskLifecycle(recorder);
    await otherCommands(recorder);
    await boostLifecycle(recorder);
    await checkoutStory(recorder);
    await financeAndOps(recorder);
    const files = recorder.write(EXAMPLES_DIR);
    console.log(`wrote ${files} files of examples to ${EXAMPLES_DIR}`);
  } finally {
    await stack?.stop();
    await globalTeardown();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
