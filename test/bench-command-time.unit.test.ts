import Long from 'long';
import { temporal } from '@temporalio/proto';
import { commandSegments } from '../bench/orders-command-time';

/** bench:orders (issue 21): a command's time cut at its workflow tasks and activities adds up to the call's. */
const T0 = 1_765_000_000_000;
const E = temporal.api.enums.v1.EventType;
const event = (eventType: temporal.api.enums.v1.EventType, ms: number) => ({ eventType, eventTime: { seconds: Long.fromNumber(Math.floor((T0 + ms) / 1000)), nanos: ((T0 + ms) % 1000) * 1e6 } });

describe('commandSegments', () => {
  const history = {
    events: [
      event(E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 0),
      // the placement: a workflow task, a regular activity, a second workflow task
      event(E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 3),
      event(E.EVENT_TYPE_WORKFLOW_TASK_STARTED, 5),
      event(E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 9),
      event(E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 9),
      event(E.EVENT_TYPE_ACTIVITY_TASK_STARTED, 12),
      event(E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 20),
      event(E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 20),
      event(E.EVENT_TYPE_WORKFLOW_TASK_STARTED, 22),
      event(E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 25),
      // a command in one workflow task (a local activity runs inside it)
      event(E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 104),
      event(E.EVENT_TYPE_WORKFLOW_TASK_STARTED, 106),
      event(E.EVENT_TYPE_MARKER_RECORDED, 110),
      event(E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 110),
    ],
  };
  const calls = [
    { route: 'place', startMs: T0 - 2, endMs: T0 + 30 },
    { route: 'command', startMs: T0 + 100, endMs: T0 + 115 },
  ];

  it('cuts each call at its own events, and the pieces add up to the call', () => {
    const [place, command] = commandSegments(history, calls);
    expect(place?.segments).toEqual([
      ['send → WFT1 scheduled (HTTP, API/relay, RPC)', 5],
      ['WFT1 queued (scheduled → started)', 2],
      ['WFT1 in the worker (started → completed)', 4],
      ['activity queued (scheduled → started)', 3],
      ['activity running (started → completed)', 8],
      ['WFT2 scheduled after the activity', 0],
      ['WFT2 queued (scheduled → started)', 2],
      ['WFT2 in the worker (started → completed)', 3],
      ['answer (last WFT completed → HTTP answer)', 5],
    ]);
    expect(command?.segments).toEqual([
      ['send → WFT1 scheduled (HTTP, API/relay, RPC)', 4],
      ['WFT1 queued (scheduled → started)', 2],
      ['WFT1 in the worker (started → completed)', 4],
      ['answer (last WFT completed → HTTP answer)', 5],
    ]);
    for (const { call, segments } of [place, command].filter((x) => x !== undefined)) {
      expect(segments.reduce((sum, [, ms]) => sum + ms, 0)).toBe(call.endMs - call.startMs);
    }
  });
});
