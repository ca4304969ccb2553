/**
 * The simulation's random lifecycles (SPEC §10 "Proof"): each drives one small story through the
 * API as the marketplace's backend would — and as a careless one would — choosing every step from
 * its own seeded stream: task orders in both payment modes (T1–T23), combined balance payments
 * (T14), boost orders with the stats feed (B1–B8, F5), concurrent batches on one order, duplicates
 * with and without Idempotency-Key, wrong parties, invalid commands, waits past deadlines and
 * races against them. What it did is the record; `checkLifecycle` (sim/model.ts) replays it
 * through the reference model and compares with the product.
 */
import { expectedStuck, impliedNotifications, replay } from './model';
import type { Exchange, LifecycleContext, LifecycleRecord, SimHttpOptions, SimPolicy } from './types';

export { checkLifecycle } from './model';

/** Bounds of one lifecycle: commands (POSTs) and real time asleep. */
const MAX_COMMANDS = 16;
const MAX_SLEEP_MS = 90_000;

type View = Record<string, unknown>;
const obj = (v: unknown): View => (v && typeof v === 'object' && !Array.isArray(v) ? (v as View) : {});
const numberOf = (v: unknown): number => (typeof v === 'number' ? v : 0);

class OutOfBudget extends Error {}

interface Order {
  readonly id: string;
  readonly clientId: string;
  readonly creatorId: string;
  readonly mode: 'full' | 'deposit';
  readonly body: View;
  view?: View;
}

/** The lifecycle's HTTP, its record and its budgets. */
class Driver {
  readonly exchanges: Exchange[] = [];
  readonly taskIds = new Set<string>();
  readonly boostIds = new Set<string>();
  readonly checkoutIds = new Set<string>();
  commands = 0;
  private slept = 0;
  private keys = 0;
  private refs = 0;

  constructor(readonly ctx: LifecycleContext) {}

  get rng() {
    return this.ctx.rng;
  }
  id(name: string): string {
    return `${this.ctx.idPrefix}${name}`;
  }
  key(): string {
    this.keys += 1;
    return `${this.ctx.idPrefix}key-${this.keys}`;
  }
  ref(): string {
    this.refs += 1;
    return `${this.ctx.idPrefix}pay-${this.refs}`;
  }
  get canCommand(): boolean {
    return this.commands < MAX_COMMANDS;
  }

  /**
   * One request, recorded with the role and a window from before it was sent to after its answer
   * (with `call`'s retries inside it: the model needs when it may have been applied).
   */
  async request(method: 'GET' | 'POST', path: string, body: unknown, how: { mode: 'call' | 'send'; key?: string; role?: SimHttpOptions['role'] }): Promise<Exchange> {
    if (method === 'POST') {
      if (this.commands >= MAX_COMMANDS + 4) throw new OutOfBudget();
      this.commands += 1;
    }
    const role = how.role ?? 'backend';
    const options: SimHttpOptions = { role, ...(how.key === undefined ? {} : { idempotencyKey: how.key }) };
    const t0 = Date.now();
    const ex = how.mode === 'call' ? await this.ctx.http.call(method, path, body, options) : await this.ctx.http.send(method, path, body, options);
    const t1 = Date.now();
    const recorded: Exchange = { ...ex, role, startedAtMs: Math.min(t0, ex.startedAtMs, ...(ex.earlierAttempts ?? []).map((a) => a.startedAtMs)), endedAtMs: Math.max(t1, ex.endedAtMs) };
    this.exchanges.push(recorded);
    return recorded;
  }

  /** A command as a careful client sends it: `call`, with an Idempotency-Key of its own. */
  post(path: string, body: unknown, role?: SimHttpOptions['role']): Promise<Exchange> {
    return this.request('POST', path, body, { mode: 'call', key: this.key(), ...(role ? { role } : {}) });
  }
  /** A one-shot, with or without a key. */
  once(path: string, body: unknown, key?: string, role?: SimHttpOptions['role']): Promise<Exchange> {
    return this.request('POST', path, body, { mode: 'send', ...(key === undefined ? {} : { key }), ...(role ? { role } : {}) });
  }
  get(path: string, role?: SimHttpOptions['role']): Promise<Exchange> {
    return this.request('GET', path, undefined, { mode: 'call', ...(role ? { role } : {}) });
  }

  async sleep(ms: number): Promise<void> {
    const allowed = Math.max(0, Math.min(ms, MAX_SLEEP_MS - this.slept));
    if (allowed <= 0) throw new OutOfBudget();
    this.slept += allowed;
    await this.ctx.sleep(allowed);
  }
  /** Sleeps until an instant (bounded); false when the budget does not allow it. */
  async sleepUntil(atMs: number): Promise<boolean> {
    const ms = atMs - Date.now();
    if (ms <= 0) return true;
    if (this.slept + ms > MAX_SLEEP_MS) return false;
    await this.sleep(ms);
    return true;
  }
}

// ── Task orders ──────────────────────────────────────────────────────────────────────────────
const TASK_TYPES = ['douyin_video', 'douyin_video', 'xigua_video', 'huoshan_video', 'douyin_live', 'toutiao_post'] as const;
const fee = (priceFen: number): number => Math.floor((priceFen * 1000 + 5000) / 10000); // T2, for choosing amounts only

function placementBody(o: { orderId: string; clientId: string; creatorId: string; taskType: string; priceFen: number; mode: 'full' | 'deposit'; funding: View }): View {
  return {
    orderId: o.orderId,
    clientId: o.clientId,
    creatorId: o.creatorId,
    taskType: o.taskType,
    priceFen: o.priceFen,
    brief: { title: 'Sim launch', industry: 'beauty', expectedPublishAt: '2030-01-01T00:00:00.000Z' },
    paymentMode: o.mode,
    funding: o.funding,
  };
}

