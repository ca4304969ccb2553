import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { OPS_CANCEL_OUTCOMES } from '../domain/task-order/types';
import type { Db } from '../db/connect';
import { getBoostOrderRow } from '../db/boost-orders';
import { checkoutOrderStatuses } from '../db/checkouts';
import type { BoostService } from './boost-service';
import { CheckoutIdParams, CheckoutView, checkoutJson } from './checkout-routes';
import type { CheckoutService } from './checkout-service';
import { BoostOrderIdParams, BoostOrderView, boostOrderJson } from './boost-routes';
import { ApiError } from './errors';
import { STUCK_REASONS, type OpsService, type StuckCursor, type StuckEntry } from './ops-service';
import { createReadGuards, type ReadGuards } from './rate-limit';
import { At, JsonValue, TaskOrderView } from './responses';
import { defineRoute } from './routes';
import { OrderIdParams, QueryLimit } from './schemas';
import { callerPerson } from './auth';
import type { TaskOrderService } from './task-order-service';
import { eventPayloadJson, taskOrderJson } from './views';

// ── Responses (for the OpenAPI document; they describe what the routes below produce) ───────

/** O1's kinds. The check below fails to compile when ops-service.ts gains a kind not listed here. */
const STUCK_KINDS = ['task', 'boost', 'checkout', 'webhook_endpoint'] as const satisfies ReadonlyArray<StuckEntry['kind']>;
type Unlisted<T, Listed> = Exclude<T, Listed> extends never ? true : never;
const everyKindListed: Unlisted<StuckEntry['kind'], (typeof STUCK_KINDS)[number]> = true;
void everyKindListed;

const StuckEntryView = z.object({
  orderId: z.string().describe("the task order's id, or the boost order's, or the webhook endpoint's (kind)"),
  kind: z.enum(STUCK_KINDS),
  status: z.string().nullable(),
  reason: z.enum(STUCK_REASONS),
  detail: z.string().describe('what is wrong and what to do'),
  stuckSinceAt: At.nullable().describe('since when (the overdue deadline, the escalation, the first failing attempt …), if known'),
  attempt: z.number().int().min(1).optional().describe('activity_retrying / workflow_task_failing: the current attempt'),
  lastFailure: z.string().optional(),
});

export const StuckListView = z.object({
  generatedAt: At,
  entries: z.array(StuckEntryView).describe('one page, ordered by orderId then kind; every entry of a subject is on the same page'),
  total: z.number().int().min(0).describe('entries in the whole list (every page)'),
  nextCursor: z.string().nullable().describe('pass as cursor for the next page; null on the last page'),
  truncated: z.boolean().describe('true when a bound was reached (10,000 open workflows described, or 10,000 candidate orders of a kind read): there may be more stuck orders than listed'),
  workflowsDescribed: z.number().int().min(0).describe("open workflows whose Temporal description was considered (descriptions are reused for 15 s)"),
});

/** A page's cursor: the last subject of the previous page, opaque to clients (base64url of JSON). */
export function encodeStuckCursor(cursor: StuckCursor): string {
  return Buffer.from(JSON.stringify([cursor.kind, cursor.orderId])).toString('base64url');
}

function decodeStuckCursor(value: string): StuckCursor | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
    const [kind, orderId] = parsed as unknown[];
    if (typeof orderId !== 'string' || !(STUCK_KINDS as readonly unknown[]).includes(kind)) return undefined;
    return { kind: kind as StuckCursor['kind'], orderId };
  } catch {
    return undefined;
  }
}

const StuckQuery = z.strictObject({
  cursor: z
    .string()
    .max(512)
    .transform((value, ctx) => {
      const cursor = decodeStuckCursor(value);
      if (!cursor) ctx.addIssue({ code: 'custom', message: 'not a cursor from a previous page (nextCursor)' });
      return cursor ?? z.NEVER;
    })
    .optional(),
  limit: QueryLimit(1000, 500).describe('entries per page (a page may run a few over, to keep a subject whole)'),
});

const InspectionEvent = z.object({
  version: z.number().int().min(1),
  type: z.string(),
  occurredAt: At,
  payload: z
    .object({ type: z.string() })
    .catchall(JsonValue)
    .describe('the event as recorded (amounts in fen as integers; instants as ISO strings named …At)'),
});

const InspectionTransaction = z.object({
  txId: z.string(),
  seq: z.number().int(),
  kind: z.string(),
  occurredAt: At,
  externalPaymentRef: z.string().nullable(),
  chainHash: z.string(),
  transfers: z.array(z.object({ debitAccount: z.string(), creditAccount: z.string(), amountFen: z.number().int().min(1) })),
});

