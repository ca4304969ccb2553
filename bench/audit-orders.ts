/**
 * The orders of the audit benchmark (bench/audit.ts): realistic task and boost order lifecycles,
 * every event decided by the pure domain core (decide / decideBoost, folded with evolve /
 * evolveBoost) exactly as the workflows would, at plausible workflow times. Nothing here writes:
 * bench/audit.ts plans the product's own append (planAppend) and calls append_order_stream.
 */
import {
  CN_BUSINESS_CALENDAR,
  DEFAULT_BOOST_POLICY,
  boostOrderedEvent,
  decideBoost,
  evolveBoost,
  type BoostCommand,
  type BoostOrderState,
  type RecordedBoostEvent,
} from '../domain/boost';
import {
  DEFAULT_TASK_POLICY,
  decide,
  evolve,
  placementEvent,
  type Actor,
  type Funding,
  type RecordedTaskEvent,
  type TaskCommand,
  type TaskOrderState,
  type TaskPlacement,
  type TaskType,
} from '../domain/task-order';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A small seeded generator (mulberry32): the same seed, the same orders. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
  /** One of the keys, with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    let r = this.next() * entries.reduce((sum, [, w]) => sum + w, 0);
    for (const [key, w] of entries) {
      r -= w;
      if (r < 0) return key;
    }
    return (entries[entries.length - 1] as [K, number])[0];
  }
}

/** A task order's history, recorded command by command as its workflow does. */
export class TaskHistory {
  readonly events: RecordedTaskEvent[] = [];
  state: TaskOrderState;

  constructor(placement: TaskPlacement, atMs: number) {
    const recorded: RecordedTaskEvent = { version: 1, occurredAt: atMs, event: placementEvent(placement, DEFAULT_TASK_POLICY) };
    this.events.push(recorded);
    this.state = evolve(undefined, recorded);
  }

  static of(events: readonly RecordedTaskEvent[]): TaskHistory {
    const history = Object.create(TaskHistory.prototype) as TaskHistory;
    (history as { events: RecordedTaskEvent[] }).events = [...events];
    history.state = events.reduce<TaskOrderState | undefined>((s, e) => evolve(s, e), undefined) as TaskOrderState;
    return history;
  }

  get now(): number {
    return (this.events[this.events.length - 1] as RecordedTaskEvent).occurredAt;
  }

  /** Runs a command that must be accepted and records its events at `atMs`; returns them. */
  run(command: TaskCommand, atMs: number): RecordedTaskEvent[] {
    const decision = decide(this.state, command, atMs);
    if (!decision.ok) throw new Error(`bench: ${command.type} refused on ${this.state.placement.orderId}: ${decision.rejection.code} ${decision.rejection.message}`);
    const added: RecordedTaskEvent[] = [];
    for (const event of decision.events) {
      const recorded: RecordedTaskEvent = { version: this.state.version + 1, occurredAt: atMs, event };
      this.state = evolve(this.state, recorded);
      this.events.push(recorded);
      added.push(recorded);
    }
    return added;
  }
}

export class BoostHistory {
  readonly events: RecordedBoostEvent[] = [];
  state: BoostOrderState;

  constructor(event: RecordedBoostEvent) {
    this.events.push(event);
    this.state = evolveBoost(undefined, event);
  }

  static of(events: readonly RecordedBoostEvent[]): BoostHistory {
    const history = new BoostHistory(events[0] as RecordedBoostEvent);
    for (const recorded of events.slice(1)) {
      history.state = evolveBoost(history.state, recorded);
      history.events.push(recorded);
    }
    return history;
  }