const taskPath = (o: Order, verb?: string) => `/v1/task-orders/${o.id}${verb ? `/${verb}` : ''}`;
const client = (o: Order) => ({ type: 'client', id: o.clientId });
const creator = (o: Order) => ({ type: 'creator', id: o.creatorId });

async function refresh(d: Driver, o: Order): Promise<View | undefined> {
  const ex = await d.get(taskPath(o));
  if (ex.status === 200) o.view = obj(ex.response);
  return ex.status === 200 ? o.view : undefined;
}

function learn(o: Order, ex: Exchange): void {
  if ((ex.status === 200 || ex.status === 201) && obj(ex.response).orderId === o.id) o.view = obj(ex.response);
}

/** Places an order (topping up the client first when it pays from its account). */
async function placeOrder(d: Driver, spec: { name: string; clientId: string; creatorId: string; mode?: 'full' | 'deposit'; taskType?: string; fund?: 'account' | 'external'; topUp?: 'enough' | 'short' | 'none'; extraFen?: number }): Promise<Order> {
  const rng = d.rng;
  const priceFen = rng.int(10, 5000) * 100 + rng.int(0, 99);
  const mode = spec.mode ?? rng.pick(['full', 'deposit'] as const);
  const fund = spec.fund ?? rng.pick(['account', 'external'] as const);
  const body = placementBody({
    orderId: d.id(spec.name),
    clientId: spec.clientId,
    creatorId: spec.creatorId,
    taskType: spec.taskType ?? rng.pick(TASK_TYPES),
    priceFen,
    mode,
    funding: fund === 'account' ? { source: 'account' } : { source: 'external', paymentRef: d.ref() },
  });
  const o: Order = { id: String(body.orderId), clientId: spec.clientId, creatorId: spec.creatorId, mode, body };
  d.taskIds.add(o.id);
  if (fund === 'account') {
    const total = mode === 'full' ? priceFen + fee(priceFen) : fee(priceFen);
    const topUp = spec.topUp ?? (rng.chance(0.9) ? 'enough' : 'short');
    // Enough for this payment and, often, for the balance and a boost later.
    const amount = topUp === 'enough' ? total + (spec.extraFen ?? rng.pick([0, priceFen * 2, 50_000])) : Math.max(1, total - rng.int(1, Math.max(1, total - 1)));
    if (topUp !== 'none') await d.post(`/v1/clients/${spec.clientId}/top-ups`, { paymentRef: d.ref(), amountFen: amount });
  }
  learn(o, await d.post('/v1/task-orders', body));
  return o;
}

const statusOf = (o: Order): string => String(o.view?.status ?? 'absent');
const pendingOf = (o: Order): View | undefined => (o.view?.pendingCancellation ? obj(o.view.pendingCancellation) : undefined);
function deadlineAt(o: Order, kind: string): number | undefined {
  const list = Array.isArray(o.view?.deadlines) ? (o.view.deadlines as unknown[]).map(obj) : [];
  const found = list.find((x) => x.kind === kind);
  return found ? Date.parse(String(found.at)) : undefined;
}

/** A command in one of the ways a backend sends commands: careful, duplicated, keyed or not. */
async function command(d: Driver, o: Order, verb: string, body: View, alternative?: View): Promise<void> {
  const rng = d.rng;
  const path = taskPath(o, verb);
  const flavor = rng.next();
  if (flavor < 0.7) {
    learn(o, await d.post(path, body));
    return;
  }
  if (flavor < 0.78) {
    const key = d.key(); // the same key twice: the second replays the first's answer
    learn(o, await d.once(path, body, key));
    await d.once(path, body, key);
  } else if (flavor < 0.82) {
    const key = d.key(); // the same key twice at once: one runs, the other waits or replays
    await Promise.all([d.once(path, body, key), d.once(path, body, key)]);
  } else if (flavor < 0.88) {
    learn(o, await d.once(path, body)); // no key: a duplicate is just another command
    await d.once(path, body);
  } else if (flavor < 0.91) {
    await Promise.all([d.once(path, body), d.once(path, body)]);
  } else if (flavor < 0.95) {
    const key = d.key(); // the same key with another request: 422, nothing runs
    learn(o, await d.once(path, body, key));
    await d.once(path, alternative ?? { ...body, actor: obj(body.actor).type === 'client' ? creator(o) : client(o) }, key);
  } else {
    learn(o, await d.once(path, body));
    return;
  }
  await refresh(d, o);
}

/** Commands at the same instant on one order (SPEC §1 Concurrency), then a read. */
async function batch(d: Driver, o: Order, commands: ReadonlyArray<readonly [string, View]>): Promise<void> {
  const withKeys = d.rng.chance(0.5);
  await Promise.all(commands.map(([verb, body]) => d.once(taskPath(o, verb), body, withKeys ? d.key() : undefined)));
  await refresh(d, o);
}

/** Waits past a deadline of the order so its timer fires (T6, T13, T17, T22), then reads it. */
async function waitPast(d: Driver, o: Order, kind: string): Promise<boolean> {
  const at = deadlineAt(o, kind);
  if (at === undefined) return false;
  if (!(await d.sleepUntil(at + d.rng.int(1_500, 3_500)))) return false;
  await refresh(d, o);
  return true;
}

/** Sends a command right at a deadline: either may win (SPEC §1), both outcomes are right. */
async function race(d: Driver, o: Order, kind: string, verb: string, body: View): Promise<boolean> {
  const at = deadlineAt(o, kind);
  if (at === undefined) return false;
  if (!(await d.sleepUntil(at + d.rng.int(-400, 300)))) return false;
  learn(o, await d.once(taskPath(o, verb), body, d.key()));
  await refresh(d, o);
  return true;
}

