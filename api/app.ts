import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Client } from '@temporalio/client';
import type { z} from 'zod';
import { type ZodType } from 'zod';
import type { Db } from '../db/connect';
import { sql } from 'kysely';
import { ApiError } from './errors';
import {
  AcceptBody,
  ActorBody,
  ActorReasonBody,
  BalancePaymentsBody,
  CancelResponseBody,
  ClientIdParams,
  ClockAdvanceBody,
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
import { createPaymentsService } from './payments-service';
import type { TaskCommandType } from '../workflows/task-order-api';
import { createTaskOrderService } from './task-order-service';
import { listTaskOrderRows } from '../db/task-orders';
import { taskOrderJson, taskOrderSummaryJson } from './views';

/** The sandbox's test clock (SPEC §9): present only when Temporal is the time-skipping server. */
export interface SandboxClock {
  nowMs(): Promise<number>;
  advance(ms: number): Promise<void>;
}

export interface AppDeps {
  readonly db: Db;
  readonly client: Client;
  readonly taskQueue: string;
  readonly clock?: SandboxClock;
  readonly logger?: boolean;
}

const MAX_BODY_BYTES = 64 * 1024;

export function buildApp({ db, client, taskQueue, clock, logger = false }: AppDeps): FastifyInstance {
  const app = Fastify({ logger, bodyLimit: MAX_BODY_BYTES });
  const orders = createTaskOrderService({ db, client, taskQueue });
  const payments = createPaymentsService({ db, orders });

  app.setReplySerializer((payload) => JSON.stringify(payload, jsonBigInt));
  app.setErrorHandler((error, _request, reply) => sendError(reply, error, app));
  app.setNotFoundHandler((request, reply) => sendError(reply, new ApiError('not_found', `no route ${request.method} ${request.url}`), app));

  app.get('/health', async () => {
    await sql`select 1`.execute(db);
    return { status: 'ok' };
  });

  app.post('/v1/task-orders', async (request, reply) => {
    const placement = parse(PlaceTaskOrderBody, request.body);
    const { created, order } = await orders.place(placement);
    return reply.code(created ? 201 : 200).send(taskOrderJson(order));
  });

  app.get('/v1/task-orders', async (request) => {
    const { cursor, limit, ...filter } = parse(ListTaskOrdersQuery, request.query);
    const rows = await listTaskOrderRows(db, { ...filter, ...(cursor ? { after: cursor } : {}), limit });
    const last = rows.length === limit ? rows[rows.length - 1] : undefined;
    return { orders: rows.map(taskOrderSummaryJson), nextCursor: last ? encodeListCursor(last.placed_at, last.order_id) : null };
  });

  app.get('/v1/task-orders/:orderId', async (request) => {
    const { orderId } = parse(OrderIdParams, request.params);
    return taskOrderJson(await orders.findOrder(orderId));
  });

  /** Each §8 command route: its path, its body schema, and the workflow command it becomes. */
  const commandRoute = <S extends ZodType>(path: string, schema: S, type: TaskCommandType) =>
    app.post(`/v1/task-orders/:orderId/${path}`, async (request) => {
      const { orderId } = parse(OrderIdParams, request.params);
      const args = withoutUndefined(parse(schema, request.body) as Record<string, unknown>);
      return taskOrderJson(await orders.command(orderId, type, args as never));
    });
  commandRoute('accept', AcceptBody, 'accept');
  commandRoute('reject', ActorReasonBody, 'reject');
  commandRoute('remind', ActorBody, 'remind');
  commandRoute('restore-price', ActorBody, 'restore_price');
  commandRoute('pay-balance', PayBalanceBody, 'pay_balance');
  commandRoute('videos', UploadVideoBody, 'upload_video');
  commandRoute('reviews', ReviewBody, 'review');
  commandRoute('publish', PublishBody, 'publish');
  commandRoute('cancel', ActorReasonBody, 'cancel');
  commandRoute('cancel-response', CancelResponseBody, 'cancel_response');

  app.post('/v1/balance-payments', async (request) => {
    const { clientId, orderIds, funding } = parse(BalancePaymentsBody, request.body);
    return payments.payBalances(clientId, orderIds, funding);
  });

  app.post('/v1/clients/:clientId/top-ups', async (request, reply) => {
    const { clientId } = parse(ClientIdParams, request.params);
    const { paymentRef, amountFen } = parse(TopUpBody, request.body);
    const { created, balanceFen } = await payments.topUp(clientId, paymentRef, amountFen);
    return reply.code(created ? 201 : 200).send({ clientId, paymentRef, amountFen, balanceFen });
  });

  if (clock) {
    app.get('/v1/sandbox/clock', async () => ({ now: new Date(await clock.nowMs()).toISOString() }));
    app.post('/v1/sandbox/clock/advance', async (request) => {
      const advanceMs = parse(ClockAdvanceBody, request.body);
      await clock.advance(advanceMs);
      return { advancedMs: advanceMs, now: new Date(await clock.nowMs()).toISOString() };
    });
  }
  return app;
}

/** Optional fields the caller left out stay out of the command (and of the workflow's history). */
function withoutUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

function parse<S extends ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (!result.success) {
    throw new ApiError('validation_failed', 'the request is not valid', result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  return result.data;
}

function sendError(reply: FastifyReply, error: unknown, app: FastifyInstance) {
  if (error instanceof ApiError) return reply.code(error.status).send(error.toBody());
  const status = (error as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own refusals: malformed JSON, a body too large, a wrong content type.
    return reply.code(400).send(new ApiError('validation_failed', (error as Error).message).toBody());
  }
  app.log.error(error);
  return reply.code(500).send({ error: { code: 'internal', message: 'internal error' } });
}

function jsonBigInt(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('amount beyond JSON integers');
  return Number(value);
}
