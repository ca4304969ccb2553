import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Db } from '../db/connect';
import type { BoostPolicy } from '../domain/boost/policy';
import { CHECKOUT_STATUSES, MAX_CHECKOUT_LINES, type CheckoutState } from '../domain/checkout';
import { TASK_TYPES, PAYMENT_MODES } from '../domain/task-order/types';
import type { TaskPolicy } from '../domain/task-order/policy';
import { createCheckoutService, type CheckoutService } from './checkout-service';
import { At, Fen } from './responses';
import { defineRoute } from './routes';
import { AmountFen, Funding, Id, Instant, Text } from './schemas';
import { iso } from './views';

/** Checkouts (SPEC C1–C5): the brand's basket, placed and paid once, all or nothing. */
export interface CheckoutRoutesDeps {
  readonly db: Db;
  readonly client: Client;
  readonly taskQueue: string;
  readonly nowMs: () => Promise<number>;
  readonly taskPolicy?: TaskPolicy | undefined;
  readonly boostPolicy?: BoostPolicy | undefined;
  readonly waitMs?: number | undefined;
}

// ── Requests ─────────────────────────────────────────────────────────────────────────────────
const CheckoutLine = z.strictObject({
  orderId: Id,
  creatorId: Id,
  taskType: z.enum(TASK_TYPES),
  priceFen: AmountFen,
  brief: z.strictObject({ title: Text(200), industry: Text(64), expectedPublishAt: Instant }),
  boost: z.strictObject({ boostOrderId: Id, quoteId: Id }).optional().describe('B3: order a boost for this line, citing a valid quote for its creator and price'),
});

export const CheckoutBody = z.strictObject({
  checkoutId: Id,
  clientId: Id,
  paymentMode: z.enum(PAYMENT_MODES),
  funding: Funding,
  lines: z.array(CheckoutLine).min(1).max(MAX_CHECKOUT_LINES),
});

export const CheckoutIdParams = z.strictObject({ checkoutId: Id });

// ── Responses ────────────────────────────────────────────────────────────────────────────────
const NonNegativeFen = Fen.min(0);
const Refusal = z.object({ lineIndex: z.number().int().min(0).nullable().describe('the first line that failed; null: the whole checkout (e.g. its payment)'), code: z.string(), message: z.string() });

export const CheckoutPreviewView = z.object({
  lines: z.array(
    z.object({
      lineIndex: z.number().int().min(0),
      orderId: z.string(),
      creatorId: z.string(),
      priceFen: NonNegativeFen,
      serviceFeeFen: NonNegativeFen,
      placementFen: NonNegativeFen.describe('what the placement pays now (T3: price + fee; T4: the fee)'),
      boost: z
        .object({ boostOrderId: z.string(), quoteId: z.string(), available: z.boolean(), reason: z.string().nullable(), boostFeeFen: NonNegativeFen.nullable(), expectedViews: z.number().int().nullable() })
        .nullable(),
      lineTotalFen: NonNegativeFen,
    }),
  ),
  totalFen: NonNegativeFen,
  refusal: Refusal.nullable().describe('C3: why POST /v1/checkouts would be refused now (the first failing line), or null'),
});

export const CheckoutView = z.object({
  checkoutId: z.string(),
  clientId: z.string(),
  status: z.enum(CHECKOUT_STATUSES),
  paymentMode: z.enum(PAYMENT_MODES),
  totalFen: NonNegativeFen,
  escrowFen: NonNegativeFen.describe('what escrow:checkout:{id} holds: 0 once every line is placed (C4, L6)'),
  lines: z.array(
    z.object({
      lineIndex: z.number().int().min(0),
      orderId: z.string(),
      creatorId: z.string(),
      taskType: z.enum(TASK_TYPES),
      priceFen: NonNegativeFen,
      lineTotalFen: NonNegativeFen.nullable(),
      orderPlaced: z.boolean(),
      boost: z.object({ boostOrderId: z.string(), quoteId: z.string(), boostFeeFen: NonNegativeFen.nullable(), boostPlaced: z.boolean() }).nullable(),
    }),
  ),
  failure: Refusal.nullable(),
  createdAt: At.nullable(),
  completedAt: At.nullable(),
  version: z.number().int().min(0),
});