function newPrice(d: Driver, o: Order, inRange: boolean): number {
  const p = numberOf(o.view?.priceFen ?? o.body.priceFen);
  const min = Math.ceil((p * 8) / 10);
  const max = Math.floor((p * 12) / 10);
  if (!inRange) return d.rng.chance(0.5) ? max + d.rng.int(1, 500) : Math.max(1, min - d.rng.int(1, 500));
  let n = d.rng.int(min, max);
  if (n === p) n = n === max ? n - 1 : n + 1;
  return n;
}

const publishBody = (o: Order, d: Driver): View => ({ actor: creator(o), videoId: d.id(`v-${o.id.slice(-4)}-${d.rng.int(1, 1e6)}`), publishedAt: new Date().toISOString() });

/** One random step on a task order, chosen by its state; false when the order's story is over. */
async function step(d: Driver, o: Order, others: { client: string; creator: string }): Promise<boolean> {
  const rng = d.rng;
  if (!d.canCommand) return false;
  if (!o.view && !(await refresh(d, o))) return false;
  const status = statusOf(o);
  const pending = pendingOf(o);
  const wrongCreator = { type: 'creator', id: others.creator };
  const wrongClient = { type: 'client', id: others.client };

  if (status === 'completed' || status === 'cancelled') {
    // A late command now and then: deadline_passed after a deadline, invalid_state otherwise.
    if (rng.chance(0.4)) {
      const verb = rng.pick(['accept', 'reject', 'remind', 'pay-balance', 'restore-price', 'cancel', 'videos', 'reviews', 'publish', 'cancel-response']);
      learn(o, await d.once(taskPath(o, verb), bodyFor(verb, o, d)));
    }
    return false;
  }

  if (pending) {
    const by = String(obj(pending.by).type);
    const counterparty = by === 'client' ? creator(o) : client(o);
    const initiator = by === 'client' ? client(o) : creator(o);
    const r = rng.next();
    if (pending.escalated === true) {
      // T22: too late to answer; the request waits for ops arbitration (stuck list).
      if (r < 0.5) await command(d, o, 'cancel-response', { actor: counterparty, accept: rng.chance(0.5) });
      return false;
    }
    if (r < 0.3) await command(d, o, 'cancel-response', { actor: counterparty, accept: true, reason: 'agreed' }, { actor: counterparty, accept: false });
    else if (r < 0.5) await command(d, o, 'cancel-response', { actor: counterparty, accept: false, reason: 'no' });
    else if (r < 0.58) await command(d, o, 'cancel-response', { actor: initiator, accept: true }); // forbidden: not the counterparty
    else if (r < 0.62) await command(d, o, 'cancel-response', { actor: by === 'client' ? wrongCreator : wrongClient, accept: true }); // not a party
    else if (r < 0.72) await batch(d, o, [['cancel-response', { actor: counterparty, accept: true }], ['cancel-response', { actor: counterparty, accept: false }]]);
    else if (r < 0.77) await command(d, o, 'cancel', { actor: initiator }); // invalid_state: one request at a time
    else if (r < 0.82 && status === 'awaiting_balance') await command(d, o, 'pay-balance', { actor: client(o), funding: { source: 'external', paymentRef: d.ref() } });
    else if (r < 0.87) await race(d, o, 'cancellation_answer', 'cancel-response', { actor: counterparty, accept: rng.chance(0.5) });
    else if (!(await waitPast(d, o, 'cancellation_answer'))) return false; // T22: nobody answers
    return true;
  }

  const r = rng.next();
  switch (status) {
    case 'awaiting_acceptance': {
      if (r < 0.3) await command(d, o, 'accept', { actor: creator(o) });
      else if (r < 0.4) await command(d, o, 'accept', { actor: creator(o), newPriceFen: newPrice(d, o, true) }); // T9 (full: price_change_not_allowed)
      else if (r < 0.44) await command(d, o, 'accept', { actor: creator(o), newPriceFen: newPrice(d, o, false) }); // T9 price_out_of_range
      else if (r < 0.49) await command(d, o, 'reject', { actor: creator(o), reason: 'busy' });
      else if (r < 0.58) await command(d, o, 'remind', { actor: client(o) });
      else if (r < 0.62) await command(d, o, 'cancel', { actor: client(o), reason: 'changed plans' }); // T11
      else if (r < 0.64) await command(d, o, 'cancel', { actor: creator(o) }); // forbidden: the creator rejects instead
      else if (r < 0.67) await command(d, o, 'accept', { actor: wrongCreator });
      else if (r < 0.7) await invalid(d, o, ['videos', 'pay-balance', 'restore-price', 'reviews', 'publish', 'cancel-response']);
      else if (r < 0.82) {
        const batches: Array<ReadonlyArray<readonly [string, View]>> = [
          [['remind', { actor: client(o) }], ['accept', { actor: creator(o) }], ['remind', { actor: client(o) }]],
          [['accept', { actor: creator(o) }], ['cancel', { actor: client(o) }], ['reject', { actor: creator(o) }]],
          [['remind', { actor: client(o) }], ['remind', { actor: client(o) }], ['remind', { actor: client(o) }]],
          [['accept', { actor: creator(o) }], ['accept', { actor: creator(o), newPriceFen: newPrice(d, o, true) }]],
          [['accept', { actor: creator(o) }], ['reject', { actor: creator(o) }], ['remind', { actor: client(o) }], ['cancel', { actor: client(o) }]],
        ];
        await batch(d, o, rng.pick(batches));
      } else if (r < 0.86) {
        await command(d, o, 'remind', { actor: client(o) });
        await d.sleep(rng.int(3_000, 7_000)); // T8: around the reminder interval
        await command(d, o, 'remind', { actor: client(o) });
      } else if (r < 0.9) {
        if (!(await race(d, o, 'acceptance', 'accept', { actor: creator(o) }))) return false;
      } else if (!(await waitPast(d, o, 'acceptance'))) return false; // T6
      return true;
    }
    case 'awaiting_balance': {
      const fromAccount = { actor: client(o), funding: { source: 'account' } };
      const external = () => ({ actor: client(o), funding: { source: 'external', paymentRef: d.ref() } });
      if (r < 0.2) await command(d, o, 'pay-balance', fromAccount); // may be insufficient_funds
      else if (r < 0.4) await command(d, o, 'pay-balance', external());
      else if (r < 0.5) await command(d, o, 'restore-price', { actor: client(o) }); // T10 (or invalid_state / price_locked)
      else if (r < 0.56) await command(d, o, 'cancel', { actor: rng.chance(0.5) ? client(o) : creator(o), reason: 'no longer needed' }); // T20/T21
      else if (r < 0.6) await command(d, o, 'videos', { actor: creator(o), draftId: 'early' }); // invalid_state
      else if (r < 0.63) await command(d, o, 'pay-balance', { ...external(), actor: wrongClient });
      else if (r < 0.66) await command(d, o, 'remind', { actor: client(o) }); // invalid_state after acceptance
      else if (r < 0.78) {
        const batches: Array<ReadonlyArray<readonly [string, View]>> = [
          [['pay-balance', external()], ['restore-price', { actor: client(o) }]],
          [['pay-balance', external()], ['cancel', { actor: client(o) }]],
          [['pay-balance', fromAccount], ['pay-balance', external()]],
          [['restore-price', { actor: client(o) }], ['restore-price', { actor: client(o) }]],
        ];
        await batch(d, o, rng.pick(batches));
      } else if (r < 0.84) {
        if (!(await race(d, o, 'balance', 'pay-balance', external()))) return false;
      } else if (!(await waitPast(d, o, 'balance'))) return false; // T13
      return true;
    }
    case 'in_production': {
      const upload = () => ({ actor: creator(o), ...(rng.chance(0.5) ? { draftId: `d${rng.int(1, 99)}` } : { videoUrl: `https://cdn.example.com/${o.id}/${rng.int(1, 99)}.mp4` }) });
      if (r < 0.55) await command(d, o, 'videos', upload());
      else if (r < 0.65) await command(d, o, 'cancel', { actor: rng.chance(0.5) ? client(o) : creator(o), reason: 'stop' }); // T20/T21
      else if (r < 0.7) await invalid(d, o, ['reviews', 'publish', 'accept', 'reject', 'remind', 'restore-price', 'pay-balance']);
      else if (r < 0.74) await command(d, o, 'videos', { ...upload(), actor: wrongCreator });
      else if (r < 0.84) {
        const batches: Array<ReadonlyArray<readonly [string, View]>> = [
          [['videos', upload()], ['videos', upload()]],
          [['videos', upload()], ['cancel', { actor: creator(o) }]],
          [['videos', upload()], ['cancel', { actor: client(o) }]],
        ];
        await batch(d, o, rng.pick(batches));
      } else await command(d, o, 'videos', upload());
      return true;
    }
    case 'in_review': {
      if (r < 0.35) await command(d, o, 'reviews', { actor: client(o), decision: 'approve' });
      else if (r < 0.5) await command(d, o, 'reviews', { actor: client(o), decision: 'request_changes', comment: 'brighter' });
      else if (r < 0.6) await command(d, o, 'cancel', { actor: rng.chance(0.6) ? client(o) : creator(o), reason: 'stop' }); // T20 with compensation
      else if (r < 0.64) await command(d, o, 'videos', { actor: creator(o), draftId: 'again' }); // invalid_state while in review
      else if (r < 0.67) await command(d, o, 'reviews', { actor: wrongClient, decision: 'approve' });
      else if (r < 0.77) {
        const batches: Array<ReadonlyArray<readonly [string, View]>> = [
          [['reviews', { actor: client(o), decision: 'approve' }], ['reviews', { actor: client(o), decision: 'request_changes' }]],
          [['reviews', { actor: client(o), decision: 'approve' }], ['cancel', { actor: client(o) }]],
          [['reviews', { actor: client(o), decision: 'request_changes' }], ['videos', { actor: creator(o), draftId: 'x' }]],
        ];
        await batch(d, o, rng.pick(batches));
      } else if (r < 0.83) {
        if (!(await race(d, o, 'review', 'reviews', { actor: client(o), decision: 'approve' }))) return false;
      } else if (!(await waitPast(d, o, 'review'))) return false; // T17: approved automatically
      return true;
    }
    case 'approved': {
      if (r < 0.6) await command(d, o, 'publish', publishBody(o, d));
      else if (r < 0.68) await command(d, o, 'cancel', { actor: rng.chance(0.5) ? client(o) : creator(o), reason: 'stop' });
      else if (r < 0.73) await command(d, o, 'reviews', { actor: client(o), decision: 'approve' }); // deadline_passed after T17, else invalid_state
      else if (r < 0.76) await command(d, o, 'publish', { ...publishBody(o, d), actor: wrongCreator });
      else if (r < 0.78) await command(d, o, 'publish', { ...publishBody(o, d), publishedAt: new Date(Date.now() - 86_400_000).toISOString() }); // T18: before the acceptance
      else if (r < 0.88) {
        const batches: Array<ReadonlyArray<readonly [string, View]>> = [
          [['publish', publishBody(o, d)], ['cancel', { actor: client(o) }]],
          [['publish', publishBody(o, d)], ['publish', publishBody(o, d)]],
        ];
        await batch(d, o, rng.pick(batches));
      } else await command(d, o, 'publish', publishBody(o, d));
      return true;
    }
    default:
      return false;
  }
}

