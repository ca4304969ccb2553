import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { boostCompensation, compensation, percentOf, priceRange, quoteB2 } from './model-money';
import { expectedStuck, impliedNotifications, replay } from './model';
import type { Exchange, LifecycleRecord, SimPolicy } from './types';

/**
 * The reference model, given/when/then: exchanges as a lifecycle would record them (method, path,
 * body, answer, when), the model's possible states after them, and where it reports a divergence.
 */
const POLICY: SimPolicy = {
  acceptanceMs: 20_000,
  balanceMs: 20_000,
  reviewMs: 20_000,
  cancellationAnswerMs: 15_000,
  remindIntervalMs: 5_000,
  boostPeriodMs: 20_000,
  timerLagMs: 3_000,
};

const T0 = Date.parse('2026-06-01T00:00:00.000Z');
let clock = T0;

interface At {
  /** Start (ms since T0); default: 20 ms after the previous exchange. */
  readonly at?: number;
  readonly ms?: number;
  readonly key?: string;
  readonly role?: Exchange['role'];
}

function ex(method: 'GET' | 'POST', path: string, body: unknown, status: number, response: unknown = {}, when: At = {}): Exchange {
  const start = when.at === undefined ? clock + 20 : T0 + when.at;
  const end = start + (when.ms ?? 10);
  clock = Math.max(clock, end);
  return {
    method,
    path,
    ...(body === undefined ? {} : { body }),
    ...(when.key ? { idempotencyKey: when.key } : {}),
    status,
    response,
    startedAtMs: start,
    endedAtMs: end,
    ...(when.role ? { role: when.role } : {}),
  };
}
const post = (path: string, body: unknown, status: number, response?: unknown, when?: At) => ex('POST', path, body, status, response, when);
const get = (path: string, status: number, response: unknown, when?: At) => ex('GET', path, undefined, status, response, when);
const refusal = (code: string) => ({ error: { code, message: code } });

const client = { type: 'client', id: 'c1' };
const creator = { type: 'creator', id: 'k1' };
function placement(orderId: string, priceFen: number, paymentMode: 'full' | 'deposit', funding: unknown = { source: 'account' }) {
  return {
    orderId,
    clientId: 'c1',
    creatorId: 'k1',
    taskType: 'douyin_video',
    priceFen,
    brief: { title: 't', industry: 'beauty', expectedPublishAt: '2030-01-01T00:00:00.000Z' },
    paymentMode,
    funding,
  };
}
const topUp = (amountFen: number, when?: At) => post('/v1/clients/c1/top-ups', { paymentRef: `top-${amountFen}-${clock}`, amountFen }, 201, {}, when);
const account = (name: string, balanceFen: number, when?: At) => get(`/v1/ledger/accounts/${encodeURIComponent(name)}`, 200, { account: name, balanceFen }, when);
const o = (id: string, verb: string) => `/v1/task-orders/${id}/${verb}`;
/** A full-mode order of 100 000 fen, accepted, with the creator's cancellation request escalated (T22), as GET shows it. */
const escalatedView = () => ({
  orderId: 'o1', status: 'in_production', cancelReason: null, priceFen: 100_000, originalPriceFen: 100_000, serviceFeeFen: 10_000, depositFen: 0,
  paidInFen: 110_000, escrowFen: 110_000, balanceDueFen: 0, uploads: 0, pendingCancellation: { by: { type: 'creator', id: 'k1' }, escalated: true }, deadlines: [],
});

beforeEach(() => {
  clock = T0;
});

describe('money (SPEC §1, T2, T9, T20, B6)', () => {
  test('percentOf rounds half up; the T9 range is ceil(0.8 p) … floor(1.2 p)', () => {
    expect(percentOf(100_005n, 1000n)).toBe(10_001n); // 10 000.5 → 10 001
    expect(percentOf(100_004n, 1000n)).toBe(10_000n);
    expect(priceRange(100_001n)).toEqual({ minFen: 80_001n, maxFen: 120_001n });
    expect(priceRange(99_999n)).toEqual({ minFen: 80_000n, maxFen: 119_998n });
  });

  test('T20: 50% of the final price to the creator, 10% of that to the platform', () => {
    expect(compensation(100_001n)).toEqual({ creatorFen: 50_001n, serviceFeeFen: 5_000n });
  });

  test('B6: C = min(fee, (V − A)(P + F)/V) rounded half up; 0 when A ≥ V', () => {
    expect(boostCompensation(10_000, 9_500, 100_000n, 10_000n)).toBe(5_500n);
    expect(boostCompensation(10_000, 10_000, 100_000n, 10_000n)).toBe(0n);
    expect(boostCompensation(10_000, 0, 100_000n, 10_000n)).toBe(10_000n); // capped at the fee
    expect(boostCompensation(3, 2, 1n, 0n)).toBe(0n); // (1 × 1)/3 = 0.33 → 0
    expect(boostCompensation(3, 1, 1n, 1n)).toBe(1n); // (2 × 2)/3 = 1.33 → 1, within the fee
  });

  test('B2: three equal counts → V = the count, no shortfall → the 10% floor', () => {
    const now = T0;
    const videos = [3, 9, 27].map((days) => ({ publishedAtMs: now - days * 86_400_000, views: 10_000 }));
    expect(quoteB2(videos, now)).toMatchObject({ available: true, expectedViews: 10_000, premiumBp: 1000 });
    expect(quoteB2(videos.slice(0, 2), now)).toMatchObject({ available: false, reason: 'not_enough_videos' });
    // Weighted median: the young video weighs most; V is the smallest count reaching half the weight.
    const skewed = [
      { publishedAtMs: now - 1 * 86_400_000, views: 20_000 },
      { publishedAtMs: now - 40 * 86_400_000, views: 1_000 },
      { publishedAtMs: now - 44 * 86_400_000, views: 2_000 },
    ];
    const q = quoteB2(skewed, now);
    expect(q).toMatchObject({ available: true, expectedViews: 20_000 });
    // s = weighted mean shortfall: (w40·0.95 + w44·0.9)/Σw; premium = round(12000 s/(1 − s)), within the band.
    const w = (d: number) => 0.5 ** (d / 15);
    const s = (w(40) * 0.95 + w(44) * 0.9) / (w(1) + w(40) + w(44));
    expect(q.available && q.premiumBp).toBe(Math.min(5000, Math.max(1000, Math.round((12000 * s) / (1 - s)))));
  });
});

