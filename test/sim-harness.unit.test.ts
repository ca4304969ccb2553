/**
 * The simulation's harness (sim/faults.ts, sim/http.ts, sim/invariants.ts, sim/run.ts): the seeded
 * fault schedule, the careful client's retries, and the checks that judge statuses against fault
 * windows. The simulation itself runs in test/sim.e2e.test.ts.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { generateWebhookSecret, signWebhook } from '../platform/webhook-signing';
import { FAULT_KINDS, FaultSchedule, parseFaults, timerWindows, type FaultRecord } from '../sim/faults';
import { createSimHttp } from '../sim/http';
import { checkStatuses, checkStuck, compareFeed, compareNotifications, compareWebhooks, eventAmount, statusWindows, type FeedEvent } from '../sim/invariants';
import { SIM_WEBHOOK_DELIVERY, parseWebhookDelivery } from '../sim/policy';
import { createRng } from '../sim/rng';
import { withFaultWindows } from '../sim/run';
import type { Exchange, FaultWindow, LifecycleRecord, SimHttp, SimPolicy } from '../sim/types';
import { receiverSchedule, startWebhookReceiver, type Arrival } from '../sim/webhook-receiver';

describe('--faults', () => {
  it('takes all, none, or a list of kinds', () => {
    expect(parseFaults('all')).toEqual([...FAULT_KINDS]);
    expect(parseFaults('none')).toEqual([]);
    expect(parseFaults('pg-restart, worker-kill,pg-restart')).toEqual(['pg-restart', 'worker-kill']);
    expect(() => parseFaults('worker-kill,disk-full')).toThrow(/unknown fault "disk-full"/);
  });
});

describe('the fault schedule', () => {
  const plan = (seed: number, n: number) => {
    const schedule = new FaultSchedule(createRng(seed).fork('faults'), FAULT_KINDS, 2);
    return Array.from({ length: n }, () => schedule.next());
  };

  it('is the same for the same seed, and another for another seed', () => {
    expect(plan(7, 20)).toEqual(plan(7, 20));
    expect(plan(7, 20)).not.toEqual(plan(8, 20));
  });

  it('injects every kind once first, then draws kinds, targets and pauses within their bounds', () => {
    for (const seed of [1, 2, 3, 42, 20261201]) {
      const faults = plan(seed, 30);
      expect(new Set(faults.slice(0, FAULT_KINDS.length).map((f) => f.kind))).toEqual(new Set(FAULT_KINDS));
      for (const f of faults.slice(0, FAULT_KINDS.length)) expect(f.pauseBeforeMs).toBeGreaterThanOrEqual(3000);
      for (const f of faults) {
        expect(f.pauseBeforeMs).toBeLessThanOrEqual(20_000);
        if (f.kind === 'worker-kill') expect([0, 1]).toContain(f.target);
        if (f.kind === 'pg-restart') expect(['immediate', 'kill']).toContain(f.variant);
        if (f.kind === 'temporal-restart') expect(['SIGTERM', 'SIGKILL']).toContain(f.variant);
      }
    }
  });

  it('puts a kind not injected yet first when asked (the run is ending)', () => {
    const schedule = new FaultSchedule(createRng(5), ['api-kill', 'pg-terminate'], 2);
    schedule.next();
    schedule.next();
    expect(schedule.next(['pg-terminate']).kind).toBe('pg-terminate');
  });
});

const ex = (status: number, startedAtMs: number, endedAtMs = startedAtMs + 10, path = '/v1/task-orders/o-1/accept'): Exchange => ({ method: 'POST', path, status, startedAtMs, endedAtMs });
const fault = (kind: FaultRecord['kind'], startedAtMs: number, recoveredAtMs: number): FaultRecord => ({ kind, detail: '', startedAtMs, recoveredAtMs });

describe('statuses against the fault windows', () => {
  const faults = [fault('pg-restart', 10_000, 15_000), fault('api-kill', 50_000, 52_000)];
  const windows = statusWindows(faults, 15_000);
  const verdicts = (exchanges: Exchange[]) => checkStatuses(exchanges, windows).violations.map((v) => v.message.split(' for ')[0]);

  it('never allows a 500 or another 5xx', () => {
    expect(verdicts([ex(500, 12_000), ex(502, 12_000), ex(200, 1000)])).toEqual(['500', '502']);
  });

  it('allows a 503 only overlapping a fault and its grace', () => {
    expect(verdicts([ex(503, 9_900), ex(503, 29_000), ex(503, 2000, 10_500)])).toEqual([]);
    expect(verdicts([ex(503, 31_000), ex(503, 5000)])).toEqual(['503 outside any fault window', '503 outside any fault window']);
  });

  it('allows no answer only around an API restart', () => {
    expect(verdicts([ex(0, 51_000), ex(0, 49_000, 50_100)])).toEqual([]);
    expect(verdicts([ex(0, 12_000)])).toEqual(['no answer outside an API restart']);
  });
});

describe('timers under faults', () => {
  const policy: SimPolicy = { acceptanceMs: 20_000, balanceMs: 20_000, reviewMs: 20_000, cancellationAnswerMs: 15_000, remindIntervalMs: 5_000, timerLagMs: 3_000 };
  const record = (from: number, to: number): LifecycleRecord => ({ label: 'l1', taskOrderIds: ['l1-o1'], boostOrderIds: [], exchanges: [ex(200, from), ex(200, to)], commands: 2, policy });
  const windows = timerWindows([fault('worker-kill', 100_000, 104_000), fault('api-kill', 200_000, 201_000)]);

  it('raises the lag of a lifecycle a fault overlapped, and only of that one', () => {
    expect(withFaultWindows(record(90_000, 110_000), windows, policy).policy?.timerLagMs).toBe(4_000 + 15_000);
    expect(withFaultWindows(record(90_000, 110_000), windows, policy).faultWindows?.map((w) => w.kind)).toEqual(['worker-kill']);
    expect(withFaultWindows(record(10_000, 50_000), windows, policy).policy?.timerLagMs).toBe(3_000);
    expect(withFaultWindows(record(199_000, 203_000), windows, policy).policy?.timerLagMs).toBe(3_000); // an API restart delays no timer
  });

  it('O1/T22: judges the stuck list under the raised lag too (seed 20261201, l29: a cancellation request escalated while faults delayed timers)', () => {
    // Under the quiet-run lag the model diverges early in l29 and the states before that divergence
    // have no escalation; under the raised lag the lifecycle fits and its request escalated.
    const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'sim-seed-20261201-l29.json'), 'utf8')) as { record: LifecycleRecord; windows: FaultWindow[] };
    expect(fixture.record.expectedStuck).toEqual([]);
    const checked = withFaultWindows(fixture.record, fixture.windows, fixture.record.policy!);
    expect(checked.policy?.timerLagMs).toBe(19_991);
    // Every state of the raised-lag model has it escalated: the entry is required, not only allowed.
    expect(checked.expectedStuck).toEqual([{ orderId: 'l29-o1', reasons: ['awaiting_arbitration'], required: ['awaiting_arbitration'] }]);
    expect(checked.expectedNotifications?.length).toBeGreaterThan(0);
  });
});

describe('the careful client', () => {
  let server: Server;
  let baseUrl: string;
  let answers: number[] = [];
  const seen: Array<{ key: string | undefined; auth: string | undefined }> = [];
  beforeAll(async () => {
    server = createServer((request: IncomingMessage, response) => {
      seen.push({ key: request.headers['idempotency-key'] as string | undefined, auth: request.headers.authorization });
      const status = answers.shift() ?? 200;
      if (status === 0) {
        request.socket.destroy(); // no answer
        return;
      }
      response.writeHead(status, { 'content-type': 'application/json', ...(status === 503 ? { 'retry-after': '0' } : {}) });
      response.end(JSON.stringify(status === 409 ? { error: { code: 'invalid_state', message: 'a request with this Idempotency-Key is still in progress; retry later' } } : { status }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    seen.length = 0;
  });
  const tokens = { backend: 'b'.repeat(16), ops: 'o'.repeat(16), finance: 'f'.repeat(16), metrics: 'm'.repeat(16) };

  it('retries no answer, 503 and "key in progress" with the same key, and says so', async () => {
    const recorded: Exchange[] = [];
    const http = createSimHttp({ baseUrl, tokens, record: (e) => recorded.push(e) });
    answers = [0, 503, 409, 201];
    const answer = await http.call('POST', '/v1/task-orders', { orderId: 'o-1' }, { idempotencyKey: 'k-1' });
    expect(answer.status).toBe(201);
    expect(answer.earlierAttempts?.map((a) => a.status)).toEqual([0, 503, 409]);
    expect(seen.map((s) => s.key)).toEqual(['k-1', 'k-1', 'k-1', 'k-1']);
    expect(recorded.map((e) => e.status)).toEqual([0, 503, 409, 201]);
  });

  it('does not retry a POST without a key that got no answer, unless told it is idempotent', async () => {
    const http = createSimHttp({ baseUrl, tokens, record: () => undefined });
    answers = [0, 200];
    expect((await http.call('POST', '/v1/task-orders/o-1/videos', {})).status).toBe(0);
    answers = [503, 200];
    expect((await http.call('POST', '/v1/task-orders/o-1/videos', {})).status).toBe(200);
    seen.length = 0;
    answers = [0, 200];
    const answer = await http.call('POST', '/v1/task-orders/o-1/videos', {}, { idempotent: true, role: 'ops' });
    expect(answer.status).toBe(200);
    expect(seen[0]?.key).toMatch(/^sim-/);
    expect(seen[1]?.key).toBe(seen[0]?.key);
    expect(seen[0]?.auth).toBe(`Bearer ${tokens.ops}`);
  });

  it('a 409 on the first attempt is an answer (a duplicate of the caller\'s own)', async () => {
    const http = createSimHttp({ baseUrl, tokens, record: () => undefined });
    answers = [409];
    expect((await http.call('POST', '/v1/task-orders/o-1/accept', {}, { idempotencyKey: 'k-2' })).status).toBe(409);
  });

  it('gives up after its attempts (or its time budget) with status 0', async () => {
    const http = createSimHttp({ baseUrl, tokens, record: () => undefined, maxAttempts: 4 });
    answers = Array.from({ length: 50 }, () => 503);
    const answer = await http.call('GET', '/v1/task-orders/o-1');
    expect(answer.status).toBe(0);
    expect(answer.response).toMatchObject({ gaveUp: true, lastStatus: 503 });
    answers = [];
  });
});

describe('the notification check against the model (E3)', () => {
  const record = (label: string, candidates: Array<Record<string, number>>): LifecycleRecord => ({
    label, taskOrderIds: [`${label}-o1`], boostOrderIds: [`${label}-b1`], exchanges: [], commands: 0, expectedNotifications: candidates,
  });
  const row = (order_id: string, kind: string, recipient: string) => ({ order_id, kind, recipient });
  const l1 = record('l1', [
    { 'l1-o1|new_task|creator:k1': 1 },
    { 'l1-o1|new_task|creator:k1': 1, 'l1-o1|cancelled|client:c1': 1, 'l1-o1|cancelled|creator:k1': 1 },
  ]);
  const l2 = record('l2', [{ 'l2-o1|new_task|creator:k2': 1, 'boost:l2-b1|boost_ordered|client:c2': 1 }]);
  const rows = [row('l1-o1', 'new_task', 'creator:k1'), row('l2-o1', 'new_task', 'creator:k2'), row('boost:l2-b1', 'boost_ordered', 'client:c2')];

  it('passes when each lifecycle has the notifications of one of its possible states', () => {
    expect(compareNotifications([l1, l2], rows).violations).toEqual([]);
    const cancelled = [...rows, row('l1-o1', 'cancelled', 'client:c1'), row('l1-o1', 'cancelled', 'creator:k1')];
    expect(compareNotifications([l1, l2], cancelled).violations).toEqual([]);
  });

  it('fails with no notifications at all, one missing, one more, or one twice', () => {
    const messages = (r: typeof rows) => compareNotifications([l1, l2], r).violations.map((v) => v.message);
    expect(messages([])).toEqual([
      "l1: its notifications are none that the model implies (of 2 possible); closest: missing [l1-o1|new_task|creator:k1], unexpected []",
      "l2: its notifications are none that the model implies (of 1 possible); closest: missing [l2-o1|new_task|creator:k2, boost:l2-b1|boost_ordered|client:c2], unexpected []",
    ]);
    expect(messages(rows.slice(0, 2))).toEqual([expect.stringMatching(/^l2: .*missing \[boost:l2-b1\|boost_ordered\|client:c2\]/)]);
    expect(messages([...rows, row('l1-o1', 'reminder', 'creator:k1')])).toEqual([expect.stringMatching(/^l1: .*unexpected \[l1-o1\|reminder\|creator:k1\]/)]);
    expect(messages([...rows, row('l2-o1', 'new_task', 'creator:k2')])).toEqual([expect.stringMatching(/^l2: .*unexpected \[l2-o1\|new_task\|creator:k2\]/)]);
    expect(messages([...rows, row('l1-o1', 'cancelled', 'client:c1')])).toEqual([expect.stringMatching(/^l1: its notifications are none that the model implies/)]); // half a cancellation
  });
});

describe('the stuck check (O1)', () => {
  const http = (entries: unknown[]): SimHttp => ({
    send: () => Promise.reject(new Error('unused')),
    call: () => Promise.resolve({ method: 'GET', path: '/v1/ops/stuck', status: 200, response: { entries }, startedAtMs: 0, endedAtMs: 0 }),
  });
  const record: LifecycleRecord = {
    label: 'l1', taskOrderIds: ['l1-o1', 'l1-o2'], boostOrderIds: [], exchanges: [], commands: 0,
    expectedStuck: [{ orderId: 'l1-o1', reasons: ['awaiting_arbitration'], required: ['awaiting_arbitration'] }, { orderId: 'l1-o2', reasons: ['awaiting_arbitration'], required: [] }],
  };
  const entry = (orderId: string, reason: string) => ({ orderId, kind: 'task', reason });

  it('passes the entries the model requires and allows', async () => {
    expect((await checkStuck([record], http([entry('l1-o1', 'awaiting_arbitration')]))).violations).toEqual([]);
    expect((await checkStuck([record], http([entry('l1-o1', 'awaiting_arbitration'), entry('l1-o2', 'awaiting_arbitration')]))).violations).toEqual([]);
  });

  it('fails an empty list where every possible state implies an entry, and an entry no state allows', async () => {
    expect((await checkStuck([record], http([]))).violations.map((v) => v.message)).toEqual([
      "missing from the stuck list: awaiting_arbitration, which every possible state of l1's model implies",
    ]);
    expect((await checkStuck([record], http([entry('l1-o1', 'awaiting_arbitration'), entry('l1-o2', 'refund_overdue')]))).violations).toHaveLength(1);
  });
});

describe('the ledger check reads every amount (L3)', () => {
  it('reads the amounts of the events that move money, as stored in JSON', () => {
    expect(eventAmount('TaskOrderPlaced', { paidFen: 11_000 })).toBe(11_000n);
    expect(eventAmount('TaskOrderCancelled', { refundFen: '100', creatorFen: 50, serviceFeeFen: 5, forfeitedFen: 0 })).toBe(155n);
    expect(eventAmount('RefundPosted', { amountFen: 5_500 })).toBe(5_500n);
    expect(eventAmount('TaskOrderAccepted', { priceFen: 1 })).toBeUndefined();
  });

  it('an amount it cannot read (renamed, absent, a float) is an error, never 0 (else "moved money but not in the ledger" goes silent)', () => {
    expect(() => eventAmount('TaskOrderPlaced', { paidAmountFen: 11_000 })).toThrow(/unreadable amount undefined/);
    expect(() => eventAmount('BalancePaid', { amountFen: 10.5 })).toThrow(/unreadable amount 10.5/);
    expect(() => eventAmount('TaskOrderCompleted', { creatorFen: 100, serviceFee: 10 })).toThrow(/unreadable amount/);
    expect(() => eventAmount('RefundPosted', { amountFen: '12 fen' })).toThrow(/unreadable amount/);
  });
});

// ── E4/E5 checks of the simulation (sim/invariants.ts, sim/webhook-receiver.ts) ─────────────────

describe('the feed check (E4)', () => {
  const table = ['evt_3', 'evt_1', 'evt_2', 'evt_4'];
  const reading = (ids: string[], limit = 7) => ({ limit, ids });

  it('passes readings that list every row once in (writer_xid, id) order', () => {
    expect(compareFeed(table, [reading(table), reading([...table], 23)])).toEqual([]);
  });

  it('fails a duplicate, a missing row, a row that is no notification, and another order', () => {
    const messages = (ids: string[]) => compareFeed(table, [reading(ids)]).map((v) => v.message);
    expect(messages(['evt_3', 'evt_1', 'evt_1', 'evt_2', 'evt_4'])).toEqual(['paged by 7: evt_1 is listed 2 times']);
    expect(messages(['evt_3', 'evt_1', 'evt_4'])).toEqual(['paged by 7: 1 notifications never listed: evt_2']);
    expect(messages([...table, 'evt_9'])).toEqual(['paged by 7: evt_9 is listed but is no notification']);
    expect(messages(['evt_1', 'evt_3', 'evt_2', 'evt_4'])).toEqual(['paged by 7: position 0 is evt_1, the (writer_xid, id) order has evt_3 there']);
  });
});

describe('the webhook check (E5)', () => {
  const event = (n: number, orderId: string): FeedEvent => ({ id: `evt_${n}`, type: 'reminder', orderId, orderKind: 'task', orderVersion: n, payload: { orderId } });
  const feed = [event(1, 'o-1'), event(2, 'o-2'), event(3, 'o-1')];
  let seq = 0;
  const arrival = (e: FeedEvent, status: number, patch: Partial<Arrival> = {}): Arrival => {
    const arrivedSeq = ++seq;
    return { seq: arrivedSeq, webhookId: e.id, body: JSON.stringify(e), arrivedAtMs: 0, signatureError: null, mode: 'ok', status, answeredSeq: status ? ++seq : null, cutOffAfterMs: null, ...patch };
  };
  const [e1, e2, e3] = feed as [FeedEvent, FeedEvent, FeedEvent];
  const messages = (arrivals: Arrival[]) => compareWebhooks(feed, arrivals).map((v) => v.message.replace(/ \(#\d+\)| #\d+/g, ''));

  it('passes retries and duplicates with the same id and body, in feed order per order', () => {
    // evt_1 fails, is cut off (worker killed), then accepted twice (the loop died before recording); evt_2 (another order) meanwhile.
    expect(messages([arrival(e1, 500), arrival(e2, 204), arrival(e1, 0, { cutOffAfterMs: 300 }), arrival(e1, 204), arrival(e1, 204), arrival(e3, 204)])).toEqual([]);
  });

  it('fails an event never answered 2xx, a bad signature, an unknown id, another body, and two bodies for one id', () => {
    expect(messages([arrival(e1, 204), arrival(e2, 500), arrival(e3, 204)])).toEqual(['evt_2 was never delivered (1 attempts arrived, none answered 2xx)']);
    const changed = { ...e2, payload: { orderId: 'o-2', extra: 1 } };
    expect(
      messages([
        arrival(e1, 204, { signatureError: 'No matching signature found' }),
        arrival(e2, 204),
        arrival(e2, 204, { body: JSON.stringify(changed) }),
        arrival(e3, 204),
        arrival(event(9, 'o-9'), 204),
      ]),
    ).toEqual([
      'delivery (evt_1): the signature did not verify: No matching signature found',
      expect.stringMatching(/^delivery \(evt_2\): its body is not the feed's event/),
      'delivery (evt_9): its webhook-id is no event of the feed',
      'evt_2 was delivered 2 times with 2 different bodies',
    ]);
  });

  it("fails an event of an order sent before the order's previous one was answered 2xx", () => {
    expect(messages([arrival(e1, 500), arrival(e3, 204), arrival(e1, 204), arrival(e2, 204)])).toEqual([
      expect.stringMatching(/^evt_3 was first sent before evt_1, the order's previous event, was answered 2xx \(\d+\)$/),
    ]);
    expect(messages([arrival(e3, 204), arrival(e1, 204), arrival(e2, 204)])[0]).toMatch(/^evt_3 was first sent before evt_1/);
  });
});

describe('the webhook receiver', () => {
  it('has the same bad spells for the same seed, alternating with healthy ones', () => {
    const spells = (seed: number) => {
      const next = receiverSchedule(createRng(seed));
      return Array.from({ length: 12 }, () => next());
    };
    expect(spells(3)).toEqual(spells(3));
    expect(spells(3)).not.toEqual(spells(4));
    spells(3).forEach((spell, i) => expect(spell.mode === 'ok').toBe(i % 2 === 0));
    expect(new Set(spells(3).filter((s) => s.mode !== 'ok').map((s) => s.mode))).toEqual(new Set(['error', 'stall']));
  });

  it('verifies each delivery with standardwebhooks, records it, and stalls deliveries for a kill', async () => {
    const receiver = await startWebhookReceiver({ rng: createRng(1), deliveryTimeoutMs: 300, errorChance: 0 });
    const secret = generateWebhookSecret();
    receiver.setSecret(secret);
    const send = async (id: string, body: string, key = secret, timeoutMs = 5000) => {
      const headers = signWebhook([key], id, Math.floor(Date.now() / 1000), body);
      try {
        return (await fetch(receiver.url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(timeoutMs) })).status;
      } catch {
        return 0;
      }
    };
    try {
      expect(await send('evt_1', '{"id":"evt_1"}')).toBe(204);
      expect(await send('evt_2', '{"id":"evt_2"}', generateWebhookSecret())).toBe(400);
      const hold = receiver.holdInFlight({ minInFlight: 2, afterFirstMs: 5000, maxMs: 5000 });
      const held = [send('evt_3', '{"id":"evt_3"}', secret, 100), send('evt_4', '{"id":"evt_4"}', secret, 100)];
      expect(await hold).toBe(2);
      expect(await Promise.all(held)).toEqual([0, 0]); // the sender gave up (as a killed worker's connection closes)
      receiver.heal();
      expect(await send('evt_5', '{"id":"evt_5"}')).toBe(204);
      const seen = receiver.arrivals.map((a) => ({ id: a.webhookId, ok: a.signatureError === null, mode: a.mode, status: a.status, cutOff: a.cutOffAfterMs !== null }));
      expect(seen).toEqual([
        { id: 'evt_1', ok: true, mode: 'ok', status: 204, cutOff: false },
        { id: 'evt_2', ok: false, mode: 'ok', status: 400, cutOff: false },
        { id: 'evt_3', ok: true, mode: 'stall', status: 0, cutOff: true },
        { id: 'evt_4', ok: true, mode: 'stall', status: 0, cutOff: true },
        { id: 'evt_5', ok: true, mode: 'ok', status: 204, cutOff: false },
      ]);
      expect(receiver.stats()).toMatchObject({ arrivals: 5, stalls: 2, cutOff: 2 });
    } finally {
      await receiver.close();
    }
  });
});

describe('the delivery knobs of the simulation', () => {
  it('round-trip through the workers\' env and refuse a lease not longer than the timeout', () => {
    expect(parseWebhookDelivery(JSON.stringify(SIM_WEBHOOK_DELIVERY))).toEqual(SIM_WEBHOOK_DELIVERY);
    expect(() => parseWebhookDelivery(JSON.stringify({ ...SIM_WEBHOOK_DELIVERY, leaseMs: 2000 }))).toThrow(/leaseMs must be longer/);
    expect(() => parseWebhookDelivery(JSON.stringify({ ...SIM_WEBHOOK_DELIVERY, timeoutMs: 0 }))).toThrow(/timeoutMs must be a positive integer/);
  });
});