/** A well-formed body for any command (sent where the order's state does not allow it: a 409 code). */
function bodyFor(verb: string, o: Order, d: Driver): View {
  switch (verb) {
    case 'accept':
      return { actor: creator(o) };
    case 'reject':
      return { actor: creator(o), reason: 'late' };
    case 'remind':
    case 'restore-price':
      return { actor: client(o) };
    case 'pay-balance':
      return { actor: client(o), funding: { source: 'account' } };
    case 'videos':
      return { actor: creator(o), draftId: 'x' };
    case 'reviews':
      return { actor: client(o), decision: 'approve' };
    case 'publish':
      return publishBody(o, d);
    case 'cancel':
      return { actor: client(o) };
    default:
      return { actor: creator(o), accept: true };
  }
}

/** A command the order's state does not allow (refused with a 409 code). */
async function invalid(d: Driver, o: Order, verbs: readonly string[]): Promise<void> {
  const verb = d.rng.pick(verbs);
  await command(d, o, verb, bodyFor(verb, o, d));
}

async function walk(d: Driver, o: Order, steps: number, others: { client: string; creator: string }): Promise<void> {
  for (let i = 0; i < steps && d.canCommand; i += 1) if (!(await step(d, o, others))) break;
}

// ── Scenarios ────────────────────────────────────────────────────────────────────────────────
interface Cast {
  readonly client: string;
  readonly creator: string;
  readonly others: { client: string; creator: string };
}

