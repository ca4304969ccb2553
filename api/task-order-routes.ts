import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type { ZodType } from 'zod';
import type { Db } from '../db/connect';
import { listTaskOrderRows } from '../db/task-orders';
import type { TaskPolicy } from '../domain/task-order/policy';
import type { TaskCommandType } from '../workflows/task-order-api';
import { idempotentUpdateId } from './idempotency';
import { createPaymentsService } from './payments-service';
import { BalancePaymentsResult, PlacementPending, TaskOrderList, TaskOrderView, TopUpResult } from './responses';
import { defineRoute } from './routes';
import {
  AcceptBody,
  ActorBody,
  ActorReasonBody,
  BalancePaymentsBody,
  CancelResponseBody,
  ClientIdParams,
  ListTaskOrdersQuery,
  OrderIdParams,
  PayBalanceBody,
  PlaceTaskOrderBody,
  PublishBody,
  ReviewBody,
  TopUpBody,
  UploadVideoBody,
  encodeListCursor,
} from './schemas';
import { createTaskOrderService, type TaskOrderService } from './task-order-service';
import { taskOrderJson, taskOrderSummaryJson } from './views';

/** Task orders (SPEC §2) and their payments (T14, L5), SPEC §8. */
export interface TaskOrderRoutesDeps {
  readonly db: Db;
  readonly client: Client;
  readonly taskQueue: string;
  /** Now, in the workflows' clock (api/app.ts: the sandbox clock in the sandbox, else the wall clock). */
  readonly nowMs: () => Promise<number>;
  /** How long an order command waits for its outcome before answering 202 (default 30 s). */
  readonly commandWaitMs?: number | undefined;
  /** The policy new task orders carry (default: the task-order service's). */
  readonly policy?: TaskPolicy | undefined;
  /** L3: told of an Update whose outcome stayed unknown (api/stream-sync.ts). */
  readonly onUnknownOutcome?: (workflowId: string) => void;
}

/**
 * Registers the task-order routes (the backend places and commands; every role may read) and the
 * payment routes (balance payments, top-ups); answers the task-order service, which the ops routes
 * use too.
 */