describe('task orders: money outcomes', () => {
  test('given a full order with an upload, when the client cancels and the creator confirms, then T20: 50% to the creator, its 10% fee to the platform, the rest back', () => {
    const exchanges = [
      topUp(200_000),
      post('/v1/task-orders', placement('o1', 100_000, 'full'), 201),
      post(o('o1', 'accept'), { actor: creator }, 200),
      post(o('o1', 'videos'), { actor: creator, draftId: 'd1' }, 200),
      post(o('o1', 'cancel'), { actor: client, reason: 'stop' }, 200),
      post(o('o1', 'cancel-response'), { actor: creator, accept: true }, 200),
      account('client:c1', 200_000 - 110_000 + 55_000),
      account('creator:k1', 50_000),
      account('escrow:task:o1', 0),
    ];
    const result = replay(exchanges, POLICY);
    expect(result.violation).toBeUndefined();
    expect(result.worlds).toHaveLength(1);
    expect(result.worlds[0]!.tasks.o1).toMatchObject({
      status: 'cancelled',
      cancelReason: 'cancelled_by_client_after_acceptance',
      settlement: { refundFen: 55_000n, creatorFen: 50_000n, serviceFeeFen: 5_000n, forfeitedFen: 0n },
    });
  });

  test('when the product shows another client balance, then the model reports the read where they diverge', () => {
    const exchanges = [
      topUp(200_000),
      post('/v1/task-orders', placement('o1', 100_000, 'full'), 201),
      post(o('o1', 'accept'), { actor: creator }, 200),
      post(o('o1', 'cancel'), { actor: client }, 200),
      post(o('o1', 'cancel-response'), { actor: creator, accept: true }, 200), // before any upload: free (T20)
      account('client:c1', 145_000), // as if compensation had been paid
    ];
    const result = replay(exchanges, POLICY);
    expect(result.violation).toMatchObject({ invariant: 'model', step: '#5 GET /v1/ledger/accounts/client%3Ac1 → 200' });
    expect(result.violation?.message).toMatch(/client:c1: balance 145000, model 200000/);
  });

  test('F1: an account no transfer touched is 404; the model accepts it while its balance is 0, and not once money moved (issue 12)', () => {
    const untouched = replay([get(`/v1/ledger/accounts/${encodeURIComponent('creator:k1')}`, 404, refusal('not_found'))], POLICY);
    expect(untouched.violation).toBeUndefined();
    const paid = replay([topUp(200_000), get(`/v1/ledger/accounts/${encodeURIComponent('client:c1')}`, 404, refusal('not_found'))], POLICY);
    expect(paid.violation?.message).toMatch(/client:c1: balance 0, model 200000/);
    const system = replay([get(`/v1/ledger/accounts/${encodeURIComponent('platform:service_fees')}`, 404, refusal('not_found'))], POLICY);
    expect(system.violation?.message).toMatch(/a system account always exists/);
  });

  test('given a deposit order accepted and not paid, when the balance time passes, then T13: the deposit is forfeited, the creator gets nothing, a late payment is deadline_passed', () => {
    const exchanges = [
      topUp(50_000, { at: -1_000 }),
      post('/v1/task-orders', placement('o1', 100_000, 'deposit'), 201, {}, { at: 0 }),
      post(o('o1', 'accept'), { actor: creator, newPriceFen: 120_000 }, 200, {}, { at: 1_000 }), // T9: +20%
      post(o('o1', 'pay-balance'), { actor: client, funding: { source: 'account' } }, 409, refusal('deadline_passed'), { at: 1_000 + 20_000 + 3_000 + 500 }),
      account('client:c1', 40_000, { at: 25_000 }),
      account('creator:k1', 0),
    ];
    const result = replay(exchanges, POLICY);
    expect(result.violation).toBeUndefined();
    expect(result.worlds.map((w) => w.tasks.o1)).toEqual([
      expect.objectContaining({ status: 'cancelled', cancelReason: 'balance_not_paid', priceFen: 120_000n, settlement: { refundFen: 0n, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: 10_000n } }),
    ]);
  });

  test('when a payment well after the balance deadline is applied, then that is a divergence (SPEC §1: deadline_passed)', () => {
    const exchanges = [
      topUp(200_000, { at: -1_000 }),
      post('/v1/task-orders', placement('o1', 100_000, 'deposit'), 201, {}, { at: 0 }),
      post(o('o1', 'accept'), { actor: creator }, 200, {}, { at: 1_000 }),
      post(o('o1', 'pay-balance'), { actor: client, funding: { source: 'account' } }, 200, {}, { at: 30_000 }),
    ];
    const result = replay(exchanges, POLICY);
    expect(result.violation?.step).toBe('#3 POST /v1/task-orders/o1/pay-balance → 200');
    expect(result.violation?.message).toMatch(/expected refused \{deadline_passed\}/);
  });

  test('a command right at its deadline may have won or lost the race: both answers fit', () => {
    for (const [status, response] of [[200, {}], [409, refusal('deadline_passed')]] as const) {
      clock = T0;
      const exchanges = [post('/v1/task-orders', placement('o1', 100_000, 'full', { source: 'external', paymentRef: 'p1' }), 201, {}, { at: 0 }), post(o('o1', 'accept'), { actor: creator }, status, response, { at: 20_005 })];
      expect(replay(exchanges, POLICY).violation).toBeUndefined();
    }
  });

  test('T5: an account that cannot pay leaves nothing behind; T1: the same content again is the same order, another content is a conflict', () => {
    const body = placement('o1', 100_000, 'full');
    const exchanges = [
      post('/v1/task-orders', body, 409, refusal('insufficient_funds')),
      get('/v1/task-orders/o1', 404, refusal('not_found')),
      topUp(110_000),
      post('/v1/task-orders', body, 201),
      post('/v1/task-orders', body, 200),
      post('/v1/task-orders', { ...body, priceFen: 100_001 }, 422, refusal('idempotency_mismatch')),
      account('client:c1', 0),
    ];
    expect(replay(exchanges, POLICY).violation).toBeUndefined();
  });
});