/** T1–T23 on one order. */
async function taskStory(d: Driver, cast: Cast): Promise<void> {
  const o = await placeOrder(d, { name: 'o1', clientId: cast.client, creatorId: cast.creator });
  if (d.rng.chance(0.15)) learn(o, await d.once('/v1/task-orders', o.body)); // T1: the same content again → 200
  await walk(d, o, 14, cast.others);
}

/** T5, T1, L5: a placement the account cannot pay, then paid; duplicates of the placement. */
async function fundsStory(d: Driver, cast: Cast): Promise<void> {
  const rng = d.rng;
  const o = await placeOrder(d, { name: 'o1', clientId: cast.client, creatorId: cast.creator, fund: 'account', topUp: rng.chance(0.5) ? 'none' : 'short' }); // T5: insufficient_funds
  await refresh(d, o); // 404: nothing left behind
  const topUp = { paymentRef: d.ref(), amountFen: numberOf(o.body.priceFen) * 2 + 10_000 };
  const topUpPath = `/v1/clients/${cast.client}/top-ups`;
  const t = rng.next();
  if (t < 0.6) await d.post(topUpPath, topUp);
  else if (t < 0.8) await Promise.all([d.once(topUpPath, topUp), d.once(topUpPath, topUp)]); // L5: credited once, the other answers 200
  else {
    await d.post(topUpPath, topUp);
    await d.once(topUpPath, rng.chance(0.5) ? topUp : { ...topUp, amountFen: topUp.amountFen + 1 }); // the same again: 200; another amount: 422
  }
  learn(o, await d.post('/v1/task-orders', o.body)); // now it is paid
  const r = rng.next();
  if (r < 0.4) learn(o, await d.once('/v1/task-orders', o.body)); // T1: the same content → 200
  else if (r < 0.7) await d.once('/v1/task-orders', { ...o.body, brief: { ...obj(o.body.brief), title: 'Another title' } }); // T1: a conflict
  else await Promise.all([d.once('/v1/task-orders', o.body), d.once('/v1/task-orders', o.body)]);
  if (rng.chance(0.4)) {
    // L5: an external paymentRef is never used twice.
    const first = await placeOrder(d, { name: 'o2', clientId: cast.client, creatorId: cast.creator, fund: 'external' });
    const reused = { ...first.body, orderId: d.id('o3'), funding: first.body.funding };
    d.taskIds.add(String(reused.orderId));
    await d.once('/v1/task-orders', reused);
  }
  await walk(d, o, 8, cast.others);
}

/** T14: the balances of several deposit orders of one client in one payment. */
async function combinedStory(d: Driver, cast: Cast): Promise<void> {
  const rng = d.rng;
  const n = rng.int(2, 3);
  const orders: Order[] = [];
  for (let i = 1; i <= n; i += 1) orders.push(await placeOrder(d, { name: `o${i}`, clientId: cast.client, creatorId: cast.creator, mode: 'deposit' }));
  for (const o of orders) {
    if (statusOf(o) !== 'awaiting_acceptance') continue;
    const r = rng.next();
    if (r < 0.65) learn(o, await d.post(taskPath(o, 'accept'), { actor: creator(o) }));
    else if (r < 0.85) learn(o, await d.post(taskPath(o, 'accept'), { actor: creator(o), newPriceFen: newPrice(d, o, true) }));
    else if (r < 0.92) learn(o, await d.post(taskPath(o, 'reject'), { actor: creator(o) }));
    // else: left awaiting acceptance (not_paid, invalid_state)
  }
  const dueTotal = orders.reduce((sum, o) => sum + numberOf(o.view?.balanceDueFen), 0);
  const funding = rng.chance(0.5)
    ? { source: 'account' }
    : { source: 'external', paymentRef: d.ref(), amountFen: Math.max(1, dueTotal + rng.pick([0, 0, 5_000, -Math.floor(dueTotal / 3)])) };
  const ids = orders.map((o) => o.id);
  const body = { clientId: cast.client, orderIds: rng.chance(0.1) ? [...ids, d.id('nobody')] : ids, funding };
  const r = rng.next();
  if (r < 0.6) await d.post('/v1/balance-payments', body);
  else if (r < 0.75) {
    const key = d.key(); // retrying the call is safe (T14): the same key replays
    await d.once('/v1/balance-payments', body, key);
    await d.once('/v1/balance-payments', body, key);
  } else if (r < 0.9) {
    await Promise.all([d.once('/v1/balance-payments', body), d.once('/v1/balance-payments', body)]); // no order is paid twice
  } else {
    await d.once('/v1/balance-payments', { ...body, clientId: cast.others.client }); // forbidden: not its orders
  }
  for (const o of orders) await refresh(d, o);
  const o = rng.pick(orders);
  await walk(d, o, 4, cast.others);
}

