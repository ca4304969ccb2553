/**
 * Where a command's time goes (`npm run bench:orders`, issue 21): the client's clock (when the
 * call was sent, when it was answered) against the workflow history's event times (the dev server
 * runs on the same machine, so both are one clock, to the millisecond). Each command's span is cut
 * at its workflow tasks and activities:
 *
 *   send → WFT1 scheduled       the HTTP hop, the API or relay, the RPC, until Temporal schedules the task
 *   WFTn queued                 scheduled → started: until a worker has polled the task
 *   WFTn in the worker          started → completed (a local activity runs here)
 *   activity queued / running   a regular activity: scheduled → started → completed
 *   after the activity          its completion → the next workflow task scheduled
 *   answer                      the last workflow task completed → the HTTP answer received
 *
 * The pieces add up to the command's time as the client saw it.
 */
import { tsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { shortName } from './orders-history';

/** One call of an order, on the epoch clock (ms). */
export interface CommandCall {
  readonly route: string;
  readonly startMs: number;
  readonly endMs: number;
}

/** Segment label → ms, in the command's order. */
export type Segments = ReadonlyArray<readonly [string, number]>;

const MARKS = new Set(['WorkflowTaskScheduled', 'WorkflowTaskStarted', 'WorkflowTaskCompleted', 'ActivityTaskStarted', 'ActivityTaskCompleted']);
/** Event times are whole milliseconds: an event may show up to 1 ms before the call that caused it was sent. */
const SLACK_MS = 1;

/** Each call of one order with its segments, from that order's history. */
export function commandSegments(history: temporal.api.history.v1.IHistory, calls: readonly CommandCall[]): Array<{ readonly call: CommandCall; readonly segments: Segments }> {
  const events = (history.events ?? []).map((e) => ({ type: shortName(e.eventType), atMs: tsToMs(e.eventTime) })).filter((e) => MARKS.has(e.type));
  return calls.map((call, i) => {
    const next = calls[i + 1];
    const mine = events.filter((e) => e.atMs >= call.startMs - SLACK_MS && e.atMs <= call.endMs + SLACK_MS && (next === undefined || e.atMs < next.startMs - SLACK_MS));
    const segments: Array<[string, number]> = [];
    let wft = 0;
    let last = { label: 'send', atMs: call.startMs };
    const add = (label: string, atMs: number) => {
      segments.push([label, atMs - last.atMs]);
      last = { label, atMs };
    };
    for (const e of mine) {
      if (e.type === 'WorkflowTaskScheduled') {
        wft += 1;
        add(wft === 1 ? 'send → WFT1 scheduled (HTTP, API/relay, RPC)' : `WFT${wft} scheduled after the activity`, e.atMs);
      } else if (e.type === 'WorkflowTaskStarted') add(`WFT${wft} queued (scheduled → started)`, e.atMs);
      else if (e.type === 'WorkflowTaskCompleted') add(`WFT${wft} in the worker (started → completed)`, e.atMs);
      else if (e.type === 'ActivityTaskStarted') add('activity queued (scheduled → started)', e.atMs);
      else add('activity running (started → completed)', e.atMs);
    }
    add('answer (last WFT completed → HTTP answer)', call.endMs);
    return { call, segments };
  });
}