const TemporalDescription = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    status: z.string().describe("Temporal's execution status: RUNNING, COMPLETED, FAILED, …"),
    historyLength: z.number().int().min(0),
    startedAt: At,
    closedAt: At.nullable(),
    pendingActivities: z.array(
      z.object({ activityType: z.string().nullable(), attempt: z.number().int().min(1), lastFailure: z.string().nullable(), scheduledAt: At.nullable(), lastStartedAt: At.nullable() }),
    ),
    pendingWorkflowTask: z.object({ attempt: z.number().int().min(1), scheduledAt: At.nullable() }).nullable(),
  })
  .nullable()
  .describe("Temporal's own description of the order's workflow (null if Temporal no longer has it)");

const inspection = { events: z.array(InspectionEvent), ledger: z.array(InspectionTransaction), temporal: TemporalDescription };
export const TaskInspectionView = z.object({ kind: z.literal('task'), order: TaskOrderView, ...inspection });
export const BoostInspectionView = z.object({ kind: z.literal('boost'), order: BoostOrderView, ...inspection });

/** C5: each line's task and boost order as they stand now (null: not placed, or no boost). */
const CheckoutLineOrders = z.object({
  lineIndex: z.number().int().min(0),
  orderId: z.string(),
  orderStatus: z.string().nullable().describe("the task order's status now; null while the line is not placed"),
  boostOrderId: z.string().nullable(),
  boostStatus: z.string().nullable().describe("the boost order's status now; null without a boost or while it is not placed"),
});
/** A checkout's payment event carries its terms, four levels deep (terms → lines → a line → its brief): one level more than JsonValue. */
const Json4 = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(JsonValue), z.record(z.string(), JsonValue)]);
const CheckoutInspectionEvent = InspectionEvent.extend({ payload: z.object({ type: z.string() }).catchall(Json4).describe(InspectionEvent.shape.payload.description ?? '') });
export const CheckoutInspectionView = z.object({
  kind: z.literal('checkout'),
  checkout: CheckoutView,
  orders: z.array(CheckoutLineOrders).describe("C5: the checkout's orders, one per line, with their statuses now"),
  ...inspection,
  events: z.array(CheckoutInspectionEvent),
});

/** C5: each line's order and boost ids with their statuses now. */
async function checkoutLineOrders(db: Db, checkout: ReturnType<typeof checkoutJson>) {
  const boostIds = checkout.lines.flatMap((l) => (l.boost ? [l.boost.boostOrderId] : []));
  const { tasks, boosts } = await checkoutOrderStatuses(db, checkout.lines.map((l) => l.orderId), boostIds);
  return checkout.lines.map((l) => ({
    lineIndex: l.lineIndex,
    orderId: l.orderId,
    orderStatus: tasks.get(l.orderId) ?? null,
    boostOrderId: l.boost?.boostOrderId ?? null,
    boostStatus: l.boost ? (boosts.get(l.boost.boostOrderId) ?? null) : null,
  }));
}

/** The view of an inspection: event payloads with ISO instants (api/views.ts). */
function inspectionJson(inspected: Awaited<ReturnType<OpsService['inspect']>>) {
  return { ...inspected, events: inspected.events.map((e) => ({ ...e, payload: eventPayloadJson(e.payload) })) };
}

function stuckJson(list: Awaited<ReturnType<OpsService['stuckPage']>>) {
  return {
    ...list,
    entries: list.entries.map(({ since, ...entry }) => ({ ...entry, stuckSinceAt: since })),
    nextCursor: list.nextCursor ? encodeStuckCursor(list.nextCursor) : null,
  };
}

const Reason = z.string().trim().min(1).max(500);

/**
 * O4: each action gives its reason; the operator recorded with it in the order's events is the
 * person of the caller's token (issue 18), never a name in the body: a body naming an `operator`
 * is refused (400), so no holder of an ops token can act in someone else's name.
 */
export const OpsActionBody = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('arbitrate'), decision: z.enum(['confirm', 'decline']), reason: Reason }),
  z.strictObject({ action: z.literal('cancel'), outcome: z.enum(OPS_CANCEL_OUTCOMES), reason: Reason }),
]);

export interface OpsRoutesDeps {
  readonly db: Db;
  readonly ops: OpsService;
  readonly orders: TaskOrderService;
  readonly boosts: BoostService;
  readonly checkouts: CheckoutService;
  /** Issue 18: this instance's limits on the expensive reads (default: from the environment). */
  readonly guards?: ReadGuards;
}

