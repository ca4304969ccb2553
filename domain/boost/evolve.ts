import { isClosedBoostStatus, type BoostOrderState, type BoostTermsSnapshot, type RecordedBoostEvent } from './types';

/** Applies one recorded boost event to the state (undefined before BoostOrdered). Pure and total. */
export function evolveBoost(state: BoostOrderState | undefined, recorded: RecordedBoostEvent): BoostOrderState {
  return { ...apply(state, recorded), version: recorded.version, updatedAt: recorded.occurredAt };
}

function apply(state: BoostOrderState | undefined, { event, occurredAt, version }: RecordedBoostEvent): BoostOrderState {
  if (event.type === 'BoostOrdered') {
    if (state) throw new Error(`boost order ${state.terms.boostOrderId} is already placed`);
    const { type: _type, policy, validUntilMs, ...terms } = event;
    return {
      terms: terms satisfies BoostTermsSnapshot,
      policy,
      version,
      status: 'awaiting_publication',
      orderedAt: occurredAt,
      updatedAt: occurredAt,
      validUntilMs,
      escrowFen: event.boostFeeFen,
      calendarMissing: false,
    };
  }
  if (!state) throw new Error(`${event.type} before BoostOrdered`);
  switch (event.type) {
    case 'VideoPublished':
      return {
        ...state,
        status: 'boosting',
        video: { videoId: event.videoId, publishedAtMs: event.publishedAtMs },
        boostEndsAtMs: event.boostEndsAtMs,
      };
    case 'BoostPeriodEnded':
      return { ...state, status: 'evaluating', periodEndedAt: occurredAt };
    case 'BoostEvaluated': {
      const { actualViews, succeeded, compensationFen, platformKeepsFen } = event;
      const escrowFen = state.escrowFen - platformKeepsFen;
      const ended = { ...state, evaluation: { actualViews, succeeded, compensationFen, platformKeepsFen }, endReason: 'evaluated' as const, endedAt: occurredAt, escrowFen };
      // Nothing to refund: closed now. Otherwise RefundScheduled follows in the same decision.
      return compensationFen === 0n ? close(ended, occurredAt) : ended;
    }
    case 'BoostExpired':
    case 'BoostEndedByTaskCancellation': {
      const ended = { ...state, endReason: event.type === 'BoostExpired' ? ('expired' as const) : ('task_cancelled' as const), endedAt: occurredAt };
      return state.escrowFen === 0n ? close(ended, occurredAt) : ended;
    }
    case 'RefundScheduled':
      return {
        ...state,
        status: 'refund_scheduled',
        refund: { amountFen: event.amountFen, endedOn: event.endedOn, dueDate: event.dueDate, dueAtMs: event.dueAtMs, calendarMissingYears: event.calendarMissingYears },
        calendarMissing: event.calendarMissing,
      };
    case 'RefundPosted': {
      if (!state.refund) throw new Error(`RefundPosted without a scheduled refund on ${state.terms.boostOrderId} (v${version})`);
      const refund = { ...state.refund, postedAt: occurredAt, early: event.early, ...(event.by ? { releasedBy: event.by } : {}) };
      return close({ ...state, refund, escrowFen: state.escrowFen - event.amountFen }, occurredAt);
    }
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

function close(state: BoostOrderState, at: number): BoostOrderState {
  return { ...state, status: 'closed', closedAt: at };
}

export function foldBoost(events: readonly RecordedBoostEvent[]): BoostOrderState | undefined {
  return events.reduce<BoostOrderState | undefined>(evolveBoost, undefined);
}

export function isBoostTerminal(state: BoostOrderState): boolean {
  return isClosedBoostStatus(state.status);
}
