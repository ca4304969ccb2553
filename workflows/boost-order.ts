import {
  allHandlersFinished,
  condition,
  currentUpdateInfo,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  boostOrderedEvent,
  decideBoost,
  evolveBoost,
  isBoostTerminal,
  pendingBoostDeadlines,
  type BoostCommand,
  type BoostEvent,
  type BoostOrderState,
} from '../domain/boost';
import { reject, type Rejection } from '../domain/errors';
import { ACTIVITY_FAILURE } from './activity-failures';
import { createExclusive, failure, failureType, paymentRejection, stopForOpsOnConflict } from './workflow-support';
import {
  boostPlacementUpdate,
  boostStateQuery,
  releaseRefundUpdate,
  taskCancelledSignal,
  videoPublishedSignal,
  viewsUpdatedSignal,
  type BoostOrderInput,
  type BoostOrderResult,
  type BoostOrderView,
  type BoostPlacementOutcome,
  type ReleaseRefundArgs,
} from './boost-order-api';
import { boostOrderSearchAttributes } from './search-attributes';
import { linkBoostSignal, taskOrderWorkflowId } from './task-order-api';

const { recordBoostEvents, loadBusinessCalendar, latestViews, taskOrderFacts } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // Unlimited attempts: an activity that keeps failing shows up in the ops stuck list (O1).
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * A command and how to build it on the current state (B4/B6/B7 commands carry the business
 * calendar, read through an activity so that a calendar change never alters a replay). Returning
 * undefined skips the command (nothing to do in this state).
 */
type CommandBuilder = (state: BoostOrderState) => BoostCommand | undefined | Promise<BoostCommand | undefined>;

/**
 * One durable workflow per boost order (SPEC §3): the pure decider decides, activities persist.
 * Placement (B3) → link to the task order → publication or expiry/cancellation (B4) → 14 days of
 * boost (B5) → evaluation with the latest view count, waiting for one if there is none (B6, B8) →
 * refund at its due time or released early (B7, F5) → closed.
 */
