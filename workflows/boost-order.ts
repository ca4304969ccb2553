import {
  condition,
  currentUpdateInfo,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { boostOrderedEvent, pendingBoostDeadlines, type BoostCommand, type BoostOrderState } from '../domain/boost';
import { BOOST_ORDER_KIND } from '../domain/boost/kind';
import { reject, type Rejection } from '../domain/errors';
import { ACTIVITY_FAILURE } from '../domain/activity-failures';
import { LOCAL_WRITE_OPTIONS, failure, failureType, placementWriteRejection, searchAttributesUpserter, tellCheckout, writeLocallyFirst } from './workflow-support';
import { syncStreamSignal } from './stream-sync-api';
import { createOrderRuntime, type CommandBuilder, type DueDeadline } from './order-runtime';
import {
  boostPlacementUpdate,
  boostStateQuery,
  releaseRefundUpdate,
  taskCancelledSignal,
  statsRecheckDelayMs,
  videoPublishedSignal,
  viewsUpdatedSignal,
  type BoostOrderInput,
  type BoostOrderResult,
  type BoostOrderView,
  type BoostPlacementOutcome,
  type ReleaseRefundArgs,
} from './boost-order-api';
import { boostOrderSearchAttributes } from './search-attributes';
import { commandCausation, linkBoostSignal, taskOrderWorkflowId } from './task-order-api';

const { recordBoostEvents, storedBoostEventsAfter, loadBusinessCalendar, latestViews, taskOrderFacts } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // Unlimited attempts: an activity that keeps failing shows up in the ops stuck list (O1).
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
/** E1 (SPEC §10 Speed): the order's write inside the command's workflow task, falling back to the activity above. */
const local = proxyLocalActivities<Activities>(LOCAL_WRITE_OPTIONS);

type BoostCommandBuilder = CommandBuilder<BoostOrderState, BoostCommand>;

/**
 * One durable workflow per boost order (SPEC §3): the pure decider decides, activities persist.
 * Placement (B3) → link to the task order → publication or expiry/cancellation (B4) → 14 days of
 * boost (B5) → evaluation with the latest view count, waiting for one if there is none (B6, B8) →
 * refund at its due time or released early (B7, F5) → closed.
 */
export async function boostOrderWorkflow({ terms, policy }: BoostOrderInput): Promise<BoostOrderResult> {
  // Made per run: it keeps which workflow task wrote locally (module state is no place for that).
  const recordBoostEventsLocallyFirst = writeLocallyFirst(local.recordBoostEvents, recordBoostEvents);

  let viewsSignalled = false;

  /**
   * B4/B7: commands that schedule a refund carry the business calendar, read through an activity
   * (so a calendar change never alters a replay) and only when the state can use it.
   */
  const withCalendar =
    (when: BoostOrderState['status'], make: (calendar: Awaited<ReturnType<typeof loadBusinessCalendar>>) => BoostCommand): BoostCommandBuilder =>
    async (s) =>
      s.status === when ? make(await loadBusinessCalendar()) : undefined;

  // ── Deadlines (B4, B6, B7) ───────────────────────────────────────────────────────────────────
  const builders: Record<ReturnType<typeof pendingBoostDeadlines>[number]['kind'], BoostCommandBuilder> = {
    publication: withCalendar('awaiting_publication', (calendar) => ({ type: 'publication_deadline', calendar })),
    boost_period: () => ({ type: 'boost_period_deadline' }),
    refund: () => ({ type: 'refund_deadline' }),
  };
  const nextDeadline = (state: BoostOrderState): DueDeadline<BoostOrderState, BoostCommand> | undefined => {
    const deadline = pendingBoostDeadlines(state)[0];
    return deadline && { kind: deadline.kind, atMs: deadline.atMs, command: builders[deadline.kind] };
  };
  const upsert = searchAttributesUpserter();
  const order = createOrderRuntime(
    BOOST_ORDER_KIND,
    {
      persist: (events, causation) => recordBoostEventsLocallyFirst({ boostOrderId: terms.boostOrderId, events, causation, returnStored: true }),
      wroteLocally: recordBoostEventsLocallyFirst.wroteLocally,
      storedAfter: (version) => local.storedBoostEventsAfter({ boostOrderId: terms.boostOrderId, version }),
      afterRecord: (state) => upsert(boostOrderSearchAttributes(state)), // O3
    },
    nextDeadline,
  );

  const view = (s: BoostOrderState): BoostOrderView => ({ state: s, deadlines: pendingBoostDeadlines(s) });

  /** B6: evaluates with the latest count; false when there is none yet (B8: never guessed). */
  async function evaluate(): Promise<boolean> {
    return order.exclusive(async () => {
      const current = order.state;
      if (!current || current.status !== 'evaluating' || !current.video) return true;
      viewsSignalled = false; // before reading: stats arriving from now on wake the wait below
      const views = await latestViews(current.video.videoId);
      if (views === null) return false;
      const now = Date.now();
      const calendar = await loadBusinessCalendar();
      // B7: the refund counts from the end of the 14 days; runs evaluated before this fix keep theirs.
      const refundFromEvaluation = !patched('b7-refund-from-period-end');
      const command: BoostCommand = { type: 'evaluate', actualViews: views, calendar, ...(refundFromEvaluation ? { refundFromEvaluation } : {}) };
      const decision = BOOST_ORDER_KIND.decide(current, command, now);
      // A count the decider refuses cannot come from the API (it validates counts): stop for ops.
      if (!decision.ok) throw new Error(`evaluation refused: ${decision.rejection.code} ${decision.rejection.message}`);
      await order.record(decision.events, 'evaluation', now, (atMs) => {
        const again = BOOST_ORDER_KIND.decide(current, command, atMs);
        return again.ok ? again.events : undefined;
      });
      return true;
    });
  }

  // ── Messages ────────────────────────────────────────────────────────────────────────────────
  setHandler(boostPlacementUpdate, async (): Promise<BoostPlacementOutcome> => {
    const rejection = await order.placementOutcome();
    return rejection ? { placed: false, terms, rejection } : { placed: true, terms };
  });
  setHandler(boostStateQuery, () => (order.state ? view(order.state) : undefined));
  // L3: the API could not learn an Update's outcome: take what a lost task stored for it.
  setHandler(syncStreamSignal, () => order.syncStored((version) => storedBoostEventsAfter({ boostOrderId: terms.boostOrderId, version })));

  // F5/O4: an Update with a validator: runs recorded before local writes refuse there, without a trace in the
  // history; later runs refuse in the handler, after looking ahead in the stream (order-runtime check()).
  setHandler(
    releaseRefundUpdate,
    async (args: ReleaseRefundArgs) => {
      const rejection = await order.run(() => releaseCommand(args), commandCausation(releaseRefundUpdate.name, currentUpdateInfo()?.id ?? ''));
      if (rejection) throw failure(rejection);
      if (!order.state) throw new Error('unreachable: release before placement');
      return view(order.state);
    },
    {
      validator: (args: ReleaseRefundArgs) => {
        const rejection = order.check(releaseCommand(args), commandCausation(releaseRefundUpdate.name, currentUpdateInfo()?.id ?? ''));
        if (rejection) throw failure(rejection);
      },
    },
  );

  // T18 → B5, from the task-order workflow (or from taskOrderFacts below).
  setHandler(videoPublishedSignal, async ({ videoId, publishedAtMs }) => {
    const rejection = await order.run(() => ({ type: 'video_published', videoId, publishedAtMs }), 'signal:videoPublished');
    if (rejection) log.warn('video publication not applied to the boost', { boostOrderId: terms.boostOrderId, code: rejection.code, message: rejection.message });
  });
  // B4: the linked task order was cancelled (a no-op once the video is published).
  setHandler(taskCancelledSignal, async () => {
    await order.run(withCalendar('awaiting_publication', (calendar) => ({ type: 'task_cancelled', calendar })), 'signal:taskCancelled');
  });
  // B8: new stats for the boosted video; the evaluation re-reads the latest count itself.
  setHandler(viewsUpdatedSignal, ({ videoId }) => {
    if (order.state?.video?.videoId === videoId) viewsSignalled = true;
  });

  // ── B3: placement. A refused payment leaves nothing behind: the boost is not placed. ────────
  const placed = await order.place((now) => boostOrderedEvent(terms, now, policy), `workflow:${workflowInfo().workflowId}`, placementRejection);
  if (!placed) {
    await order.finishUnplaced();
    const rejection = await order.placementOutcome();
    if (!rejection) throw new Error('unreachable: unplaced without a rejection');
    return { placed: false, rejection };
  }
  await tellCheckout(terms.funding, { kind: 'boost', id: terms.boostOrderId });

  // ── B3/B4: link to the task order, then catch up with what it did before the link ───────────
  try {
    await getExternalWorkflowHandle(taskOrderWorkflowId(terms.taskOrderId)).signal(linkBoostSignal, { boostOrderId: terms.boostOrderId });
  } catch (error) {
    // The task workflow has closed (or never ran): its read model tells what happened.
    log.info('the task-order workflow could not be linked', { taskOrderId: terms.taskOrderId, error: String(error) });
  }
  const facts = await taskOrderFacts(terms.taskOrderId);
  if (facts?.publishedVideo) {
    const { videoId, publishedAtMs } = facts.publishedVideo;
    await order.run(() => ({ type: 'video_published', videoId, publishedAtMs }), 'task-order-facts:published');
  } else if (facts?.status === 'cancelled') {
    await order.run(withCalendar('awaiting_publication', (calendar) => ({ type: 'task_cancelled', calendar })), 'task-order-facts:cancelled');
  }

  // ── The deadline loop and the evaluation (B6, B8) ────────────────────────────────────────────
  /** Workflow time at which this run first found no count (the re-check period grows after 6 hours, and after a week). */
  let waitingSinceMs: number | undefined;
  const final = await order.untilClosed(async (state) => {
    if (state.status !== 'evaluating') return false;
    if (await evaluate()) return true;
    const woken = () => viewsSignalled || order.state?.status !== 'evaluating';
    // B6/B8 (issue 18): the API signals viewsUpdated when stats arrive, but a signal can be lost (a
    // Temporal restart) or raced (the count stored before the read model said `evaluating`), and the
    // feed, told 201, never posts again: so the evaluation also re-reads the count on a durable
    // timer. Runs that waited before this patch replay their wait without one.
    if (!patched('b8-recheck-stats')) {
      await condition(woken);
      return true;
    }
    const now = Date.now();
    waitingSinceMs ??= now;
    await condition(woken, statsRecheckDelayMs(now - waitingSinceMs));
    return true;
  });
  return { placed: true, final };
}

function releaseCommand(args: ReleaseRefundArgs): BoostCommand {
  return { type: 'release_refund', by: args.by, ...(args.reason === undefined ? {} : { reason: args.reason }) };
}

/**
 * B3, L2, L5: a fee payment that cannot be funded, a second boost for the task, or a task closed
 * (or repriced) since the API's check is refused, not retried.
 */
function placementRejection(error: unknown): Rejection | undefined {
  if (failureType(error) === ACTIVITY_FAILURE.taskAlreadyBoosted) return reject('invalid_state', 'the task order already has a boost order (B3)');
  if (failureType(error) === ACTIVITY_FAILURE.taskOrderNotOpen) return reject('invalid_state', 'the task order was closed or repriced before the boost was placed (B3)');
  return placementWriteRejection(error, 'the boost fee payment');
}

