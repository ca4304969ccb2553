/**
 * History events of `npm run bench:orders`: what a completed order's workflow history holds (read
 * from Temporal), and the minimum the rules require for the same path, derived command by command.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

/** Event type (short name, e.g. WorkflowTaskScheduled) → count. */
export type EventCounts = Record<string, number>;

export interface History {
  readonly events: number;
  readonly bytes: number;
  readonly byType: EventCounts;
  /** Encoded bytes by event type. */
  readonly bytesByType: EventCounts;
  /** The event types in order. */
  readonly sequence: readonly string[];
  /**
   * Events after the first completed Update (the placement): free of the race that decides
   * whether the placement Update reaches the first workflow task (3 events more when it does not).
   */
  readonly afterPlacement: number;
}

const EVENT_TYPE_NAMES = temporal.api.enums.v1.EventType as unknown as Record<number, string>;

/** EVENT_TYPE_WORKFLOW_TASK_SCHEDULED → WorkflowTaskScheduled */
export function shortName(eventType: unknown): string {
  const name = typeof eventType === 'string' ? eventType : (EVENT_TYPE_NAMES[Number(eventType)] ?? `EventType${String(eventType)}`);
  return name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _sep: string, c: string) => c.toUpperCase());
}

export async function fetchHistory(client: Client, workflowId: string): Promise<History> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const byType: EventCounts = {};
  const bytesByType: EventCounts = {};
  const sequence: string[] = [];
  for (const event of history.events ?? []) {
    const name = shortName(event.eventType);
    byType[name] = (byType[name] ?? 0) + 1;
    bytesByType[name] = (bytesByType[name] ?? 0) + temporal.api.history.v1.HistoryEvent.encode(event).finish().length;
    // Which search attributes an upsert carries (the SDK adds TemporalChangeVersion with a patch).
    const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
    sequence.push(fields ? `${name}[${Object.keys(fields).join(' ')}]` : name);
  }
  const placed = sequence.indexOf('WorkflowExecutionUpdateCompleted');
  return { events: sequence.length, bytes: temporal.api.history.v1.History.encode(history).finish().length, byType, bytesByType, sequence, afterPlacement: sequence.length - placed - 1 };
}

/** The mean count (or bytes) of each event type over several histories. */
export function meanCounts(histories: readonly History[], of: 'byType' | 'bytesByType' = 'byType'): EventCounts {
  const sum: EventCounts = {};
  for (const h of histories) for (const [type, n] of Object.entries(h[of])) sum[type] = (sum[type] ?? 0) + n;
  return Object.fromEntries(Object.entries(sum).map(([type, n]) => [type, n / Math.max(histories.length, 1)]));
}

/**
 * One command of a path and the history it cannot do without: it is an Update (SPEC §8: a
 * synchronous answer), the state change is persisted by an activity (E1), deadlines are timers
 * (§0), and ops search by status and next deadline (O3).
 */
export interface RequiredCommand {
  readonly command: string;
  /** Deadline timers this command must start and cancel. */
  readonly timersStarted: number;
  readonly timersCanceled: number;
  /** O3: the status or the next deadline changed (placement: given with the start, no event). */
  readonly upsert: boolean;
  readonly why: string;
}

export const REQUIRED_COMMANDS: Readonly<Record<'full' | 'deposit', readonly RequiredCommand[]>> = {
  full: [
    { command: 'place', timersStarted: 1, timersCanceled: 0, upsert: false, why: 'T1–T3 (update-with-start); T6 24 h timer started; search attributes set with the start' },
    { command: 'accept', timersStarted: 0, timersCanceled: 1, upsert: true, why: 'T6 timer cancelled; O3 status in_production' },
    { command: 'upload video', timersStarted: 1, timersCanceled: 0, upsert: true, why: 'T17 7-day review timer started; O3 in_review' },
    { command: 'approve review', timersStarted: 0, timersCanceled: 1, upsert: true, why: 'T17 timer cancelled; O3 approved' },
    { command: 'publish', timersStarted: 0, timersCanceled: 0, upsert: true, why: 'T18 settlement; O3 completed; the workflow completes' },
  ],
  deposit: [
    { command: 'place', timersStarted: 1, timersCanceled: 0, upsert: false, why: 'T1, T4 (update-with-start); T6 timer started; search attributes set with the start' },
    { command: 'accept', timersStarted: 1, timersCanceled: 1, upsert: true, why: 'T6 timer cancelled, T12 7-day balance timer started; O3 awaiting_balance' },
    { command: 'pay balance', timersStarted: 0, timersCanceled: 1, upsert: true, why: 'T12 timer cancelled; O3 in_production' },
    { command: 'upload video', timersStarted: 1, timersCanceled: 0, upsert: true, why: 'T17 timer started; O3 in_review' },
    { command: 'approve review', timersStarted: 0, timersCanceled: 1, upsert: true, why: 'T17 timer cancelled; O3 approved' },
    { command: 'publish', timersStarted: 0, timersCanceled: 0, upsert: true, why: 'T18; O3 completed; the workflow completes' },
  ],
};

