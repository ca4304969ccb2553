import { reject, type Rejection } from '../errors';
import { MAX_AMOUNT_FEN } from '../money';
import type { Funding, TaskOrderState, TaskType } from '../task-order/types';
import { refundDueAt, type BusinessCalendar } from './business-days';
import { evaluateBoost } from './compensation';
import { isQuoteValid, type BoostQuote } from './pricing';
import { assertValidBoostPolicy, DEFAULT_BOOST_POLICY, type BoostPolicy } from './policy';
import { publicationDeadlineMs } from './validity';
import { isBoostDeadlineDue } from './deadlines';
import { isClosedBoostStatus, type BoostCommand, type BoostEvent, type BoostOrderState, type BoostTermsSnapshot, type RefundReleaser } from './types';

export type BoostDecision = { readonly ok: true; readonly events: readonly BoostEvent[] } | { readonly ok: false; readonly rejection: Rejection };

const ok = (...events: BoostEvent[]): BoostDecision => ({ ok: true, events });
const no = (rejection: Rejection): BoostDecision => ({ ok: false, rejection });

/** B3: the task types whose result is a video that can be boosted. */
export const BOOSTABLE_TASK_TYPES: readonly TaskType[] = ['douyin_video', 'xigua_video', 'huoshan_video'];

/** A stored quote as an order cites it (B1: it has an id). */
export type CitedQuote = BoostQuote & { readonly quoteId: string };

/** B3: what the client sends to order a boost. */
export interface BoostOrderRequest {
  readonly boostOrderId: string;
  readonly taskOrderId: string;
  readonly clientId: string;
  readonly quoteId: string;
  readonly funding: Funding;
}

/** B3: what the caller looked up for the request. */
export interface BoostOrderContext {
  readonly task: TaskOrderState | undefined;
  readonly quote: CitedQuote | undefined;
  /** The boost order already linked to the task order, if any (at most one, B3). */
  readonly existingBoostOrderId?: string;
}

/**
 * B3: decides a boost order against the linked task order and the cited quote, at `nowMs`.
 * Rejections: an unknown task order or quote → `not_found`; another client's task → `forbidden`;
 * a task order that is not a video type, a quote for another creator or price, an unavailable
 * quote, a terminal task order or one that already has a boost → `invalid_state` (409: the request
 * is well-formed, a rule refuses it; SPEC §8 keeps 400 for a body that does not match its schema);
 * a quote past its 30 minutes → `deadline_passed` (B1).
 */
export function decideBoostOrder(
  request: BoostOrderRequest,
  context: BoostOrderContext,
  nowMs: number,
  policy: BoostPolicy = DEFAULT_BOOST_POLICY,
): BoostDecision {
  const { task, quote } = context;
  if (!task) return no(reject('not_found', `task order ${request.taskOrderId} does not exist`));
  if (task.placement.orderId !== request.taskOrderId) throw new Error('decideBoostOrder: the task order looked up is not the requested one');
  if (task.placement.clientId !== request.clientId) {
    return no(reject('forbidden', `client ${request.clientId} is not the client of task order ${request.taskOrderId} (B3)`));
  }
  if (!BOOSTABLE_TASK_TYPES.includes(task.placement.taskType)) {
    return no(reject('invalid_state', `a ${task.placement.taskType} task order has no video to boost (B3)`, { taskType: task.placement.taskType, boostableTaskTypes: [...BOOSTABLE_TASK_TYPES] }));
  }
  if (task.status === 'completed' || task.status === 'cancelled') {
    return no(reject('invalid_state', `task order ${request.taskOrderId} is ${task.status} (B3: the task must not be terminal)`, { status: task.status }));
  }
  if (context.existingBoostOrderId !== undefined && context.existingBoostOrderId !== request.boostOrderId) {
    return no(reject('invalid_state', `task order ${request.taskOrderId} already has boost order ${context.existingBoostOrderId} (B3)`));
  }
  if (!quote || quote.quoteId !== request.quoteId) return no(reject('not_found', `quote ${request.quoteId} does not exist`));
  if (quote.creatorId !== task.placement.creatorId) {
    return no(reject('invalid_state', `quote ${quote.quoteId} is for creator ${quote.creatorId}, not the task's creator (B3)`, { quoteCreatorId: quote.creatorId, taskCreatorId: task.placement.creatorId }));
  }
  if (quote.priceFen !== task.priceFen) {
    return no(reject('invalid_state', `quote ${quote.quoteId} is for a price of ${quote.priceFen} fen, the task's price is ${task.priceFen} fen (B1)`, {
      quotedPriceFen: quote.priceFen,
      taskPriceFen: task.priceFen,
    }));
  }
  if (!quote.available) return no(reject('invalid_state', `quote ${quote.quoteId}: boost is unavailable (${quote.reason}) (B2)`, { quoteId: quote.quoteId, reason: quote.reason }));
  if (!isQuoteValid(quote.quotedAtMs, nowMs, quote.validUntilMs - quote.quotedAtMs)) {
    const validUntilAt = new Date(quote.validUntilMs).toISOString();
    return no(reject('deadline_passed', `quote ${quote.quoteId} expired at ${validUntilAt} (B1: valid for 30 minutes)`, { quoteId: quote.quoteId, validUntilAt }));
  }
  const invalid = validateRequest(request);
  if (invalid) return no(invalid);
  const terms: BoostTermsSnapshot = {
    boostOrderId: request.boostOrderId,
    taskOrderId: request.taskOrderId,
    clientId: request.clientId,
    creatorId: task.placement.creatorId,
    quoteId: quote.quoteId,
    priceFen: quote.priceFen,
    boostFeeFen: quote.boostFeeFen,
    expectedViews: quote.expectedViews,
    premiumBp: quote.premiumBp,
    funding: request.funding,
  };
  return ok(boostOrderedEvent(terms, nowMs, policy));
}