describe('concurrent commands: every order of application, pruned by the answers', () => {
  const placed = () => [post('/v1/task-orders', placement('o1', 100_000, 'full', { source: 'external', paymentRef: 'p1' }), 201, {}, { at: 0 })];

  test('remind / accept / remind at once, answered 200, 200, 429: only "remind, remind, accept" fits (T8 then T6)', () => {
    const batch = [
      post(o('o1', 'remind'), { actor: client }, 200, {}, { at: 100, ms: 50 }),
      post(o('o1', 'accept'), { actor: creator }, 200, {}, { at: 100, ms: 50 }),
      post(o('o1', 'remind'), { actor: client }, 429, refusal('rate_limited'), { at: 100, ms: 50 }),
    ];
    const result = replay([...placed(), ...batch], POLICY);
    expect(result.violation).toBeUndefined();
    expect(result.worlds).toHaveLength(1);
    expect(result.worlds[0]!.tasks.o1).toMatchObject({ status: 'in_production', lastRemindAt: { lo: T0 + 100, hi: T0 + 150 } });
  });

  test('remind / accept / remind all answered 200: no order fits, and the model says so', () => {
    const batch = [
      post(o('o1', 'remind'), { actor: client }, 200, {}, { at: 100, ms: 50 }),
      post(o('o1', 'accept'), { actor: creator }, 200, {}, { at: 100, ms: 50 }),
      post(o('o1', 'remind'), { actor: client }, 200, {}, { at: 100, ms: 50 }),
    ];
    const result = replay([...placed(), ...batch], POLICY);
    expect(result.violation?.message).toMatch(/no order of application of the concurrent exchanges #1, #2, #3 fits their answers/);
  });

  test('accept / cancel / reject answered 200, 200, 409: accepted first, then the cancel is a T20 request', () => {
    const batch = [
      post(o('o1', 'accept'), { actor: creator }, 200, {}, { at: 100, ms: 50 }),
      post(o('o1', 'cancel'), { actor: client }, 200, {}, { at: 100, ms: 50 }),
      post(o('o1', 'reject'), { actor: creator }, 409, refusal('invalid_state'), { at: 100, ms: 50 }),
    ];
    const result = replay([...placed(), ...batch], POLICY);
    expect(result.violation).toBeUndefined();
    expect(result.worlds.map((w) => [w.tasks.o1!.status, w.tasks.o1!.pending])).toEqual([['in_production', { by: 'client', escalated: false }]]);
  });

  test('an answer that never came keeps both states until a later answer decides', () => {
    const lost = post(o('o1', 'remind'), { actor: client }, 0, { noAnswer: 'reset' }, { at: 100 });
    expect(replay([...placed(), lost], POLICY).worlds).toHaveLength(2); // reminded, or not
    clock = T0;
    const limited = post(o('o1', 'remind'), { actor: client }, 429, refusal('rate_limited'), { at: 6_000 });
    const result = replay([...placed(), post(o('o1', 'remind'), { actor: client }, 0, { noAnswer: 'reset' }, { at: 3_000 }), limited], POLICY);
    expect(result.violation).toBeUndefined();
    expect(result.worlds).toHaveLength(1); // the lost one was applied: the second is within the interval
  });

  test('many overlapping 503s are every order of application, checked, not given up (seed 7771, l242: 13 overlapping exchanges, 7 of them 503s, each possibly applied)', () => {
    const record = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'seed-7771-l242.json'), 'utf8')) as LifecycleRecord;
    const result = replay(record.exchanges, record.policy!);
    expect(result.violation).toBeUndefined();
    // The reads decided which 503 was applied (the last one shows the order cancelled); what no read
    // shows (which of the 503'd reminds ran) stays open.
    const last = record.exchanges.at(-1)!;
    expect([last.method, (last.response as { status?: string }).status]).toEqual(['GET', 'cancelled']);
    expect(result.worlds.length).toBeGreaterThan(1);
    expect(result.worlds.every((w) => w.tasks['l242-o1']!.status === 'cancelled')).toBe(true);
  });

  test('T14: two combined payments at once may interleave order by order; no order is paid twice', () => {
    const exchanges = [
      topUp(100_000),
      post('/v1/task-orders', placement('o1', 10_000, 'deposit'), 201),
      post('/v1/task-orders', placement('o2', 20_000, 'deposit'), 201),
      post(o('o1', 'accept'), { actor: creator }, 200),
      post(o('o2', 'accept'), { actor: creator }, 200),
    ];
    const body = { clientId: 'c1', orderIds: ['o1', 'o2'], funding: { source: 'account' } };
    const at = clock - T0 + 100;
    const x = post('/v1/balance-payments', body, 200, { clientId: 'c1', results: [{ orderId: 'o1', outcome: 'paid', amountFen: 10_000 }, { orderId: 'o2', outcome: 'already_paid' }] }, { at, ms: 80 });
    const y = post('/v1/balance-payments', body, 200, { clientId: 'c1', results: [{ orderId: 'o1', outcome: 'already_paid' }, { orderId: 'o2', outcome: 'paid', amountFen: 20_000 }] }, { at, ms: 80 });
    const result = replay([...exchanges, x, y, account('client:c1', 100_000 - 1_000 - 2_000 - 10_000 - 20_000)], POLICY);
    expect(result.violation).toBeUndefined();
    const twice = post('/v1/balance-payments', body, 200, { clientId: 'c1', results: [{ orderId: 'o1', outcome: 'paid', amountFen: 10_000 }, { orderId: 'o2', outcome: 'paid', amountFen: 20_000 }] }, { at, ms: 80 });
    expect(replay([...exchanges, x, twice], POLICY).violation).toBeDefined(); // o2 paid by both
  });
});

