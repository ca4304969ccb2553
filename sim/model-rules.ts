/**
 * The reference model's rules: for one request and one possible state, every outcome the SPEC
 * allows — applied (with the state after it), or refused with the codes that may answer it. Written
 * from SPEC.md (rule numbers in the comments) and docs/decisions.md where the SPEC is silent, apart
 * from `domain/`. Where the SPEC does not say which of several failed checks answers, every such
 * code is allowed; where it does (a non-party: `forbidden`; an action after its deadline fired:
 * `deadline_passed`; T8–T10's codes) only that one is.
 */
import { boostCompensation, compensation, priceRange, quoteB2, serviceFee } from './model-money';
import {
  addTimer,
  balanceDue,
  balanceOf,
  canonical,
  clientOf,
  clone,
  closeTask,
  creatorOf,
  credit,
  feeOf,
  fullRefund,
  isClosed,
  notify,
  removeTimers,
  type BoostM,
  type QuoteM,
  type Side,
  type TaskM,
  type Timer,
  type Win,
  type World,
} from './model-world';

export interface ModelOptions {
  readonly acceptanceMs: number;
  readonly balanceMs: number;
  readonly reviewMs: number;
  readonly answerMs: number;
  readonly remindMs: number;
  readonly boostPeriodMs: number;
  /** How late a timer may fire after its due time. */
  readonly lagMs: number;
  /** Clock slack between the simulation's clock and the workflows' (same host). */
  readonly marginMs: number;
}

export type Outcome =
  | {
      readonly kind: 'applied';
      readonly world: World;
      /** The success statuses that may answer it (default 200 and 201). */
      readonly statuses?: readonly number[];
      /** A check of the answer's body; a message when it does not fit. */
      readonly verify?: (body: unknown) => string | undefined;
      readonly what: string;
    }
  | {
      readonly kind: 'refused';
      readonly codes: readonly string[];
      /** C3: the line the answer must name in `details.lineIndex` (null: none); undefined: not checked. */
      readonly lineIndex?: number | null;
      /** C3: what a refusal leaves (a refused checkout is stored, and its client told); default: nothing changed. */
      readonly world?: World;
    };

export const refused = (...codes: string[]): Outcome[] => [{ kind: 'refused', codes }];
export const applied = (world: World, what: string, extra: { statuses?: readonly number[]; verify?: (body: unknown) => string | undefined } = {}): Outcome => ({
  kind: 'applied',
  world,
  what,
  ...extra,
});

// ── Reading request bodies (they come from the exchanges, as JSON) ────────────────────────────
export type Json = Record<string, unknown>;
export const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const fen = (v: unknown): bigint | undefined => (typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined);

interface ActorJ {
  type: Side;
  id: string;
}
function actorOf(body: Json): ActorJ | undefined {
  const a = obj(body.actor);
  const type = a.type;
  const id = str(a.id);
  return (type === 'client' || type === 'creator') && id !== undefined ? { type, id } : undefined;
}

export type FundingJ = { source: 'account' } | { source: 'external'; paymentRef: string; amountFen?: bigint };
export function fundingOf(v: unknown): FundingJ | undefined {
  const f = obj(v);
  if (f.source === 'account') return { source: 'account' };
  const ref = str(f.paymentRef);
  if (f.source === 'external' && ref !== undefined) {
    const amountFen = fen(f.amountFen);
    return amountFen === undefined ? { source: 'external', paymentRef: ref } : { source: 'external', paymentRef: ref, amountFen };
  }
  return undefined;
}

/**
 * L2/L5: a payment of `amountFen` for `use`: from the client's account (never overdrawn:
 * `insufficient_funds`) or from an external payment whose paymentRef was never used for anything
 * else (`idempotency_mismatch`, docs/decisions.md). Mutates `w`; returns the refusal code, if any.
 */
export function pay(w: World, clientId: string, funding: FundingJ, amountFen: bigint, use: string): string | undefined {
  if (funding.source === 'account') {
    if (balanceOf(w, `client:${clientId}`) < amountFen) return 'insufficient_funds';
    credit(w, `client:${clientId}`, -amountFen);
    return undefined;
  }
  const used = w.refs[funding.paymentRef];
  if (used !== undefined && used !== use) return 'idempotency_mismatch';
  w.refs[funding.paymentRef] = use;
  return undefined;
}

// ── Task orders (SPEC §2) ─────────────────────────────────────────────────────────────────────
export const BOOSTABLE = ['douyin_video', 'xigua_video', 'huoshan_video'];

