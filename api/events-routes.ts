import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Db } from '../db/connect';
import { FEED_START, decodeFeedCursor, encodeFeedCursor, feedEventJson, positionOf, readFeed } from '../db/event-feed';
import { ARBITRATION_DECISIONS, CANCEL_REASONS, REVIEW_DECISIONS } from '../domain/task-order/types';
import { BOOST_NOTIFICATION_KINDS } from '../domain/boost/notifications';
import { NOTIFICATION_KINDS } from '../domain/task-order/notifications';
import { CHECKOUT_NOTIFICATION_KINDS } from '../domain/checkout/notifications';
import { ORDER_KINDS } from '../domain/order-kind';
import { defineRoute } from './routes';
import { Id, QueryLimit } from './schemas';

/**
 * E4: GET /v1/events, the event feed: every notification of the outbox exactly once, in one total
 * order a cursor never skips (db/event-feed.ts). The same JSON is the body of every webhook (E5).
 */

import { At, Fen } from './responses';
const Party = z.enum(['client', 'creator']);
const Views = z.number().int().min(0);

const task = <T extends z.ZodRawShape>(shape: T) => z.object({ orderId: z.string(), ...shape });
const boost = <T extends z.ZodRawShape>(shape: T) => z.object({ boostOrderId: z.string(), taskOrderId: z.string(), ...shape });

/** Each event type's payload (E3: domain/task-order/notifications.ts, domain/boost/notifications.ts). */
const PAYLOADS = {
  new_task: task({ title: z.string() }),
  reminder: task({}),
  accepted: task({ priceFen: Fen }),
  balance_due: task({ amountFen: Fen, dueAt: At }),
  price_restored: task({ priceFen: Fen }),
  balance_paid: task({}),
  video_uploaded: task({ uploadNo: z.number().int(), reviewDueAt: At }),
  review: task({ uploadNo: z.number().int(), decision: z.enum(REVIEW_DECISIONS), comment: z.string().optional(), automatic: z.boolean().optional() }),
  published: task({ videoId: z.string(), publishedAt: At }),
  settled: task({ amountFen: Fen.optional().describe("the creator's payout (the creator's notification only)") }),
  publish_overdue: task({ expectedPublishAt: At }),
  cancellation_requested: task({ by: Party, answerDueAt: At, reason: z.string().optional() }),
  cancellation_declined: task({ by: Party, reason: z.string().optional() }),
  cancellation_escalated: task({ requestedBy: Party }),
  cancellation_arbitrated: task({ decision: z.enum(ARBITRATION_DECISIONS), reason: z.string(), requestedBy: Party }),
  cancelled: task({ reason: z.enum(CANCEL_REASONS) }),
  refund: z.union([task({ amountFen: Fen }), boost({ amountFen: Fen, early: z.boolean() })]),
  compensation: task({ amountFen: Fen }),
  boost_ordered: boost({ boostFeeFen: Fen, expectedViews: Views, validUntilAt: At }),
  boost_started: boost({ videoId: z.string(), endsAt: At }),
  boost_evaluated: boost({ succeeded: z.boolean(), actualViews: Views, expectedViews: Views, compensationFen: Fen }),
  boost_expired: boost({ validUntilAt: At }),
  boost_ended: boost({ reason: z.enum(['task_cancelled']) }),
  refund_scheduled: boost({ amountFen: Fen, dueAt: At }),
  checkout_completed: z.object({ checkoutId: z.string(), totalFen: Fen, lines: z.array(z.object({ orderId: z.string(), boostOrderId: z.string().nullable() })) }),
  checkout_failed: z.object({ checkoutId: z.string(), lineIndex: z.number().int().min(0).nullable(), code: z.string(), message: z.string() }),
} as const;

export const EVENT_TYPES = Object.keys(PAYLOADS) as Array<keyof typeof PAYLOADS>;
// Every notification kind of every order kind has a payload here (a new one fails to compile until it does).
const _allKinds: ReadonlyArray<keyof typeof PAYLOADS> = [...NOTIFICATION_KINDS, ...BOOST_NOTIFICATION_KINDS, ...CHECKOUT_NOTIFICATION_KINDS];
void _allKinds;

const EventBase = {
  id: z.string().describe('stable for ever; the webhook-id of every delivery of this event'),
  occurredAt: At.describe("when the order's event happened (workflow time)"),
  recordedAt: At.describe('when it was committed to the outbox'),
  orderId: z.string().describe('the task order, the boost order or the checkout (orderKind)'),
  orderKind: z.enum(ORDER_KINDS),
  orderVersion: z.number().int().min(1).describe("the version of the order's event stream this notification belongs to"),
  recipient: z.object({ type: z.string().describe('client or creator'), id: z.string() }).describe('whom the backend should tell'),
};

/** One event, as the feed lists it and as a webhook's body carries it. */
export const FeedEvent = z.discriminatedUnion(
  'type',
  EVENT_TYPES.map((type) => z.object({ ...EventBase, type: z.literal(type), payload: PAYLOADS[type] })) as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]],
);

export const FeedPage = z.object({
  events: z.array(FeedEvent),
  nextCursor: z.string().describe('pass as `after` for the next page; when `events` is empty, poll again with it later'),
  hasMore: z.boolean().describe('true: the next page is available now'),
});

const EventType = z.enum(EVENT_TYPES as [string, ...string[]]);
export const FeedCursor = z
  .string()
  .max(80)
  .transform((value, ctx) => {
    const position = decodeFeedCursor(value);
    if (!position) {
      ctx.addIssue({ code: 'custom', message: 'invalid cursor' });
      return z.NEVER;
    }
    return position;
  });

export const FeedQuery = z.strictObject({
  after: FeedCursor.optional().describe('a nextCursor from an earlier page; omitted: from the first event'),
  limit: QueryLimit(500, 100),
  type: z
    .union([EventType, z.array(EventType).max(32)])
    .optional()
    .transform((t) => (t === undefined ? undefined : Array.isArray(t) ? t : [t]))
    .describe('only these event types (repeat the parameter for several)'),
  orderId: Id.optional().describe('only the events of this task order or boost order'),
});

export function registerEventRoutes(app: FastifyInstance, { db }: { db: Db }): void {
  defineRoute(app, {
    method: 'GET',
    path: '/v1/events',
    roles: ['backend', 'ops'],
    tags: ['events'],
    summary: 'E4: the event feed — every notification once, in one order a cursor never skips',
    description:
      'Keyset paged: pass the `nextCursor` of a page as `after`. An event that commits later never sorts before a cursor already handed out, so a client that stores its cursor after processing a page sees every event exactly once. The feed lags behind the oldest open database transaction (normally milliseconds).',
    query: FeedQuery,
    responses: { 200: { description: 'one page of events', schema: FeedPage } },
    handler: async ({ query }) => {
      const after = query.after ?? FEED_START;
      const rows = await readFeed(db, { after, limit: query.limit + 1, types: query.type, orderId: query.orderId });
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return { events: page.map(feedEventJson), nextCursor: encodeFeedCursor(last ? positionOf(last) : after), hasMore: rows.length > query.limit };
    },
  });
}