  run(command: BoostCommand, atMs: number): RecordedBoostEvent[] {
    const decision = decideBoost(this.state, command, atMs);
    if (!decision.ok) throw new Error(`bench: ${command.type} refused on boost ${this.state.terms.boostOrderId}: ${decision.rejection.code} ${decision.rejection.message}`);
    const added: RecordedBoostEvent[] = [];
    for (const event of decision.events) {
      const recorded: RecordedBoostEvent = { version: this.state.version + 1, occurredAt: atMs, event };
      this.state = evolveBoost(this.state, recorded);
      this.events.push(recorded);
      added.push(recorded);
    }
    return added;
  }
}

/** How far a generated task order goes. Open ones stop in a non-terminal state. */
export const TASK_LIFECYCLES = {
  completed_full: 30,
  completed_deposit: 12,
  completed_after_changes: 4,
  rejected: 5,
  not_accepted_in_time: 5,
  cancelled_before_acceptance: 4,
  balance_not_paid: 3,
  cancelled_with_compensation: 3,
  cancelled_by_creator_arbitrated: 2,
  open_awaiting_acceptance: 10,
  open_awaiting_balance: 3,
  open_in_production: 10,
  open_in_review: 6,
  open_cancellation_requested: 3,
} as const;
export type TaskLifecycle = keyof typeof TASK_LIFECYCLES;

/** What the generator needs to know about the parties and the payment of a new order. */
export interface OrderParties {
  readonly orderId: string;
  readonly clientId: string;
  readonly creatorId: string;
  readonly funding: Funding;
  /** The boost's id when this order gets a boost (video task types only). */
  readonly boostOrderId?: string;
  readonly boostFunding?: Funding;
}

export interface GeneratedOrder {
  readonly task: TaskHistory;
  readonly boost?: BoostHistory;
  readonly lifecycle: TaskLifecycle;
}

const TASK_TYPES: readonly TaskType[] = ['douyin_video', 'douyin_video', 'douyin_video', 'xigua_video', 'huoshan_video', 'douyin_live', 'toutiao_post'];
const INDUSTRIES = ['beauty', 'food', 'gaming', 'travel', 'fashion', 'education', 'auto'];
const TITLES = ['Spring launch', 'Double 11 warm-up', 'New flavour', 'Store opening', 'Summer sale', 'App install push', '新品首发'];

/** The task order's placement (T1): a price in whole yuan between 500 and 20 000 yuan. */
export function placementFor(rng: Rng, parties: OrderParties, atMs: number, lifecycle: TaskLifecycle): TaskPlacement {
  const deposit = lifecycle === 'completed_deposit' || lifecycle === 'balance_not_paid' || lifecycle === 'open_awaiting_balance' || rng.next() < 0.15;
  return {
    orderId: parties.orderId,
    clientId: parties.clientId,
    creatorId: parties.creatorId,
    taskType: parties.boostOrderId ? 'douyin_video' : rng.pick(TASK_TYPES),
    priceFen: BigInt(rng.int(500, 20_000)) * 100n,
    brief: { title: rng.pick(TITLES), industry: rng.pick(INDUSTRIES), expectedPublishAt: new Date(atMs + rng.int(10, 40) * DAY).toISOString() },
    paymentMode: deposit ? 'deposit' : 'full',
    funding: parties.funding,
  };
}

/** Whether this lifecycle has a video a boost can be ordered for (ordered while in production). */
export function boostable(lifecycle: TaskLifecycle): boolean {
  return lifecycle === 'completed_full' || lifecycle === 'completed_deposit' || lifecycle === 'completed_after_changes' || lifecycle === 'open_in_production' || lifecycle === 'open_in_review' || lifecycle === 'cancelled_with_compensation';
}

/**
 * One task order (and its boost, if `parties.boostOrderId`) from placement to where `lifecycle`
 * stops, every step decided by the domain core at a plausible workflow time.
 */