/** T1–T5: placement. */
export function place(w0: World, body: Json, m: ModelOptions, when: Win): Outcome[] {
  const orderId = str(body.orderId) ?? '';
  const fp = canonical(body);
  const existing = w0.tasks[orderId];
  if (existing) {
    // C3: an id a checkout placed is that checkout's: another content (422), or — while the
    // checkout's payment has claimed it and its line is not placed yet — invalid_state.
    if (existing.checkoutId !== undefined) return refused('idempotency_mismatch', 'invalid_state');
    // T1: the same content answers the existing order (201 when it joined a concurrent first placement).
    return existing.fp === fp ? [applied(w0, `placement ${orderId} again (T1)`, { statuses: [200, 201] })] : refused('idempotency_mismatch');
  }
  const priceFen = fen(body.priceFen);
  const funding = fundingOf(body.funding);
  const clientId = str(body.clientId);
  const creatorId = str(body.creatorId);
  const mode = body.paymentMode;
  if (priceFen === undefined || !funding || !clientId || !creatorId || (mode !== 'full' && mode !== 'deposit')) return refused('validation_failed');
  const w = clone(w0);
  const paidFen = placementFen(priceFen, mode);
  const refusal = pay(w, clientId, funding, paidFen, `place:${orderId}`);
  if (refusal) return refused(refusal); // T5: nothing is left behind
  addTask(w, { id: orderId, clientId, creatorId, taskType: str(body.taskType) ?? '', mode, fp, priceFen }, m, when);
  return [applied(w, `placed ${orderId} (${mode}, paid ${paidFen})`, { statuses: [201] })];
}

/** T2–T4: what a placement pays now: the price and the service fee, or the fee alone (the deposit). */
export const placementFen = (priceFen: bigint, mode: 'full' | 'deposit'): bigint => (mode === 'full' ? priceFen + serviceFee(priceFen) : serviceFee(priceFen));

/** T1, T6: a paid placement: the order, its creator told, its acceptance deadline set. */
export function addTask(
  w: World,
  p: { id: string; clientId: string; creatorId: string; taskType: string; mode: 'full' | 'deposit'; fp: string; priceFen: bigint; checkoutId?: string },
  m: ModelOptions,
  when: Win,
): TaskM {
  const paidFen = placementFen(p.priceFen, p.mode);
  const task: TaskM = {
    ...p,
    originalPriceFen: p.priceFen,
    depositFen: p.mode === 'deposit' ? serviceFee(p.priceFen) : 0n,
    status: 'awaiting_acceptance',
    escrowFen: paidFen,
    paidInFen: paidFen,
    priceChanged: false,
    priceRestored: false,
    balancePaid: false,
    uploads: 0,
    autoApproved: false,
  };
  w.tasks[p.id] = task;
  notify(w, p.id, 'new_task', creatorOf(task)); // T1
  addTimer(w, { kind: 'acceptance', id: p.id, lo: when.lo + m.acceptanceMs, hi: when.hi + m.acceptanceMs }); // T6
  return task;
}

export const TASK_VERBS = ['accept', 'reject', 'remind', 'restore-price', 'pay-balance', 'videos', 'reviews', 'publish', 'cancel', 'cancel-response'] as const;
export type TaskVerb = (typeof TASK_VERBS)[number];

/** Which side may send a command ('either': any party of the order). */
function sideOf(verb: TaskVerb, t: TaskM): Side | 'either' {
  switch (verb) {
    case 'accept':
    case 'reject':
    case 'videos':
    case 'publish':
      return 'creator';
    case 'remind':
    case 'restore-price':
    case 'pay-balance':
    case 'reviews':
      return 'client';
    case 'cancel':
      return t.status === 'awaiting_acceptance' ? 'client' : 'either'; // T11 before acceptance, T20/T21 after
    case 'cancel-response':
      return 'either';
  }
}

/** The deadline-driven cancellations: an action that arrives after its deadline fired gets `deadline_passed` (SPEC §1). */
const DEADLINE_OF: Record<string, readonly TaskVerb[]> = {
  not_accepted_in_time: ['accept', 'reject', 'remind', 'cancel'], // T6
  balance_not_paid: ['pay-balance', 'restore-price', 'cancel'], // T13
};