const DAY_MS = 86_400_000;

/** B1–B8, F5: a boost on a task order's video, the stats feed around the boost period, the refund. */
async function boostStory(d: Driver, cast: Cast): Promise<void> {
  const rng = d.rng;
  const taskType = rng.chance(0.9) ? rng.pick(['douyin_video', 'xigua_video', 'huoshan_video']) : 'douyin_live';
  const o = await placeOrder(d, { name: 'o1', clientId: cast.client, creatorId: cast.creator, taskType, fund: 'account', topUp: 'enough', extraFen: rng.chance(0.9) ? 600_000 : 0 }); // a fee ≤ 50% of the price (B1)
  if (!o.view) return;
  // B8 → B2: the creator's recent videos (3 or more make a boost available).
  const videos = rng.chance(0.9) ? rng.int(3, 4) : 2;
  const now = Date.now();
  for (let i = 0; i < videos; i += 1) {
    await d.post('/v1/video-stats', {
      videoId: d.id(`old-${i}`),
      creatorId: cast.creator,
      publishedAt: new Date(now - (rng.int(1, 40) * DAY_MS + rng.int(0, DAY_MS - 1))).toISOString(),
      views: rng.int(5_000, 20_000),
      observedAt: new Date(now).toISOString(),
    });
  }
  if (rng.chance(0.3) && o.mode === 'deposit') learn(o, await d.post(taskPath(o, 'accept'), { actor: creator(o), newPriceFen: newPrice(d, o, true) })); // T9: the quote's price no longer matches
  const priceFen = numberOf(o.body.priceFen);
  const quoted = await d.post('/v1/boost-quotes', { clientId: rng.chance(0.9) ? cast.client : cast.others.client, items: [{ creatorId: cast.creator, priceFen }] });
  const quote = obj((Array.isArray(obj(quoted.response).quotes) ? (obj(quoted.response).quotes as unknown[]) : [])[0]);
  if (!quote.quoteId) return;
  const boostOrderId = d.id('b1');
  d.boostIds.add(boostOrderId);
  const order = { boostOrderId, taskOrderId: o.id, clientId: cast.client, quoteId: quote.quoteId, funding: rng.chance(0.6) ? { source: 'account' } : { source: 'external', paymentRef: d.ref() } };
  const placed = await d.post('/v1/boost-orders', order);
  const r0 = rng.next();
  if (r0 < 0.15) await d.once('/v1/boost-orders', order); // the same request → 200
  else if (r0 < 0.25) {
    d.boostIds.add(d.id('b2'));
    await d.once('/v1/boost-orders', { ...order, boostOrderId: d.id('b2') }); // B3: at most one boost per task
  } else if (r0 < 0.3) await d.once('/v1/boost-orders', { ...order, clientId: cast.others.client, boostOrderId: d.id('b3') }); // another client's task
  if (placed.status !== 201 && placed.status !== 200) {
    await walk(d, o, 6, cast.others);
    return;
  }

  // B4: the task cancelled before publication ends the boost: the whole fee back.
  if (rng.chance(0.25)) {
    await refresh(d, o);
    if (statusOf(o) === 'awaiting_acceptance') learn(o, await d.post(taskPath(o, rng.chance(0.5) ? 'reject' : 'cancel'), { actor: rng.chance(0.5) ? creator(o) : client(o) }));
    await d.sleep(1_500);
    await d.get(`/v1/boost-orders/${boostOrderId}`);
    await releaseRefund(d, boostOrderId);
    return;
  }

  // The task to publication: accept, balance, upload, approve, publish.
  await refresh(d, o);
  for (let i = 0; i < 6 && d.canCommand; i += 1) {
    const status = statusOf(o);
    if (status === 'awaiting_acceptance') learn(o, await d.post(taskPath(o, 'accept'), { actor: creator(o) }));
    else if (status === 'awaiting_balance') learn(o, await d.post(taskPath(o, 'pay-balance'), { actor: client(o), funding: { source: 'external', paymentRef: d.ref() } }));
    else if (status === 'in_production') learn(o, await d.post(taskPath(o, 'videos'), { actor: creator(o), draftId: 'cut-1' }));
    else if (status === 'in_review') learn(o, await d.post(taskPath(o, 'reviews'), { actor: client(o), decision: 'approve' }));
    else break;
    if (!o.view || o.view.orderId !== o.id) await refresh(d, o);
  }
  if (statusOf(o) !== 'approved') {
    await d.get(`/v1/boost-orders/${boostOrderId}`);
    return;
  }
  const videoId = d.id('video');
  const publishedAt = new Date();
  learn(o, await d.post(taskPath(o, 'publish'), { actor: creator(o), videoId, publishedAt: publishedAt.toISOString() }));
  if (statusOf(o) !== 'completed') return;

  // B8 around the boost period: a count before its end, only after it, or none (awaiting_stats).
  const expected = numberOf(quote.expectedViews);
  const stat = (views: number) => d.post('/v1/video-stats', { videoId, creatorId: cast.creator, publishedAt: publishedAt.toISOString(), views, observedAt: new Date().toISOString() });
  const feed = rng.pick(['before', 'before', 'after', 'none'] as const);
  const views = rng.chance(0.3) ? expected + rng.int(0, 5_000) : Math.max(0, expected - rng.int(1, expected));
  if (feed === 'before') {
    await stat(Math.max(0, views - rng.int(0, 100)));
    await d.sleep(1_000);
    await d.get(`/v1/boost-orders/${boostOrderId}`); // B5: progress
    await stat(views);
  }
  const endsAt = publishedAt.getTime() + (d.ctx.policy.boostPeriodMs ?? 14 * DAY_MS);
  if (!(await d.sleepUntil(endsAt + rng.int(1_500, 3_000)))) return;
  await d.get(`/v1/boost-orders/${boostOrderId}`);
  if (feed === 'after') {
    await stat(views); // the evaluation waited for it (B8)
    await d.sleep(1_000);
    await d.get(`/v1/boost-orders/${boostOrderId}`);
  } else if (feed === 'before' && rng.chance(0.5)) {
    await stat(views + rng.int(1, 1_000)); // a later count never changes the evaluation
  }
  if (feed !== 'none') await releaseRefund(d, boostOrderId);
}

