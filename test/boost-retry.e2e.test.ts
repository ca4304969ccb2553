import { DEFAULT_BOOST_POLICY } from '../domain/boost/policy';
import { boostOrderWorkflowId } from '../workflows/boost-order-api';
import { approvedTaskOrder, placement } from './support/fixtures';
import { withStack } from './support/stack';

/**
 * B3, §8: a boost order POST retried after its first attempt started the order's run but failed for
 * a fault before the placement was recorded (worker killed, Temporal restarting) gets that run's
 * outcome — the order being placed — not a fresh decision on today's state, which can refuse it
 * (here: the quote has expired since). Found by the simulation (seed 4242): the retry answered
 * `409` while the first attempt's run placed the order. A quote valid 3 s makes the race quick.
 */
const QUOTE_VALIDITY_MS = 3_000;
const stack = withStack('dev', { policies: { boost: { ...DEFAULT_BOOST_POLICY, quoteValidityMs: QUOTE_VALIDITY_MS } } });

const DAY_MS = 24 * 3_600_000;
const { post } = stack;

async function ok(path: string, body: unknown): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const response = await post(path, body);
  if (response.status !== 200 && response.status !== 201) throw new Error(`${path} → ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('a retry after the first attempt started the run answers that run\'s placement, even once the quote has expired', async () => {
  const stamp = Date.now().toString(36);
  const p = placement({ clientId: `c-retry-${stamp}`, creatorId: `k-retry-${stamp}` });
  await approvedTaskOrder(ok, p);
  const now = Date.now();
  for (const ageDays of [3, 9, 27]) {
    await ok('/v1/video-stats', { videoId: `v-${stamp}-${ageDays}`, creatorId: p.creatorId, publishedAt: new Date(now - ageDays * DAY_MS).toISOString(), views: 10_000, observedAt: new Date(now).toISOString() });
  }
  const [quote] = (await ok('/v1/boost-quotes', { clientId: p.clientId, items: [{ creatorId: p.creatorId, priceFen: 100_000 }] })).quotes;
  expect(quote.available).toBe(true);
  const boostOrderId = `b-retry-${stamp}`;
  const request = { boostOrderId, taskOrderId: p.orderId, clientId: p.clientId, quoteId: quote.quoteId, funding: { source: 'external', paymentRef: `pay-retry-${stamp}` } };

  // The first attempt starts the run; no worker records its placement (as if it had been killed).
  await stack.pauseWorker();
  const first = post('/v1/boost-orders', request);
  const handle = stack.env.client.workflow.getHandle(boostOrderWorkflowId(boostOrderId));
  await until(() => handle.describe().then(() => true, () => false), 'the first attempt to start the run');
  // The quote expires; the backend retries (its first attempt looks lost to it).
  await new Promise((resolve) => setTimeout(resolve, Date.parse(quote.validUntilAt) - Date.now() + 500));
  const retry = post('/v1/boost-orders', request);
  await new Promise((resolve) => setTimeout(resolve, 500));
  await stack.resumeWorker();

  const [a, b] = await Promise.all([first, retry]);
  expect([a.status, a.body.boostOrderId]).toEqual([201, boostOrderId]);
  expect([[200, 201].includes(b.status), b.body.boostOrderId, b.body.version]).toEqual([true, boostOrderId, a.body.version]);
  const stored = await stack.get(`/v1/boost-orders/${boostOrderId}`);
  expect([stored.status, stored.body.status]).toEqual([200, 'awaiting_publication']);

  // Once placed, a retry is answered from the order as ever.
  const later = await post('/v1/boost-orders', request);
  expect([later.status, later.body.version]).toEqual([200, a.body.version]);
}, 90_000);