/** A command on a closed order: `deadline_passed` where its deadline closed it, else `invalid_state`. */
function closedCodes(t: TaskM, verb: TaskVerb): string[] {
  const ownDeadline = t.cancelReason !== undefined ? DEADLINE_OF[t.cancelReason] : undefined;
  if (ownDeadline?.includes(verb)) return ['deadline_passed'];
  if (ownDeadline) return ['deadline_passed', 'invalid_state'];
  return ['invalid_state'];
}

/** T6–T23: a party's command on a task order. */
export function taskCommand(w0: World, orderId: string, verb: TaskVerb, body: Json, m: ModelOptions, when: Win): Outcome[] {
  const t0 = w0.tasks[orderId];
  if (!t0) return refused('not_found');
  const actor = actorOf(body);
  if (!actor) return refused('validation_failed');
  // SPEC §8: refused for anyone who is not that order's party.
  if (actor.id !== (actor.type === 'client' ? t0.clientId : t0.creatorId)) return refused('forbidden');
  const side = sideOf(verb, t0);
  const codes = new Set<string>();
  if (side !== 'either' && actor.type !== side) codes.add('forbidden');
  if (isClosed(t0)) {
    for (const c of closedCodes(t0, verb)) codes.add(c);
    return refused(...codes);
  }
  const w = clone(w0);
  const t = w.tasks[orderId]!;
  const result = decideOpen(w, t, verb, body, actor, m, when, codes);
  return codes.size > 0 && result.every((o) => o.kind === 'applied') ? refused(...codes) : result.map((o) => (o.kind === 'refused' ? { kind: 'refused', codes: [...new Set([...codes, ...o.codes])] } : o));
}

