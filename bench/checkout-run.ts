/**
 * The checkout's calls of `npm run bench:checkout` (bench/checkout.ts), shared with
 * `npm run bench:orders` (bench/orders.ts), which places a 10-line checkout on its stack: one task
 * placement and one checkout through the API, each to its 201, as the main backend sends them.
 */
import { performance } from 'node:perf_hooks';

export interface Size {
  readonly name: string;
  readonly lines: number;
  /** Every `boostEvery`-th line (from the first) is boosted; 0: none. */
  readonly boostEvery: number;
  readonly reps: number;
}

const PRICE_FEN = 100_000;
const DAY_MS = 86_400_000;

/** One POST through the API as the main backend sends it, with its Idempotency-Key; the answer's status must be `expected`. */
export type Post = (path: string, body: unknown, expected: number) => Promise<unknown>;

export function httpPost(baseUrl: string, token: string): Post {
  let key = 0;
  return async (path, body, expected) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `bench-${process.pid}-${(key += 1)}` },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== expected) throw new Error(`POST ${path}: ${response.status} (expected ${expected}) ${text.slice(0, 300)}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  };
}

export const brief = () => ({ title: 'Bench launch', industry: 'beauty', expectedPublishAt: new Date(Date.now() + 30 * DAY_MS).toISOString() });

/** B2: three recent videos of 10 000 views each, so that a quote for the creator is available. */
export async function statsFor(post: Post, creatorId: string): Promise<void> {
  const now = Date.now();
  for (const ageDays of [5, 10, 15]) {
    await post('/v1/video-stats', { videoId: `v-${creatorId}-${ageDays}`, creatorId, publishedAt: new Date(now - ageDays * DAY_MS).toISOString(), views: 10_000, observedAt: new Date(now).toISOString() }, 201);
  }
}

/** B1: one quote per boosted creator for this client (untimed: the order page shows them before the checkout). */
export async function quotes(post: Post, clientId: string, creatorIds: readonly string[]): Promise<string[]> {
  if (creatorIds.length === 0) return [];
  const answer = (await post('/v1/boost-quotes', { clientId, items: creatorIds.map((creatorId) => ({ creatorId, priceFen: PRICE_FEN })) }, 201)) as { quotes: Array<{ quoteId: string }> };
  return answer.quotes.map((q) => q.quoteId);
}

export interface Run {
  readonly post: Post;
  readonly prefix: string;
  /** Creators with video stats, one per boosted line at most. */
  readonly boostable: readonly string[];
}

/** The baseline: one task placement, external funding (L5), to its 201. */
export async function onePlacement({ post, prefix }: Run, n: number): Promise<number> {
  const orderId = `${prefix}-single-${n}`;
  const body = { orderId, clientId: `${prefix}-c`, creatorId: `${prefix}-k-single`, taskType: 'douyin_video', priceFen: PRICE_FEN, brief: brief(), paymentMode: 'full', funding: { source: 'external', paymentRef: `pay-${orderId}` } };
  const start = performance.now();
  await post('/v1/task-orders', body, 201);
  return performance.now() - start;
}

/** One checkout of `size` to its 201 (C4: every line placed); resolves with its time and its workflow id. */
export async function oneCheckout(run: Run, size: Size, n: number): Promise<{ ms: number; checkoutId: string }> {
  const checkoutId = `${run.prefix}-co-${size.lines}-${size.boostEvery}-${n}`;
  const clientId = `${run.prefix}-c`;
  const boosted = (i: number) => size.boostEvery > 0 && i % size.boostEvery === 0;
  const creators = Array.from({ length: size.lines }, (_, i) => (boosted(i) ? (run.boostable[Math.floor(i / size.boostEvery)] as string) : `${checkoutId}-k${i}`));
  const quoteIds = await quotes(run.post, clientId, creators.filter((_, i) => boosted(i)));
  let q = 0;
  const lines = creators.map((creatorId, i) => ({
    orderId: `${checkoutId}-o${i}`,
    creatorId,
    taskType: 'douyin_video',
    priceFen: PRICE_FEN,
    brief: brief(),
    ...(boosted(i) ? { boost: { boostOrderId: `${checkoutId}-b${i}`, quoteId: quoteIds[q++] as string } } : {}),
  }));
  const body = { checkoutId, clientId, paymentMode: 'full', funding: { source: 'external', paymentRef: `pay-${checkoutId}` }, lines };
  const start = performance.now();
  await run.post('/v1/checkouts', body, 201);
  return { ms: performance.now() - start, checkoutId };
}