/**
 * The events each command needs with a regular activity: a workflow task to accept the Update and
 * schedule the activity (3 + UpdateAccepted + ActivityTaskScheduled), the activity (Started,
 * Completed), a workflow task to take its result and complete the Update (3 + UpdateCompleted):
 * 11, plus its timers and its search-attribute upsert. With a local activity the activity runs
 * inside the first workflow task and leaves one MarkerRecorded: 6.
 */
export function minimumEvents(commands: readonly RequiredCommand[], activity: 'regular' | 'local'): EventCounts {
  const counts: EventCounts = {};
  const add = (type: string, n = 1) => {
    if (n) counts[type] = (counts[type] ?? 0) + n;
  };
  add('WorkflowExecutionStarted');
  for (const c of commands) {
    const workflowTasks = activity === 'regular' ? 2 : 1;
    add('WorkflowTaskScheduled', workflowTasks);
    add('WorkflowTaskStarted', workflowTasks);
    add('WorkflowTaskCompleted', workflowTasks);
    add('WorkflowExecutionUpdateAccepted');
    add('WorkflowExecutionUpdateCompleted');
    if (activity === 'regular') {
      add('ActivityTaskScheduled');
      add('ActivityTaskStarted');
      add('ActivityTaskCompleted');
    } else {
      add('MarkerRecorded');
    }
    add('TimerStarted', c.timersStarted);
    add('TimerCanceled', c.timersCanceled);
    if (c.upsert) add('UpsertWorkflowSearchAttributes');
  }
  add('WorkflowExecutionCompleted');
  return counts;
}

export const total = (counts: EventCounts): number => Object.values(counts).reduce((a, b) => a + b, 0);

/** Per command: its events (regular activities) and why. */
export function derivationRows(commands: readonly RequiredCommand[]): string[][] {
  return commands.map((c, i) => {
    const events = 11 + c.timersStarted + c.timersCanceled + (c.upsert ? 1 : 0) + (i === 0 ? 1 : 0) + (i === commands.length - 1 ? 1 : 0);
    const parts = [
      i === 0 ? 'start 1' : '',
      'WFT 2×3',
      'Update 2',
      'activity 3',
      c.timersStarted || c.timersCanceled ? `timer ${c.timersStarted + c.timersCanceled}` : '',
      c.upsert ? 'upsert 1' : '',
      i === commands.length - 1 ? 'completed 1' : '',
    ].filter(Boolean);
    return [c.command, parts.join(' + '), String(events), c.why];
  });
}

/** Events a workflow task's completion writes (its commands and accepted messages). */
const WORKFLOW_TASK_OUTPUT = new Set([
  'WorkflowExecutionUpdateAccepted',
  'WorkflowExecutionUpdateCompleted',
  'WorkflowExecutionUpdateRejected',
  'ActivityTaskScheduled',
  'TimerStarted',
  'TimerCanceled',
  'UpsertWorkflowSearchAttributes',
  'MarkerRecorded',
  'WorkflowExecutionCompleted',
  'WorkflowExecutionContinuedAsNew',
]);

const abbreviate = (name: string) =>
  name
    .replace(/^WorkflowExecution/, '')
    .replace(/^UpsertWorkflowSearchAttributes/, 'Upsert')
    .replace('[OrderKind OrderStatus ClientId CreatorId NextDeadlineAt]', '[order]');

/**
 * A history as one line per workflow task: what it wrote (commands, accepted and completed
 * Updates), then what happened before the next one (activity results …), e.g.
 * `WFT 2: UpdateAccepted, ActivityTaskScheduled | ActivityTaskStarted, ActivityTaskCompleted`.
 */
export function sequenceByWorkflowTask(sequence: readonly string[]): string[] {
  const lines: string[] = [];
  let wft = 0;
  let output: string[] = [];
  let after: string[] = [];
  const flush = () => lines.push(`${wft === 0 ? 'start' : `WFT ${wft}`}: ${output.map(abbreviate).join(', ') || '–'}${after.length ? ` | ${after.map(abbreviate).join(', ')}` : ''}`);
  for (const name of sequence) {
    if (name === 'WorkflowTaskScheduled' || name === 'WorkflowTaskStarted') continue;
    if (name === 'WorkflowTaskCompleted') {
      flush();
      wft += 1;
      output = [];
      after = [];
    } else if (WORKFLOW_TASK_OUTPUT.has(name.replace(/\[.*$/, '')) && after.length === 0) {
      output.push(name);
    } else {
      after.push(name);
    }
  }
  flush();
  return lines;
}
