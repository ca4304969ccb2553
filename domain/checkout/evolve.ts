import type { CheckoutLineState, CheckoutState, RecordedCheckoutEvent } from './types';

/** The checkout's state after one recorded event (E1): a pure fold. */
export function evolveCheckout(state: CheckoutState | undefined, recorded: RecordedCheckoutEvent): CheckoutState {
  const { event, occurredAt, version } = recorded;
  switch (event.type) {
    case 'CheckoutPaid': {
      const { terms } = event;
      return {
        checkoutId: terms.checkoutId,
        clientId: terms.clientId,
        status: 'placing',
        paymentMode: terms.paymentMode,
        funding: terms.funding,
        totalFen: terms.totalFen,
        escrowFen: terms.totalFen,
        lines: terms.lines.map((line) => ({ line, taskPlaced: false, boostPlaced: false })),
        requestLines: terms.lines.map(({ orderId, creatorId, taskType, priceFen, brief, boost }) => ({ orderId, creatorId, taskType, priceFen, brief, ...(boost ? { boost } : {}) })),
        createdAt: occurredAt,
        updatedAt: occurredAt,
        version,
      };
    }
    case 'CheckoutRefused': {
      const { request, failure } = event;
      return {
        checkoutId: request.checkoutId,
        clientId: request.clientId,
        status: 'failed',
        paymentMode: request.paymentMode,
        funding: request.funding,
        totalFen: 0n,
        escrowFen: 0n,
        lines: [],
        requestLines: request.lines,
        failure,
        createdAt: occurredAt,
        updatedAt: occurredAt,
        version,
      };
    }
    case 'CheckoutTaskPlaced': {
      const s = required(state, event.type);
      const line = s.lines[event.lineIndex];
      if (!line) throw new Error(`CheckoutTaskPlaced: no line ${event.lineIndex}`);
      return { ...withLine(s, event.lineIndex, { ...line, taskPlaced: true }), escrowFen: s.escrowFen - line.line.placementFen, updatedAt: occurredAt, version };
    }
    case 'CheckoutBoostPlaced': {
      const s = required(state, event.type);
      const line = s.lines[event.lineIndex];
      if (!line?.line.boostTerms) throw new Error(`CheckoutBoostPlaced: no boost on line ${event.lineIndex}`);
      return { ...withLine(s, event.lineIndex, { ...line, boostPlaced: true }), escrowFen: s.escrowFen - line.line.boostTerms.boostFeeFen, updatedAt: occurredAt, version };
    }
    case 'CheckoutCompleted':
      return { ...required(state, event.type), status: 'completed', completedAt: occurredAt, updatedAt: occurredAt, version };
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

function required(state: CheckoutState | undefined, type: string): CheckoutState {
  if (!state) throw new Error(`${type} before the checkout was paid`);
  return state;
}

function withLine(state: CheckoutState, index: number, line: CheckoutLineState): CheckoutState {
  return { ...state, lines: state.lines.map((l, i) => (i === index ? line : l)) };
}