/** The checkout as the API shows it: its lines with their order and boost ids and the money (C5). */
export function checkoutJson(state: CheckoutState) {
  const priced = new Map(state.lines.map((l) => [l.line.orderId, l]));
  return {
    checkoutId: state.checkoutId,
    clientId: state.clientId,
    status: state.status,
    paymentMode: state.paymentMode,
    totalFen: state.totalFen,
    escrowFen: state.escrowFen,
    lines: state.requestLines.map((line, lineIndex) => {
      const placed = priced.get(line.orderId);
      return {
        lineIndex,
        orderId: line.orderId,
        creatorId: line.creatorId,
        taskType: line.taskType,
        priceFen: line.priceFen,
        lineTotalFen: placed?.line.lineTotalFen ?? null,
        orderPlaced: placed?.taskPlaced ?? false,
        boost: line.boost ? { ...line.boost, boostFeeFen: placed?.line.boostTerms?.boostFeeFen ?? null, boostPlaced: placed?.boostPlaced ?? false } : null,
      };
    }),
    failure: state.failure ? { lineIndex: state.failure.lineIndex ?? null, code: state.failure.rejection.code, message: state.failure.rejection.message } : null,
    createdAt: state.version === 0 ? null : iso(state.createdAt),
    completedAt: iso(state.completedAt),
    version: state.version,
  };
}

export function registerCheckoutRoutes(app: FastifyInstance, deps: CheckoutRoutesDeps): CheckoutService {
  const { taskPolicy, boostPolicy, waitMs, ...rest } = deps;
  const checkouts = createCheckoutService({ ...rest, ...(taskPolicy ? { taskPolicy } : {}), ...(boostPolicy ? { boostPolicy } : {}), ...(waitMs === undefined ? {} : { waitMs }) });
  const tags = ['checkouts'];

  defineRoute(app, {
    method: 'POST',
    path: '/v1/checkouts/preview',
    roles: ['backend'],
    tags,
    summary: "Price a basket: each line's amounts, each boost's availability, the total; changes nothing (C2)",
    body: CheckoutBody,
    responses: { 200: { description: 'the priced basket, and why it would be refused now (or null)', schema: CheckoutPreviewView } },
    handler: async ({ body }) => checkouts.preview(body),
  });

  defineRoute(app, {
    method: 'POST',
    path: '/v1/checkouts',
    roles: ['backend'],
    tags,
    summary: 'Place a basket of task orders (some boosted) and pay once: every line placed, or nothing (C1–C4)',
    description:
      'Every line is checked, then the total is paid once into escrow:checkout:{id}, then each line is placed as its own task order (and boost order) funded from it. ' +
      'A refusal names the first failing line in details.lineIndex and leaves no order and no money. The same checkoutId with the same content answers the same outcome; ' +
      'with another content 409 invalid_state. After 30 s the answer is 202 with the checkout as it stands; its lines are placed all the same.',
    body: CheckoutBody,
    responses: {
      201: { description: 'every line placed and the total paid', schema: CheckoutView },
      200: { description: 'already placed with this content', schema: CheckoutView },
      202: { description: 'paid or being paid; its lines are still being placed: GET it later', schema: CheckoutView },
    },
    handler: async ({ body }, _request, reply) => {
      const { created, pending, state } = await checkouts.place(body);
      return reply.code(pending ? 202 : created ? 201 : 200).send(checkoutJson(state));
    },
  });

  defineRoute(app, {
    method: 'GET',
    path: '/v1/checkouts/:checkoutId',
    roles: ['backend', 'ops', 'finance'],
    tags,
    summary: 'A checkout with its lines, their order and boost ids, and the money (C5)',
    params: CheckoutIdParams,
    responses: { 200: { description: 'the checkout', schema: CheckoutView } },
    handler: async ({ params }) => checkoutJson(await checkouts.find(params.checkoutId)),
  });

  return checkouts;
}