/** The decision on an open order; `codes` already holds the wrong-side refusal, if any. */
function decideOpen(w: World, t: TaskM, verb: TaskVerb, body: Json, actor: ActorJ, m: ModelOptions, when: Win, codes: Set<string>): Outcome[] {
  const frozen = t.pending !== undefined; // T22: the order's progress waits for the answer (docs: frozen)
  switch (verb) {
    case 'accept': {
      if (t.status !== 'awaiting_acceptance') return refused('invalid_state');
      const newPriceFen = fen(body.newPriceFen);
      if (newPriceFen !== undefined && newPriceFen !== t.priceFen) {
        if (t.mode === 'full') return refused('price_change_not_allowed'); // T9
        const { minFen, maxFen } = priceRange(t.priceFen);
        if (newPriceFen < minFen || newPriceFen > maxFen) return refused('price_out_of_range'); // T9
        t.priceFen = newPriceFen;
        t.priceChanged = true;
      }
      if (codes.size > 0) return refused(...codes);
      t.acceptedAt = when;
      removeTimers(w, t.id, ['acceptance']);
      notify(w, t.id, 'accepted', clientOf(t)); // T9
      if (t.mode === 'deposit') {
        t.status = 'awaiting_balance'; // T4, T12
        notify(w, t.id, 'balance_due', clientOf(t)); // T12
        addTimer(w, { kind: 'balance', id: t.id, lo: when.lo + m.balanceMs, hi: when.hi + m.balanceMs });
      } else {
        t.status = 'in_production'; // T15
      }
      return [applied(w, `accepted at ${t.priceFen}`)];
    }
    case 'reject': // T7
      if (t.status !== 'awaiting_acceptance') return refused('invalid_state');
      if (codes.size > 0) return refused(...codes);
      closeTask(w, t, 'cancelled', 'rejected_by_creator', fullRefund(t), when);
      return [applied(w, 'rejected (T7)')];
    case 'remind': {
      // T8: at most one reminder per interval per order.
      if (t.status !== 'awaiting_acceptance') return refused('invalid_state');
      if (codes.size > 0) return refused(...codes);
      const last = t.lastRemindAt;
      const sureAllowed = !last || when.lo - last.hi >= m.remindMs + m.marginMs;
      const sureLimited = last !== undefined && when.hi - last.lo < m.remindMs - m.marginMs;
      const outcomes: Outcome[] = [];
      if (!sureLimited) {
        t.lastRemindAt = when;
        notify(w, t.id, 'reminder', creatorOf(t)); // T8
        outcomes.push(applied(w, 'reminded (T8)'));
      }
      if (!sureAllowed) outcomes.push({ kind: 'refused', codes: ['rate_limited'] });
      return outcomes;
    }
    case 'cancel': {
      if (t.status === 'awaiting_acceptance') {
        if (codes.size > 0) return refused(...codes);
        closeTask(w, t, 'cancelled', 'cancelled_by_client_before_acceptance', fullRefund(t), when); // T11
        return [applied(w, 'cancelled before acceptance (T11)')];
      }
      if (t.pending) return refused('invalid_state'); // one request at a time (T22)
      t.pending = { by: actor.type, escalated: false }; // T20/T21: the counterparty answers
      notify(w, t.id, 'cancellation_requested', actor.type === 'client' ? creatorOf(t) : clientOf(t));
      addTimer(w, { kind: 'answer', id: t.id, lo: when.lo + m.answerMs, hi: when.hi + m.answerMs });
      return [applied(w, `cancellation requested by the ${actor.type} (T20/T21)`)];
    }
    case 'cancel-response': {
      const request = t.pending;
      if (!request) return refused('invalid_state');
      if (request.by === actor.type) return refused('forbidden'); // only the counterparty answers (T22)
      if (request.escalated) return refused('deadline_passed'); // T22: waiting for ops arbitration now
      removeTimers(w, t.id, ['answer']);
      if (body.accept !== true) {
        t.pending = undefined; // T22: declined, the order continues where it was
        notify(w, t.id, 'cancellation_declined', request.by === 'client' ? clientOf(t) : creatorOf(t)); // to the initiator
        return [applied(w, 'cancellation declined (T22)')];
      }
      if (request.by === 'creator') {
        closeTask(w, t, 'cancelled', 'cancelled_by_creator', fullRefund(t), when); // T21
      } else if (t.uploads === 0) {
        closeTask(w, t, 'cancelled', 'cancelled_by_client_after_acceptance', fullRefund(t), when); // T20 before any upload
      } else {
        const { creatorFen, serviceFeeFen } = compensation(t.priceFen); // T20 after an upload
        closeTask(w, t, 'cancelled', 'cancelled_by_client_after_acceptance', { refundFen: t.escrowFen - creatorFen - serviceFeeFen, creatorFen, serviceFeeFen, forfeitedFen: 0n }, when);
      }
      return [applied(w, `cancellation confirmed: ${t.cancelReason ?? ''}`)];
    }
    case 'restore-price': {
      // T10; where several refusals apply the SPEC does not order them: any of them may answer.
      const c: string[] = [];
      if (t.status === 'awaiting_acceptance') c.push('invalid_state');
      if (t.mode === 'full') c.push('price_change_not_allowed');
      if (t.balancePaid || t.status !== 'awaiting_balance') c.push('price_locked');
      if (t.priceRestored) c.push('price_locked');
      if (!t.priceChanged) c.push('invalid_state', 'price_locked');
      if (frozen) c.push('invalid_state');
      if (c.length > 0) return refused(...c);
      if (codes.size > 0) return refused(...codes);
      t.priceFen = t.originalPriceFen;
      t.priceRestored = true;
      notify(w, t.id, 'price_restored', creatorOf(t)); // T10
      notify(w, t.id, 'balance_due', clientOf(t)); // T12: the balance at the restored price
      return [applied(w, `price restored to ${t.priceFen} (T10)`)];
    }
    case 'pay-balance': {
      // T12, T15; allowed while a cancellation request is pending (docs: it protects from T13).
      if (t.status !== 'awaiting_balance') return refused('invalid_state');
      const funding = fundingOf(body.funding);
      if (!funding) return refused('validation_failed');
      if (codes.size > 0) return refused(...codes);
      return payBalance(w, t, funding);
    }
    case 'videos': // T16
      if (t.status !== 'in_production' || frozen) return refused('invalid_state');
      if (codes.size > 0) return refused(...codes);
      t.uploads += 1;
      t.status = 'in_review';
      notify(w, t.id, 'video_uploaded', clientOf(t)); // T16
      addTimer(w, { kind: 'review', id: t.id, lo: when.lo + m.reviewMs, hi: when.hi + m.reviewMs }); // T17
      return [applied(w, `upload #${t.uploads} (T16)`)];
    case 'reviews': {
      // T17
      if (t.status === 'approved' && t.autoApproved) return refused('deadline_passed');
      if (t.status !== 'in_review' || frozen) return refused('invalid_state');
      if (codes.size > 0) return refused(...codes);
      removeTimers(w, t.id, ['review']);
      notify(w, t.id, 'review', creatorOf(t)); // T17
      if (body.decision === 'approve') {
        t.status = 'approved';
        t.autoApproved = false;
      } else {
        t.status = 'in_production';
      }
      return [applied(w, `reviewed: ${String(body.decision)} (T17)`)];
    }
    case 'publish': {
      // T18: publication completes the order: the price to the creator, the fee to the platform.
      if (t.status !== 'approved' || frozen) return refused('invalid_state');
      if (codes.size > 0) return refused(...codes);
      const videoId = str(body.videoId) ?? '';
      const publishedAtMs = Date.parse(str(body.publishedAt) ?? '');
      const outcomes: Outcome[] = [];
      // T18: publishedAt may not be before the acceptance nor more than 5 minutes after now.
      const accepted = t.acceptedAt ?? { lo: -Infinity, hi: -Infinity };
      const sureEarly = publishedAtMs < accepted.lo - m.marginMs;
      const sureLate = publishedAtMs > when.hi + 5 * 60_000 + m.marginMs;
      const maybeBad = publishedAtMs <= accepted.hi + m.marginMs || publishedAtMs >= when.lo + 5 * 60_000 - m.marginMs;
      if (maybeBad) outcomes.push({ kind: 'refused', codes: ['validation_failed', 'invalid_state'] });
      if (!sureEarly && !sureLate) {
        t.published = { videoId, publishedAtMs };
        notify(w, t.id, 'published', clientOf(t)); // T18
        closeTask(w, t, 'completed', undefined, { refundFen: 0n, creatorFen: t.priceFen, serviceFeeFen: feeOf(t), forfeitedFen: 0n }, when);
        if (t.boostId) addTimer(w, { kind: 'boost_published', id: t.boostId, lo: when.lo, hi: when.hi });
        outcomes.push(applied(w, 'published: completed (T18)'));
      }
      return outcomes;
    }
  }
}