export function registerOpsRoutes(app: FastifyInstance, { db, ops, orders, boosts, checkouts, guards = createReadGuards() }: OpsRoutesDeps): void {
  defineRoute(app, {
    method: 'GET',
    path: '/v1/ops/stuck',
    roles: ['ops'],
    tags: ['ops'],
    summary: 'O1: stuck orders, each with its reason, paged',
    description:
      'The whole list is gathered (Temporal descriptions reused for 15 s), then paged by cursor: follow nextCursor until null. ' +
      'It is complete unless truncated says a bound was reached. Expensive: rate limited per token (429 rate_limited with Retry-After).',
    preHandler: guards.perToken('stuck-list reads'),
    query: StuckQuery,
    responses: { 200: { description: 'one page of the stuck list', schema: StuckListView } },
    handler: async ({ query }) => stuckJson(await ops.stuckPage({ after: query.cursor, limit: query.limit })),
  });

  defineRoute(app, {
    method: 'GET',
    path: '/v1/ops/orders/:orderId',
    roles: ['ops'],
    tags: ['ops'],
    summary: 'O2: an order: state, pending deadlines, events, ledger transactions and Temporal\'s description',
    params: OrderIdParams,
    responses: { 200: { description: 'the inspection', schema: TaskInspectionView } },
    handler: async ({ params }) => ({ kind: 'task', order: taskOrderJson(await orders.findOrder(params.orderId)), ...inspectionJson(await ops.inspect(params.orderId)) }),
  });

  defineRoute(app, {
    method: 'GET',
    path: '/v1/ops/boost-orders/:boostOrderId',
    roles: ['ops'],
    tags: ['ops'],
    summary: 'O2: a boost order: state, pending deadlines, events, ledger transactions and Temporal\'s description',
    params: BoostOrderIdParams,
    responses: { 200: { description: 'the inspection', schema: BoostInspectionView } },
    handler: async ({ params }) => {
      const row = await getBoostOrderRow(db, params.boostOrderId);
      if (!row) throw new ApiError('not_found', `boost order ${params.boostOrderId} not found`);
      const { now, progress } = await boosts.progressOf(row);
      // The boost order as GET /v1/boost-orders/{id} shows it (ISO instants), not the stored workflow state.
      return { kind: 'boost', order: boostOrderJson(row, now, progress), ...inspectionJson(await ops.inspectBoost(params.boostOrderId)) };
    },
  });

  defineRoute(app, {
    method: 'GET',
    path: '/v1/ops/checkouts/:checkoutId',
    roles: ['ops'],
    tags: ['ops'],
    summary: "O2, C5: a checkout with its orders and their statuses, the money, its events, its payment's ledger transaction and Temporal's description",
    description: 'The checkout as GET /v1/checkouts/{checkoutId} shows it, each line\'s task and boost order with its status now, and the checkout\'s own stream and ledger; each order has its own inspection.',
    params: CheckoutIdParams,
    responses: { 200: { description: 'the inspection', schema: CheckoutInspectionView } },
    handler: async ({ params }) => {
      const checkout = checkoutJson(await checkouts.find(params.checkoutId));
      return { kind: 'checkout', checkout, orders: await checkoutLineOrders(db, checkout), ...inspectionJson(await ops.inspectCheckout(params.checkoutId)) };
    },
  });

  defineRoute(app, {
    method: 'POST',
    path: '/v1/ops/orders/:orderId/actions',
    roles: ['ops'],
    tags: ['ops'],
    summary: 'O4: decide an arbitration, or cancel an order with one of the money outcomes of T6–T21',
    description:
      "The operator recorded is the person API_TOKENS names for the caller's token (`ops:alice:<token>`), or the token's fingerprint " +
      '(`token-` and 8 hex digits) for a token that names none; the body names no operator.',
    params: OrderIdParams,
    body: OpsActionBody,
    responses: { 200: { description: 'the order after the action', schema: TaskOrderView } },
    handler: async ({ params, body }, request) => {
      const operator = callerPerson(request);
      const row =
        body.action === 'arbitrate'
          ? await orders.command(params.orderId, 'arbitrate', { operator, decision: body.decision, reason: body.reason })
          : await orders.command(params.orderId, 'ops_cancel', { operator, outcome: body.outcome, reason: body.reason });
      return taskOrderJson(row);
    },
  });
}
