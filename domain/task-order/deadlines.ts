import { TASK_DEADLINE_KINDS, isClosedTaskStatus, type TaskDeadlineKind, type TaskOrderState } from './types';

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

interface TaskDeadlineRule {
  /**
   * When the deadline falls due, or undefined when it does not apply to the order as it is. The one
   * place that says when a deadline applies: pendingDeadlines lists it from here and the decider of
   * its command (decide.ts) acts on it from here, so the two cannot disagree.
   */
  readonly dueAtMs: (state: TaskOrderState) => number | undefined;
  /** What happens when it fires, for ops (O2). */
  readonly consequence: (state: TaskOrderState) => string;
}

/** Each deadline of a task order: when it applies and what it does (issue 19: one definition). */
export const TASK_DEADLINE_RULES: { readonly [K in TaskDeadlineKind]: TaskDeadlineRule } = {
  acceptance: {
    dueAtMs: (state) => (state.status === 'awaiting_acceptance' ? acceptanceDueAtMs(state) : undefined),
    consequence: () => 'cancel (not_accepted_in_time) and refund the client in full (T6)',
  },
  balance: {
    dueAtMs: (state) => (state.status === 'awaiting_balance' ? balanceDueAtMs(state) : undefined),
    consequence: () => 'cancel (balance_not_paid); the deposit is forfeited to the platform, the creator gets nothing (T13)',
  },
  review: {
    dueAtMs: (state) => (state.status === 'in_review' ? state.reviewDueAtMs : undefined),
    consequence: (state) => `approve upload #${state.latestUpload?.uploadNo ?? state.uploads} automatically (T17)`,
  },
  cancellation_answer: {
    dueAtMs: (state) => (state.pendingCancellation && !state.pendingCancellation.escalated ? state.pendingCancellation.answerDueAtMs : undefined),
    consequence: (state) => `escalate the ${state.pendingCancellation?.by.type}'s cancellation request to ops arbitration (T22, O4)`,
  },
  publish_overdue: {
    dueAtMs: (state) => (!state.publishOverdue && !state.publishedVideo ? expectedPublishAtMs(state) : undefined),
    consequence: () => 'flag the order for ops as publish_overdue; nothing is cancelled (T19)',
  },
};

/** When the deadline `kind` falls due on this order; undefined when it does not apply (a closed order has none). */
export function taskDeadlineDueAtMs(state: TaskOrderState, kind: TaskDeadlineKind): number | undefined {
  return isClosedTaskStatus(state.status) ? undefined : TASK_DEADLINE_RULES[kind].dueAtMs(state);
}

/** True when the deadline `kind` applies and its time has come at `nowMs`: its command then decides events. */
export function isTaskDeadlineDue(state: TaskOrderState, kind: TaskDeadlineKind, nowMs: number): boolean {
  const atMs = taskDeadlineDueAtMs(state, kind);
  return atMs !== undefined && nowMs >= atMs;
}

/**
 * Every deadline pending on the order, earliest first. Each one listed here produces at least one
 * event when its command runs at `atMs` (so a workflow sleeping until the next one never spins).
 */
export function pendingDeadlines(state: TaskOrderState): TaskDeadline[] {
  const deadlines: TaskDeadline[] = [];
  for (const kind of TASK_DEADLINE_KINDS) {
    const atMs = taskDeadlineDueAtMs(state, kind);
    if (atMs !== undefined) deadlines.push({ kind, atMs, consequence: TASK_DEADLINE_RULES[kind].consequence(state) });
  }
  return deadlines.sort((a, b) => a.atMs - b.atMs);
}

export function nextDeadline(state: TaskOrderState): TaskDeadline | undefined {
  return pendingDeadlines(state)[0];
}
