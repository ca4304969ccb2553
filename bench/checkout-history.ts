/**
 * Where a checkout's time goes (`npm run bench:checkout`), read from its workflow history: the
 * workflow (workflows/checkout.ts) checks, pays, starts every line's task order as a child, waits
 * for each child's signal (or a 5 s read-model recheck), records them, does the same for the
 * boosts, records its completion and answers the outcome Update. The phases end at these events.
 */
import type { temporal } from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface CheckoutPhases {
  /** Phase name → ms, in the workflow's order; a phase the checkout did not have is absent. */
  readonly ms: Readonly<Record<string, number>>;
  /** From the workflow's start to its outcome Update's completion. */
  readonly workflowMs: number;
  /** Timers that fired: the 5 s recheck (C4) waited out. */
  readonly timersFired: number;
  /** placedCheckoutOrders activities: the read model asked because a signal had not come. */
  readonly rechecks: number;
  /** The checkout's history: events, and workflow tasks (each a round trip to the worker). */
  readonly events: number;
  readonly workflowTasks: number;
}

interface Mark {
  readonly atMs: number;
  readonly what: 'activity' | 'child' | 'signal' | 'timer' | 'update';
  /** The activity or child workflow type. */
  readonly type: string;
}

/** The events that end a phase, with their time and what they are. */
function marks(events: readonly HistoryEvent[]): { startMs: number; marks: Mark[] } {
  const activityTypes = new Map<string, string>();
  const out: Mark[] = [];
  for (const e of events) {
    const atMs = tsToMs(e.eventTime);
    if (e.activityTaskScheduledEventAttributes) activityTypes.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed) out.push({ atMs, what: 'activity', type: activityTypes.get(String(completed.scheduledEventId)) ?? '?' });
    const child = e.childWorkflowExecutionStartedEventAttributes;
    if (child) out.push({ atMs, what: 'child', type: child.workflowType?.name ?? '?' });
    if (e.workflowExecutionSignaledEventAttributes) out.push({ atMs, what: 'signal', type: e.workflowExecutionSignaledEventAttributes.signalName ?? '?' });
    if (e.timerFiredEventAttributes) out.push({ atMs, what: 'timer', type: 'recheck' });
    if (e.workflowExecutionUpdateCompletedEventAttributes) out.push({ atMs, what: 'update', type: 'outcome' });
  }
  return { startMs: tsToMs(events[0]?.eventTime), marks: out };
}

/**
 * The phases of one completed checkout. Between two of its recorded steps (recordCheckoutEvents
 * completions) come the children of the next one: their starts, then their signals.
 */
export function checkoutPhases(history: temporal.api.history.v1.IHistory): CheckoutPhases {
  const { startMs, marks: all } = marks(history.events ?? []);
  const phases: Record<string, number> = {};
  let last = startMs;
  const end = (name: string, atMs: number | undefined) => {
    if (atMs === undefined) return;
    // Signals may come before the last child has started: such a phase took no time of its own.
    const until = Math.max(atMs, last);
    phases[name] = (phases[name] ?? 0) + (until - last);
    last = until;
  };
  end('checks (checkoutContext)', all.find((m) => m.what === 'activity' && m.type === 'checkoutContext')?.atMs);
  const records = all.filter((m) => m.what === 'activity' && m.type === 'recordCheckoutEvents');
  end('payment recorded', records[0]?.atMs);
  for (let i = 1; i < records.length; i += 1) {
    const step = records[i] as Mark;
    const between = all.filter((m) => m.atMs > last && m.atMs <= step.atMs);
    const children = between.filter((m) => m.what === 'child');
    const kind = children[0]?.type.replace(/OrderWorkflow$/, '') ?? (i === records.length - 1 ? 'completion' : `step ${i}`);
    end(`${kind}: children started`, children[children.length - 1]?.atMs);
    end(`${kind}: last signal or recheck`, between.filter((m) => m.what === 'signal' || m.what === 'timer' || m.type === 'placedCheckoutOrders').pop()?.atMs);
    end(`${kind}: recorded`, step.atMs);
  }
  const answered = all.find((m) => m.what === 'update')?.atMs;
  end('outcome Update completed', answered);
  return {
    ms: phases,
    workflowMs: (answered ?? last) - startMs,
    timersFired: all.filter((m) => m.what === 'timer').length,
    rechecks: all.filter((m) => m.type === 'placedCheckoutOrders').length,
    events: history.events?.length ?? 0,
    workflowTasks: (history.events ?? []).filter((e) => e.workflowTaskCompletedEventAttributes).length,
  };
}