describe('Idempotency-Key', () => {
  test('the same key twice: the second replays the first and nothing runs twice; another answer is a divergence', () => {
    const upload = { actor: creator, draftId: 'd1' };
    const story = (second: Exchange['status'], body: unknown, response: unknown) => {
      clock = T0;
      return replay(
        [
          post('/v1/task-orders', placement('o1', 100_000, 'full', { source: 'external', paymentRef: 'p1' }), 201),
          post(o('o1', 'accept'), { actor: creator }, 200),
          post(o('o1', 'videos'), upload, 200, { uploads: 1 }, { key: 'k' }),
          post(o('o1', 'videos'), body, second, response, { key: 'k' }),
        ],
        POLICY,
      );
    };
    const replayed = story(200, upload, { uploads: 1 });
    expect(replayed.violation).toBeUndefined();
    expect(replayed.worlds[0]!.tasks.o1!.uploads).toBe(1);
    expect(story(409, upload, refusal('invalid_state')).violation?.message).toMatch(/must replay its answer 200/);
    const mismatch = story(422, { ...upload, draftId: 'd2' }, refusal('idempotency_mismatch'));
    expect(mismatch.violation).toBeUndefined();
  });

  test('a key is claimed when its first request starts: a 422 for another request may come before a 202 command is decided, and a read between them shows the order before it (seed 18103)', () => {
    const view = (status: string, uploads: number) => ({
      orderId: 'o1', status, cancelReason: null, priceFen: 100_000, originalPriceFen: 100_000, serviceFeeFen: 10_000, depositFen: 0,
      paidInFen: 110_000, escrowFen: 110_000, balanceDueFen: 0, uploads, pendingCancellation: null,
      deadlines: uploads > 0 ? [{ kind: 'review', at: new Date(T0 + 25_000).toISOString() }] : [], // T17: 20 s after the upload was decided
    });
    const upload = { actor: creator, draftId: 'd1' };
    const exchanges = [
      post('/v1/task-orders', placement('o1', 100_000, 'full', { source: 'external', paymentRef: 'p1' }), 201, {}, { at: 0 }),
      post(o('o1', 'accept'), { actor: creator }, 200, {}, { at: 100 }),
      post(o('o1', 'videos'), upload, 202, view('in_production', 0), { at: 200, ms: 5_000, key: 'k' }), // decided later
      post(o('o1', 'videos'), { ...upload, draftId: 'd2' }, 422, refusal('idempotency_mismatch'), { at: 5_200, key: 'k' }),
      get('/v1/task-orders/o1', 200, view('in_production', 0), { at: 5_300 }), // not decided yet
      get('/v1/task-orders/o1', 200, view('in_review', 1), { at: 7_000 }),
    ];
    expect(replay(exchanges, POLICY).violation).toBeUndefined();
    clock = T0;
    const noHolder = [exchanges[0]!, exchanges[1]!, post(o('o1', 'videos'), { ...upload, draftId: 'd2' }, 422, refusal('idempotency_mismatch'), { at: 300, key: 'k2' }), post(o('o1', 'videos'), upload, 200, {}, { at: 1_000, key: 'k2' })];
    expect(replay(noHolder, POLICY).violation?.message).toMatch(/422 for backend:k2, but no other request with it had started/);
  });

  test('without a key a duplicate is just another command (T16: two uploads … the second refused in review)', () => {
    const upload = { actor: creator, draftId: 'd1' };
    const exchanges = [
      post('/v1/task-orders', placement('o1', 100_000, 'full', { source: 'external', paymentRef: 'p1' }), 201),
      post(o('o1', 'accept'), { actor: creator }, 200),
      post(o('o1', 'videos'), upload, 200),
      post(o('o1', 'videos'), upload, 409, refusal('invalid_state')),
    ];
    expect(replay(exchanges, POLICY).violation).toBeUndefined();
  });
});

