import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { boostOrderDetails, boostOrderIdOfTask, boostRequestHash, evaluatingBoostOrderIds, getBoostOrderRow, loadBoostEvents } from '../db/boost-orders';
import { getCitedQuote, insertBoostQuote, isOptedOut, videosBeforeWindow } from '../db/boost-quotes';
import type { Db } from '../db/connect';
import { loadTaskEvents, streamHasStep } from '../db/events';
import type { BoostOrderRow, VideoStatsRow } from '../db/schema';
import { LowerViewCountError, VideoCreatorMismatchError, creatorVideos, latestViewsOf, recordVideoStats, type VideoStatsInput, type VideoStatsOutcome } from '../db/video-stats';
import {
  DEFAULT_BOOST_POLICY,
  decideBoost,
  decideBoostOrder,
  foldBoost,
  progressOfBoostOrder,
  quoteBoost,
  type BoostOrderRequest,
  type BoostPolicy,
  type BoostQuote,
  type BoostTermsSnapshot,
  type RefundReleaser,
} from '../domain/boost';
import { isRejectionCode } from '../domain/errors';
import { unavailableDependency } from '../platform/faults';
import { fold } from '../domain/task-order';
import {
  BOOST_ORDER_WORKFLOW,
  boostOrderWorkflowId,
  boostPlacementUpdate,
  releaseRefundUpdate,
  viewsUpdatedSignal,
  type BoostOrderInput,
  type BoostOrderResult,
  type BoostPlacementOutcome,
} from '../workflows/boost-order-api';
import { commandCausation } from '../workflows/task-order-api';
import { ApiError } from './errors';
import { isRefusal, resendingUnprocessed, unknownOutcome } from './update-calls';

export interface BoostServiceDeps {
  readonly db: Db;
  readonly client: Client;
  readonly taskQueue: string;
  /** Now, in the workflows' clock (the sandbox clock in the sandbox, else the wall clock). */
  readonly nowMs: () => Promise<number>;
  readonly policy?: BoostPolicy;
  /** L3: an Update whose outcome stayed unknown (api/stream-sync.ts): the workflow is told to look in its stream. */
  readonly onUnknownOutcome?: (workflowId: string) => void;
}

export interface QuoteItem {
  readonly creatorId: string;
  readonly priceFen: bigint;
}