/** F5: finance releases the scheduled refund early; the backend may not; a second release is refused. */
async function releaseRefund(d: Driver, boostOrderId: string): Promise<void> {
  const rng = d.rng;
  const path = `/v1/boost-orders/${boostOrderId}/release-refund`;
  if (rng.chance(0.15)) await d.once(path, {}); // 403: not the backend's
  if (rng.chance(0.85)) await d.post(path, { reason: 'sim' }, rng.chance(0.8) ? 'finance' : 'ops');
  if (rng.chance(0.25)) await d.once(path, {}, undefined, 'finance'); // invalid_state: nothing scheduled any more
  await d.get(`/v1/boost-orders/${boostOrderId}`);
}

// ── Checkouts (C1–C5) ────────────────────────────────────────────────────────────────────────
const CHECKOUT_TWISTS = ['none', 'none', 'none', 'none', 'none', 'none', 'short', 'used', 'race-single', 'race-checkout', 'duplicate-creator', 'foreign-quote', 'live-boost', 'other-content'] as const;
type CheckoutTwist = (typeof CHECKOUT_TWISTS)[number];

/** B8/B1: a creator's recent videos (3 make a boost available, 2 do not), then one quote for the basket's boosted lines. */
async function quoteBasket(d: Driver, cast: Cast, items: ReadonlyArray<{ creatorId: string; priceFen: number }>, twist: CheckoutTwist): Promise<View[]> {
  if (items.length === 0) return [];
  const now = Date.now();
  for (const { creatorId } of items) {
    const videos = d.rng.chance(0.95) ? 3 : 2; // 2: boost unavailable (B2), the line refused (C3)
    for (let i = 0; i < videos; i += 1) {
      await d.post('/v1/video-stats', {
        videoId: d.id(`old-${creatorId.slice(-2)}-${i}`),
        creatorId,
        publishedAt: new Date(now - (d.rng.int(1, 40) * DAY_MS + d.rng.int(0, DAY_MS - 1))).toISOString(),
        views: d.rng.int(5_000, 20_000),
        observedAt: new Date(now).toISOString(),
      });
    }
  }
  const quoted = await d.post('/v1/boost-quotes', { clientId: twist === 'foreign-quote' ? cast.others.client : cast.client, items });
  return (Array.isArray(obj(quoted.response).quotes) ? (obj(quoted.response).quotes as unknown[]) : []).map(obj);
}

/** C1: a basket of 1–4 creators, at most two of them boosted, with the twist the story tries. */
async function basket(d: Driver, cast: Cast, twist: CheckoutTwist): Promise<{ body: View; totalFen: number }> {
  const rng = d.rng;
  const n = rng.int(twist === 'duplicate-creator' ? 2 : 1, 4);
  const lines = Array.from({ length: n }, (_, i) => ({
    orderId: d.id(`o${i + 1}`),
    creatorId: d.id(`k${i + 1}`),
    taskType: rng.pick(TASK_TYPES) as string,
    priceFen: rng.int(10, 3000) * 100 + rng.int(0, 99),
    brief: { title: 'Sim basket', industry: 'beauty', expectedPublishAt: '2030-01-01T00:00:00.000Z' },
  }));
  const boosted = lines.filter(() => rng.chance(0.45)).slice(0, 2);
  for (const line of boosted) line.taskType = twist === 'live-boost' ? 'douyin_live' : rng.pick(['douyin_video', 'xigua_video', 'huoshan_video']);
  const quotes = await quoteBasket(d, cast, boosted.map((l) => ({ creatorId: l.creatorId, priceFen: l.priceFen })), twist);
  const mode = rng.pick(['full', 'deposit'] as const);
  let totalFen = 0;
  const withBoosts = lines.map((line, i) => {
    totalFen += mode === 'full' ? line.priceFen + fee(line.priceFen) : fee(line.priceFen);
    const quote = quotes[boosted.indexOf(line)];
    if (!quote?.quoteId) return line;
    totalFen += numberOf(quote.boostFeeFen);
    const boostOrderId = d.id(`b${i + 1}`);
    d.boostIds.add(boostOrderId);
    return { ...line, boost: { boostOrderId, quoteId: String(quote.quoteId) } };
  });
  if (twist === 'duplicate-creator') withBoosts[n - 1] = { ...withBoosts[n - 1]!, creatorId: withBoosts[0]!.creatorId }; // C1: 400 validation_failed at line n-1, nothing stored
  for (const line of withBoosts) d.taskIds.add(line.orderId);
  const funding = rng.chance(0.7) ? { source: 'account' } : { source: 'external', paymentRef: d.ref() };
  const checkoutId = d.id('co1');
  d.checkoutIds.add(checkoutId);
  return { body: { checkoutId, clientId: cast.client, paymentMode: mode, funding, lines: withBoosts }, totalFen };
}