describe('retries of `call` (sim/http.ts): an earlier attempt without an answer may have been applied', () => {
  const retried = (e: Exchange): Exchange => ({ ...e, earlierAttempts: [{ status: 503, startedAtMs: e.startedAtMs, endedAtMs: e.startedAtMs + 1 }] });

  test('T1: a retried placement answered 200 "already placed" fits: the first attempt placed it', () => {
    const exchanges = [retried(post('/v1/task-orders', placement('o1', 100_000, 'full', { source: 'external', paymentRef: 'p1' }), 200))];
    const result = replay(exchanges, POLICY);
    expect(result.violation).toBeUndefined();
    expect(result.worlds.map((w) => w.tasks.o1?.status)).toEqual(['awaiting_acceptance']);
  });

  test('SPEC §8: a retried accept refused invalid_state because its earlier attempt was applied is a finding (it must run once, and say so)', () => {
    const exchanges = [
      post('/v1/task-orders', placement('o1', 100_000, 'full', { source: 'external', paymentRef: 'p1' }), 201),
      retried(post(o('o1', 'accept'), { actor: creator }, 409, refusal('invalid_state'), { key: 'k1' })),
    ];
    expect(replay(exchanges, POLICY).violation?.message).toMatch(/an earlier attempt of this retried request was applied .* runs once/);
  });

  test('SPEC §1: a command decided on a state older than one the order already showed is a divergence', () => {
    const exchanges = [
      post('/v1/task-orders', placement('o1', 100_000, 'full', { source: 'external', paymentRef: 'p1' }), 201),
      post(o('o1', 'accept'), { actor: creator }, 200),
      post(o('o1', 'cancel'), { actor: creator }, 202, {}, { ms: 4_000 }), // accepted by the workflow, not saved yet
      post(o('o1', 'cancel-response'), { actor: client, accept: true }, 409, refusal('invalid_state'), { at: 60_000 }), // long after: "no pending request"
    ];
    expect(replay(exchanges, POLICY).violation?.step).toBe('#3 POST /v1/task-orders/o1/cancel-response → 409 invalid_state');
  });
});

