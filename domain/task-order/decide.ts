import { percentOf, divCeil } from '../money';
import { reject, type Rejection } from '../errors';
import type { TaskPolicy } from './policy';
import type { Actor, CancelReason, TaskCommand, TaskEvent, TaskOrderState, TaskPlacement } from './types';

export type Decision = { readonly ok: true; readonly events: readonly TaskEvent[] } | { readonly ok: false; readonly rejection: Rejection };

const ok = (...events: TaskEvent[]): Decision => ({ ok: true, events });
const no = (rejection: Rejection): Decision => ({ ok: false, rejection });

/** Cancellations caused by a deadline firing: an action that arrives afterwards is too late. */
const DEADLINE_REASONS: ReadonlySet<CancelReason> = new Set(['not_accepted_in_time', 'balance_not_paid']);

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

/** Decides the events of a command against the current state, at workflow time `nowMs`. */
export function decide(state: TaskOrderState, command: TaskCommand, nowMs: number): Decision {
  if (command.type === 'acceptance_deadline') return decideAcceptanceDeadline(state, nowMs);

  const party = checkParty(state, command.actor, command.type === 'accept' || command.type === 'reject' ? 'creator' : 'client');
  if (party) return no(party);

  if (state.status !== 'awaiting_acceptance') return no(tooLateOrWrongState(state, command.type));

  switch (command.type) {
    case 'accept':
      return decideAccept(state, command.actor, command.newPriceFen);
    case 'reject':
      return ok(cancellation(state, 'rejected_by_creator', command.actor, command.reason)); // T7
    case 'cancel':
      return ok(cancellation(state, 'cancelled_by_client_before_acceptance', command.actor, command.reason)); // T11
    case 'remind':
      return decideRemind(state, command.actor, nowMs);
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
        minFen: minFen.toString(),
        maxFen: maxFen.toString(),
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

/** T6: the acceptance timer; a no-op if the order left the state or the time has not come. */
function decideAcceptanceDeadline(state: TaskOrderState, nowMs: number): Decision {
  if (state.status !== 'awaiting_acceptance') return ok();
  if (nowMs < state.placedAt + state.policy.acceptanceTimeoutMs) return ok();
  return ok(cancellation(state, 'not_accepted_in_time', { type: 'system' }));
}

/** T6, T7, T11: a cancellation before acceptance refunds everything the client paid. */
function cancellation(
  state: TaskOrderState,
  reason: CancelReason,
  by: Actor | { type: 'system' },
  note?: string,
): TaskEvent {
  return {
    type: 'TaskOrderCancelled',
    reason,
    by,
    ...(note === undefined ? {} : { note }),
    refundFen: state.paidInFen,
    creatorFen: 0n,
    serviceFeeFen: 0n,
    forfeitedFen: 0n,
  };
}

function checkParty(state: TaskOrderState, actor: Actor, required: Actor['type']): Rejection | undefined {
  const partyId = actor.type === 'client' ? state.placement.clientId : state.placement.creatorId;
  if (actor.id !== partyId) return reject('forbidden', `${actor.type} ${actor.id} is not a party to order ${state.placement.orderId}`);
  if (actor.type !== required) return reject('forbidden', `only the order's ${required} may do this`);
  return undefined;
}

function tooLateOrWrongState(state: TaskOrderState, action: string): Rejection {
  if (state.status === 'cancelled' && state.cancelReason && DEADLINE_REASONS.has(state.cancelReason)) {
    return reject('deadline_passed', `${action}: the deadline passed and the order was cancelled (${state.cancelReason})`);
  }
  return reject('invalid_state', `${action} is not possible while the order is ${state.status}`, { status: state.status });
}