/** C1–C5: a brand's basket checked, paid once and placed whole — or refused whole, naming its line — then one of its orders lives on. */
async function checkoutStory(d: Driver, cast: Cast): Promise<void> {
  const rng = d.rng;
  const twist = rng.pick(CHECKOUT_TWISTS);
  const { body, totalFen } = await basket(d, cast, twist);
  const lines = (body.lines as View[]).map(obj);
  if (obj(body.funding).source === 'account') {
    const amount = twist === 'short' ? Math.max(1, totalFen - rng.int(1, Math.max(1, totalFen - 1))) : totalFen + rng.pick([0, 50_000, totalFen]);
    await d.post(`/v1/clients/${cast.client}/top-ups`, { paymentRef: d.ref(), amountFen: amount });
  }
  const k = rng.int(0, lines.length - 1);
  const single = (): View => placementBody({ orderId: String(lines[k]!.orderId), clientId: cast.client, creatorId: String(lines[k]!.creatorId), taskType: 'douyin_video', priceFen: 10_000, mode: 'full', funding: { source: 'external', paymentRef: d.ref() } });
  if (twist === 'used') await d.post('/v1/task-orders', single()); // C3: that line's id is taken
  if (rng.chance(0.6)) await d.post('/v1/checkouts/preview', body); // C2: changes nothing
  const path = '/v1/checkouts';
  const checkoutId = String(body.checkoutId);
  if (twist === 'race-single') await Promise.all([d.post(path, body), d.post('/v1/task-orders', single())]); // C3: exactly one holds the id
  else if (twist === 'race-checkout') {
    const rival = { ...body, checkoutId: d.id('co2'), funding: { source: 'external', paymentRef: d.ref() }, lines: [{ ...lines[k]!, creatorId: d.id('k9'), boost: undefined }] };
    d.checkoutIds.add(String(rival.checkoutId));
    await Promise.all([d.post(path, body), d.post(path, rival)]); // C3: never both pay
    await d.get(`/v1/checkouts/${String(rival.checkoutId)}`);
  } else {
    const r = rng.next();
    if (r < 0.65) await d.post(path, body);
    else if (r < 0.85) {
      await d.once(path, body); // C4: the same checkoutId and content again answers the same outcome
      await d.once(path, body);
    } else await Promise.all([d.once(path, body), d.once(path, body)]);
  }
  if (twist === 'other-content') await d.once(path, { ...body, lines: lines.map((l) => ({ ...l, brief: { ...obj(l.brief), title: 'Another title' } })) }); // C4: 409
  const read = await d.get(`/v1/checkouts/${checkoutId}`);
  if (obj(read.response).status !== 'completed') return;
  // C5: after the checkout each order lives on alone.
  const line = lines[rng.int(0, lines.length - 1)]!;
  const o: Order = { id: String(line.orderId), clientId: cast.client, creatorId: String(line.creatorId), mode: body.paymentMode as 'full' | 'deposit', body: line };
  await walk(d, o, 6, cast.others);
}

const STORIES: ReadonlyArray<readonly [number, (d: Driver, cast: Cast) => Promise<void>, string]> = [
  [40, taskStory, 'task'],
  [9, fundsStory, 'funds'],
  [15, combinedStory, 'combined'],
  [24, boostStory, 'boost'],
  [12, checkoutStory, 'checkout'],
];

/** One random lifecycle (sim/types.ts): its record, with the stuck entries its model allows; `only`: of that story. */
export async function runLifecycle(ctx: LifecycleContext, index: number, only?: string): Promise<LifecycleRecord> {
  const d = new Driver(ctx);
  const stories = only === undefined ? STORIES : STORIES.filter(([, , name]) => name === only);
  if (stories.length === 0) throw new Error(`no story ${String(only)} (${STORIES.map(([, , name]) => name).join(', ')})`);
  const total = stories.reduce((sum, [w]) => sum + w, 0);
  let roll = ctx.rng.next() * total;
  const [, story, name] = stories.find(([w]) => (roll -= w) < 0) ?? stories[0]!;
  const cast: Cast = { client: d.id('c1'), creator: d.id('k1'), others: { client: d.id('c2'), creator: d.id('k2') } };
  try {
    await story(d, cast);
  } catch (error) {
    if (!(error instanceof OutOfBudget)) throw error;
  }
  return {
    label: `${ctx.idPrefix}${name}#${index}`,
    taskOrderIds: [...d.taskIds],
    boostOrderIds: [...d.boostIds],
    checkoutIds: [...d.checkoutIds],
    exchanges: d.exchanges,
    commands: d.commands,
    ...modelExpectations(d.exchanges, ctx.policy),
    policy: ctx.policy,
  };
}

/**
 * The stuck entries the model allows after these exchanges under `policy`. The runner computes
 * them again once a fault has raised the record's timer lag (sim/run.ts withFaultWindows): under
 * the lag of a quiet run the model may diverge where it would not under the raised one, and the
 * states before that divergence can miss an entry (seed 20261201: a T22 escalation).
 */
export function stuckEntriesAllowed(exchanges: readonly Exchange[], policy: SimPolicy): LifecycleRecord['expectedStuck'] {
  const replayed = replay(exchanges, policy);
  return expectedStuck(replayed.violation ? replayed.before : replayed.worlds, policy);
}

/**
 * What the model expects of the lifecycle beyond its orders: the stuck entries (allowed, and those
 * every state implies) and the notifications (E3). Where the model diverged, its notifications are
 * left out (the model check reports the divergence).
 */
export function modelExpectations(exchanges: readonly Exchange[], policy: SimPolicy): Pick<LifecycleRecord, 'expectedStuck' | 'expectedNotifications'> {
  const replayed = replay(exchanges, policy);
  const worlds = replayed.violation ? replayed.before : replayed.worlds;
  return {
    expectedStuck: expectedStuck(worlds, policy),
    ...(replayed.violation ? {} : { expectedNotifications: impliedNotifications(worlds, policy) }),
  };
}
