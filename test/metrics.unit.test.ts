import { CHECKOUT_KIND } from '../domain/checkout/kind';
import { openStatusesOf } from '../domain/order-kind';
/**
 * SPEC §10 metrics, the pure parts: which request is which command and what became of it, the
 * bounded collection of the order gauges, the zero-filled series, and the exposition parser the
 * e2e test and the compose check rely on.
 */
import { cachedCollector } from '../platform/metrics-cache';
import { commandName, commandOutcome, errorCodeOf, routeLabel } from '../platform/metrics-commands';
import { OPEN_BOOST_STATUSES, OPEN_TASK_STATUSES, STUCK_REASONS, openOrderSeries, stuckSeries } from '../api/metrics-orders';
import { parseExposition, sampleValue } from '../platform/metrics-text';
import { API_ERROR_STATUS } from '../api/errors';

const KNOWN = new Set(Object.keys(API_ERROR_STATUS));

describe('commands (SPEC §10 "commands by outcome")', () => {
  it.each([
    ['/v1/task-orders', 'place_task_order'],
    ['/v1/task-orders/:orderId/accept', 'accept'],
    ['/v1/task-orders/:orderId/restore-price', 'restore_price'],
    ['/v1/task-orders/:orderId/videos', 'upload_video'],
    ['/v1/task-orders/:orderId/cancel-response', 'cancel_response'],
    ['/v1/balance-payments', 'pay_balances'],
    ['/v1/boost-orders/:boostOrderId/release-refund', 'release_refund'],
    ['/v1/ops/orders/:orderId/actions', 'ops_action'],
  ])('POST %s is the command %s', (pattern, name) => {
    expect(commandName('POST', pattern)).toBe(name);
  });

  it('names a POST route it does not know from its pattern, without its parameters', () => {
    expect(commandName('POST', '/v1/webhook-endpoints/:endpointId/redeliver')).toBe('webhook_endpoints.redeliver');
  });

  it('counts no read, no sandbox clock, nothing outside /v1 and no unmatched request', () => {
    expect(commandName('GET', '/v1/task-orders/:orderId')).toBeUndefined();
    expect(commandName('POST', '/v1/sandbox/clock/advance')).toBeUndefined();
    expect(commandName('POST', '/console/sign-in')).toBeUndefined();
    expect(commandName('POST', undefined)).toBeUndefined();
  });

  it('an outcome is applied, pending, replayed, an error code of SPEC §8, or http_<status>', () => {
    expect(commandOutcome(200, undefined, false, KNOWN)).toBe('applied');
    expect(commandOutcome(201, undefined, false, KNOWN)).toBe('applied');
    expect(commandOutcome(202, undefined, false, KNOWN)).toBe('pending');
    expect(commandOutcome(201, undefined, true, KNOWN)).toBe('replayed');
    expect(commandOutcome(409, 'invalid_state', true, KNOWN)).toBe('replayed');
    expect(commandOutcome(409, 'deadline_passed', false, KNOWN)).toBe('deadline_passed');
    expect(commandOutcome(503, 'unavailable', false, KNOWN)).toBe('unavailable');
    // A code outside the known set never becomes a label value (bounded cardinality).
    expect(commandOutcome(418, 'made_up_by_someone', false, KNOWN)).toBe('http_418');
    expect(commandOutcome(500, undefined, false, KNOWN)).toBe('http_500');
  });

  it('reads the error code of a serialized SPEC §8 body, and nothing from anything else', () => {
    expect(errorCodeOf('{"error":{"code":"price_locked","message":"no"}}')).toBe('price_locked');
    expect(errorCodeOf('{"error":{"code":7}}')).toBeUndefined();
    expect(errorCodeOf('not json')).toBeUndefined();
    expect(errorCodeOf('{broken')).toBeUndefined();
    expect(errorCodeOf(Buffer.from('{"error":{"code":"x"}}'))).toBeUndefined();
  });

  it('labels a request by its route pattern, an unmatched one as unmatched', () => {
    expect(routeLabel('/v1/task-orders/:orderId', false)).toBe('/v1/task-orders/:orderId');
    expect(routeLabel(undefined, true)).toBe('unmatched');
    expect(routeLabel('/v1/task-orders/:orderId', true)).toBe('unmatched');
  });
});

