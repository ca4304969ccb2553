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
  ClockAdvanceBody,
  OrderIdParams,
  PlaceTaskOrderBody,
} from './schemas';
import { createTaskOrderService } from './task-order-service';
import { taskOrderJson } from './views';

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

  app.get('/v1/task-orders/:orderId', async (request) => {
    const { orderId } = parse(OrderIdParams, request.params);
    return taskOrderJson(await orders.findOrder(orderId));
  });

  app.post('/v1/task-orders/:orderId/accept', async (request) => {
    const { orderId } = parse(OrderIdParams, request.params);
    const body = parse(AcceptBody, request.body);
    return taskOrderJson(await orders.command(orderId, 'accept', body.newPriceFen === undefined ? { actor: body.actor } : body));
  });
  for (const type of ['reject', 'cancel'] as const) {
    app.post(`/v1/task-orders/:orderId/${type}`, async (request) => {
      const { orderId } = parse(OrderIdParams, request.params);
      const { actor, reason } = parse(ActorReasonBody, request.body);
      return taskOrderJson(await orders.command(orderId, type, reason === undefined ? { actor } : { actor, reason }));
    });
  }
  app.post('/v1/task-orders/:orderId/remind', async (request) => {
    const { orderId } = parse(OrderIdParams, request.params);
    return taskOrderJson(await orders.command(orderId, 'remind', parse(ActorBody, request.body)));
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
