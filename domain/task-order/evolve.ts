import { isClosedTaskStatus, type RecordedTaskEvent, type TaskOrderState } from './types';

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
      originalPriceFen: event.placement.priceFen,
      depositFen: event.placement.paymentMode === 'deposit' ? event.paidFen : 0n,
      priceChanged: false,
      priceRestored: false,
      clientPaidFen: event.paidFen,
      uploads: 0,
      publishOverdue: false,
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
        priceChanged: event.priceFen !== event.previousPriceFen,
      };
    case 'CreatorReminded':
      return { ...state, version, lastReminderAt: occurredAt };
    case 'TaskOrderCancelled': {
      const { pendingCancellation: _request, reviewDueAtMs: _review, ...rest } = state;
      const { refundFen, creatorFen, serviceFeeFen, forfeitedFen } = event;
      return {
        ...rest,
        version,
        status: 'cancelled',
        cancelReason: event.reason,
        paidInFen: 0n,
        closedAt: occurredAt,
        settlement: { refundFen, creatorFen, serviceFeeFen, forfeitedFen },
      };
    }
    case 'PriceRestored':
      return { ...state, version, priceFen: event.priceFen, serviceFeeFen: event.serviceFeeFen, priceRestored: true };
    case 'BalancePaid':
      return {
        ...state,
        version,
        status: 'in_production',
        balancePaidAt: occurredAt,
        paidInFen: state.paidInFen + event.amountFen,
        clientPaidFen: state.clientPaidFen + event.amountFen,
      };
    case 'VideoUploaded': {
      const { autoApproved: _auto, ...rest } = state;
      return {
        ...rest,
        version,
        status: 'in_review',
        uploads: event.uploadNo,
        latestUpload: {
          uploadNo: event.uploadNo,
          ...(event.draftId === undefined ? {} : { draftId: event.draftId }),
          ...(event.videoUrl === undefined ? {} : { videoUrl: event.videoUrl }),
          uploadedAt: occurredAt,
        },
        reviewDueAtMs: event.reviewDueAtMs,
      };
    }
    case 'VideoReviewed': {
      const { reviewDueAtMs: _review, ...rest } = state;
      return event.decision === 'approve'
        ? { ...rest, version, status: 'approved', approvedAt: occurredAt, autoApproved: false }
        : { ...rest, version, status: 'in_production' };
    }
    case 'VideoAutoApproved': {
      const { reviewDueAtMs: _review, ...rest } = state;
      return { ...rest, version, status: 'approved', approvedAt: occurredAt, autoApproved: true };
    }
    case 'VideoPublished':
      return { ...state, version, publishedVideo: { videoId: event.videoId, publishedAt: event.publishedAt } };
    case 'TaskOrderCompleted':
      return {
        ...state,
        version,
        status: 'completed',
        paidInFen: 0n,
        closedAt: occurredAt,
        settlement: { refundFen: 0n, creatorFen: event.creatorFen, serviceFeeFen: event.serviceFeeFen, forfeitedFen: 0n },
      };
    case 'PublishOverdueFlagged':
      return { ...state, version, publishOverdue: true };
    case 'CancellationRequested':
      return {
        ...state,
        version,
        pendingCancellation: {
          by: event.by,
          ...(event.reason === undefined ? {} : { reason: event.reason }),
          requestedAt: occurredAt,
          answerDueAtMs: event.answerDueAtMs,
          escalated: false,
        },
      };
    case 'CancellationEscalated': {
      const request = requirePending(state, event.type);
      return { ...state, version, pendingCancellation: { ...request, escalated: true, escalatedAt: occurredAt } };
    }
    case 'CancellationConfirmed':
      // The TaskOrderCancelled that follows closes the order and clears the request.
      requirePending(state, event.type);
      return { ...state, version };
    case 'CancellationDeclined':
    case 'CancellationArbitrated': {
      requirePending(state, event.type);
      const { pendingCancellation: _request, ...rest } = state;
      // A confirming arbitration is followed by TaskOrderCancelled; a declining one lets the order continue.
      return { ...rest, version };
    }
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

function requirePending(state: TaskOrderState, type: string) {
  if (!state.pendingCancellation) throw new Error(`${type} without a pending cancellation request on ${state.placement.orderId}`);
  return state.pendingCancellation;
}

export function fold(events: readonly RecordedTaskEvent[]): TaskOrderState | undefined {
  return events.reduce<TaskOrderState | undefined>(evolve, undefined);
}

export function isTerminal(state: TaskOrderState): boolean {
  return isClosedTaskStatus(state.status);
}