export function generateOrder(rng: Rng, parties: OrderParties, placedAtMs: number, lifecycle: TaskLifecycle): GeneratedOrder {
  const p = placementFor(rng, parties, placedAtMs, lifecycle);
  const task = new TaskHistory(p, placedAtMs);
  const client: Actor = { type: 'client', id: p.clientId };
  const creator: Actor = { type: 'creator', id: p.creatorId };
  let t = placedAtMs;
  const later = (minMs: number, maxMs: number) => (t += rng.int(minMs, maxMs));
  let boost: BoostHistory | undefined;

  const accept = () => {
    if (rng.next() < 0.3) task.run({ type: 'remind', actor: client }, later(2 * HOUR, 6 * HOUR));
    const changePrice = p.paymentMode === 'deposit' && rng.next() < 0.3;
    const newPriceFen = changePrice ? (p.priceFen * BigInt(rng.int(90, 115))) / 100n : undefined;
    task.run({ type: 'accept', actor: creator, ...(newPriceFen === undefined ? {} : { newPriceFen }) }, later(10 * MINUTE, 17 * HOUR));
    if (task.state.status === 'awaiting_balance' && lifecycle !== 'balance_not_paid' && lifecycle !== 'open_awaiting_balance') {
      if (task.state.priceChanged && rng.next() < 0.2) task.run({ type: 'restore_price', actor: client }, later(HOUR, DAY));
      task.run({ type: 'pay_balance', actor: client, funding: balanceFunding(parties, rng) }, later(HOUR, 3 * DAY));
    }
  };
  const orderBoost = () => {
    if (!parties.boostOrderId) return;
    const premiumBp = BigInt(rng.int(1000, 5000));
    const boostFeeFen = (task.state.priceFen * premiumBp) / 10000n;
    const event = boostOrderedEvent(
      {
        boostOrderId: parties.boostOrderId,
        taskOrderId: p.orderId,
        clientId: p.clientId,
        creatorId: p.creatorId,
        quoteId: `q-${parties.boostOrderId}`,
        priceFen: task.state.priceFen,
        boostFeeFen,
        expectedViews: rng.int(5_000, 500_000),
        premiumBp,
        funding: parties.boostFunding ?? { source: 'account' },
      },
      later(HOUR, DAY),
      DEFAULT_BOOST_POLICY,
    );
    boost = new BoostHistory({ version: 1, occurredAt: t, event });
  };
  const upload = () => task.run({ type: 'upload_video', actor: creator, draftId: `d-${task.state.uploads + 1}`, videoUrl: `https://v.example.com/${p.orderId}/${task.state.uploads + 1}` }, later(DAY, 5 * DAY));
  const approve = () => {
    if (rng.next() < 0.15) task.run({ type: 'review_deadline' }, (t = (task.state.reviewDueAtMs as number) + rng.int(1_000, 5 * MINUTE)));
    else task.run({ type: 'review', actor: client, decision: 'approve', ...(rng.next() < 0.3 ? { comment: 'Looks great' } : {}) }, later(HOUR, 3 * DAY));
  };
  const publish = () => {
    const publishedAt = later(HOUR, 2 * DAY);
    const videoId = `v-${p.orderId}`;
    task.run({ type: 'publish', actor: creator, videoId, publishedAt: new Date(publishedAt - rng.int(0, 30) * MINUTE).toISOString() }, publishedAt);
    if (boost) finishBoost(rng, boost, videoId, Date.parse(task.state.publishedVideo?.publishedAt as string), parties.boostOrderId !== undefined && rng.next() < 0.15);
  };

  switch (lifecycle) {
    case 'completed_full':
    case 'completed_deposit':
      accept();
      orderBoost();
      upload();
      approve();
      publish();
      break;
    case 'completed_after_changes':
      accept();
      orderBoost();
      upload();
      task.run({ type: 'review', actor: client, decision: 'request_changes', comment: 'Please show the product earlier' }, later(HOUR, 2 * DAY));
      upload();
      approve();
      publish();
      break;
    case 'rejected':
      task.run({ type: 'reject', actor: creator, ...(rng.next() < 0.5 ? { reason: 'fully booked' } : {}) }, later(10 * MINUTE, 20 * HOUR));
      break;
    case 'not_accepted_in_time':
      if (rng.next() < 0.5) task.run({ type: 'remind', actor: client }, later(2 * HOUR, 6 * HOUR));
      task.run({ type: 'acceptance_deadline' }, (t = placedAtMs + DEFAULT_TASK_POLICY.acceptanceTimeoutMs + rng.int(1_000, MINUTE)));
      break;
    case 'cancelled_before_acceptance':
      task.run({ type: 'cancel', actor: client, reason: 'campaign cancelled' }, later(10 * MINUTE, 10 * HOUR));
      break;
    case 'balance_not_paid':
      accept();
      task.run({ type: 'balance_deadline' }, (t = (task.state.acceptedAt as number) + DEFAULT_TASK_POLICY.balanceTimeoutMs + rng.int(1_000, MINUTE)));
      break;
    case 'cancelled_with_compensation': {
      accept();
      orderBoost();
      upload();
      task.run({ type: 'cancel', actor: client, reason: 'budget cut' }, later(HOUR, DAY));
      task.run({ type: 'cancel_response', actor: creator, accept: true }, later(HOUR, 2 * DAY));
      if (boost) boostAfterTaskCancelled(rng, boost, t);
      break;
    }
    case 'cancelled_by_creator_arbitrated': {
      accept();
      task.run({ type: 'cancel', actor: creator, reason: 'fell ill' }, later(HOUR, 2 * DAY));
      task.run({ type: 'cancellation_answer_deadline' }, (t = (task.state.pendingCancellation?.answerDueAtMs as number) + rng.int(1_000, MINUTE)));
      task.run({ type: 'arbitrate', operator: 'ops-alice', decision: 'confirm', reason: 'creator unavailable, confirmed by phone' }, later(HOUR, DAY));
      break;
    }
    case 'open_awaiting_acceptance':
      if (rng.next() < 0.3) task.run({ type: 'remind', actor: client }, later(2 * HOUR, 6 * HOUR));
      break;
    case 'open_awaiting_balance':
      accept();
      break;
    case 'open_in_production':
      accept();
      orderBoost();
      break;
    case 'open_in_review':
      accept();
      orderBoost();
      upload();
      break;
    case 'open_cancellation_requested':
      accept();
      task.run({ type: 'cancel', actor: rng.next() < 0.5 ? client : creator, reason: 'change of plans' }, later(HOUR, DAY));
      break;
    default: {
      const _exhaustive: never = lifecycle;
      throw new Error(`unknown lifecycle ${String(_exhaustive)}`);
    }
  }
  return { task, lifecycle, ...(boost ? { boost } : {}) };
}

