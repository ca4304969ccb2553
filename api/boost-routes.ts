import { idempotentUpdateId } from './idempotency';
import type { BoostPolicy } from '../domain/boost/policy';
import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { boostOrderDetails } from '../db/boost-orders';
import type { Db } from '../db/connect';
import type { BoostOrderRow, VideoStatsRow } from '../db/schema';
import { BOOST_END_REASONS, BOOST_STATUSES, MAX_EXCLUDED_VIDEOS, QUOTE_UNAVAILABLE_REASONS, VIDEO_EXCLUSION_REASONS, type BoostProgress, type BoostQuote } from '../domain/boost';
import { ApiError } from './errors';
import { createBoostService, type BoostService } from './boost-service';
import { defineRoute } from './routes';
import { At, CalendarDate, Fen } from './responses';
import { AmountFen, Funding, Id, Instant, Text } from './schemas';
import { callerPerson } from './auth';
import { iso } from './views';

/** Boost orders (SPEC §3) and the video-stats feed (B8), SPEC §8. */
export interface BoostRoutesDeps {
  readonly db: Db;
  readonly client: Client;
  readonly taskQueue: string;
  /** Now, in the workflows' clock (api/app.ts: the sandbox clock in the sandbox, else the wall clock). */
  readonly nowMs: () => Promise<number>;
  /** The policy new quotes and boost orders carry (default: DEFAULT_BOOST_POLICY). */
  readonly policy?: BoostPolicy;
  /** L3: told of an Update whose outcome stayed unknown (api/stream-sync.ts). */
  readonly onUnknownOutcome?: (workflowId: string) => void;
}

// ── Requests ─────────────────────────────────────────────────────────────────────────────────
const Views = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('a view count');

export const VideoStatsBody = z.strictObject({ videoId: Id, creatorId: Id, publishedAt: Instant, views: Views, observedAt: Instant });

export const BoostQuotesBody = z.strictObject({
  clientId: Id.optional(),
  items: z.array(z.strictObject({ creatorId: Id, priceFen: AmountFen })).min(1).max(20),
});

export const OrderBoostBody = z.strictObject({ boostOrderId: Id, taskOrderId: Id, clientId: Id, quoteId: Id, funding: Funding });

export const BoostOrderIdParams = z.strictObject({ boostOrderId: Id });

/** F5: the releaser is the caller's token's person (issue 18), so the body names none (`releasedBy` is refused). */
export const ReleaseRefundBody = z.strictObject({ reason: Text(500).optional() });

// ── Responses (for the OpenAPI document; they describe what the functions below produce) ────
const NonNegativeFen = Fen.min(0);
const Bp = z.number().int().min(0).describe('basis points');
const Count = z.number().int().min(0);
const Days = z.number().min(0).describe('days (fractional)');

export const VideoStatsView = z.object({
  videoId: z.string(),
  creatorId: z.string(),
  publishedAt: At,
  views: Count,
  observedAt: At,
  outcome: z.enum(['created', 'updated', 'unchanged']),
});

const VideoUsed = z.object({
  videoId: z.string(),
  publishedAt: At,
  views: Count,
  ageDays: Days,
  weight: z.number().min(0).max(1).describe('0.5^(ageDays / halfLifeDays)'),
  cumulativeWeight: z.number().min(0).describe('this weight plus those of the videos with fewer views'),
});

const VideoExcluded = z.object({
  videoId: z.string(),
  publishedAt: At,
  views: Count,
  ageDays: z.number().describe('days (fractional; negative for a video dated after the quote)'),
  reason: z.enum(VIDEO_EXCLUSION_REASONS).describe('outside_window: older than windowDays (45); published_in_future: dated after the quote (clock skew in the feed)'),
});