describe('boost orders (B3–B7, F5) and the stuck list', () => {
  function boosted(viewsBeforeEnd: number | undefined) {
    const day = 86_400_000;
    const quotedAt = new Date(T0 + 1_000).toISOString();
    return [
      topUp(200_000, { at: -1_000 }),
      post('/v1/task-orders', placement('o1', 100_000, 'full'), 201, {}, { at: 0 }),
      ...[3, 9, 27].map((d, i) => post('/v1/video-stats', { videoId: `old${i}`, creatorId: 'k1', publishedAt: new Date(T0 - d * day).toISOString(), views: 10_000, observedAt: quotedAt }, 201, { outcome: 'created' }, { at: 100 + i * 20 })),
      post('/v1/boost-quotes', { clientId: 'c1', items: [{ creatorId: 'k1', priceFen: 100_000 }] }, 201, {
        quotes: [{ quoteId: 'q1', creatorId: 'k1', priceFen: 100_000, available: true, reason: null, expectedViews: 10_000, premiumBp: 1000, boostFeeFen: 10_000, quotedAt }],
      }, { at: 1_000 }),
      post('/v1/boost-orders', { boostOrderId: 'b1', taskOrderId: 'o1', clientId: 'c1', quoteId: 'q1', funding: { source: 'account' } }, 201, {}, { at: 1_100 }),
      post(o('o1', 'accept'), { actor: creator }, 200, {}, { at: 1_200 }),
      post(o('o1', 'videos'), { actor: creator, draftId: 'd' }, 200, {}, { at: 1_300 }),
      post(o('o1', 'reviews'), { actor: client, decision: 'approve' }, 200, {}, { at: 1_400 }),
      post(o('o1', 'publish'), { actor: creator, videoId: 'v1', publishedAt: new Date(T0 + 1_500).toISOString() }, 200, {}, { at: 1_500 }),
      ...(viewsBeforeEnd === undefined ? [] : [post('/v1/video-stats', { videoId: 'v1', creatorId: 'k1', publishedAt: new Date(T0 + 1_500).toISOString(), views: viewsBeforeEnd, observedAt: quotedAt }, 201, { outcome: 'created' }, { at: 5_000 })]),
    ];
  }

  test('given 9 500 of 10 000 views at the end, then B6: 5 500 back to the client when finance releases it (F5), 4 500 kept', () => {
    const exchanges = [
      ...boosted(9_500),
      post('/v1/boost-orders/b1/release-refund', {}, 403, refusal('forbidden'), { at: 25_000 }), // not the backend's
      post('/v1/boost-orders/b1/release-refund', {}, 200, {}, { at: 26_000, role: 'finance' }),
      account('client:c1', 200_000 - 110_000 - 10_000 + 5_500, { at: 27_000 }),
      account('escrow:boost:b1', 0),
    ];
    const result = replay(exchanges, POLICY);
    expect(result.violation).toBeUndefined();
    expect(result.worlds.map((w) => w.boosts.b1)).toEqual([expect.objectContaining({ status: 'closed', platformFen: 4_500n, refundFen: 5_500n, evaluation: { actualViews: 9_500, succeeded: false, compensationFen: 5_500n } })]);
  });

  test('B6: the evaluation reads the latest count, then records: a count posted in between does not change it', () => {
    const view = (status: string, evaluation: unknown = null, refund: unknown = null, escrowFen = 10_000) => ({
      boostOrderId: 'b1', status, endReason: evaluation ? 'evaluated' : null, escrowFen, boostFeeFen: 10_000, expectedViews: 10_000,
      evaluation, refund, video: { videoId: 'v1' }, progress: null,
    });
    const stats = (views: number, at: number) => post('/v1/video-stats', { videoId: 'v1', creatorId: 'k1', publishedAt: new Date(T0 + 1_500).toISOString(), views, observedAt: new Date(T0 + at).toISOString() }, 200, { outcome: 'updated' }, { at });
    const run = (final: number) => {
      clock = T0;
      const C = boostCompensation(10_000, final, 100_000n, 10_000n);
      return replay([
        ...boosted(9_500),
        get('/v1/boost-orders/b1', 200, view('evaluating'), { at: 22_000 }), // the period is over, not evaluated yet
        stats(9_900, 22_100),
        get('/v1/boost-orders/b1', 200, view('refund_scheduled', { actualViews: final, succeeded: false, compensationFen: Number(C) }, { amountFen: Number(C), postedAt: null }, Number(C)), { at: 30_000 }),
      ], POLICY);
    };
    expect(run(9_500).violation).toBeUndefined(); // read before the new count
    expect(run(9_900).violation).toBeUndefined(); // or after it
    expect(run(9_700).violation?.message).toMatch(/evaluation: product \{"actualViews":9700/); // never a count nobody posted
  });

  test('given no view count by the end, then B8: the evaluation waits and may show on the stuck list (awaiting_stats)', () => {
    const result = replay([...boosted(undefined), get('/v1/task-orders/o1', 404, refusal('not_found'), { at: 30_000 })].slice(0, -1), POLICY);
    expect(result.violation).toBeUndefined();
    // Allowed, not required: in some state the period is not over yet when the list is read.
    expect(expectedStuck(result.worlds, POLICY)).toEqual([{ orderId: 'b1', reasons: ['awaiting_stats'], required: [] }]);
  });

  test('T22: a cancellation request nobody answers may wait for arbitration', () => {
    const exchanges = [
      post('/v1/task-orders', placement('o1', 100_000, 'full', { source: 'external', paymentRef: 'p1' }), 201, {}, { at: 0 }),
      post(o('o1', 'accept'), { actor: creator }, 200, {}, { at: 100 }),
      post(o('o1', 'cancel'), { actor: creator }, 200, {}, { at: 200 }),
    ];
    expect(expectedStuck(replay(exchanges, POLICY).worlds, POLICY)).toEqual([{ orderId: 'o1', reasons: ['awaiting_arbitration'], required: [] }]);
    // Once a read shows the request escalated, every state implies the entry: it must be on the list.
    const escalated = [...exchanges, get('/v1/task-orders/o1', 200, escalatedView(), { at: 20_000 })];
    expect(expectedStuck(replay(escalated, POLICY).worlds, POLICY)).toEqual([{ orderId: 'o1', reasons: ['awaiting_arbitration'], required: ['awaiting_arbitration'] }]);
  });
});

describe('E3: the notifications the model implies', () => {
  const notes = (exchanges: Exchange[]) => {
    const result = replay(exchanges, POLICY);
    expect(result.violation).toBeUndefined();
    return impliedNotifications(result.worlds, POLICY);
  };

  test('T1, T9, T12, T15, T16, T17: each applied command implies its notifications; a refused one none', () => {
    clock = T0;
    const candidates = notes([
      post('/v1/task-orders', placement('o1', 100_000, 'deposit', { source: 'external', paymentRef: 'p1' }), 201, {}, { at: 0 }),
      post(o('o1', 'remind'), { actor: creator }, 403, refusal('forbidden'), { at: 50 }),
      post(o('o1', 'accept'), { actor: creator }, 200, {}, { at: 100 }),
      post(o('o1', 'pay-balance'), { actor: client, funding: { source: 'external', paymentRef: 'p2' } }, 200, {}, { at: 200 }),
      post(o('o1', 'videos'), { actor: creator, draftId: 'd1' }, 200, {}, { at: 300 }),
      post(o('o1', 'reviews'), { actor: client, decision: 'request_changes' }, 200, {}, { at: 400 }),
    ]);
    // Nothing pending can fire (the review timer is gone, production has no deadline): one candidate.
    expect(candidates).toEqual([
      {
        'o1|new_task|creator:k1': 1,
        'o1|accepted|client:c1': 1,
        'o1|balance_due|client:c1': 1,
        'o1|balance_paid|creator:k1': 1,
        'o1|video_uploaded|client:c1': 1,
        'o1|review|creator:k1': 1,
      },
    ]);
  });

  test('T22, T21: a request, then its deadline: the product may be read before or after the escalation; a confirmed cancellation tells both and refunds', () => {
    clock = T0;
    const requested = [
      post('/v1/task-orders', placement('o1', 100_000, 'full', { source: 'external', paymentRef: 'p1' }), 201, {}, { at: 0 }),
      post(o('o1', 'accept'), { actor: creator }, 200, {}, { at: 100 }),
      post(o('o1', 'cancel'), { actor: creator }, 200, {}, { at: 200 }),
    ];
    const base = { 'o1|new_task|creator:k1': 1, 'o1|accepted|client:c1': 1, 'o1|cancellation_requested|client:c1': 1 };
    expect(notes(requested)).toEqual([base, { ...base, 'o1|cancellation_escalated|client:c1': 1, 'o1|cancellation_escalated|creator:k1': 1 }]);
    clock = T0;
    const confirmed = [...requested, post(o('o1', 'cancel-response'), { actor: client, accept: true }, 200, {}, { at: 300 })];
    expect(notes(confirmed)).toEqual([{ ...base, 'o1|cancelled|client:c1': 1, 'o1|cancelled|creator:k1': 1, 'o1|refund|client:c1': 1 }]);
  });
});

describe('checkouts (C1–C5): all or nothing, paid once, the first failing line named', () => {
  const day = 86_400_000;
  const quotedAt = () => new Date(T0 + 500).toISOString();
  const line = (i: number, priceFen: number, boost?: { boostOrderId: string; quoteId: string }) => ({
    orderId: `o${i}`,
    creatorId: `k${i}`,
    taskType: 'douyin_video',
    priceFen,
    brief: { title: 't', industry: 'beauty', expectedPublishAt: '2030-01-01T00:00:00.000Z' },
    ...(boost ? { boost } : {}),
  });
  const basket = (checkoutId = 'co1', lines: unknown[] = [line(1, 100_000), line(2, 50_000, { boostOrderId: 'b2', quoteId: 'q2' })]) => ({ checkoutId, clientId: 'c1', paymentMode: 'full', funding: { source: 'account' }, lines });
  /** 110 000 + 55 000 + a boost fee of 5 000 (10% of 50 000). */
  const TOTAL = 170_000;
  const quoted = () => [
    ...[3, 9, 27].map((d, i) => post('/v1/video-stats', { videoId: `old${i}`, creatorId: 'k2', publishedAt: new Date(T0 - d * day).toISOString(), views: 10_000, observedAt: quotedAt() }, 201, { outcome: 'created' }, { at: 100 + i * 20 })),
    post('/v1/boost-quotes', { clientId: 'c1', items: [{ creatorId: 'k2', priceFen: 50_000 }] }, 201, {
      quotes: [{ quoteId: 'q2', creatorId: 'k2', priceFen: 50_000, available: true, reason: null, expectedViews: 10_000, premiumBp: 1000, boostFeeFen: 5_000, quotedAt: quotedAt() }],
    }, { at: 500 }),
  ];
  const completed = (checkoutId = 'co1', totalFen = TOTAL) => ({ checkoutId, status: 'completed', totalFen, escrowFen: 0 });
  const failed = (code: string, lineIndex: number | null) => ({ error: { code, message: code, details: { lineIndex } } });

  test('given enough money, then C4: every line placed with its boost, the total paid once, each creator told, the client told once', () => {
    const result = replay([
      topUp(200_000, { at: 0 }),
      ...quoted(),
      post('/v1/checkouts/preview', basket(), 200, { totalFen: TOTAL, refusal: null }, { at: 1_000 }),
      post('/v1/checkouts', basket(), 201, completed(), { at: 1_100 }),
      post('/v1/checkouts', basket(), 200, completed(), { at: 1_300 }), // the same content: the same outcome
      account('client:c1', 200_000 - TOTAL, { at: 1_400 }),
      account('escrow:checkout:co1', 0),
      get('/v1/checkouts/co1', 200, completed()),
    ], POLICY);
    expect(result.violation).toBeUndefined();
    const [w] = result.worlds;
    expect(Object.keys(w!.tasks).sort()).toEqual(['o1', 'o2']);
    expect(w!.boosts.b2).toMatchObject({ checkoutId: 'co1', escrowFen: 5_000n });
    expect(w!.notes).toEqual({ 'o1|new_task|creator:k1': 1, 'o2|new_task|creator:k2': 1, 'boost:b2|boost_ordered|client:c1': 1, 'checkout:co1|checkout_completed|client:c1': 1 });
  });

  test('given too little money, then C3: refused with insufficient_funds, nothing placed or paid, the refusal stored and answered again', () => {
    const result = replay([
      topUp(100_000, { at: 0 }),
      ...quoted(),
      post('/v1/checkouts/preview', basket(), 200, { totalFen: TOTAL, refusal: { lineIndex: null, code: 'insufficient_funds', message: '' } }, { at: 1_000 }),
      post('/v1/checkouts', basket(), 409, failed('insufficient_funds', null), { at: 1_100 }),
      post('/v1/checkouts', basket(), 409, failed('insufficient_funds', null), { at: 1_300 }),
      get('/v1/task-orders/o1', 404, refusal('not_found')),
      account('client:c1', 100_000),
      get('/v1/checkouts/co1', 200, { checkoutId: 'co1', status: 'failed', totalFen: 0, escrowFen: 0, failure: { lineIndex: null, code: 'insufficient_funds' } }),
    ], POLICY);
    expect(result.violation).toBeUndefined();
    expect(result.worlds[0]!.notes).toEqual({ 'checkout:co1|checkout_failed|client:c1': 1 });
  });

  test('given a line whose id a single placement took, then C3: that line is named; naming another line is a finding', () => {
    const given = () => [topUp(400_000, { at: 0 }), post('/v1/task-orders', placement('o2', 10_000, 'full'), 201, {}, { at: 50 }), ...quoted()];
    expect(replay([...given(), post('/v1/checkouts', basket(), 409, failed('invalid_state', 1), { at: 1_100 })], POLICY).violation).toBeUndefined();
    clock = T0;
    expect(replay([...given(), post('/v1/checkouts', basket(), 409, failed('invalid_state', 0), { at: 1_100 })], POLICY).violation?.message).toMatch(/named line 0, the model line 1/);
  });

  test('given two checkouts racing for one orderId, then C3: one pays, the other is refused; both paying is a finding', () => {
    const rival = basket('co2', [line(1, 100_000)]);
    const race = (second: Exchange) => [topUp(400_000, { at: 0 }), ...quoted(), post('/v1/checkouts', basket(), 201, completed(), { at: 1_000, ms: 500 }), second];
    expect(replay(race(post('/v1/checkouts', rival, 409, failed('invalid_state', 0), { at: 1_100, ms: 500 })), POLICY).violation).toBeUndefined();
    clock = T0;
    expect(replay(race(post('/v1/checkouts', rival, 201, completed('co2', 110_000), { at: 1_100, ms: 500 })), POLICY).violation).toBeDefined();
  });

  test('given a placed checkout, then C4: the same checkoutId with another content is 409 and changes nothing; a single placement of its id is refused', () => {
    const other = basket('co1', [line(1, 100_001)]);
    const result = replay([
      topUp(400_000, { at: 0 }),
      ...quoted(),
      post('/v1/checkouts', basket(), 201, completed(), { at: 1_000 }),
      post('/v1/checkouts', other, 409, failed('invalid_state', null), { at: 1_200 }),
      post('/v1/task-orders', placement('o1', 100_000, 'full'), 422, refusal('idempotency_mismatch'), { at: 1_300 }),
      account('client:c1', 400_000 - TOTAL),
    ], POLICY);
    expect(result.violation).toBeUndefined();
  });

  test('given a basket repeating a creator, then C1/§8: 400 at the repeating line, nothing stored: the corrected basket under the same id is placed', () => {
    const twice = basket('co1', [line(1, 100_000), { ...line(2, 50_000), creatorId: 'k1' }]);
    const given = () => [topUp(400_000, { at: 0 }), ...quoted()];
    const result = replay([...given(), post('/v1/checkouts', twice, 400, failed('validation_failed', 1), { at: 1_000 }), post('/v1/checkouts', basket(), 201, completed(), { at: 1_200 })], POLICY);
    expect(result.violation).toBeUndefined();
    expect(result.worlds[0]!.notes['checkout:co1|checkout_failed|client:c1']).toBeUndefined();
    clock = T0;
    expect(replay([...given(), post('/v1/checkouts', twice, 400, failed('validation_failed', 0), { at: 1_000 })], POLICY).violation).toBeDefined();
  });

  test('a checkout answered 201 whose total differs from its lines, or that left money in its escrow, is a finding (C2, C4)', () => {
    const run = (answer: unknown) => {
      clock = T0;
      return replay([topUp(400_000, { at: 0 }), ...quoted(), post('/v1/checkouts', basket(), 201, answer, { at: 1_000 })], POLICY).violation?.message;
    };
    expect(run(completed('co1', TOTAL - 1))).toMatch(/totalFen/);
    expect(run({ ...completed(), escrowFen: 5_000 })).toMatch(/escrowFen/);
  });
});