function balanceFunding(parties: OrderParties, rng: Rng): Funding {
  return parties.funding.source === 'external' || rng.next() < 0.3 ? { source: 'external', paymentRef: `pay-${parties.orderId}-balance` } : { source: 'account' };
}

/** B5–B7 after the task's publication: 14 days, the evaluation, and a refund of any shortfall. */
export function finishBoost(rng: Rng, boost: BoostHistory, videoId: string, publishedAtMs: number, stayOpen: boolean): void {
  boost.run({ type: 'video_published', videoId, publishedAtMs }, publishedAtMs + rng.int(1_000, 10 * MINUTE));
  if (stayOpen) return; // still boosting
  const endsAt = boost.state.boostEndsAtMs as number;
  boost.run({ type: 'boost_period_deadline' }, endsAt + rng.int(1_000, MINUTE));
  const expected = boost.state.terms.expectedViews;
  const actualViews = rng.next() < 0.45 ? expected + rng.int(0, expected) : Math.floor(expected * rng.next());
  boost.run({ type: 'evaluate', actualViews, calendar: CN_BUSINESS_CALENDAR }, endsAt + rng.int(MINUTE, 6 * HOUR));
  postRefund(rng, boost);
}

/** B4: the linked task was cancelled before publication: the whole fee is refunded. */
function boostAfterTaskCancelled(rng: Rng, boost: BoostHistory, atMs: number): void {
  boost.run({ type: 'task_cancelled', calendar: CN_BUSINESS_CALENDAR }, atMs + rng.int(1_000, MINUTE));
  postRefund(rng, boost);
}