function payBalance(w: World, t: TaskM, funding: FundingJ): Outcome[] {
  const dueFen = balanceDue(t);
  const refusal = pay(w, t.clientId, funding, dueFen, `balance:${t.id}`);
  if (refusal) return refused(refusal);
  t.escrowFen += dueFen;
  t.paidInFen += dueFen;
  t.balancePaid = true;
  t.status = 'in_production'; // T15
  notify(w, t.id, 'balance_paid', creatorOf(t));
  removeTimers(w, t.id, ['balance']);
  return [applied(w, `balance ${dueFen} paid (T12)`)];
}

/** T14: one order of a combined payment, paid from the client's account (the money is there by then). */
export function combinedPayOne(w0: World, clientId: string, orderId: string): Outcome[] {
  const t0 = w0.tasks[orderId];
  if (!t0 || t0.clientId !== clientId) return refused('forbidden', 'not_found');
  if (t0.balancePaid) return [applied(w0, `${orderId} already paid`, { verify: (r) => (obj(r).outcome === 'already_paid' ? undefined : `expected already_paid`) })];
  if (t0.status !== 'awaiting_balance') return refused(...(isClosed(t0) ? closedCodes(t0, 'pay-balance') : ['invalid_state']));
  const w = clone(w0);
  const t = w.tasks[orderId]!;
  const dueFen = balanceDue(t);
  const outcomes = payBalance(w, t, { source: 'account' });
  return outcomes.map((o) =>
    o.kind === 'applied'
      ? { ...o, verify: (r: unknown) => (obj(r).outcome === 'paid' && fen(obj(r).amountFen) === dueFen ? undefined : `expected paid ${dueFen}`) }
      : o,
  );
}

/** T14's first step: the orders are the client's; an external payment lands in its account first (L5). */
export function combinedStart(w0: World, body: Json): Outcome[] {
  const clientId = str(body.clientId) ?? '';
  const orderIds = Array.isArray(body.orderIds) ? body.orderIds.map((id) => String(id)) : [];
  const codes = new Set<string>();
  for (const id of orderIds) {
    const t = w0.tasks[id];
    if (!t) codes.add('not_found');
    else if (t.clientId !== clientId) codes.add('forbidden');
  }
  if (codes.size > 0) return refused(...codes);
  const funding = fundingOf(body.funding);
  if (!funding) return refused('validation_failed');
  if (funding.source === 'account') return [applied(w0, 'combined payment from the account')];
  return topUp(w0, clientId, funding.paymentRef, funding.amountFen ?? 0n, [200, 201]);
}

/** L5: a top-up credits the client's account once per paymentRef. */
export function topUp(w0: World, clientId: string, paymentRef: string, amountFen: bigint, statuses?: readonly number[]): Outcome[] {
  const use = `topup:${clientId}:${amountFen}`;
  const used = w0.refs[paymentRef];
  if (used === use) return [applied(w0, `top-up ${paymentRef} again`, { statuses: statuses ?? [200] })];
  if (used !== undefined) return refused('idempotency_mismatch');
  const w = clone(w0);
  w.refs[paymentRef] = use;
  credit(w, `client:${clientId}`, amountFen);
  return [applied(w, `top-up ${amountFen}`, { statuses: statuses ?? [201] })];
}

