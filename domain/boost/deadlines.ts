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

interface BoostDeadlineRule {
  /**
   * When the deadline falls due, or undefined when it does not apply to the order as it is. The one
   * place that says when a deadline applies: pendingBoostDeadlines lists it from here and
   * decideBoost acts on its command from here, so the two cannot disagree.
   */
  readonly dueAtMs: (state: BoostOrderState) => number | undefined;
  /** What happens when it fires, for ops (O2). */
  readonly consequence: (state: BoostOrderState) => string;
}

/**
 * Each deadline of a boost order (at most one per status): when it applies and what it does.
 * `evaluating` has none: it waits for a view count (B8) and shows in the ops stuck list instead.
 */
export const BOOST_DEADLINE_RULES: { readonly [K in BoostDeadlineKind]: BoostDeadlineRule } = {
  publication: {
    dueAtMs: (state) => (state.status === 'awaiting_publication' ? state.validUntilMs : undefined),
    consequence: () => 'expire the boost and refund the whole fee within 7 business days (B4, B7)',
  },
  boost_period: {
    dueAtMs: (state) => (state.status === 'boosting' ? state.boostEndsAtMs : undefined),
    consequence: () => 'end the boost and evaluate it with the latest view count (B6)',
  },
  refund: {
    dueAtMs: (state) => (state.status === 'refund_scheduled' ? state.refund?.dueAtMs : undefined),
    consequence: (state) => `post the refund of ${state.refund?.amountFen} fen to the client (B7)`,
  },
};

/** When the deadline `kind` falls due on this boost order; undefined when it does not apply (a closed order has none). */
export function boostDeadlineDueAtMs(state: BoostOrderState, kind: BoostDeadlineKind): number | undefined {
  return isClosedBoostStatus(state.status) ? undefined : BOOST_DEADLINE_RULES[kind].dueAtMs(state);
}

/** True when the deadline `kind` applies and its time has come at `nowMs`: its command then decides events. */
export function isBoostDeadlineDue(state: BoostOrderState, kind: BoostDeadlineKind, nowMs: number): boolean {
  const atMs = boostDeadlineDueAtMs(state, kind);
  return atMs !== undefined && nowMs >= atMs;
}

/** The deadline pending on a boost order (at most one), from BOOST_DEADLINE_RULES. */
export function pendingBoostDeadlines(state: BoostOrderState): BoostDeadline[] {
  const deadlines: BoostDeadline[] = [];
  for (const kind of BOOST_DEADLINE_KINDS) {
    const atMs = boostDeadlineDueAtMs(state, kind);
    if (atMs !== undefined) deadlines.push({ kind, atMs, consequence: BOOST_DEADLINE_RULES[kind].consequence(state) });
  }
  return deadlines;
}
