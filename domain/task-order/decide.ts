import { percentOf, divCeil } from '../money';
import { reject, type Rejection } from '../errors';
import { isTaskDeadlineDue } from './deadlines';
import type { TaskPolicy } from './policy';
import { isClosedTaskStatus } from './types';
import type {
  Actor,
  Attribution,
  CancelReason,
  Funding,
  Operator,
  TaskCommand,
  TaskEvent,
  TaskOrderState,
  TaskPlacement,
  TaskSettlement,
} from './types';

export type Decision = { readonly ok: true; readonly events: readonly TaskEvent[] } | { readonly ok: false; readonly rejection: Rejection };

const ok = (...events: TaskEvent[]): Decision => ({ ok: true, events });
const no = (rejection: Rejection): Decision => ({ ok: false, rejection });

/** Cancellations caused by a deadline firing: an action that arrives afterwards is too late. */
const DEADLINE_REASONS: ReadonlySet<CancelReason> = new Set(['not_accepted_in_time', 'balance_not_paid']);

/** The commands a party of the order sends (everything but timers and ops). */
type ActorCommand = Extract<TaskCommand, { readonly actor: Actor }>;

/** Upper bound of free-text fields (reasons, comments, ids of drafts and videos). */
const MAX_TEXT = 2000;

/** T2–T4: what the client pays at placement. */
export function placementEvent(placement: TaskPlacement, policy: TaskPolicy): TaskEvent {
  const serviceFeeFen = percentOf(placement.priceFen, policy.serviceFeeBp);
  const paidFen = placement.paymentMode === 'full' ? placement.priceFen + serviceFeeFen : serviceFeeFen;
  return { type: 'TaskOrderPlaced', placement, policy, serviceFeeFen, paidFen };
}

/** T9: the creator's allowed range for a new price, `ceil(0.8 p) … floor(1.2 p)`. */
export function priceChangeRange(priceFen: bigint, policy: TaskPolicy): { minFen: bigint; maxFen: bigint } {
  return {
    minFen: divCeil(priceFen * policy.priceChangeMinBp, 10000n),
    maxFen: (priceFen * policy.priceChangeMaxBp) / 10000n,
  };
}

/**
 * T12: the balance still due on a deposit-mode order awaiting it:
 * (final price + percentOf(final price, serviceFeeBp)) − deposit paid. 0 when nothing is due
 * (full mode, not accepted yet, already paid, or closed).
 */
export function balanceDueFen(state: TaskOrderState): bigint {
  if (state.status !== 'awaiting_balance') return 0n;
  // state.serviceFeeFen is percentOf(priceFen, serviceFeeBp), kept in step by acceptance and restore.
  const dueFen = state.priceFen + state.serviceFeeFen - state.depositFen;
  return dueFen > 0n ? dueFen : 0n;
}

/**
 * T20/T21 (and O4 arbitration of such a request): where the escrow goes if a cancellation
 * requested by `initiator` after acceptance is confirmed now. The parts add up to `paidInFen`.
 * - creator-initiated (T21): everything back to the client, service fee included;
 * - client-initiated (T20) before any upload (also: deposit mode before the balance): everything
 *   back to the client;
 * - client-initiated after ≥ 1 upload: compensation = percentOf(final price, 5000) to the creator,
 *   percentOf(compensation, 1000) to the platform, the rest back to the client.
 */
export function cancellationOutcome(state: TaskOrderState, initiator: Actor['type']): TaskSettlement {
  const paidInFen = state.paidInFen;
  if (initiator === 'creator' || state.uploads === 0) {
    return { refundFen: paidInFen, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: 0n };
  }
  const creatorFen = percentOf(state.priceFen, state.policy.cancellationCompensationBp);
  const serviceFeeFen = percentOf(creatorFen, state.policy.serviceFeeBp);
  const refundFen = paidInFen - creatorFen - serviceFeeFen;
  if (refundFen < 0n) {
    throw new Error(`order ${state.placement.orderId}: compensation ${creatorFen} + fee ${serviceFeeFen} exceeds escrow ${paidInFen}`);
  }
  return { refundFen, creatorFen, serviceFeeFen, forfeitedFen: 0n };
}