/** B2: "the quote explains itself" (domain/boost/pricing.ts QuoteExplanation). */
const QuoteExplanationView = z.object({
  method: z.string(),
  quotedAt: At,
  windowDays: Days,
  halfLifeDays: Days,
  minVideos: Count,
  videosUsed: z.array(VideoUsed).describe('the videos that counted, by views ascending (the order of the weighted median)'),
  videosExcluded: z.array(VideoExcluded).describe(`the creator's videos that did not count, each with the reason (at most ${MAX_EXCLUDED_VIDEOS}, the most recent first)`),
  totalWeight: z.number().min(0),
  medianViews: Count.nullable(),
  shortfall: z.number().min(0).nullable().describe('s, the weighted mean relative shortfall'),
  premiumBeforeRounding: z.number().nullable().describe('marginBp·s/(1−s) in basis points, unrounded'),
  premiumBeforeClampBp: Bp.nullable(),
  premiumBp: Bp.nullable(),
  clamped: z.enum(['min', 'max']).nullable(),
  marginBp: Bp,
  minPremiumBp: Bp,
  maxPremiumBp: Bp,
});

export const BoostQuoteView = z.object({
  quoteId: z.string(),
  creatorId: z.string(),
  priceFen: NonNegativeFen,
  available: z.boolean(),
  reason: z.enum(QUOTE_UNAVAILABLE_REASONS).nullable(),
  expectedViews: Count.nullable(),
  premiumBp: Bp.nullable(),
  boostFeeFen: NonNegativeFen.nullable(),
  totalFen: NonNegativeFen.nullable(),
  expectedCpmFen: NonNegativeFen.nullable(),
  quotedAt: At,
  validUntilAt: At.describe('B1: an order may cite the quote until then (30 minutes after quotedAt, exclusive)'),
  explanation: QuoteExplanationView,
});

export const BoostQuotesView = z.object({ quotes: z.array(BoostQuoteView) });

const Evaluation = z.object({
  succeeded: z.boolean(),
  actualViews: Count,
  compensationFen: NonNegativeFen,
  platformKeepsFen: NonNegativeFen,
});

export const BoostOrderView = z.object({
  boostOrderId: z.string(),
  taskOrderId: z.string(),
  clientId: z.string(),
  creatorId: z.string(),
  quoteId: z.string(),
  checkoutId: z.string().nullable().describe('C5: the checkout that ordered this boost, if one did'),
  status: z.enum(BOOST_STATUSES),
  endReason: z.enum(BOOST_END_REASONS).nullable(),
  priceFen: NonNegativeFen,
  boostFeeFen: NonNegativeFen,
  premiumBp: Bp,
  expectedViews: Count,
  escrowFen: NonNegativeFen,
  orderedAt: At,
  validUntilAt: At.describe('B4: the video must be published before then (one calendar month after the order), or the boost expires'),
  video: z.object({ videoId: z.string(), publishedAt: At }).nullable(),
  boostEndsAt: At.nullable(),
  progress: z
    .object({
      now: At,
      viewsSoFar: Count.nullable(),
      expectedViews: Count,
      startedAt: At,
      endsAt: At,
      timeLeftMs: z.number().int().min(0),
      ended: z.boolean(),
      ifEndedNow: Evaluation.extend({ shortfallViews: Count, capped: z.boolean() }).nullable(),
    })
    .nullable()
    .describe('B5: null until the video is published'),
  evaluation: Evaluation.nullable(),
  refund: z
    .object({
      amountFen: NonNegativeFen,
      endedOn: CalendarDate.describe('B7: the day the boost ended (Asia/Shanghai)'),
      dueDate: CalendarDate.describe('B7: the 7th business day after endedOn'),
      dueAt: At,
      calendarMissingYears: z.array(z.string()),
      postedAt: At.nullable(),
      early: z.boolean().nullable(),
      releasedBy: z.object({ type: z.enum(['finance', 'ops']), id: z.string() }).nullable(),
    })
    .nullable(),
  calendarMissing: z.boolean(),
  deadlines: z.array(z.object({ kind: z.string(), at: At, consequence: z.string() })),
  version: z.number().int().min(1),
  updatedAt: At,
});


export function videoStatsJson(row: VideoStatsRow, outcome: z.infer<typeof VideoStatsView>['outcome']) {
  return {
    videoId: row.video_id,
    creatorId: row.creator_id,
    publishedAt: row.published_at.toISOString(),
    views: Number(row.views),
    observedAt: row.observed_at.toISOString(),
    outcome,
  };
}

