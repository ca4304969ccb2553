import {
  allHandlersFinished,
  currentUpdateInfo,
  makeContinueAsNewFunc,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import type { Activities } from '../activities';
import { LOCAL_WRITE_OPTIONS, failure, paymentRejection, placementWriteRejection, searchAttributesUpserter, tellCheckout, writeLocallyFirst } from './workflow-support';
import { syncStreamSignal } from './stream-sync-api';
import { createOrderRuntime, type RecordedEvent } from './order-runtime';
import { boostOrderWorkflowId, taskCancelledSignal, videoPublishedSignal } from './boost-order-api';
import { taskOrderSearchAttributes } from './search-attributes';
import { nextDeadline, pendingDeadlines, placementEvent, type DeadlineCommand, type TaskCommand, type TaskEvent, type TaskOrderState } from '../domain/task-order';
import { TASK_ORDER_KIND } from '../domain/task-order/kind';
import {
  TASK_COMMAND_UPDATES,
  commandCausation,
  linkBoostSignal,
  placementUpdate,
  stateQuery,
  CARRIED_UPDATE_IDS,
  DEFAULT_HISTORY_LIMIT,
  type PlacementOutcome,
  type TaskOrderInput,
  type TaskOrderResult,
  type TaskOrderView,
} from './task-order-api';

const { recordTaskEvents, storedTaskEventsAfter } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // Unlimited attempts: an activity that keeps failing shows up in the ops stuck list (O1).
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
/** E1 (SPEC §10 Speed): the order's write inside the command's workflow task, falling back to the activity above. */
const local = proxyLocalActivities<Activities>(LOCAL_WRITE_OPTIONS);

/** One durable workflow per task order (SPEC §2): the pure decider decides, activities persist. */
export async function taskOrderWorkflow(input: TaskOrderInput): Promise<TaskOrderResult> {
  // Made per run: it keeps which workflow task wrote locally (module state is no place for that).
  const recordTaskEventsLocallyFirst = writeLocallyFirst(local.recordTaskEvents, recordTaskEvents);

  const { placement, policy, continued } = input;
  /** B3: the boost orders linked to this task order (at most one in practice). */
  const boostOrderIds: string[] = [...(continued?.boostOrderIds ?? [])];
  /** Updates the run before this one applied: Temporal deduplicates Update ids within a run only. */
  const carriedUpdateIds = new Set(continued?.appliedUpdateIds ?? []);
  const appliedUpdateIds: string[] = [...(continued?.appliedUpdateIds ?? [])];
  const remember = (id: string) => {
    appliedUpdateIds.push(id);
    if (appliedUpdateIds.length > CARRIED_UPDATE_IDS) appliedUpdateIds.shift();
  };

  // O3: a continued run starts with its order's search attributes (see makeContinueAsNewFunc below).
  const upsert = searchAttributesUpserter(continued && taskOrderSearchAttributes(continued.state));
  const order = createOrderRuntime(
    TASK_ORDER_KIND,
    {
      persist: (events, causation) => recordTaskEventsLocallyFirst({ orderId: placement.orderId, events, causation, returnStored: true }),
      wroteLocally: recordTaskEventsLocallyFirst.wroteLocally,
      storedAfter: (version) => local.storedTaskEventsAfter({ orderId: placement.orderId, version }),
      afterRecord: async (state, recorded) => {
        // O3; patched because histories recorded before search attributes must still replay.
        if (patched('search-attributes-v1')) upsert(taskOrderSearchAttributes(state));
        await tellLinkedBoosts(recorded);
      },
    },
    (state) => {
      const deadline = nextDeadline(state);
      return deadline && { kind: deadline.kind, atMs: deadline.atMs, command: () => ({ type: `${deadline.kind}_deadline` }) as DeadlineCommand };
    },
  );

  /**
   * T18/B4: tells the linked boost orders about the publication or the cancellation just recorded.
   * Only a task with a linked boost reaches patched(), so histories without one replay unchanged.
   * A boost workflow that has closed cannot be signalled: it no longer needs to know.
   */
  async function tellLinkedBoosts(recorded: ReadonlyArray<RecordedEvent<TaskEvent>>): Promise<void> {
    if (boostOrderIds.length === 0) return;
    for (const { event } of recorded) {
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

  // A continued run has its state before any handler is set: an Update that reached the new run
  // in its first workflow task is dispatched at setHandler, and must find the order there (not
  // "not placed yet"; found by CI, test/task-order-continue-as-new.int.test.ts). No command.
  if (continued) order.resume(continued.state);

  const view = (s: TaskOrderState): TaskOrderView => ({ state: s, deadlines: pendingDeadlines(s) });

  /** A party's or ops' command, applied alone; the caller gets the new view or a typed refusal. */
  async function runCommand(command: TaskCommand, causation: string): Promise<TaskOrderView> {
    let rejection;
    try {
      rejection = await order.run(() => command, causation);
    } catch (error) {
      // T12: a balance the client cannot fund is a refusal, not a failure.
      const refused = paymentRejection(error, 'the balance payment');
      if (!refused) throw error;
      rejection = refused;
    }
    if (rejection) throw failure(rejection);
    if (!order.state) throw new Error('unreachable: command before placement');
    return view(order.state);
  }

  /** Commands whose rule changed after histories were recorded: old runs keep the old rule. */
  function versioned(command: TaskCommand): TaskCommand {
    if (command.type === 'publish' && !patched('t18-published-at-bounds')) return { ...command, unboundedPublishedAt: true };
    // O4: arbitrations confirmed before the requester was kept replay as cancelled_by_ops.
    if (command.type === 'arbitrate' && !patched('o4-arbitration-keeps-requester')) return { ...command, opsReasonOnConfirm: true };
    return command;
  }

  for (const [type, update] of Object.entries(TASK_COMMAND_UPDATES)) {
    const command = (args: object) => {
      // Only the workflow may keep an old rule (for its own old runs), never a caller.
      const { unboundedPublishedAt: _notTheCallers, opsReasonOnConfirm: _norThis, ...rest } = args as { unboundedPublishedAt?: unknown; opsReasonOnConfirm?: unknown };
      return { ...rest, type } as TaskCommand;
    };
    setHandler(
      update,
      async (args: object) => {
        const id = currentUpdateInfo()?.id ?? '';
        // A retry of an Update the previous run applied: its outcome is the order as it is now.
        if (carriedUpdateIds.has(id) && order.state) return view(order.state);
        const result = await runCommand(versioned(command(args)), commandCausation(type, id));
        remember(id);
        return result;
      },
      {
        validator: (args: object) => {
          if (carriedUpdateIds.has(currentUpdateInfo()?.id ?? '')) return;
          const rejection = order.check(command(args), commandCausation(type, currentUpdateInfo()?.id ?? ''));
          if (rejection) throw failure(rejection);
        },
      },
    );
  }
  setHandler(placementUpdate, async (): Promise<PlacementOutcome> => {
    const rejection = await order.placementOutcome();
    if (rejection) return { placed: false, placement, rejection };
    // The view lets the API answer without reading the order back (an Update's result is no
    // command: histories replay unchanged).
    return order.state ? { placed: true, placement, view: view(order.state) } : { placed: true, placement };
  });
  setHandler(stateQuery, () => (order.state ? view(order.state) : undefined));
  // L3: the API could not learn an Update's outcome: take what a lost task stored for it.
  setHandler(syncStreamSignal, () => order.syncStored((version) => storedTaskEventsAfter({ orderId: placement.orderId, version })));
  // B3: a boost order links itself; only the id is kept (no command, so no history change).
  setHandler(linkBoostSignal, ({ boostOrderId }) => {
    if (!boostOrderIds.includes(boostOrderId)) boostOrderIds.push(boostOrderId);
  });

  if (!continued) {
    // T1–T5: placement. A refused payment leaves nothing behind: the order is not placed.
    const placed = await order.place(() => placementEvent(placement, policy), `workflow:${workflowInfo().workflowId}`, (error) =>
      placementWriteRejection(error, 'the placement payment'),
    );
    if (!placed) {
      await order.finishUnplaced();
      const rejection = await order.placementOutcome();
      if (!rejection) throw new Error('unreachable: unplaced without a rejection');
      return { placed: false, rejection };
    }
    await tellCheckout(placement.funding, { kind: 'task', id: placement.orderId });
  }

  // Deadlines (T6 …): sleep until the next one or until a command changes the state; a long
  // history continues as new (only runs that get that long reach the patch: older ones replay).
  const historyLimit = input.historyLimit ?? DEFAULT_HISTORY_LIMIT;
  const long = () => (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= historyLimit) && patched('continue-as-new-v1');
  const outcome = await order.untilClosedOrLong(undefined, long);
  if (!outcome.continueAsNew) return { placed: true, final: outcome.state };
  if (!allHandlersFinished()) throw new Error('unreachable: continuing as new with a handler running');
  const next = makeContinueAsNewFunc<typeof taskOrderWorkflow>({
    // O3: the new run starts with the order's search attributes (a pair without a value is left out).
    typedSearchAttributes: taskOrderSearchAttributes(outcome.state).filter((pair): pair is SearchAttributePair => pair.value !== null),
  });
  return next({
    ...input,
    continued: { state: outcome.state, boostOrderIds, appliedUpdateIds, runs: (continued?.runs ?? 0) + 1 },
  });
}