export async function boostOrderWorkflow({ terms, policy }: BoostOrderInput): Promise<BoostOrderResult> {
  let state: BoostOrderState | undefined;
  let outcome: BoostPlacementOutcome | undefined;
  let viewsSignalled = false;

  /** Commands, signals and timers run one at a time: each decides on the state the previous one left. */
  const exclusive = createExclusive();

  async function record(events: readonly BoostEvent[], causation: string, now: number): Promise<void> {
    if (events.length === 0) return;
    const base = state?.version ?? 0;
    const recorded = events.map((event, i) => ({ version: base + i + 1, occurredAt: now, event }));
    try {
      await recordBoostEvents({ boostOrderId: terms.boostOrderId, events: recorded, causation });
    } catch (error) {
      throw stopForOpsOnConflict(error);
    }
    for (const r of recorded) state = evolveBoost(state, r);
    if (state) upsertSearchAttributes(boostOrderSearchAttributes(state)); // O3
  }

  /** Decides `build`'s command at workflow time and records its events; a refusal is returned. */
  function run(build: CommandBuilder, causation: string): Promise<Rejection | undefined> {
    return exclusive(async () => {
      if (!state) return reject('invalid_state', 'the boost order is not placed yet');
      const now = Date.now(); // the decision's time: before any activity the command needs
      const command = await build(state);
      if (!command) return undefined;
      const decision = decideBoost(state, command, now);
      if (!decision.ok) return decision.rejection;
      await record(decision.events, causation, now);
      return undefined;
    });
  }

  /** B4/B7: commands that schedule a refund need the calendar; load it only when the state can use it. */
  const withCalendar =
    (when: BoostOrderState['status'], make: (calendar: Awaited<ReturnType<typeof loadBusinessCalendar>>) => BoostCommand): CommandBuilder =>
    async (s) =>
      s.status === when ? make(await loadBusinessCalendar()) : undefined;

  const view = (s: BoostOrderState): BoostOrderView => ({ state: s, deadlines: pendingBoostDeadlines(s) });

  function validateRelease(args: ReleaseRefundArgs): void {
    if (!state) throw failure(reject('invalid_state', 'the boost order is not placed yet'));
    const decision = decideBoost(state, releaseCommand(args), Date.now());
    if (!decision.ok) throw failure(decision.rejection);
  }

  /** B6: evaluates with the latest count; false when there is none yet (B8: never guessed). */
  async function evaluate(): Promise<boolean> {
    return exclusive(async () => {
      const current = state;
      if (!current || current.status !== 'evaluating' || !current.video) return true;
      viewsSignalled = false; // before reading: stats arriving from now on wake the wait below
      const views = await latestViews(current.video.videoId);
      if (views === null) return false;
      const now = Date.now();
      const decision = decideBoost(current, { type: 'evaluate', actualViews: views, calendar: await loadBusinessCalendar() }, now);
      // A count the decider refuses cannot come from the API (it validates counts): stop for ops.
      if (!decision.ok) throw new Error(`evaluation refused: ${decision.rejection.code} ${decision.rejection.message}`);
      await record(decision.events, 'evaluation', now);
      return true;
    });
  }

  // ── Messages ────────────────────────────────────────────────────────────────────────────────
  setHandler(boostPlacementUpdate, async () => {
    await condition(() => outcome !== undefined);
    if (!outcome) throw new Error('unreachable: placement outcome missing');
    return outcome;
  });
  setHandler(boostStateQuery, () => (state ? view(state) : undefined));

  // F5/O4: an Update with a validator, so a refusal is answered without a trace in the history.
  setHandler(
    releaseRefundUpdate,
    async (args: ReleaseRefundArgs) => {
      const rejection = await run(() => releaseCommand(args), `update:releaseRefund:${currentUpdateInfo()?.id ?? ''}`);
      if (rejection) throw failure(rejection);
      if (!state) throw new Error('unreachable: release before placement');
      return view(state);
    },
    { validator: validateRelease },
  );

  // T18 → B5, from the task-order workflow (or from taskOrderFacts below).
  setHandler(videoPublishedSignal, async ({ videoId, publishedAtMs }) => {
    const rejection = await run(() => ({ type: 'video_published', videoId, publishedAtMs }), 'signal:videoPublished');
    if (rejection) log.warn('video publication not applied to the boost', { boostOrderId: terms.boostOrderId, code: rejection.code, message: rejection.message });
  });
  // B4: the linked task order was cancelled (a no-op once the video is published).
  setHandler(taskCancelledSignal, async () => {
    await run(withCalendar('awaiting_publication', (calendar) => ({ type: 'task_cancelled', calendar })), 'signal:taskCancelled');
  });
  // B8: new stats for the boosted video; the evaluation re-reads the latest count itself.
  setHandler(viewsUpdatedSignal, ({ videoId }) => {
    if (state?.video?.videoId === videoId) viewsSignalled = true;
  });

  // ── B3: placement. A refused payment leaves nothing behind: the boost is not placed. ────────
  try {
    await exclusive(async () => {
      const now = Date.now();
      await record([boostOrderedEvent(terms, now, policy)], `workflow:${workflowInfo().workflowId}`, now);
    });
    outcome = { placed: true, terms };
  } catch (error) {
    const rejection = placementRejection(error);
    if (!rejection) throw error;
    outcome = { placed: false, terms, rejection };
    await condition(allHandlersFinished);
    return { placed: false, rejection };
  }

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
    await run(() => ({ type: 'video_published', videoId, publishedAtMs }), 'task-order-facts:published');
  } else if (facts?.status === 'cancelled') {
    await run(withCalendar('awaiting_publication', (calendar) => ({ type: 'task_cancelled', calendar })), 'task-order-facts:cancelled');
  }

  // ── Deadlines (B4, B6, B7) and the evaluation (B6, B8) ───────────────────────────────────────
  while (state && !isBoostTerminal(state)) {
    if (state.status === 'evaluating') {
      if (!(await evaluate())) {
        // B8: no count yet; the API signals viewsUpdated when stats arrive. No polling.
        await condition(() => viewsSignalled || state?.status !== 'evaluating');
      }
      continue;
    }
    const deadline = pendingBoostDeadlines(state)[0];
    const seenVersion = state.version;
    const changed = await condition(() => state?.version !== seenVersion, deadline ? Math.max(deadline.atMs - Date.now(), 1) : undefined);
    if (!changed && deadline) {
      const builders: Record<typeof deadline.kind, CommandBuilder> = {
        publication: withCalendar('awaiting_publication', (calendar) => ({ type: 'publication_deadline', calendar })),
        boost_period: () => ({ type: 'boost_period_deadline' }),
        refund: () => ({ type: 'refund_deadline' }),
      };
      const rejection = await run(builders[deadline.kind], `timer:${deadline.kind}`);
      if (rejection) throw new Error(`the ${deadline.kind} deadline was refused: ${rejection.code} ${rejection.message}`);
    }
  }
  await condition(allHandlersFinished);
  if (!state) throw new Error('unreachable: no state after placement');
  return { placed: true, final: state };

}

function releaseCommand(args: ReleaseRefundArgs): BoostCommand {
  return { type: 'release_refund', by: args.by, ...(args.reason === undefined ? {} : { reason: args.reason }) };
}

/** B3, L2, L5: a fee payment that cannot be funded (or a second boost for the task) is refused, not retried. */
function placementRejection(error: unknown): Rejection | undefined {
  if (failureType(error) === ACTIVITY_FAILURE.taskAlreadyBoosted) return reject('invalid_state', 'the task order already has a boost order (B3)');
  return paymentRejection(error, 'the boost fee payment');
}

