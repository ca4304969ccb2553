import {
  allHandlersFinished,
  condition,
  currentUpdateInfo,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { createExclusive, failure, paymentRejection, stopForOpsOnConflict } from './workflow-support';
import { boostOrderWorkflowId, taskCancelledSignal, videoPublishedSignal } from './boost-order-api';
import { taskOrderSearchAttributes } from './search-attributes';
import { reject } from '../domain/errors';
import {
  decide,
  evolve,
  isTerminal,
  nextDeadline,
  pendingDeadlines,
  placementEvent,
  type DeadlineCommand,
  type TaskCommand,
  type TaskEvent,
  type TaskOrderState,
} from '../domain/task-order';
import {
  TASK_COMMAND_UPDATES,
  linkBoostSignal,
  placementUpdate,
  stateQuery,
  type PlacementOutcome,
  type TaskOrderInput,
  type TaskOrderResult,
  type TaskOrderView,
} from './task-order-api';

const { recordTaskEvents } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // Unlimited attempts: an activity that keeps failing shows up in the ops stuck list (O1).
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** One durable workflow per task order (SPEC §2): the pure decider decides, activities persist. */
export async function taskOrderWorkflow({ placement, policy }: TaskOrderInput): Promise<TaskOrderResult> {
  let state: TaskOrderState | undefined;
  let outcome: PlacementOutcome | undefined;
  /** B3: the boost orders linked to this task order (at most one in practice). */
  const boostOrderIds: string[] = [];

  /** Commands and timers run one at a time: each decides on the state the previous one left. */
  const exclusive = createExclusive();

  async function record(events: readonly TaskEvent[], causation: string): Promise<void> {
    if (events.length === 0) return;
    const now = Date.now();
    const base = state?.version ?? 0;
    const recorded = events.map((event, i) => ({ version: base + i + 1, occurredAt: now, event }));
    try {
      await recordTaskEvents({ orderId: placement.orderId, events: recorded, causation });
    } catch (error) {
      throw stopForOpsOnConflict(error);
    }
    for (const r of recorded) state = evolve(state, r);
    // O3; patched because histories recorded before search attributes must still replay.
    if (state && patched('search-attributes-v1')) upsertSearchAttributes(taskOrderSearchAttributes(state));
    await tellLinkedBoosts(recorded.map((r) => r.event));
  }

  /**
   * T18/B4: tells the linked boost orders about the publication or the cancellation just recorded.
   * Only a task with a linked boost reaches patched(), so histories without one replay unchanged.
   * A boost workflow that has closed cannot be signalled: it no longer needs to know.
   */
  async function tellLinkedBoosts(events: readonly TaskEvent[]): Promise<void> {
    if (boostOrderIds.length === 0) return;
    for (const event of events) {
      if (event.type !== 'VideoPublished' && event.type !== 'TaskOrderCancelled') continue;
      if (!patched('boost-link-v1')) return;
      for (const boostOrderId of boostOrderIds) {
        const boost = getExternalWorkflowHandle(boostOrderWorkflowId(boostOrderId));
        try {
          if (event.type === 'VideoPublished') {
            await boost.signal(videoPublishedSignal, { videoId: event.videoId, publishedAtMs: Date.parse(event.publishedAt) });
          } else {
            await boost.signal(taskCancelledSignal, { taskOrderId: placement.orderId });
          }
        } catch (error) {
          log.info('a linked boost order could not be signalled', { boostOrderId, event: event.type, error: String(error) });
        }
      }
    }
  }

  const view = (s: TaskOrderState): TaskOrderView => ({ state: s, deadlines: pendingDeadlines(s) });

  function decideOrThrow(command: TaskCommand) {
    if (!state) throw failure(reject('invalid_state', 'the order is not placed yet'));
    const decision = decide(state, command, Date.now());
    if (!decision.ok) throw failure(decision.rejection);
    return decision.events;
  }

  function runCommand(command: TaskCommand, causation: string): Promise<TaskOrderView> {
    return exclusive(async () => {
      try {
        await record(decideOrThrow(command), causation);
      } catch (error) {
        const rejection = paymentRejection(error, 'the balance payment'); // T12: a balance the client cannot fund
        throw rejection ? failure(rejection) : error;
      }
      if (!state) throw new Error('unreachable: command before placement');
      return view(state);
    });
  }

  for (const [type, update] of Object.entries(TASK_COMMAND_UPDATES)) {
    const command = (args: object) => ({ ...args, type }) as TaskCommand;
    setHandler(update, (args: object) => runCommand(command(args), `update:${type}:${currentUpdateInfo()?.id ?? ''}`), {
      validator: (args: object) => void decideOrThrow(command(args)),
    });
  }
  setHandler(placementUpdate, async () => {
    await condition(() => outcome !== undefined);
    if (!outcome) throw new Error('unreachable: placement outcome missing');
    return outcome;
  });
  setHandler(stateQuery, () => (state ? view(state) : undefined));
  // B3: a boost order links itself; only the id is kept (no command, so no history change).
  setHandler(linkBoostSignal, ({ boostOrderId }) => {
    if (!boostOrderIds.includes(boostOrderId)) boostOrderIds.push(boostOrderId);
  });

  // T1–T5: placement. A refused payment leaves nothing behind: the order is not placed.
  try {
    await exclusive(() => record([placementEvent(placement, policy)], `workflow:${workflowInfo().workflowId}`));
    outcome = { placed: true, placement };
  } catch (error) {
    const rejection = paymentRejection(error, 'the placement payment'); // T5
    if (!rejection) throw error;
    outcome = { placed: false, placement, rejection };
    await condition(allHandlersFinished);
    return { placed: false, rejection };
  }

  // Deadlines (T6 …): sleep until the next one or until a command changes the state.
  while (state && !isTerminal(state)) {
    const deadline = nextDeadline(state);
    const seenVersion = state.version;
    const changed = await condition(
      () => state?.version !== seenVersion,
      deadline ? Math.max(deadline.atMs - Date.now(), 1) : undefined,
    );
    if (!changed && deadline) {
      await exclusive(async () => {
        if (!state) return;
        const command = { type: `${deadline.kind}_deadline` } as DeadlineCommand;
        const decision = decide(state, command, Date.now());
        if (decision.ok) await record(decision.events, `timer:${deadline.kind}`);
      });
    }
  }
  await condition(allHandlersFinished);
  if (!state) throw new Error('unreachable: no state after placement');
  return { placed: true, final: state };
}

