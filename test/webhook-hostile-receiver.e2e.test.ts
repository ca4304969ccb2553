import { sql } from 'kysely';
import { createDb, type Db } from '../db/connect';
import { retryDelayMs } from '../worker/webhook-delivery';
import { placement, placementBody } from './support/fixtures';
import { startHostileReceiver, type HostileMode, type HostileReceiver } from './support/hostile-receiver';
import { authHeader, withStack } from './support/stack';
import { until } from './support/until';

/**
 * SPEC §10 "Hostile peers" / E5 (issue 18): a receiver may answer anything — NUL bytes, binary,
 * gzip, 10 MB or an endless body, after 30 s or never, a reset, a redirect, a failed TLS handshake —
 * and the delivery loop records each attempt with an outcome (storable text), backs off, and goes
 * on: every POST a receiver gets is a recorded attempt (never a lease lapsing into a resend loop),
 * the order's other events and other orders' and endpoints' events keep flowing. And when the
 * database refuses to record an attempt, the delivery backs off all the same and shows as failing.
 */
const KNOBS = { backoffBaseMs: 400, backoffMaxMs: 3_200, timeoutMs: 1_500, leaseMs: 20_000, pollIntervalMs: 100 };
const stack = withStack('dev', { webhooks: KNOBS });
const receivers: HostileReceiver[] = [];
afterAll(async () => {
  for (const r of receivers) await r.close();
});

interface Attempt { attemptNo: number; attemptedAt: string; outcome: string; statusCode: number | null; latencyMs: number; responseSnippet: string | null; error: string | null }
interface Delivery { eventId: string; orderId: string; status: string; attemptCount: number; nextAttemptAt: string | null; lastOutcome: string | null; attempts: Attempt[] }