describe('the cached collection of the order gauges (bounded cost per scrape)', () => {
  let now = 0;
  const clock = () => now;

  it('collects once per interval, however many scrapes ask, concurrent ones sharing one collection', async () => {
    now = 1_000;
    let calls = 0;
    const cache = cachedCollector(async () => ++calls, { maxAgeMs: 30_000, waitMs: 1_000, nowMs: clock });
    const answers = await Promise.all([cache.get(), cache.get(), cache.get()]);
    expect(answers.map((a) => a.value)).toEqual([1, 1, 1]);
    now += 29_999;
    expect((await cache.get()).value).toBe(1);
    now += 1;
    expect((await cache.get()).value).toBe(2);
    expect(calls).toBe(2);
  });

  it('a scrape waits at most waitMs for a slow collection, then answers the last values', async () => {
    now = 0;
    let release: (() => void) | undefined;
    let calls = 0;
    const cache = cachedCollector(
      () => {
        calls += 1;
        return calls === 1 ? Promise.resolve('first') : new Promise<string>((resolve) => (release = () => resolve('second')));
      },
      { maxAgeMs: 10, waitMs: 20, nowMs: clock },
    );
    expect((await cache.get()).value).toBe('first');
    now = 100;
    const started = Date.now();
    const stale = await cache.get();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(stale).toMatchObject({ value: 'first', collectedAtMs: 0 });
    expect((await cache.get()).value).toBe('first'); // the slow one is still the one running
    expect(calls).toBe(2);
    release?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect((await cache.get()).value).toBe('second');
  });

  it('a failed collection keeps the last values, says so, and is not retried before the interval', async () => {
    now = 0;
    let fail = false;
    let calls = 0;
    const errors: unknown[] = [];
    const cache = cachedCollector(
      async () => {
        calls += 1;
        if (fail) throw new Error('database down');
        return calls;
      },
      { maxAgeMs: 1_000, waitMs: 100, nowMs: clock, onError: (e) => errors.push(e) },
    );
    expect(await cache.get()).toEqual({ value: 1, collectedAtMs: 0, lastFailed: false });
    fail = true;
    now = 5_000;
    expect(await cache.get()).toEqual({ value: 1, collectedAtMs: 0, lastFailed: true });
    now = 5_500;
    await cache.get();
    expect(calls).toBe(2);
    expect(errors).toHaveLength(1);
    fail = false;
    now = 6_000;
    expect(await cache.get()).toEqual({ value: 3, collectedAtMs: 6_000, lastFailed: false });
  });
});

describe('zero-filled series (a series never vanishes)', () => {
  it('every open status of every kind, with the counts found', () => {
    const series = openOrderSeries([
      { kind: 'task', status: 'in_production', n: 4 },
      { kind: 'boost', status: 'boosting', n: 2 },
    ]);
    expect(series).toHaveLength(OPEN_TASK_STATUSES.length + OPEN_BOOST_STATUSES.length + openStatusesOf(CHECKOUT_KIND).length);
    expect(series).toContainEqual({ kind: 'checkout', status: 'placing', n: 0 }); // C4: a checkout still placing its lines
    expect(series).toContainEqual({ kind: 'task', status: 'in_production', n: 4 });
    expect(series).toContainEqual({ kind: 'task', status: 'awaiting_acceptance', n: 0 });
    expect(series).toContainEqual({ kind: 'boost', status: 'boosting', n: 2 });
    expect(series.map((s) => s.status)).not.toEqual(expect.arrayContaining(['completed']));
    expect(OPEN_TASK_STATUSES).not.toContain('cancelled');
    expect(OPEN_BOOST_STATUSES).not.toContain('closed');
  });

  it('every stuck reason, counting entries', () => {
    const series = stuckSeries([{ reason: 'deadline_overdue' }, { reason: 'deadline_overdue' }, { reason: 'awaiting_stats' }]);
    expect(series.map((s) => s.reason).sort()).toEqual([...STUCK_REASONS].sort());
    expect(series.find((s) => s.reason === 'deadline_overdue')?.n).toBe(2);
    expect(series.find((s) => s.reason === 'awaiting_stats')?.n).toBe(1);
    expect(series.find((s) => s.reason === 'refund_overdue')?.n).toBe(0);
  });
});

describe('the exposition parser', () => {
  const text = [
    '# HELP xingtu_commands_total Commands',
    '# TYPE xingtu_commands_total counter',
    'xingtu_commands_total{command="accept",outcome="applied"} 3',
    'xingtu_commands_total{command="accept",outcome="invalid_state"} 1',
    'xingtu_http_request_duration_seconds_bucket{le="+Inf",route="/v1/task-orders/:orderId",method="GET",status="200"} 7',
    'temporal_request{operation="PollWorkflowTaskQueue",service_name="temporal-core-sdk",namespace="default"} 12 1700000000000',
    'nodejs_heap{space="a \\"quoted\\" one"} 1.5e3',
    '',
  ].join('\n');

  it('reads names, labels (unescaped) and values, summing where several samples match', () => {
    const samples = parseExposition(text);
    expect(samples).toHaveLength(5);
    expect(sampleValue(samples, 'xingtu_commands_total', { command: 'accept', outcome: 'applied' })).toBe(3);
    expect(sampleValue(samples, 'xingtu_commands_total', { command: 'accept' })).toBe(4);
    expect(sampleValue(samples, 'xingtu_http_request_duration_seconds_bucket', { le: '+Inf', route: '/v1/task-orders/:orderId' })).toBe(7);
    expect(sampleValue(samples, 'temporal_request', { operation: 'PollWorkflowTaskQueue' })).toBe(12);
    expect(samples.find((s) => s.name === 'nodejs_heap')).toEqual({ name: 'nodejs_heap', labels: { space: 'a "quoted" one' }, value: 1500 });
    expect(sampleValue(samples, 'absent')).toBeUndefined();
  });

  it('refuses a line that is not a sample', () => {
    expect(() => parseExposition('this is not {a sample')).toThrow(/not a sample line/);
  });
});
