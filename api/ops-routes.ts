import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { OPS_CANCEL_OUTCOMES } from '../domain/task-order/types';
import type { Db } from '../db/connect';
import { getBoostOrderRow } from '../db/boost-orders';
import { fromStoredJson } from '../domain/json';
import { BoostOrderIdParams } from './boost-routes';
import { ApiError } from './errors';
import type { OpsService } from './ops-service';
import { defineRoute } from './routes';
import { Id, OrderIdParams } from './schemas';
import type { TaskOrderService } from './task-order-service';
import { taskOrderJson } from './views';

const Reason = z.string().trim().min(1).max(500);

/** O4: each action names the operator and the reason; both are recorded in the order's events. */
export const OpsActionBody = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('arbitrate'), operator: Id, decision: z.enum(['confirm', 'decline']), reason: Reason }),
  z.strictObject({ action: z.literal('cancel'), operator: Id, outcome: z.enum(OPS_CANCEL_OUTCOMES), reason: Reason }),
]);

export function registerOpsRoutes(app: FastifyInstance, { db, ops, orders }: { db: Db; ops: OpsService; orders: TaskOrderService }): void {
  defineRoute(app, {
    method: 'GET',
    path: '/v1/ops/stuck',
    roles: ['ops'],
    tags: ['ops'],
    summary: 'O1: stuck orders, each with its reason',
    responses: { 200: { description: 'the stuck list' } },
    handler: () => ops.stuck(),
  });

  defineRoute(app, {
    method: 'GET',
    path: '/v1/ops/orders/:orderId',
    roles: ['ops'],
    tags: ['ops'],
    summary: 'O2: an order: state, pending deadlines, events, ledger transactions and Temporal\'s description',
    params: OrderIdParams,
    responses: { 200: { description: 'the inspection' } },
    handler: async ({ params }) => ({ kind: 'task', order: taskOrderJson(await orders.findOrder(params.orderId)), ...(await ops.inspect(params.orderId)) }),
  });

  defineRoute(app, {
    method: 'GET',
    path: '/v1/ops/boost-orders/:boostOrderId',
    roles: ['ops'],
    tags: ['ops'],
    summary: 'O2: a boost order: state, pending deadlines, events, ledger transactions and Temporal\'s description',
    params: BoostOrderIdParams,
    responses: { 200: { description: 'the inspection' } },
    handler: async ({ params }) => {
      const row = await getBoostOrderRow(db, params.boostOrderId);
      if (!row) throw new ApiError('not_found', `boost order ${params.boostOrderId} not found`);
      return { kind: 'boost', order: fromStoredJson(row.details), ...(await ops.inspectBoost(params.boostOrderId)) };
    },
  });

  defineRoute(app, {
    method: 'POST',
    path: '/v1/ops/orders/:orderId/actions',
    roles: ['ops'],
    tags: ['ops'],
    summary: 'O4: decide an arbitration, or cancel an order with one of the money outcomes of T6–T21',
    params: OrderIdParams,
    body: OpsActionBody,
    responses: { 200: { description: 'the order after the action' } },
    handler: async ({ params, body }) => {
      const row =
        body.action === 'arbitrate'
          ? await orders.command(params.orderId, 'arbitrate', { operator: body.operator, decision: body.decision, reason: body.reason })
          : await orders.command(params.orderId, 'ops_cancel', { operator: body.operator, outcome: body.outcome, reason: body.reason });
      return taskOrderJson(row);
    },
  });
}
