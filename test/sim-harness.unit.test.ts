/**
 * The simulation's harness (sim/faults.ts, sim/http.ts, sim/invariants.ts, sim/run.ts): the seeded
 * fault schedule, the careful client's retries, and the checks that judge statuses against fault
 * windows. The simulation itself runs in test/sim.e2e.test.ts.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FAULT_KINDS, FaultSchedule, parseFaults, timerWindows, type FaultRecord } from '../sim/faults';
import { createSimHttp } from '../sim/http';
import { checkStatuses, statusWindows } from '../sim/invariants';
import { createRng } from '../sim/rng';
import { withFaultWindows } from '../sim/run';
import type { Exchange, LifecycleRecord, SimPolicy } from '../sim/types';

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