/** B3/B4: the placement event of a boost order placed at `orderedAtMs` (validity: one calendar month). */
export function boostOrderedEvent(terms: BoostTermsSnapshot, orderedAtMs: number, policy: BoostPolicy = DEFAULT_BOOST_POLICY): BoostEvent {
  assertValidBoostPolicy(policy);
  if (terms.boostFeeFen < 0n || terms.boostFeeFen > MAX_AMOUNT_FEN) throw new RangeError('boostFeeFen out of range');
  if (!Number.isSafeInteger(terms.expectedViews) || terms.expectedViews <= 0) throw new RangeError('expectedViews must be a positive integer (B2)');
  return { type: 'BoostOrdered', ...terms, policy, validUntilMs: publicationDeadlineMs(orderedAtMs, policy) };
}

/** Decides the events of a command against the boost order's state at workflow time `nowMs`. */
export function decideBoost(state: BoostOrderState, command: BoostCommand, nowMs: number): BoostDecision {
  switch (command.type) {
    case 'video_published':
      return decideVideoPublished(state, command.videoId, command.publishedAtMs);
    case 'publication_deadline':
      if (!isBoostDeadlineDue(state, 'publication', nowMs)) return ok();
      return ok({ type: 'BoostExpired', validUntilMs: state.validUntilMs }, ...refundOf(state, state.escrowFen, nowMs, command.calendar)); // B4
    case 'task_cancelled':
      if (state.status !== 'awaiting_publication') return ok(); // after publication the task is complete (T18)
      return ok({ type: 'BoostEndedByTaskCancellation', taskOrderId: state.terms.taskOrderId }, ...refundOf(state, state.escrowFen, nowMs, command.calendar));
    case 'boost_period_deadline':
      if (state.boostEndsAtMs === undefined || !isBoostDeadlineDue(state, 'boost_period', nowMs)) return ok();
      return ok({ type: 'BoostPeriodEnded', boostEndsAtMs: state.boostEndsAtMs });
    case 'evaluate':
      return decideEvaluate(state, command.actualViews, command.refundFromEvaluation ? nowMs : (state.boostEndsAtMs ?? nowMs), command.calendar);
    case 'release_refund':
      return decideReleaseRefund(state, command.by, command.reason);
    case 'refund_deadline': {
      const refund = state.refund;
      if (!refund || !isBoostDeadlineDue(state, 'refund', nowMs)) return ok();
      return ok({ type: 'RefundPosted', amountFen: refund.amountFen, early: false }); // B7: automatically at the due time
    }
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

/** T18 → B5: the boost runs 14 days from the video's publication. */
function decideVideoPublished(state: BoostOrderState, videoId: string, publishedAtMs: number): BoostDecision {
  if (typeof videoId !== 'string' || videoId.trim().length === 0) return no(reject('validation_failed', 'video_published needs a videoId (T18)'));
  if (!Number.isSafeInteger(publishedAtMs)) return no(reject('validation_failed', 'publishedAtMs must be epoch milliseconds (T18)'));
  if (state.status !== 'awaiting_publication') {
    if (state.video?.videoId === videoId && state.video.publishedAtMs === publishedAtMs) return ok(); // a repeated notification
    if (state.endReason === 'expired') return no(reject('deadline_passed', 'the boost expired before the video was published (B4)'));
    return no(reject('invalid_state', `video_published is not possible while the boost order is ${state.status}`, { status: state.status }));
  }
  return ok({ type: 'VideoPublished', videoId, publishedAtMs, boostEndsAtMs: publishedAtMs + state.policy.boostDurationMs });
}

/** B6: with the latest view count, once the 14 days are over; B7: the refund counts from `endedAtMs`. */
function decideEvaluate(state: BoostOrderState, actualViews: number | bigint, endedAtMs: number, calendar: BusinessCalendar): BoostDecision {
  if (state.status !== 'evaluating') {
    return no(reject('invalid_state', `evaluate is not possible while the boost order is ${state.status}`, { status: state.status }));
  }
  let outcome;
  try {
    outcome = evaluateBoost({ ...state.terms, actualViews });
  } catch (error) {
    return no(reject('validation_failed', error instanceof Error ? error.message : String(error)));
  }
  const { succeeded, compensationFen, platformKeepsFen } = outcome;
  return ok(
    { type: 'BoostEvaluated', actualViews: outcome.actualViews, succeeded, compensationFen, platformKeepsFen },
    ...refundOf(state, compensationFen, endedAtMs, calendar),
  );
}

/** F5/O4: release a scheduled refund before its due time. */
function decideReleaseRefund(state: BoostOrderState, by: RefundReleaser, reason: string | undefined): BoostDecision {
  if (!by || (by.type !== 'finance' && by.type !== 'ops') || typeof by.id !== 'string' || by.id.trim().length === 0) {
    return no(reject('validation_failed', 'release_refund needs the releasing finance or ops user (F5)'));
  }
  if (isClosedBoostStatus(state.status) && state.refund?.postedAt !== undefined) {
    return state.refund.early
      ? no(reject('invalid_state', 'the refund was already released (F5)'))
      : no(reject('deadline_passed', 'the refund was already posted at its due time (B7)'));
  }
  const refund = state.refund;
  if (state.status !== 'refund_scheduled' || !refund) {
    return no(reject('invalid_state', `there is no scheduled refund while the boost order is ${state.status} (F5)`, { status: state.status }));
  }
  return ok({ type: 'RefundPosted', amountFen: refund.amountFen, early: true, by, ...(reason === undefined ? {} : { reason }) });
}

/** B7: the refund of `amountFen` for a boost that ended at `endedAtMs`; nothing when there is nothing to refund. */
function refundOf(state: BoostOrderState, amountFen: bigint, endedAtMs: number, calendar: BusinessCalendar): BoostEvent[] {
  if (amountFen === 0n) return [];
  const due = refundDueAt(endedAtMs, calendar, state.policy.refundBusinessDays);
  return [
    {
      type: 'RefundScheduled',
      amountFen,
      endedOn: due.endedOn,
      dueDate: due.dueDate,
      dueAtMs: due.dueAtMs,
      calendarMissing: due.calendarMissingYears.length > 0,
      calendarMissingYears: due.calendarMissingYears,
    },
  ];
}

function validateRequest(request: BoostOrderRequest): Rejection | undefined {
  if (typeof request.boostOrderId !== 'string' || request.boostOrderId.trim().length === 0) return reject('validation_failed', 'boostOrderId is required');
  if (request.funding.source === 'external' && !(typeof request.funding.paymentRef === 'string' && request.funding.paymentRef.length > 0)) {
    return reject('validation_failed', 'an external payment needs its paymentRef (L5)');
  }
  return undefined;
}
