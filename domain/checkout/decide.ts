import { reject, type Rejection } from '../errors';
import type { CheckoutCommand, CheckoutEvent, CheckoutFailure, CheckoutRequest, CheckoutState, CheckoutTerms } from './types';

export type CheckoutDecision = { readonly ok: true; readonly events: readonly CheckoutEvent[] } | { readonly ok: false; readonly rejection: Rejection };

const ok = (...events: CheckoutEvent[]): CheckoutDecision => ({ ok: true, events });
const no = (rejection: Rejection): CheckoutDecision => ({ ok: false, rejection });

/** C4: a checkout's first event once every check passed: the total is paid into its escrow. */
export function checkoutPaidEvent(terms: CheckoutTerms): CheckoutEvent {
  return { type: 'CheckoutPaid', terms };
}

/** C3: a checkout's only event when a line (or its payment) is refused: nothing placed, nothing paid. */
export function checkoutRefusedEvent(request: CheckoutRequest, failure: CheckoutFailure): CheckoutEvent {
  return { type: 'CheckoutRefused', request, failure };
}

/**
 * C4: what a paid checkout records as its lines are placed. A line's task order is placed before
 * its boost (B3 needs the task); the checkout completes once every line and boost is placed.
 * Recording a placement twice is a no-op (a retried step).
 */
export function decideCheckout(state: CheckoutState, command: CheckoutCommand, _nowMs: number): CheckoutDecision {
  if (state.status !== 'placing') return no(reject('invalid_state', `checkout ${state.checkoutId} is ${state.status}`));
  switch (command.type) {
    case 'task_placed': {
      const line = state.lines[command.lineIndex];
      if (!line) return no(reject('validation_failed', `checkout ${state.checkoutId} has no line ${command.lineIndex}`));
      return line.taskPlaced ? ok() : ok({ type: 'CheckoutTaskPlaced', lineIndex: command.lineIndex, orderId: line.line.orderId });
    }
    case 'boost_placed': {
      const line = state.lines[command.lineIndex];
      if (!line?.line.boostTerms) return no(reject('validation_failed', `checkout ${state.checkoutId} has no boost on line ${command.lineIndex}`));
      if (!line.taskPlaced) return no(reject('invalid_state', `line ${command.lineIndex}'s task order is not placed yet (B3)`));
      return line.boostPlaced ? ok() : ok({ type: 'CheckoutBoostPlaced', lineIndex: command.lineIndex, boostOrderId: line.line.boostTerms.boostOrderId });
    }
    case 'complete': {
      const open = state.lines.findIndex((l) => !l.taskPlaced || (l.line.boostTerms !== undefined && !l.boostPlaced));
      if (open >= 0) return no(reject('invalid_state', `line ${open} of checkout ${state.checkoutId} is not placed yet (C3)`, { lineIndex: open }));
      return ok({ type: 'CheckoutCompleted' });
    }
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}
