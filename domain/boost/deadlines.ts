import { isClosedBoostStatus, type BoostOrderState } from './types';

export const BOOST_DEADLINE_KINDS = ['publication', 'boost_period', 'refund'] as const;
/** The timers of a boost order; when one's time comes the workflow runs `{ type: `${kind}_deadline` }`. */
export type BoostDeadlineKind = (typeof BOOST_DEADLINE_KINDS)[number];

export interface BoostDeadline {
  readonly kind: BoostDeadlineKind;
  readonly atMs: number;
  /** What happens when it fires, for ops (O2). */
  readonly consequence: string;
}

/**
 * The deadline pending on a boost order (at most one per status). `evaluating` has none: it waits
 * for a view count (B8) and shows in the ops stuck list instead.
 */
export function pendingBoostDeadlines(state: BoostOrderState): BoostDeadline[] {
  if (isClosedBoostStatus(state.status)) return [];
  switch (state.status) {
    case 'awaiting_publication':
      return [{ kind: 'publication', atMs: state.validUntilMs, consequence: 'expire the boost and refund the whole fee within 7 business days (B4, B7)' }];
    case 'boosting':
      return state.boostEndsAtMs === undefined
        ? []
        : [{ kind: 'boost_period', atMs: state.boostEndsAtMs, consequence: 'end the boost and evaluate it with the latest view count (B6)' }];
    case 'refund_scheduled':
      return state.refund
        ? [{ kind: 'refund', atMs: state.refund.dueAtMs, consequence: `post the refund of ${state.refund.amountFen} fen to the client (B7)` }]
        : [];
    case 'evaluating':
    case 'closed':
      return [];
    default: {
      const _exhaustive: never = state.status;
      return _exhaustive;
    }
  }
}