export function boostQuoteJson(quoteId: string, quote: BoostQuote, validityMs: number) {
  const available = quote.available ? quote : undefined;
  return {
    quoteId,
    creatorId: quote.creatorId,
    priceFen: quote.priceFen,
    available: quote.available,
    reason: quote.available ? null : quote.reason,
    expectedViews: available?.expectedViews ?? null,
    premiumBp: available?.premiumBp ?? null,
    boostFeeFen: available?.boostFeeFen ?? null,
    totalFen: available?.totalFen ?? null,
    expectedCpmFen: available?.expectedCpmFen ?? null,
    quotedAt: new Date(quote.quotedAtMs).toISOString(),
    validUntilAt: new Date(available?.validUntilMs ?? quote.quotedAtMs + validityMs).toISOString(),
    explanation: quote.explanation,
  };
}

/** The boost order as the API shows it (amounts in fen as JSON integers, instants in ISO 8601). */
export function boostOrderJson(row: BoostOrderRow, now: number, progress: BoostProgress | null) {
  const { state, deadlines } = boostOrderDetails(row);
  const { terms, refund, evaluation } = state;
  return {
    boostOrderId: terms.boostOrderId,
    taskOrderId: terms.taskOrderId,
    clientId: terms.clientId,
    creatorId: terms.creatorId,
    quoteId: terms.quoteId,
    checkoutId: terms.funding.source === 'checkout' ? terms.funding.checkoutId : null,
    status: state.status,
    endReason: state.endReason ?? null,
    priceFen: terms.priceFen,
    boostFeeFen: terms.boostFeeFen,
    premiumBp: terms.premiumBp,
    expectedViews: terms.expectedViews,
    escrowFen: state.escrowFen,
    orderedAt: new Date(state.orderedAt).toISOString(),
    validUntilAt: new Date(state.validUntilMs).toISOString(),
    video: state.video ? { videoId: state.video.videoId, publishedAt: new Date(state.video.publishedAtMs).toISOString() } : null,
    boostEndsAt: iso(state.boostEndsAtMs),
    progress: progress
      ? {
          now: new Date(now).toISOString(),
          viewsSoFar: progress.viewsSoFar,
          expectedViews: progress.expectedViews,
          startedAt: new Date(progress.startedAtMs).toISOString(),
          endsAt: new Date(progress.endsAtMs).toISOString(),
          timeLeftMs: progress.timeLeftMs,
          ended: progress.ended,
          ifEndedNow: progress.ifEndedNow
            ? {
                succeeded: progress.ifEndedNow.succeeded,
                actualViews: progress.ifEndedNow.actualViews,
                shortfallViews: progress.ifEndedNow.shortfallViews,
                compensationFen: progress.ifEndedNow.compensationFen,
                platformKeepsFen: progress.ifEndedNow.platformKeepsFen,
                capped: progress.ifEndedNow.capped,
              }
            : null,
        }
      : null,
    evaluation: evaluation ?? null,
    refund: refund
      ? {
          amountFen: refund.amountFen,
          endedOn: refund.endedOn,
          dueDate: refund.dueDate,
          dueAt: new Date(refund.dueAtMs).toISOString(),
          calendarMissingYears: refund.calendarMissingYears,
          postedAt: iso(refund.postedAt),
          early: refund.early ?? null,
          releasedBy: refund.releasedBy ?? null,
        }
      : null,
    calendarMissing: state.calendarMissing,
    deadlines: deadlines.map((d) => ({ kind: d.kind, at: new Date(d.atMs).toISOString(), consequence: d.consequence })),
    version: row.version,
    updatedAt: row.updated_at.toISOString(),
  };
}