// ── Task deadlines (T6, T13, T17, T22) ───────────────────────────────────────────────────────
/** A timer fires (inside [t.lo, t.hi + lag]); a no-op when what it guards is over. */
export function fire(w0: World, timer: Timer, m: ModelOptions): World {
  const w = clone(w0);
  w.timers = w.timers.filter((x) => !(x.kind === timer.kind && x.id === timer.id));
  const when: Win = { lo: timer.lo, hi: timer.hi + m.lagMs };
  const t = w.tasks[timer.id];
  const b = w.boosts[timer.id];
  switch (timer.kind) {
    case 'acceptance': // T6
      if (t?.status === 'awaiting_acceptance') closeTask(w, t, 'cancelled', 'not_accepted_in_time', fullRefund(t), when);
      break;
    case 'balance': // T13: the deposit is forfeited, the creator gets nothing
      if (t?.status === 'awaiting_balance') closeTask(w, t, 'cancelled', 'balance_not_paid', { refundFen: 0n, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: t.escrowFen }, when);
      break;
    case 'review': // T17: approved automatically
      if (t?.status === 'in_review') {
        t.status = 'approved';
        t.autoApproved = true;
        notify(w, t.id, 'review', clientOf(t), creatorOf(t)); // T17: approved automatically, both told
      }
      break;
    case 'answer': // T22: waits for ops arbitration
      if (t && !isClosed(t) && t.pending && !t.pending.escalated) {
        t.pending.escalated = true;
        notify(w, t.id, 'cancellation_escalated', clientOf(t), creatorOf(t));
      }
      break;
    case 'boost_published': {
      // T18 → B5: in effect for the boost period from the video's publication.
      const task = b ? w.tasks[b.taskOrderId] : undefined;
      if (b?.status === 'awaiting_publication' && task?.published) {
        b.status = 'boosting';
        b.video = { ...task.published };
        notify(w, `boost:${b.id}`, 'boost_started', clientOf(b));
        const endMs = task.published.publishedAtMs + m.boostPeriodMs;
        addTimer(w, { kind: 'boost_period', id: b.id, lo: endMs, hi: endMs });
      }
      break;
    }
    case 'boost_task_cancelled': // B4: the task was cancelled: the whole fee back (B7)
      if (b?.status === 'awaiting_publication') {
        b.status = 'refund_scheduled';
        b.endReason = 'task_cancelled';
        b.refundFen = b.escrowFen;
        notify(w, `boost:${b.id}`, 'boost_ended', clientOf(b));
        notify(w, `boost:${b.id}`, 'refund_scheduled', clientOf(b)); // B7: the whole fee
      }
      break;
    case 'boost_period': // B6: the period is over; the evaluation reads the latest count shortly after (or waits for one, B8)
      if (b?.status === 'boosting') {
        b.status = 'evaluating';
        addTimer(w, { kind: 'boost_eval', id: b.id, lo: when.lo, hi: when.hi });
      }
      break;
    case 'boost_eval': {
      // B6: the latest count is read first; the outcome is recorded a little later, with that count
      // (a count posted in between does not change it). No count: it waits for one (B8).
      const views = b?.video ? w.videos[b.video.videoId]?.views : undefined;
      if (b?.status === 'evaluating' && b.evalViews === undefined && views !== undefined) {
        b.evalViews = views;
        addTimer(w, { kind: 'boost_eval_record', id: b.id, lo: when.lo, hi: when.hi });
      }
      break;
    }
    case 'boost_eval_record':
      if (b?.status === 'evaluating' && b.evalViews !== undefined) evaluate(w, b, b.evalViews);
      break;
  }
  return w;
}

/** B6 with the latest count of the boosted video; nothing while there is none (B8: never guessed). */
function evaluate(w: World, b: BoostM, views: number): void {
  b.evalViews = undefined;
  const compensationFen = boostCompensation(b.expectedViews, views, b.priceFen, b.feeFen);
  b.evaluation = { actualViews: views, succeeded: views >= b.expectedViews, compensationFen };
  b.endReason = 'evaluated';
  b.platformFen = b.feeFen - compensationFen;
  b.escrowFen = compensationFen;
  notify(w, `boost:${b.id}`, 'boost_evaluated', clientOf(b));
  if (compensationFen > 0n) {
    notify(w, `boost:${b.id}`, 'refund_scheduled', clientOf(b));
    b.status = 'refund_scheduled'; // B7: within 7 business days, or when finance releases it (F5)
    b.refundFen = compensationFen;
  } else {
    b.status = 'closed';
  }
}

