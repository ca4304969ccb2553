import type { TaskOrderState } from './types';

export type TaskDeadlineKind = 'acceptance';

export interface TaskDeadline {
  readonly kind: TaskDeadlineKind;
  readonly atMs: number;
  /** What happens when it fires, for ops (O2). */
  readonly consequence: string;
}

/** Every deadline pending on the order, earliest first. */
export function pendingDeadlines(state: TaskOrderState): TaskDeadline[] {
  const deadlines: TaskDeadline[] = [];
  if (state.status === 'awaiting_acceptance') {
    deadlines.push({
      kind: 'acceptance',
      atMs: state.placedAt + state.policy.acceptanceTimeoutMs,
      consequence: 'cancel (not_accepted_in_time) and refund the client in full (T6)',
    });
  }
  return deadlines.sort((a, b) => a.atMs - b.atMs);
}

export function nextDeadline(state: TaskOrderState): TaskDeadline | undefined {
  return pendingDeadlines(state)[0];
}
