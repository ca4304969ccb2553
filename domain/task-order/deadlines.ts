import { isClosedTaskStatus, type TaskOrderState } from './types';

export const TASK_DEADLINE_KINDS = ['acceptance', 'balance', 'review', 'cancellation_answer', 'publish_overdue'] as const;
/**
 * The timers of a task order. When one's time comes the workflow runs the command
 * `{ type: `${kind}_deadline` }`, which is a no-op if the deadline no longer applies.
 */
export type TaskDeadlineKind = (typeof TASK_DEADLINE_KINDS)[number];

export interface TaskDeadline {
  readonly kind: TaskDeadlineKind;
  readonly atMs: number;
  /** What happens when it fires, for ops (O2). */
  readonly consequence: string;
}

/** T6: placement + 24 h. */
export const acceptanceDueAtMs = (state: TaskOrderState): number => state.placedAt + state.policy.acceptanceTimeoutMs;

/** T12: exactly 7 × 24 h after acceptance (undefined before acceptance). */
export const balanceDueAtMs = (state: TaskOrderState): number | undefined =>
  state.acceptedAt === undefined ? undefined : state.acceptedAt + state.policy.balanceTimeoutMs;

/** T19: the brief's expected publish time (undefined if it is not a valid instant). */
export function expectedPublishAtMs(state: TaskOrderState): number | undefined {
  const ms = Date.parse(state.placement.brief.expectedPublishAt);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Every deadline pending on the order, earliest first. Each one listed here produces at least one
 * event when its command runs at `atMs` (so a workflow sleeping until the next one never spins).
 */
export function pendingDeadlines(state: TaskOrderState): TaskDeadline[] {
  const deadlines: TaskDeadline[] = [];
  if (isClosedTaskStatus(state.status)) return deadlines;
  if (state.status === 'awaiting_acceptance') {
    deadlines.push({
      kind: 'acceptance',
      atMs: acceptanceDueAtMs(state),
      consequence: 'cancel (not_accepted_in_time) and refund the client in full (T6)',
    });
  }
  const balanceAt = balanceDueAtMs(state);
  if (state.status === 'awaiting_balance' && balanceAt !== undefined) {
    deadlines.push({
      kind: 'balance',
      atMs: balanceAt,
      consequence: 'cancel (balance_not_paid); the deposit is forfeited to the platform, the creator gets nothing (T13)',
    });
  }
  if (state.status === 'in_review' && state.reviewDueAtMs !== undefined) {
    deadlines.push({
      kind: 'review',
      atMs: state.reviewDueAtMs,
      consequence: `approve upload #${state.latestUpload?.uploadNo ?? state.uploads} automatically (T17)`,
    });
  }
  const request = state.pendingCancellation;
  if (request && !request.escalated) {
    deadlines.push({
      kind: 'cancellation_answer',
      atMs: request.answerDueAtMs,
      consequence: `escalate the ${request.by.type}'s cancellation request to ops arbitration (T22, O4)`,
    });
  }
  const publishAt = expectedPublishAtMs(state);
  if (publishAt !== undefined && !state.publishOverdue && !state.publishedVideo) {
    deadlines.push({
      kind: 'publish_overdue',
      atMs: publishAt,
      consequence: 'flag the order for ops as publish_overdue; nothing is cancelled (T19)',
    });
  }
  return deadlines.sort((a, b) => a.atMs - b.atMs);
}

export function nextDeadline(state: TaskOrderState): TaskDeadline | undefined {
  return pendingDeadlines(state)[0];
}