const ok = async (path: string, body: unknown) => {
  const answer = await stack.post(path, body);
  if (![200, 201].includes(answer.status)) throw new Error(`${path} → ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
};

async function hostile(mode: HostileMode, options: Parameters<typeof startHostileReceiver>[1] = {}): Promise<{ receiver: HostileReceiver; endpointId: string }> {
  const receiver = await startHostileReceiver(mode, options);
  receivers.push(receiver);
  const created = await ok('/v1/webhook-endpoints', { url: receiver.url, description: `hostile: ${mode}` });
  return { receiver, endpointId: created.endpoint.endpointId };
}

async function deliveries(endpointId: string): Promise<Delivery[]> {
  const page = await stack.get(`/v1/webhook-endpoints/${endpointId}/deliveries?limit=100`);
  expect(page.status).toBe(200);
  return page.body.deliveries;
}

/** Two orders: A with two events (new_task, reminder), B with one; their event ids in feed order. */
async function twoOrders(tag: string): Promise<{ a: string[]; b: string[] }> {
  const [pa, pb] = [placement({ clientId: `c-${tag}-a` }), placement({ clientId: `c-${tag}-b` })];
  await ok('/v1/task-orders', placementBody(pa));
  await ok(`/v1/task-orders/${pa.orderId}/remind`, { actor: { type: 'client', id: pa.clientId } });
  await ok('/v1/task-orders', placementBody(pb));
  const events = async (orderId: string) => (await stack.get(`/v1/events?orderId=${orderId}`)).body.events.map((e: { id: string }) => e.id) as string[];
  return { a: await events(pa.orderId), b: await events(pb.orderId) };
}

const remove = (endpointId: string) => fetch(`${stack.baseUrl}/v1/webhook-endpoints/${endpointId}`, { method: 'DELETE', headers: authHeader('backend') });

const postsOf = (receiver: HostileReceiver, id: string) => receiver.posts.filter((p) => p.id === id).length;

/** The least delay before attempt `n + 1` after attempt `n` failed (the jitter at its lowest). */
const leastDelay = (n: number) => retryDelayMs(n, KNOBS.backoffBaseMs, KNOBS.backoffMaxMs, () => 0) - 50;

/** From the end of each attempt to the next, at least the backoff (doubling): a backoff, not a loop. */
function expectBackoff(attempts: readonly Attempt[]): void {
  for (let n = 1; n < attempts.length; n += 1) {
    const [before, after] = [attempts[n - 1]!, attempts[n]!];
    expect(Date.parse(after.attemptedAt) - (Date.parse(before.attemptedAt) + before.latencyMs)).toBeGreaterThanOrEqual(leastDelay(n));
  }
}

/** Every POST the receiver got for `id` is a recorded attempt (one more may be in flight). */
function expectEveryPostRecorded(receiver: HostileReceiver, id: string, delivery: Delivery): void {
  const posts = postsOf(receiver, id);
  expect(posts - delivery.attempts.length).toBeGreaterThanOrEqual(0);
  expect(posts - delivery.attempts.length).toBeLessThanOrEqual(1);
}

const DELIVERED: ReadonlyArray<[HostileMode, (a: Attempt) => void]> = [
  ['nul', (a) => expect(a.responseSnippet).toBe('ok\uFFFD\uFFFD{"received":true}\uFFFD')],
  ['binary', (a) => expect(a.responseSnippet).toMatch(/^\uFFFD{9}\t\n\uFFFD\uFFFD\r\uFFFD{18} !"#/)],
  ['gzip', (a) => expect(a.responseSnippet).not.toContain('inflated')],
  ['huge', (a) => expect(a.responseSnippet).toBe('x'.repeat(512))],
  ['endless', (a) => expect(a.latencyMs).toBeLessThan(KNOBS.timeoutMs)], // read 512 bytes and hung up: not a timeout
];

const FAILING: ReadonlyArray<[HostileMode, Partial<Attempt>]> = [
  ['binary500', { outcome: 'http_error', statusCode: 500 }],
  ['slow', { outcome: 'timeout', statusCode: null, error: `no answer within ${KNOBS.timeoutMs} ms` }],
  ['never', { outcome: 'timeout', statusCode: null }],
  ['reset', { outcome: 'network_error', statusCode: null }],
  ['redirect', { outcome: 'http_error', statusCode: 302 }],
];

describe('§10 hostile webhook receivers (E5)', () => {
  test('any answer is recorded with an outcome and storable text; failures back off; other orders and endpoints go on', async () => {
    const trap = await startHostileReceiver('ok'); // where the redirect points: must never be POSTed to
    receivers.push(trap);
    const good = await hostile('ok');
    const delivering = await Promise.all(DELIVERED.map(([mode]) => hostile(mode)));
    const failing = await Promise.all(FAILING.map(([mode]) => hostile(mode, { slowMs: 30_000, redirectTo: `${trap.url}?from=redirect` })));
    const tls = await hostile('tls');
    const { a, b } = await twoOrders('hostile');
    expect([a.length, b.length]).toEqual([2, 1]);

    // Well-behaved and 2xx-with-garbage endpoints: every event of both orders, once each.
    await until('the good endpoint has every event', () => [...a, ...b].every((id) => postsOf(good.receiver, id) === 1));
    for (const [i, [mode, check]] of DELIVERED.entries()) {
      const { receiver, endpointId } = delivering[i]!;
      const listed = await until(`${mode}: every event delivered`, async () => {
        const all = await deliveries(endpointId);
        return all.length === 3 && all.every((d) => d.status === 'delivered') ? all : undefined;
      });
      for (const d of listed) {
        expect(d).toMatchObject({ attemptCount: 1, lastOutcome: 'delivered', attempts: [{ outcome: 'delivered', statusCode: 200 }] });
        expect(d.attempts[0]!.responseSnippet!.length).toBeLessThanOrEqual(512);
        expect(d.attempts[0]!.responseSnippet).not.toMatch(/\u0000/); // eslint-disable-line no-control-regex
        check(d.attempts[0]!);
        expect(postsOf(receiver, d.eventId)).toBe(1);
      }
    }

    // Failing endpoints: both orders' first events are tried and retried (B is not held up by A), with backoff.
    for (const [i, [mode, expected]] of FAILING.entries()) {
      const { receiver, endpointId } = failing[i]!;
      const heads = await until(`${mode}: both orders' first events tried 3 times`, async () => {
        const all = await deliveries(endpointId);
        const tried = all.filter((d) => d.attempts.length >= 3);
        return tried.length === 2 ? tried : undefined;
      }, 60_000);
      expect(heads.map((d) => d.eventId).sort()).toEqual([a[0], b[0]].sort());
      const all = await deliveries(endpointId);
      expect(all.find((d) => d.eventId === a[1])).toMatchObject({ status: 'pending', attemptCount: 0 }); // A's reminder waits its turn
      for (const d of heads) {
        expect(d).toMatchObject({ status: 'pending', lastOutcome: expected.outcome });
        for (const attempt of d.attempts) expect(attempt).toMatchObject(expected);
        expect(Date.parse(d.nextAttemptAt!)).toBeGreaterThan(Date.parse(d.attempts.at(-1)!.attemptedAt));
        expectBackoff(d.attempts);
        expectEveryPostRecorded(receiver, d.eventId, d);
      }
      const endpoint = (await stack.get(`/v1/webhook-endpoints/${endpointId}`)).body;
      expect(endpoint).toMatchObject({ status: 'active', failingStartedAt: expect.any(String) });
      if (mode === 'redirect') expect(heads[0]!.attempts[0]!.error).toBe(`redirect not followed (location: ${trap.url}?from=redirect)`);
      if (mode === 'slow') for (const attempt of heads[0]!.attempts) expect(attempt.latencyMs).toBeLessThan(KNOBS.timeoutMs + 1_000);
    }
    expect(trap.posts).toEqual([]);

    // TLS: the handshake fails; every connection is a recorded network_error.
    const tlsHeads = await until('tls: tried 3 times', async () => {
      const tried = (await deliveries(tls.endpointId)).filter((d) => d.attempts.length >= 3);
      return tried.length === 2 ? tried : undefined;
    }, 60_000);
    for (const d of tlsHeads) {
      for (const attempt of d.attempts) expect(attempt).toMatchObject({ outcome: 'network_error', statusCode: null, error: expect.stringMatching(/SSL|TLS|EPROTO|wrong version/i) });
      expectBackoff(d.attempts);
    }
    const recorded = (await deliveries(tls.endpointId)).reduce((n, d) => n + d.attempts.length, 0);
    expect(tls.receiver.posts.length - recorded).toBeGreaterThanOrEqual(0);
    expect(tls.receiver.posts.length - recorded).toBeLessThanOrEqual(2);

    for (const r of [good, ...delivering, ...failing, tls]) await remove(r.endpointId);
  }, 120_000);

  test('a database error while recording an attempt: the delivery backs off (recorded as unrecordable, or without a row) and shows as failing; never a resend loop', async () => {
    // Injected as the schema owner: a trigger refusing this test's attempts (the test database's login is a superuser).
    const owner: Db = createDb({ connectionString: stack.database.url, role: null, maxConnections: 1 });
    try {
      const good = await hostile('ok');
      const fallback = await hostile('ok'); // its attempts refused unless 'unrecordable'
      const nothing = await hostile('ok'); // every attempt row refused
      await sql`create function test_refuse_attempts() returns trigger language plpgsql as $$
        begin
          if new.endpoint_id = ${sql.lit(nothing.endpointId)} or (new.endpoint_id = ${sql.lit(fallback.endpointId)} and new.outcome <> 'unrecordable') then
            raise exception 'injected: this attempt cannot be recorded';
          end if;
          return new;
        end $$`.execute(owner);
      await sql`create trigger refuse_attempts before insert on webhook_attempts for each row execute function test_refuse_attempts()`.execute(owner);
      const { a, b } = await twoOrders('dbfail');
      await until('the good endpoint has every event', () => [...a, ...b].every((id) => postsOf(good.receiver, id) === 1));

      const heads = await until('unrecordable attempts, 3 per order', async () => {
        const tried = (await deliveries(fallback.endpointId)).filter((d) => d.attempts.length >= 3);
        return tried.length === 2 ? tried : undefined;
      });
      for (const d of heads) {
        expect(d).toMatchObject({ status: 'pending', lastOutcome: 'unrecordable' });
        for (const attempt of d.attempts) expect(attempt).toMatchObject({ outcome: 'unrecordable', statusCode: null, responseSnippet: null, error: expect.stringContaining('the attempt (delivered 204) could not be recorded: injected') });
        expectBackoff(d.attempts);
        expectEveryPostRecorded(fallback.receiver, d.eventId, d);
      }
      expect((await stack.get(`/v1/webhook-endpoints/${fallback.endpointId}`)).body.failingStartedAt).toEqual(expect.any(String));

      // Not even an attempt row: the delivery is still backed off (claims spaced by the backoff, not by the 20 s lease).
      const started = Date.now();
      await until('claims without attempt rows', async () => (await deliveries(nothing.endpointId)).filter((d) => d.attemptCount >= 4).length === 2);
      expect(Date.now() - started).toBeLessThan(KNOBS.leaseMs);
      for (const d of await deliveries(nothing.endpointId).then((all) => all.filter((x) => x.attemptCount > 0))) {
        expect(d).toMatchObject({ status: 'pending', lastOutcome: 'unrecordable', attempts: [] });
        const posts = nothing.receiver.posts.filter((p) => p.id === d.eventId).map((p) => p.atMs);
        expect(posts.length - d.attemptCount).toBeLessThanOrEqual(0);
        for (let n = 1; n < posts.length; n += 1) expect(posts[n]! - posts[n - 1]!).toBeGreaterThanOrEqual(leastDelay(n));
      }
      expect((await stack.get(`/v1/webhook-endpoints/${nothing.endpointId}`)).body.failingStartedAt).toEqual(expect.any(String));

      // The database accepts attempts again: everything is delivered, the endpoints recover.
      await sql`drop trigger refuse_attempts on webhook_attempts`.execute(owner);
      for (const { endpointId } of [fallback, nothing]) {
        await until('delivered after the fault', async () => (await deliveries(endpointId)).every((d) => d.status === 'delivered'), 30_000);
        expect((await stack.get(`/v1/webhook-endpoints/${endpointId}`)).body).toMatchObject({ status: 'active', failingStartedAt: null });
      }
      for (const r of [good, fallback, nothing]) await remove(r.endpointId);
    } finally {
      await sql`drop trigger if exists refuse_attempts on webhook_attempts`.execute(owner);
      await owner.destroy();
    }
  }, 90_000);
});