export function createBoostService({ db, client, taskQueue, nowMs, policy = DEFAULT_BOOST_POLICY, onUnknownOutcome }: BoostServiceDeps) {
  async function findOrder(boostOrderId: string): Promise<BoostOrderRow> {
    const row = await getBoostOrderRow(db, boostOrderId);
    if (!row) throw new ApiError('not_found', `boost order ${boostOrderId} not found`);
    return row;
  }

  /**
   * B8: stores a count (a lower one → 409 invalid_state), then wakes the boost evaluations waiting
   * for this video. An equal count changes nothing but still wakes them, so a retry of the feed
   * heals a lost signal. A wake-up that could not be delivered (Temporal unreachable or restarting)
   * fails the request with 503 unavailable and Retry-After (issue 18): the count is stored, and the
   * retry (the same count: 200 unchanged) signals again. The evaluations also re-read the count on a
   * timer (workflows/boost-order.ts), so a wake-up lost anyway costs minutes, never forever.
   */
  async function postVideoStats(input: VideoStatsInput): Promise<{ outcome: VideoStatsOutcome; stats: VideoStatsRow }> {
    let result;
    try {
      result = await recordVideoStats(db, input);
    } catch (error) {
      if (error instanceof LowerViewCountError) {
        throw new ApiError('invalid_state', error.message, { videoId: error.videoId, storedViews: Number(error.storedViews), postedViews: Number(error.postedViews) });
      }
      if (error instanceof VideoCreatorMismatchError) throw new ApiError('invalid_state', error.message, { videoId: error.videoId, creatorId: error.storedCreatorId });
      throw error;
    }
    await wakeEvaluations(input.videoId);
    return { outcome: result.outcome, stats: result.row };
  }

  /**
   * Signals every evaluation waiting for `videoId`; each signal is tried (one failing does not stop
   * the others), then the first failure is thrown. A workflow that closed meanwhile needs no signal.
   */
  async function wakeEvaluations(videoId: string): Promise<void> {
    const waiting = await evaluatingBoostOrderIds(db, videoId);
    const results = await Promise.allSettled(waiting.map((boostOrderId) => client.workflow.getHandle(boostOrderWorkflowId(boostOrderId)).signal(viewsUpdatedSignal, { videoId })));
    const failed = results.flatMap((r) => (r.status === 'rejected' && !(r.reason instanceof WorkflowNotFoundError) ? [r.reason as unknown] : []));
    if (failed.length === 0) return;
    // Temporal away: 503 with Retry-After (api/app.ts). Anything else is a bug, not to be hidden.
    const unreachable = failed.find((error) => unavailableDependency(error) === 'temporal');
    throw unreachable ?? failed[0];
  }

  /** B1/B2: one stored quote per item, priced from the creator's last 45 days of stats. */
  async function quote(clientId: string | undefined, items: readonly QuoteItem[]): Promise<Array<{ quoteId: string; quote: BoostQuote }>> {
    const now = await nowMs();
    const quotes: Array<{ quoteId: string; quote: BoostQuote }> = [];
    for (const item of items) {
      const [inWindow, older, optedOut] = await Promise.all([
        creatorVideos(db, item.creatorId, now, policy.windowDays),
        videosBeforeWindow(db, item.creatorId, now, policy.windowDays), // listed as excluded, with the reason (B2)
        isOptedOut(db, item.creatorId),
      ]);
      const quoted = quoteBoost({ creatorId: item.creatorId, priceFen: item.priceFen, videos: [...inWindow, ...older], optedOut, nowMs: now }, policy);
      const quoteId = `q-${randomUUID()}`;
      await insertBoostQuote(db, quoteId, clientId, quoted, policy);
      quotes.push({ quoteId, quote: quoted });
    }
    return quotes;
  }

  /**
   * B3: decides the order against the task order (folded from its events) and the stored quote,
   * then starts the boost workflow and answers once the fee is paid into escrow (or refused).
   * Idempotent on boostOrderId: the same request again returns the order, another content is
   * 422 idempotency_mismatch (as T1).
   */
  async function order(request: BoostOrderRequest): Promise<{ created: boolean; order: BoostOrderRow }> {
    const existing = await getBoostOrderRow(db, request.boostOrderId);
    if (existing) {
      if (existing.request_hash !== boostRequestHash(request)) throw mismatch(request.boostOrderId);
      return { created: false, order: existing };
    }
    const [events, cited, existingBoostOrderId] = await Promise.all([
      loadTaskEvents(db, request.taskOrderId),
      getCitedQuote(db, request.quoteId),
      boostOrderIdOfTask(db, request.taskOrderId),
    ]);
    if (cited?.clientId && cited.clientId !== request.clientId) {
      throw new ApiError('forbidden', `quote ${request.quoteId} was made for another client (B1)`);
    }
    const now = await nowMs();
    const decision = decideBoostOrder(
      request,
      { task: fold(events), quote: cited?.quote, ...(existingBoostOrderId === undefined ? {} : { existingBoostOrderId }) },
      now,
      policy,
    );
    if (!decision.ok) {
      // A retry whose first attempt already started the order's run (and failed for a fault before
      // its placement was recorded): that run's outcome is the answer, not a decision on today's
      // state, which may refuse an order that is being placed (found by the simulation, seed 4242).
      const started = await runningPlacement(request.boostOrderId);
      if (started) return placedBy(() => resendingUnprocessed(() => started.executeUpdate(boostPlacementUpdate)), request);
      throw ApiError.from(decision.rejection);
    }
    const ordered = decision.events[0];
    if (ordered?.type !== 'BoostOrdered') throw new Error('decideBoostOrder: expected BoostOrdered');
    const { type: _type, policy: _policy, validUntilMs: _validUntil, ...terms } = ordered;

    const input: BoostOrderInput = { terms: terms satisfies BoostTermsSnapshot, policy };
    const workflowId = boostOrderWorkflowId(request.boostOrderId);
    // Update-with-start, as for task orders: the run and its placement Update in one call. A
    // concurrent identical POST joins the same run.
    const startWorkflowOperation = new WithStartWorkflowOperation(BOOST_ORDER_WORKFLOW, { workflowId, taskQueue, args: [input], workflowIdConflictPolicy: 'USE_EXISTING' });
    return placedBy(() => resendingUnprocessed(() => client.workflow.executeUpdateWithStart(boostPlacementUpdate, { startWorkflowOperation })), request);
  }

  /**
   * B3: the placement Update's answer. A run that refused its placement closes at once, so the
   * Update can reach it closed (a retry, a concurrent POST, an Update delayed by a Temporal
   * restart: found by the simulation, seed 20261201): the run's result is the answer then.
   */
  async function placedBy(send: () => Promise<BoostPlacementOutcome>, request: BoostOrderRequest): Promise<{ created: boolean; order: BoostOrderRow }> {
    let outcome: BoostPlacementOutcome | BoostOrderResult | undefined;
    for (let attempt = 1; outcome === undefined; attempt += 1) {
      try {
        outcome = await send();
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
        outcome = await closedRunOutcome(request.boostOrderId);
        // Running again: a new run took the id meanwhile (a new POST after a refusal); ask it.
        if (outcome === undefined && attempt >= 2) throw error;
      }
    }
    if ('terms' in outcome && boostRequestHash(outcome.terms) !== boostRequestHash(request)) throw mismatch(request.boostOrderId);
    if (!outcome.placed) throw ApiError.from(outcome.rejection);
    const order = await findOrder(request.boostOrderId);
    if (order.request_hash !== boostRequestHash(request)) throw mismatch(request.boostOrderId);
    return { created: true, order };
  }

  /** What the order's run returned, or undefined while it runs. */
  async function closedRunOutcome(boostOrderId: string): Promise<BoostOrderResult | undefined> {
    const handle = client.workflow.getHandle(boostOrderWorkflowId(boostOrderId));
    const { status } = await handle.describe();
    return status.name === 'RUNNING' ? undefined : ((await handle.result()) as BoostOrderResult);
  }

  /** The boost order's run, if one is running (started by an earlier attempt of the same POST). */
  async function runningPlacement(boostOrderId: string): Promise<WorkflowHandle | undefined> {
    const handle = client.workflow.getHandle(boostOrderWorkflowId(boostOrderId));
    try {
      const { status } = await handle.describe();
      return status.name === 'RUNNING' ? handle : undefined;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * F5: finance (or ops) release the scheduled refund before its due time. `updateId` (from the
   * request's Idempotency-Key) makes a retry after a fault join the first attempt's Update.
   */
  async function releaseRefund(boostOrderId: string, by: RefundReleaser, reason: string | undefined, updateId?: string): Promise<BoostOrderRow> {
    await findOrder(boostOrderId);
    const args = { by, ...(reason === undefined ? {} : { reason }) };
    const id = updateId ?? randomUUID(); // fixed, so that a re-send joins it
    try {
      await resendingUnprocessed(() => client.workflow.getHandle(boostOrderWorkflowId(boostOrderId)).executeUpdate(releaseRefundUpdate, { args: [args], updateId: id }));
    } catch (error) {
      if (unknownOutcome(error)) onUnknownOutcome?.(boostOrderWorkflowId(boostOrderId));
      if (unavailableDependency(error)) throw error; // 503: the events may be behind the workflow
      if (!isRefusal(error) && (await streamHasStep(db, 'boost', boostOrderId, commandCausation(releaseRefundUpdate.name, id)))) {
        // L3: no answer, but the release is stored (a workflow task lost after its write): applied.
        onUnknownOutcome?.(boostOrderWorkflowId(boostOrderId));
        return findOrder(boostOrderId);
      }
      if (error instanceof WorkflowUpdateFailedError) {
        const cause = error.cause;
        if (cause instanceof ApplicationFailure && isRejectionCode(cause.type)) throw new ApiError(cause.type, cause.message, cause.details?.[0]);
        throw error;
      }
      // The workflow has closed: answer as it would have, from the order's events.
      const state = foldBoost(await loadBoostEvents(db, boostOrderId));
      if (!state) throw new ApiError('not_found', `boost order ${boostOrderId} not found`);
      const decision = decideBoost(state, { type: 'release_refund', ...args }, await nowMs());
      if (!decision.ok) throw ApiError.from(decision.rejection);
      throw error;
    }
    return findOrder(boostOrderId);
  }

  /** B5: the order with its progress now (views so far, expected, time left, the outcome if it ended now). */
  async function progressOf(row: BoostOrderRow) {
    const { state } = boostOrderDetails(row);
    const views = state.video ? await latestViewsOf(db, state.video.videoId) : null;
    const now = await nowMs();
    return { now, progress: progressOfBoostOrder(state, views ?? undefined, now) };
  }

  // The policy the quotes and orders carry: what the routes state of them (B1's validity) comes from it too.
  return { policy, findOrder, postVideoStats, quote, order, releaseRefund, progressOf };
}

function mismatch(boostOrderId: string): ApiError {
  return new ApiError('idempotency_mismatch', `boost order ${boostOrderId} was already ordered with a different content (B3)`);
}

export type BoostService = ReturnType<typeof createBoostService>;