// ── Video stats, quotes, boost orders (SPEC §3) ─────────────────────────────────────────────
/** B8: a count never decreases. */
export function videoStats(w0: World, body: Json, when: Win): Outcome[] {
  const videoId = str(body.videoId) ?? '';
  const views = typeof body.views === 'number' ? body.views : NaN;
  const creatorId = str(body.creatorId) ?? '';
  const publishedAtMs = Date.parse(str(body.publishedAt) ?? '');
  const existing = w0.videos[videoId];
  const outcome = (expected: string) => (r: unknown) => (obj(r).outcome === expected ? undefined : `expected outcome ${expected}`);
  if (existing && existing.creatorId !== creatorId) return refused('invalid_state', 'validation_failed', 'forbidden');
  if (existing && views < existing.views) return refused('invalid_state');
  const w = clone(w0);
  const status = existing ? 200 : 201;
  w.videos[videoId] = { creatorId, publishedAtMs: existing?.publishedAtMs ?? publishedAtMs, views };
  // The boosts waiting for this video's count evaluate now (the feed signals them, even for an equal count).
  for (const b of Object.values(w.boosts)) {
    if (b.status === 'evaluating' && b.evalViews === undefined && b.video?.videoId === videoId) addTimer(w, { kind: 'boost_eval', id: b.id, lo: when.lo, hi: when.hi });
  }
  const label = !existing ? 'created' : existing.views === views ? 'unchanged' : 'updated';
  return [applied(w, `${videoId}: ${views} views (${label})`, { statuses: [status], verify: outcome(label) })];
}

/** B1/B2: quotes are priced by the platform; the model checks them against B2 and keeps them. */
export function quotes(w0: World, body: Json, response: unknown): Outcome[] {
  const items = Array.isArray(body.items) ? body.items.map(obj) : [];
  const answered = Array.isArray(obj(response).quotes) ? (obj(response).quotes as unknown[]).map(obj) : undefined;
  const w = clone(w0);
  const problems: string[] = [];
  if (answered) {
    if (answered.length !== items.length) problems.push(`${answered.length} quotes for ${items.length} items`);
    answered.forEach((q, i) => {
      const item = items[i] ?? {};
      const creatorId = str(item.creatorId) ?? '';
      const priceFen = fen(item.priceFen) ?? 0n;
      const quotedAtMs = Date.parse(str(q.quotedAt) ?? '');
      const videos = Object.values(w.videos).filter((v) => v.creatorId === creatorId);
      const model = quoteB2(videos, quotedAtMs);
      const premiumBp = typeof q.premiumBp === 'number' ? q.premiumBp : undefined;
      const feeFen = fen(q.boostFeeFen);
      if (str(q.creatorId) !== creatorId || fen(q.priceFen) !== priceFen) problems.push(`quote ${i} is not for ${creatorId} at ${priceFen}`);
      if (!model.ambiguous) {
        if (model.available !== (q.available === true)) problems.push(`quote ${i}: available ${String(q.available)}, B2 says ${model.available}`);
        else if (model.available) {
          if (q.expectedViews !== model.expectedViews) problems.push(`quote ${i}: expectedViews ${String(q.expectedViews)}, B2 says ${model.expectedViews}`);
          if (premiumBp === undefined || Math.abs(premiumBp - model.premiumBp) > 1) problems.push(`quote ${i}: premiumBp ${String(premiumBp)}, B2 says ${model.premiumBp}`);
        } else if (q.reason !== model.reason) problems.push(`quote ${i}: reason ${String(q.reason)}, B2 says ${model.reason}`);
      }
      // B1: boostFeeFen = percentOf(priceFen, premiumBp), premium within 10–50%.
      if (q.available === true && (premiumBp === undefined || premiumBp < 1000 || premiumBp > 5000 || feeFen !== (priceFen * BigInt(premiumBp) + 5000n) / 10000n)) {
        problems.push(`quote ${i}: fee ${String(q.boostFeeFen)} is not percentOf(${priceFen}, ${String(premiumBp)}) within 10–50%`);
      }
      const quoteId = str(q.quoteId);
      if (quoteId) {
        const stored: QuoteM = {
          quoteId,
          creatorId,
          priceFen,
          available: q.available === true,
          expectedViews: typeof q.expectedViews === 'number' ? q.expectedViews : 0,
          feeFen: feeFen ?? 0n,
          ...(str(body.clientId) ? { clientId: str(body.clientId)! } : {}),
        };
        w.quotes[quoteId] = stored;
      }
    });
  }
  return [applied(w, `quoted ${items.length}`, { statuses: [201], verify: () => (problems.length > 0 ? problems.join('; ') : undefined) })];
}

