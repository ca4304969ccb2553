import type { RecordedTaskEvent, TaskOrderState } from './types';

/** Applies one recorded event to the state (undefined before placement). Pure and total. */
export function evolve(state: TaskOrderState | undefined, recorded: RecordedTaskEvent): TaskOrderState {
  return { ...apply(state, recorded), version: recorded.version, updatedAt: recorded.occurredAt };
}

function apply(state: TaskOrderState | undefined, { event, occurredAt, version }: RecordedTaskEvent): TaskOrderState {
  if (event.type === 'TaskOrderPlaced') {
    if (state) throw new Error(`order ${state.placement.orderId} is already placed`);
    return {
      placement: event.placement,
      policy: event.policy,
      version,
      status: 'awaiting_acceptance',
      placedAt: occurredAt,
      updatedAt: occurredAt,
      priceFen: event.placement.priceFen,
      serviceFeeFen: event.serviceFeeFen,
      paidInFen: event.paidFen,
    };
  }
  if (!state) throw new Error(`${event.type} before TaskOrderPlaced`);
  switch (event.type) {
    case 'TaskOrderAccepted':
      return {
        ...state,
        version,
        status: state.placement.paymentMode === 'deposit' ? 'awaiting_balance' : 'in_production',
        acceptedAt: occurredAt,
        priceFen: event.priceFen,
        serviceFeeFen: event.serviceFeeFen,
      };
    case 'CreatorReminded':
      return { ...state, version, lastReminderAt: occurredAt };
    case 'TaskOrderCancelled':
      return { ...state, version, status: 'cancelled', cancelReason: event.reason, paidInFen: 0n, closedAt: occurredAt };
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

export function fold(events: readonly RecordedTaskEvent[]): TaskOrderState | undefined {
  return events.reduce<TaskOrderState | undefined>(evolve, undefined);
}

export function isTerminal(state: TaskOrderState): boolean {
  return state.status === 'completed' || state.status === 'cancelled';
}