/** B7/F5: a scheduled refund is released early by finance or posted at its due time. */
export function postRefund(rng: Rng, boost: BoostHistory): void {
  const refund = boost.state.refund;
  if (boost.state.status !== 'refund_scheduled' || !refund) return;
  if (rng.next() < 0.3) {
    boost.run({ type: 'release_refund', by: { type: 'finance', id: 'fin-bob' }, reason: 'client escalation' }, boost.state.updatedAt + rng.int(HOUR, DAY));
  } else {
    boost.run({ type: 'refund_deadline' }, refund.dueAtMs + rng.int(1_000, MINUTE));
  }
}

/**
 * The next steps of an open order (for the increment after a checkpoint): an open task order moves
 * on to completion (or is cancelled), a boost still running is evaluated. Returns the commands'
 * events in the order they were recorded, task and boost separately.
 */
export function advanceOpenOrder(rng: Rng, task: TaskHistory, boost: BoostHistory | undefined, nowMs: number): { task: RecordedTaskEvent[][]; boost: RecordedBoostEvent[][] } {
  const client: Actor = { type: 'client', id: task.state.placement.clientId };
  const creator: Actor = { type: 'creator', id: task.state.placement.creatorId };
  const taskSteps: RecordedTaskEvent[][] = [];
  const boostSteps: RecordedBoostEvent[][] = [];
  let t = Math.max(nowMs, task.now + MINUTE);
  const step = () => (t += rng.int(MINUTE, HOUR));
  const status = task.state.status;
  if (task.state.pendingCancellation) {
    taskSteps.push(task.run({ type: 'cancel_response', actor: task.state.pendingCancellation.by.type === 'client' ? creator : client, accept: false, reason: 'let us finish' }, step()));
  }
  if (status === 'awaiting_acceptance') {
    taskSteps.push(task.run({ type: 'reject', actor: creator }, step()));
    return { task: taskSteps, boost: boostSteps };
  }
  if (task.state.status === 'awaiting_balance') taskSteps.push(task.run({ type: 'pay_balance', actor: client, funding: { source: 'external', paymentRef: `pay-${task.state.placement.orderId}-late` } }, step()));
  if (task.state.status === 'in_production') taskSteps.push(task.run({ type: 'upload_video', actor: creator, draftId: 'd-late' }, step()));
  if (task.state.status === 'in_review') taskSteps.push(task.run({ type: 'review', actor: client, decision: 'approve' }, step()));
  if (task.state.status === 'approved') {
    const publishedAt = step();
    taskSteps.push(task.run({ type: 'publish', actor: creator, videoId: `v-${task.state.placement.orderId}`, publishedAt: new Date(publishedAt).toISOString() }, publishedAt));
    if (boost && boost.state.status === 'awaiting_publication') {
      const before = boost.events.length;
      finishBoost(rng, boost, `v-${task.state.placement.orderId}`, publishedAt, false);
      boostSteps.push(boost.events.slice(before));
    }
  }
  if (boost && boost.state.status === 'boosting') {
    const before = boost.events.length;
    const endsAt = boost.state.boostEndsAtMs as number;
    boost.run({ type: 'boost_period_deadline' }, Math.max(endsAt, t) + MINUTE);
    boost.run({ type: 'evaluate', actualViews: boost.state.terms.expectedViews * 2, calendar: CN_BUSINESS_CALENDAR }, Math.max(endsAt, t) + 2 * MINUTE);
    boostSteps.push(boost.events.slice(before));
  }
  return { task: taskSteps, boost: boostSteps };
}