/** B3: a boost order for one of the client's open video task orders, citing a valid quote; the fee paid at once. */
export function boostOrder(w0: World, body: Json, when: Win): Outcome[] {
  const id = str(body.boostOrderId) ?? '';
  const fp = canonical(body);
  const existing = w0.boosts[id];
  if (existing?.checkoutId !== undefined) return refused('idempotency_mismatch', 'invalid_state'); // C3: the checkout's id
  if (existing) return existing.fp === fp ? [applied(w0, `boost ${id} again`, { statuses: [200, 201] })] : refused('idempotency_mismatch');
  const t = w0.tasks[str(body.taskOrderId) ?? ''];
  if (!t) return refused('not_found');
  const clientId = str(body.clientId) ?? '';
  const quote = w0.quotes[str(body.quoteId) ?? ''];
  const funding = fundingOf(body.funding);
  // The SPEC does not order B3's checks: any failing one may answer (docs/decisions.md lists the codes).
  const codes = new Set<string>();
  if (t.clientId !== clientId) codes.add('forbidden');
  if (!BOOSTABLE.includes(t.taskType)) codes.add('invalid_state'); // §8: a rule refusing a well-formed request is 409 (issue 12)
  if (isClosed(t)) codes.add('invalid_state');
  if (t.boostId !== undefined && t.boostId !== id) codes.add('invalid_state'); // at most one boost per task
  if (!quote) codes.add('not_found');
  else {
    if (quote.creatorId !== t.creatorId || quote.priceFen !== t.priceFen || !quote.available) codes.add('invalid_state');
    if (quote.clientId !== undefined && quote.clientId !== clientId) codes.add('forbidden');
  }
  if (!funding) codes.add('validation_failed');
  if (codes.size > 0 || !quote || !funding) return refused(...codes);
  const w = clone(w0);
  const refusal = pay(w, clientId, funding, quote.feeFen, `boost:${id}`);
  if (refusal) return refused(refusal);
  addBoost(w, { id, task: w.tasks[t.id]!, clientId, fp, quote });
  void when;
  return [applied(w, `boost ${id} ordered, fee ${quote.feeFen}`, { statuses: [201] })];
}

/** B3: a paid boost order on its task order; its client told. */
export function addBoost(w: World, p: { id: string; task: TaskM; clientId: string; fp: string; quote: QuoteM; checkoutId?: string }): BoostM {
  const { id, task, clientId, fp, quote } = p;
  task.boostId = id;
  const boost: BoostM = {
    id,
    taskOrderId: task.id,
    clientId,
    creatorId: task.creatorId,
    fp,
    priceFen: quote.priceFen,
    feeFen: quote.feeFen,
    expectedViews: quote.expectedViews,
    status: 'awaiting_publication',
    escrowFen: quote.feeFen,
    platformFen: 0n,
    refundPosted: false,
    ...(p.checkoutId === undefined ? {} : { checkoutId: p.checkoutId }),
  };
  w.boosts[id] = boost;
  notify(w, `boost:${id}`, 'boost_ordered', `client:${clientId}`); // B3
  return boost;
}

/** F5: finance (or ops) post a scheduled refund before its due time. */
export function releaseRefund(w0: World, id: string, role: string): Outcome[] {
  if (role !== 'finance' && role !== 'ops') return refused('forbidden');
  const b0 = w0.boosts[id];
  if (!b0) return refused('not_found');
  if (b0.status !== 'refund_scheduled') return refused('invalid_state');
  const w = clone(w0);
  const b = w.boosts[id]!;
  credit(w, `client:${b.clientId}`, b.refundFen ?? 0n);
  b.escrowFen = 0n;
  b.refundPosted = true;
  b.status = 'closed';
  notify(w, `boost:${b.id}`, 'refund', clientOf(b)); // F5
  return [applied(w, `refund ${b.refundFen ?? 0n} released (F5)`, { statuses: [200] })];
}