export function registerTaskOrderRoutes(app: FastifyInstance, { db, client, taskQueue, nowMs, commandWaitMs, policy, onUnknownOutcome }: TaskOrderRoutesDeps): TaskOrderService {
  const orders = createTaskOrderService({ db, client, taskQueue, nowMs, ...(commandWaitMs === undefined ? {} : { commandWaitMs }), ...(policy ? { policy } : {}), ...(onUnknownOutcome ? { onUnknownOutcome } : {}) });
  const payments = createPaymentsService({ db, orders, nowMs });

  // ── Task orders (SPEC §2): the backend places and commands; every role may read ──────────────
  const taskOrder = { 200: { description: 'the task order', schema: TaskOrderView } };
  defineRoute(app, {
    method: 'POST',
    path: '/v1/task-orders',
    roles: ['backend'],
    tags: ['task orders'],
    summary: 'Place a task order (T1–T5)',
    description: 'Idempotent on orderId: the same content again answers 200 with the order, another content 422 idempotency_mismatch.',
    body: PlaceTaskOrderBody,
    responses: {
      201: { description: 'placed and paid', schema: TaskOrderView },
      200: { description: 'already placed with this content', schema: TaskOrderView },
      202: { description: "the order's workflow runs but the placement is not saved yet (its database write keeps failing); GET the order later", schema: PlacementPending },
    },
    handler: async ({ body }, _request, reply) => {
      const placed = await orders.place(body);
      if ('pending' in placed) return reply.code(202).send({ orderId: body.orderId, status: 'placing' });
      return reply.code(placed.created ? 201 : 200).send(taskOrderJson(placed.order));
    },
  });

  defineRoute(app, {
    method: 'GET',
    path: '/v1/task-orders',
    roles: ['backend', 'ops', 'finance'],
    tags: ['task orders'],
    summary: 'List task orders, oldest first, filtered and paged (keyset cursor)',
    query: ListTaskOrdersQuery,
    responses: { 200: { description: 'one page of orders', schema: TaskOrderList } },
    handler: async ({ query }) => {
      const { cursor, limit, ...filter } = query;
      const rows = await listTaskOrderRows(db, { ...filter, ...(cursor ? { after: cursor } : {}), limit });
      const last = rows.length === limit ? rows[rows.length - 1] : undefined;
      return { orders: rows.map(taskOrderSummaryJson), nextCursor: last ? encodeListCursor(last.placed_at, last.order_id) : null };
    },
  });

  defineRoute(app, {
    method: 'GET',
    path: '/v1/task-orders/:orderId',
    roles: ['backend', 'ops', 'finance'],
    tags: ['task orders'],
    summary: 'A task order',
    params: OrderIdParams,
    responses: taskOrder,
    handler: async ({ params }) => taskOrderJson(await orders.findOrder(params.orderId)),
  });

  /** Each §8 command route: its path, its body schema, and the workflow command it becomes. */
  const commandRoute = (path: string, body: ZodType, type: TaskCommandType, summary: string) =>
    defineRoute(app, {
      method: 'POST',
      path: `/v1/task-orders/:orderId/${path}`,
      roles: ['backend'],
      tags: ['task orders'],
      summary,
      description: "The actor must be the order's client or creator as the rule requires (403 forbidden otherwise).",
      params: OrderIdParams,
      body,
      responses: {
        200: { description: 'the order after the command', schema: TaskOrderView },
        202: { description: "accepted by the order's workflow but not saved yet (its database write keeps failing): the order as it stands; GET it later", schema: TaskOrderView },
      },
      handler: async ({ params, body: args }, request, reply) => {
        const command = withoutUndefined(args as Record<string, unknown>) as never;
        const { pending, order } = await orders.commandWithin(params.orderId, type, command, idempotentUpdateId(request.idempotencyClaim));
        return reply.code(pending ? 202 : 200).send(taskOrderJson(order));
      },
    });
  commandRoute('accept', AcceptBody, 'accept', 'The creator accepts, optionally at a new price (T6, T9)');
  commandRoute('reject', ActorReasonBody, 'reject', 'The creator rejects (T7)');
  commandRoute('remind', ActorBody, 'remind', 'The client reminds the creator (T8)');
  commandRoute('restore-price', ActorBody, 'restore_price', 'The client restores the original price (T10)');
  commandRoute('pay-balance', PayBalanceBody, 'pay_balance', 'The client pays the balance (T12)');
  commandRoute('videos', UploadVideoBody, 'upload_video', 'The creator uploads a draft (T16)');
  commandRoute('reviews', ReviewBody, 'review', 'The client reviews the latest draft (T17)');
  commandRoute('publish', PublishBody, 'publish', 'The creator publishes the video (T18)');
  commandRoute('cancel', ActorReasonBody, 'cancel', 'Cancel before acceptance (T11) or request a cancellation after it (T20, T21)');
  commandRoute('cancel-response', CancelResponseBody, 'cancel_response', 'The counterparty answers a cancellation request (T20–T22)');

  // ── Payments ───────────────────────────────────────────────────────────────────────────────
  defineRoute(app, {
    method: 'POST',
    path: '/v1/balance-payments',
    roles: ['backend'],
    tags: ['payments'],
    summary: "Pay several orders' balances in one payment (T14)",
    description:
      'All orders are checked before any money moves: an order that does not exist is 404 not_found, and one that is not the named ' +
      "client's is 403 forbidden, for the whole call (nothing is paid, no external payment is posted). Otherwise each order gets its " +
      'balance or the money stays in the client account, and results says which; a retry never pays an order twice.',
    body: BalancePaymentsBody,
    responses: {
      200: { description: 'the outcome for each order', schema: BalancePaymentsResult },
      403: { description: "forbidden: an order in orderIds is not the named client's (the whole call is refused, nothing is paid)" },
      404: { description: 'not_found: an order in orderIds does not exist (the whole call is refused, nothing is paid)' },
    },
    handler: ({ body }) => payments.payBalances(body.clientId, body.orderIds, body.funding),
  });

  defineRoute(app, {
    method: 'POST',
    path: '/v1/clients/:clientId/top-ups',
    roles: ['backend'],
    tags: ['payments'],
    summary: "Top up a client's account from an external payment (L5)",
    params: ClientIdParams,
    body: TopUpBody,
    responses: { 201: { description: 'credited', schema: TopUpResult }, 200: { description: 'this paymentRef was already credited', schema: TopUpResult } },
    handler: async ({ params: { clientId }, body: { paymentRef, amountFen } }, _request, reply) => {
      const { created, balanceFen } = await payments.topUp(clientId, paymentRef, amountFen);
      return reply.code(created ? 201 : 200).send({ clientId, paymentRef, amountFen, balanceFen });
    },
  });

  return orders;
}

/** Optional fields the caller left out stay out of the command (and of the workflow's history). */
function withoutUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