/** Decides the events of a command against the current state, at workflow time `nowMs`. */
export function decide(state: TaskOrderState, command: TaskCommand, nowMs: number): Decision {
  switch (command.type) {
    case 'acceptance_deadline':
      return decideAcceptanceDeadline(state, nowMs);
    case 'balance_deadline':
      return decideBalanceDeadline(state, nowMs);
    case 'review_deadline':
      return decideReviewDeadline(state, nowMs);
    case 'cancellation_answer_deadline':
      return decideCancellationAnswerDeadline(state, nowMs);
    case 'publish_overdue_deadline':
      return decidePublishOverdueDeadline(state, nowMs);
    case 'arbitrate':
      return decideArbitrate(state, command);
    case 'ops_cancel':
      return decideOpsCancel(state, command);
    case 'accept':
    case 'reject':
    case 'remind':
    case 'cancel':
    case 'restore_price':
    case 'pay_balance':
    case 'upload_video':
    case 'review':
    case 'publish':
    case 'cancel_response':
      return decideActorCommand(state, command, nowMs);
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

function decideActorCommand(state: TaskOrderState, command: ActorCommand, nowMs: number): Decision {
  const party = checkParty(state, command.actor, requiredSide(state, command));
  if (party) return no(party);
  const invalid = validate(command);
  if (invalid) return no(invalid);
  if (isClosed(state)) return no(tooLateOrWrongState(state, command.type));

  switch (command.type) {
    case 'accept':
      if (state.status !== 'awaiting_acceptance') return no(tooLateOrWrongState(state, command.type));
      return decideAccept(state, command.actor, command.newPriceFen);
    case 'reject':
      if (state.status !== 'awaiting_acceptance') return no(tooLateOrWrongState(state, command.type));
      return ok(cancelled('rejected_by_creator', command.actor, command.reason, fullRefund(state))); // T7
    case 'remind':
      if (state.status !== 'awaiting_acceptance') return no(tooLateOrWrongState(state, command.type));
      return decideRemind(state, command.actor, nowMs);
    case 'cancel':
      return decideCancel(state, command.actor, command.reason, nowMs);
    case 'restore_price':
      return decideRestorePrice(state, command.actor);
    case 'pay_balance':
      return decidePayBalance(state, command.actor, command.funding);
    case 'upload_video':
      return decideUpload(state, command, nowMs);
    case 'review':
      return decideReview(state, command);
    case 'publish':
      return decidePublish(state, command, nowMs);
    case 'cancel_response':
      return decideCancelResponse(state, command.actor, command.accept, command.reason);
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

/** Which side of the order may send a command ('either': any party of the order). */
function requiredSide(state: TaskOrderState, command: ActorCommand): Actor['type'] | 'either' {
  switch (command.type) {
    case 'accept':
    case 'reject':
    case 'upload_video':
    case 'publish':
      return 'creator';
    case 'remind':
    case 'restore_price':
    case 'pay_balance':
    case 'review':
      return 'client';
    case 'cancel':
      // T11: before acceptance only the client cancels (the creator rejects, T7); T20/T21 after.
      return state.status === 'awaiting_acceptance' ? 'client' : 'either';
    case 'cancel_response':
      return 'either'; // the counterparty of the request: checked against the request itself
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

/** The pure core's own guard on free-form inputs (the API validates them first). */
function validate(command: ActorCommand): Rejection | undefined {
  switch (command.type) {
    case 'upload_video': {
      const given = [command.draftId, command.videoUrl].filter((v) => v !== undefined);
      if (given.length === 0) return reject('validation_failed', 'an upload needs a draftId or a videoUrl (T16)');
      if (given.some((v) => !isText(v))) return reject('validation_failed', `draftId and videoUrl must be 1–${MAX_TEXT} characters`);
      return undefined;
    }
    case 'publish':
      if (!isText(command.videoId)) return reject('validation_failed', 'publishing needs a videoId (T18)');
      if (!Number.isFinite(Date.parse(command.publishedAt))) return reject('validation_failed', 'publishedAt must be an ISO 8601 instant (T18)');
      return undefined;
    case 'pay_balance':
      if (command.funding.source === 'external' && !isText(command.funding.paymentRef)) {
        return reject('validation_failed', 'an external payment needs its paymentRef (L5)');
      }
      return undefined;
    case 'review':
      if (command.decision !== 'approve' && command.decision !== 'request_changes') {
        return reject('validation_failed', 'decision must be approve or request_changes (T17)');
      }
      return optionalText(command.comment, 'comment');
    case 'reject':
    case 'cancel':
    case 'cancel_response':
      return optionalText(command.reason, 'reason');
    case 'accept':
    case 'remind':
    case 'restore_price':
      return undefined;
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

function decideAccept(state: TaskOrderState, by: Actor, newPriceFen: bigint | undefined): Decision {
  const previousPriceFen = state.priceFen;
  let priceFen = previousPriceFen;
  if (newPriceFen !== undefined && newPriceFen !== previousPriceFen) {
    if (state.placement.paymentMode === 'full') {
      return no(reject('price_change_not_allowed', 'the price can only be changed on a deposit-mode order (T9)'));
    }
    const { minFen, maxFen } = priceChangeRange(previousPriceFen, state.policy);
    if (newPriceFen < minFen || newPriceFen > maxFen) {
      return no(reject('price_out_of_range', `the new price must be between ${minFen} and ${maxFen} fen (T9)`, {
        minFen, // §1: amounts are integers named …Fen, in details too
        maxFen,
      }));
    }
    priceFen = newPriceFen;
  }
  const serviceFeeFen = percentOf(priceFen, state.policy.serviceFeeBp);
  return ok({ type: 'TaskOrderAccepted', by, priceFen, serviceFeeFen, previousPriceFen });
}

function decideRemind(state: TaskOrderState, by: Actor, nowMs: number): Decision {
  const last = state.lastReminderAt;
  if (last !== undefined && nowMs - last < state.policy.reminderIntervalMs) {
    const retryAt = new Date(last + state.policy.reminderIntervalMs).toISOString();
    return no(reject('rate_limited', 'at most one reminder per hour per order (T8)', { retryAt }));
  }
  return ok({ type: 'CreatorReminded', by });
}

/** T11 before acceptance (immediate); T20/T21 afterwards (a request the counterparty answers). */
function decideCancel(state: TaskOrderState, by: Actor, reason: string | undefined, nowMs: number): Decision {
  if (state.status === 'awaiting_acceptance') {
    return ok(cancelled('cancelled_by_client_before_acceptance', by, reason, fullRefund(state))); // T11
  }
  if (state.pendingCancellation) {
    return no(reject('invalid_state', 'a cancellation request is already pending on this order (T22)', pendingDetails(state)));
  }
  return ok({
    type: 'CancellationRequested',
    by,
    ...(reason === undefined ? {} : { reason }),
    answerDueAtMs: nowMs + state.policy.cancellationAnswerTimeoutMs,
  });
}

/**
 * T10. Rejections, in this order:
 * - full mode: `price_change_not_allowed` (its price can never change, T9);
 * - the balance is paid or the price was already restored once: `price_locked`;
 * - the creator did not change the price: `invalid_state` (there is nothing to restore; the price
 *   is not locked either, since T10 locks it only after a restore or the balance payment);
 * - a cancellation request is pending: `invalid_state` (the order is frozen until it is answered).
 */
function decideRestorePrice(state: TaskOrderState, by: Actor): Decision {
  if (state.status === 'awaiting_acceptance') return no(tooLateOrWrongState(state, 'restore_price'));
  if (state.placement.paymentMode === 'full') {
    return no(reject('price_change_not_allowed', 'a full-mode order has no price change to restore (T9, T10)'));
  }
  if (state.balancePaidAt !== undefined || state.status !== 'awaiting_balance') {
    return no(reject('price_locked', 'the price is locked once the balance is paid (T10)'));
  }
  if (state.priceRestored) return no(reject('price_locked', 'the original price can be restored only once (T10)'));
  if (!state.priceChanged) {
    return no(reject('invalid_state', 'the creator did not change the price: there is nothing to restore (T10)', { status: state.status }));
  }
  const frozen = frozenByRequest(state, 'restore_price');
  if (frozen) return no(frozen);
  const priceFen = state.originalPriceFen;
  return ok({ type: 'PriceRestored', by, priceFen, serviceFeeFen: percentOf(priceFen, state.policy.serviceFeeBp), previousPriceFen: state.priceFen });
}

/**
 * T12, T15. Allowed while a cancellation request is pending (a product decision: paying protects
 * the client from T13 forfeiture while the request waits; the cancellation's money outcome does not
 * depend on it, since nothing can be uploaded meanwhile).
 */
function decidePayBalance(state: TaskOrderState, by: Actor, funding: Funding): Decision {
  if (state.status !== 'awaiting_balance') return no(tooLateOrWrongState(state, 'pay_balance'));
  return ok({ type: 'BalancePaid', by, amountFen: balanceDueFen(state), funding });
}

/** T16: uploads happen in production (first one, or after changes were requested). */
function decideUpload(state: TaskOrderState, command: Extract<TaskCommand, { type: 'upload_video' }>, nowMs: number): Decision {
  if (state.status !== 'in_production') return no(tooLateOrWrongState(state, command.type));
  const frozen = frozenByRequest(state, command.type);
  if (frozen) return no(frozen);
  return ok({
    type: 'VideoUploaded',
    by: command.actor,
    uploadNo: state.uploads + 1,
    ...(command.draftId === undefined ? {} : { draftId: command.draftId }),
    ...(command.videoUrl === undefined ? {} : { videoUrl: command.videoUrl }),
    reviewDueAtMs: nowMs + state.policy.reviewTimeoutMs,
  });
}

/** T17 */
function decideReview(state: TaskOrderState, command: Extract<TaskCommand, { type: 'review' }>): Decision {
  if (state.status === 'approved' && state.autoApproved) {
    return no(reject('deadline_passed', 'review: the review time passed and the upload was approved automatically (T17)'));
  }
  if (state.status !== 'in_review') return no(tooLateOrWrongState(state, command.type));
  const frozen = frozenByRequest(state, command.type);
  if (frozen) return no(frozen);
  return ok({
    type: 'VideoReviewed',
    by: command.actor,
    uploadNo: state.uploads,
    decision: command.decision,
    ...(command.comment === undefined ? {} : { comment: command.comment }),
  });
}

/** T18: publication completes the order and settles the escrow (L6: it ends at zero). */
/** T18: how far after the workflow's now a publication time may be (other systems' clocks drift). */
export const PUBLISHED_AT_MAX_AHEAD_MS = 5 * 60_000;

function decidePublish(state: TaskOrderState, command: Extract<TaskCommand, { type: 'publish' }>, nowMs: number): Decision {
  if (state.status !== 'approved') return no(tooLateOrWrongState(state, command.type));
  const frozen = frozenByRequest(state, command.type);
  if (frozen) return no(frozen);
  if (!command.unboundedPublishedAt) {
    const refusal = publishedAtOutOfBounds(state, Date.parse(command.publishedAt), nowMs);
    if (refusal) return no(refusal);
  }
  const owedFen = state.priceFen + state.serviceFeeFen;
  if (state.paidInFen !== owedFen) {
    throw new Error(`order ${state.placement.orderId}: escrow ${state.paidInFen} ≠ price + fee ${owedFen} at settlement (L6)`);
  }
  return ok(
    { type: 'VideoPublished', by: command.actor, videoId: command.videoId, publishedAt: new Date(Date.parse(command.publishedAt)).toISOString() },
    { type: 'TaskOrderCompleted', creatorFen: state.priceFen, serviceFeeFen: state.serviceFeeFen },
  );
}

/** T18: publishedAt lies between the acceptance and 5 minutes after the workflow's now. */
function publishedAtOutOfBounds(state: TaskOrderState, publishedAtMs: number, nowMs: number): Rejection | undefined {
  if (!Number.isFinite(publishedAtMs)) return undefined; // the command's own validation answers it
  const earliestMs = state.acceptedAt ?? state.placedAt;
  const latestMs = nowMs + PUBLISHED_AT_MAX_AHEAD_MS;
  if (publishedAtMs >= earliestMs && publishedAtMs <= latestMs) return undefined;
  return reject('invalid_state', "publishedAt must lie between the order's acceptance and 5 minutes after now (T18)", {
    publishedAt: new Date(publishedAtMs).toISOString(),
    earliestAt: new Date(earliestMs).toISOString(),
    latestAt: new Date(latestMs).toISOString(),
  });
}

/** T22: the counterparty of a pending request confirms (T20/T21 outcome) or declines. */
function decideCancelResponse(state: TaskOrderState, by: Actor, accept: boolean, reason: string | undefined): Decision {
  const request = state.pendingCancellation;
  if (!request) {
    return no(reject('invalid_state', 'there is no pending cancellation request to answer (T22)', { status: state.status }));
  }
  if (request.by.type === by.type) {
    return no(reject('forbidden', `only the ${request.by.type === 'client' ? 'creator' : 'client'} may answer this cancellation request (T22)`));
  }
  if (request.escalated) {
    return no(reject('deadline_passed', 'cancel_response: no answer came within the answer time; the request is waiting for ops arbitration (T22)'));
  }
  const note = reason === undefined ? {} : { reason };
  if (!accept) return ok({ type: 'CancellationDeclined', by, ...note });
  return ok(
    { type: 'CancellationConfirmed', by, ...note },
    cancelled(requestReason(request.by), request.by, request.reason, cancellationOutcome(state, request.by.type)),
  );
}

/** O4: ops decide an escalated request; a confirm applies the initiator's money outcome (T20/T21). */
/** O4: ops cancel with a chosen money outcome, each only where the rule it stands for applies. */
function decideOpsCancel(state: TaskOrderState, command: Extract<TaskCommand, { type: 'ops_cancel' }>): Decision {
  if (!isText(command.operator)) return no(reject('validation_failed', 'an ops action needs the operator (O4)'));
  if (!isText(command.reason)) return no(reject('validation_failed', 'an ops action needs a reason (O4, T23)'));
  if (isClosed(state)) return no(tooLateOrWrongState(state, command.type));
  const by: Operator = { type: 'ops', id: command.operator };
  const note = `${command.outcome}: ${command.reason}`;
  switch (command.outcome) {
    case 'full_refund':
      return ok(cancelled('cancelled_by_ops', by, note, { refundFen: state.paidInFen, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: 0n }));
    case 'creator_compensation':
      if (state.uploads === 0 || state.status === 'awaiting_balance') {
        return no(reject('invalid_state', 'creator compensation needs a paid order with at least one upload (T20)', { status: state.status, uploads: state.uploads }));
      }
      return ok(cancelled('cancelled_by_ops', by, note, cancellationOutcome(state, 'client')));
    case 'deposit_forfeited':
      if (state.status !== 'awaiting_balance') {
        return no(reject('invalid_state', 'a deposit can be forfeited only while the balance is unpaid (T13)', { status: state.status }));
      }
      return ok(cancelled('cancelled_by_ops', by, note, { refundFen: 0n, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: state.paidInFen }));
    default: {
      const _exhaustive: never = command.outcome;
      return _exhaustive;
    }
  }
}

function decideArbitrate(state: TaskOrderState, command: Extract<TaskCommand, { type: 'arbitrate' }>): Decision {
  if (!isText(command.operator)) return no(reject('validation_failed', 'arbitration needs the operator (O4)'));
  if (!isText(command.reason)) return no(reject('validation_failed', 'arbitration needs a reason (O4, T23)'));
  if (command.decision !== 'confirm' && command.decision !== 'decline') {
    return no(reject('validation_failed', 'decision must be confirm or decline (O4)'));
  }
  if (isClosed(state)) return no(tooLateOrWrongState(state, command.type));
  const request = state.pendingCancellation;
  if (!request || !request.escalated) {
    return no(reject('invalid_state', 'only a cancellation request escalated to arbitration can be arbitrated (T22, O4)', pendingDetails(state)));
  }
  const by: Operator = { type: 'ops', id: command.operator };
  const arbitrated: TaskEvent = { type: 'CancellationArbitrated', by, decision: command.decision, reason: command.reason, requestedBy: request.by };
  if (command.decision === 'decline') return ok(arbitrated);
  // T23: the cancellation keeps who asked (its reason) and who decided (by: the operator).
  const reason = command.opsReasonOnConfirm ? 'cancelled_by_ops' : requestReason(request.by);
  return ok(arbitrated, cancelled(reason, by, command.reason, cancellationOutcome(state, request.by.type)));
}

/** T6: the acceptance timer; a no-op if the order left the state or the time has not come. */
function decideAcceptanceDeadline(state: TaskOrderState, nowMs: number): Decision {
  if (!isTaskDeadlineDue(state, 'acceptance', nowMs)) return ok();
  return ok(cancelled('not_accepted_in_time', { type: 'system' }, undefined, fullRefund(state)));
}

/** T13: the balance timer: the deposit (everything in escrow) is forfeited to the platform. */
function decideBalanceDeadline(state: TaskOrderState, nowMs: number): Decision {
  if (!isTaskDeadlineDue(state, 'balance', nowMs)) return ok();
  return ok(
    cancelled('balance_not_paid', { type: 'system' }, undefined, { refundFen: 0n, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: state.paidInFen }),
  );
}

/** T17: the review timer of the upload under review. */
function decideReviewDeadline(state: TaskOrderState, nowMs: number): Decision {
  if (!isTaskDeadlineDue(state, 'review', nowMs)) return ok();
  return ok({ type: 'VideoAutoApproved', uploadNo: state.uploads });
}

/** T22: the answer timer of a pending cancellation request. */
function decideCancellationAnswerDeadline(state: TaskOrderState, nowMs: number): Decision {
  const request = state.pendingCancellation;
  if (!request || !isTaskDeadlineDue(state, 'cancellation_answer', nowMs)) return ok();
  return ok({ type: 'CancellationEscalated', requestedBy: request.by });
}

/** T19: flags the order once when the expected publish time passes without publication. */
function decidePublishOverdueDeadline(state: TaskOrderState, nowMs: number): Decision {
  if (!isTaskDeadlineDue(state, 'publish_overdue', nowMs)) return ok();
  return ok({ type: 'PublishOverdueFlagged', expectedPublishAt: state.placement.brief.expectedPublishAt });
}

function requestReason(initiator: Actor): CancelReason {
  return initiator.type === 'client' ? 'cancelled_by_client_after_acceptance' : 'cancelled_by_creator';
}

function fullRefund(state: TaskOrderState): TaskSettlement {
  return { refundFen: state.paidInFen, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: 0n };
}

/** A cancellation event: who, why (T23) and where the escrow goes (the parts add up to it). */
function cancelled(reason: CancelReason, by: Attribution['actor'], note: string | undefined, money: TaskSettlement): TaskEvent {
  return {
    type: 'TaskOrderCancelled',
    reason,
    by,
    ...(note === undefined ? {} : { note }),
    refundFen: money.refundFen,
    creatorFen: money.creatorFen,
    serviceFeeFen: money.serviceFeeFen,
    forfeitedFen: money.forfeitedFen,
  };
}

function checkParty(state: TaskOrderState, actor: Actor, required: Actor['type'] | 'either'): Rejection | undefined {
  const partyId = actor.type === 'client' ? state.placement.clientId : state.placement.creatorId;
  if (actor.id !== partyId) return reject('forbidden', `${actor.type} ${actor.id} is not a party to order ${state.placement.orderId}`);
  if (required !== 'either' && actor.type !== required) return reject('forbidden', `only the order's ${required} may do this`);
  return undefined;
}

/** While a cancellation request is pending the order's progress waits for the answer (T22). */
function frozenByRequest(state: TaskOrderState, action: string): Rejection | undefined {
  if (!state.pendingCancellation) return undefined;
  return reject('invalid_state', `${action} is not possible while a cancellation request is pending (T22)`, pendingDetails(state));
}

function pendingDetails(state: TaskOrderState): Record<string, unknown> {
  const request = state.pendingCancellation;
  return request
    ? { status: state.status, cancellationRequestedBy: request.by.type, escalated: request.escalated }
    : { status: state.status };
}

function isClosed(state: TaskOrderState): boolean {
  return isClosedTaskStatus(state.status);
}

function isText(value: string): boolean {
  return typeof value === 'string' && value.trim().length > 0 && value.length <= MAX_TEXT;
}

function optionalText(value: string | undefined, name: string): Rejection | undefined {
  return value === undefined || isText(value) ? undefined : reject('validation_failed', `${name} must be 1–${MAX_TEXT} characters`);
}

function tooLateOrWrongState(state: TaskOrderState, action: string): Rejection {
  if (state.status === 'cancelled' && state.cancelReason && DEADLINE_REASONS.has(state.cancelReason)) {
    return reject('deadline_passed', `${action}: the deadline passed and the order was cancelled (${state.cancelReason})`);
  }
  return reject('invalid_state', `${action} is not possible while the order is ${state.status}`, { status: state.status });
}