export function registerBoostRoutes(app: FastifyInstance, deps: BoostRoutesDeps): BoostService {
  const boosts = createBoostService(deps);
  const tags = ['boost orders'];
  const orderJson = async (row: BoostOrderRow) => {
    const { now, progress } = await boosts.progressOf(row);
    return boostOrderJson(row, now, progress);
  };

  defineRoute(app, {
    method: 'POST',
    path: '/v1/video-stats',
    roles: ['backend'],
    tags,
    summary: "Post a video's view count from the analytics feed (B8)",
    description:
      'A count never decreases: a lower count than the stored one is 409 invalid_state, the same count is a no-op (200 unchanged), ' +
      'a higher one replaces it (200 updated). Boost evaluations waiting for this video proceed (B6). ' +
      'If they cannot be woken (Temporal unreachable) the answer is 503 unavailable with Retry-After although the count is stored: ' +
      'retry the same request (it then answers 200 unchanged and wakes them).',
    body: VideoStatsBody,
    responses: {
      201: { description: "the video's first count", schema: VideoStatsView },
      200: { description: 'a higher count stored, or the same count again (nothing changed)', schema: VideoStatsView },
    },
    handler: async ({ body }, _request, reply) => {
      const { outcome, stats } = await boosts.postVideoStats({ ...body, views: BigInt(body.views) });
      return reply.code(outcome === 'created' ? 201 : 200).send(videoStatsJson(stats, outcome));
    },
  });

  defineRoute(app, {
    method: 'POST',
    path: '/v1/boost-quotes',
    roles: ['backend'],
    tags,
    summary: 'Quote boosts for (creator, task price) pairs (B1, B2)',
    description:
      "Per creator: availability, expected views, premium (10–50%), boost fee, expected CPM and the quote's explanation (B2: the " +
      "creator's videos of the last 45 days, their weights, the weighted median, the shortfall risk). Each quote is stored and valid for 30 minutes.",
    body: BoostQuotesBody,
    responses: { 201: { description: 'the stored quotes, in the order of the items', schema: BoostQuotesView } },
    handler: async ({ body }, _request, reply) => {
      const quotes = await boosts.quote(body.clientId, body.items);
      return reply.code(201).send({ quotes: quotes.map(({ quoteId, quote }) => boostQuoteJson(quoteId, quote, boosts.policy.quoteValidityMs)) });
    },
  });

  defineRoute(app, {
    method: 'POST',
    path: '/v1/boost-orders',
    roles: ['backend'],
    tags,
    summary: 'Order a boost for a task order, citing a valid quote; the fee is paid into escrow at once (B3)',
    description:
      'Idempotent on boostOrderId: the same request again answers 200 with the order, another content 422 idempotency_mismatch. ' +
      'An expired quote is 409 deadline_passed; a task order that is terminal or already boosted is 409 invalid_state.',
    body: OrderBoostBody,
    responses: {
      201: { description: 'ordered and paid', schema: BoostOrderView },
      200: { description: 'already ordered with this content', schema: BoostOrderView },
    },
    handler: async ({ body }, _request, reply) => {
      const { created, order } = await boosts.order(body);
      return reply.code(created ? 201 : 200).send(await orderJson(order));
    },
  });

  defineRoute(app, {
    method: 'GET',
    path: '/v1/boost-orders/:boostOrderId',
    roles: ['backend', 'ops', 'finance'],
    tags,
    summary: 'A boost order with its progress (B5): views so far, expected views, time left, the compensation if it ended now',
    params: BoostOrderIdParams,
    responses: { 200: { description: 'the boost order', schema: BoostOrderView } },
    handler: async ({ params }) => orderJson(await boosts.findOrder(params.boostOrderId)),
  });

  defineRoute(app, {
    method: 'POST',
    path: '/v1/boost-orders/:boostOrderId/release-refund',
    roles: ['finance', 'ops'],
    tags,
    summary: 'Release a scheduled boost refund before its due time (F5)',
    description:
      "The releaser is recorded with the role of the token (finance or ops) and the person API_TOKENS names for it (`finance:bob:<token>`), " +
      'or the token\'s fingerprint (`token-` and 8 hex digits) for a token that names none. Nothing scheduled is 409 invalid_state; ' +
      'a refund already posted at its due time is 409 deadline_passed.',
    params: BoostOrderIdParams,
    body: ReleaseRefundBody,
    responses: { 200: { description: 'the boost order after the release', schema: BoostOrderView } },
    handler: async ({ params, body }, request) => {
      const role = request.apiRole;
      if (role !== 'finance' && role !== 'ops') throw new ApiError('forbidden', 'only finance or ops release refunds (F5)');
      return orderJson(await boosts.releaseRefund(params.boostOrderId, { type: role, id: callerPerson(request) }, body.reason, idempotentUpdateId(request.idempotencyClaim)));
    },
  });

  return boosts;
}
