import { ORDER_KINDS } from '../domain/order-kind';
import { z } from 'zod';
import { API_ROLES } from '../platform/config';
import { API_ERROR_STATUS, type ApiErrorCode } from './errors';
import { CANCEL_REASONS, PAYMENT_MODES, TASK_STATUSES, TASK_TYPES } from '../domain/task-order/types';

/**
 * The bodies the API answers with, for the OpenAPI document (api/openapi.ts). They describe what
 * api/views.ts and the routes produce; test/fuzz.e2e.test.ts checks real responses against them.
 */

/**
 * An amount or total in a response: a JSON integer of fen with no upper bound (issue 18: totals
 * may pass 2^53 and are written exactly, platform/exact-json.ts; a JavaScript client reads them with
 * client/json.ts). `int64` tells api/openapi.ts to drop the ±2^53 bounds zod puts on integers.
 */
export const Fen = z.number().int().meta({ format: 'int64' }).describe('an amount in fen (CNY 0.01); may exceed 2^53 (read it exactly: docs/ledger.md)');
const NonNegativeFen = Fen.min(0);
/** SPEC §1: every instant in a response is an ISO 8601 UTC string (what `Date#toISOString` writes). */
export const At = z.iso.datetime().describe('an instant, ISO 8601 UTC');
/** A calendar date (Asia/Shanghai), for the business-day rules (B4, B7). */
export const CalendarDate = z.iso.date().describe('a calendar date in Asia/Shanghai, YYYY-MM-DD');

/** A value inside a refusal's details or an event's payload: JSON, at most three levels deep. */
const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const Json1 = z.union([Scalar, z.array(Scalar), z.record(z.string(), Scalar)]);
export const JsonValue = z.union([Scalar, z.array(z.union([Json1, z.record(z.string(), Json1)])), z.record(z.string(), z.union([Json1, z.record(z.string(), Json1)]))]);

/** The details of a 400: one entry per problem in the request. */
const ValidationIssue = z.object({ path: z.string().describe('where in the request, dot-separated (empty: the whole body)'), message: z.string() });

/** SPEC §8: every refusal. */
export const ErrorBody = z.strictObject({
  error: z.strictObject({
    code: z.enum(Object.keys(API_ERROR_STATUS) as [ApiErrorCode, ...ApiErrorCode[]]),
    message: z.string(),
    details: z
      .union([z.array(ValidationIssue), z.record(z.string(), Json1)])
      .optional()
      .describe('validation_failed: the problems in the request; a business refusal: the figures it was decided on (amounts in fen as integers, instants as ISO strings)'),
  }),
});

/** SPEC §10: one dependency as GET /health saw it. */
export const DependencyHealth = z.object({
  status: z.enum(['up', 'down']),
  latencyMs: z.number().int().min(0).describe('how long the check took (each check gives up after a short timeout)'),
  reason: z.enum(['unreachable', 'timeout', 'error']).optional().describe('why it is down (details are in the API log)'),
});

/** SPEC §10: `ok` (200) when every dependency is up, else `unavailable` (503). */
export const Health = z.object({
  status: z.enum(['ok', 'unavailable']),
  dependencies: z.object({ postgres: DependencyHealth, temporal: DependencyHealth }),
});

export const TaskOrderSummary = z.object({
  orderId: z.string(),
  title: z.string(),
  clientId: z.string(),
  industry: z.string(),
  priceFen: NonNegativeFen,
  createdAt: At,
  expectedPublishAt: At,
  status: z.enum(TASK_STATUSES),
});

export const PartyActor = z.object({ type: z.enum(['client', 'creator']), id: z.string() });

const LatestUpload = z.object({
  uploadNo: z.number().int().min(1),
  draftId: z.string().nullable(),
  videoUrl: z.string().nullable(),
  uploadedAt: At,
});

const PublishedVideo = z.object({ videoId: z.string(), publishedAt: At.describe('when the creator published it (T18), normalised to UTC') });

const PendingCancellation = z.object({
  by: PartyActor.describe('who asked: the client (T20) or the creator (T21)'),
  reason: z.string().nullable(),
  requestedAt: At,
  answerDueAt: At.describe('T22: the counterparty answers by then, else ops arbitrate'),
  escalated: z.boolean().describe('T22: no answer in time; waiting for ops (O4)'),
  escalatedAt: At.nullable(),
});

export const TaskOrderView = TaskOrderSummary.extend({
  creatorId: z.string(),
  taskType: z.enum(TASK_TYPES),
  paymentMode: z.enum(PAYMENT_MODES),
  checkoutId: z.string().nullable().describe('C5: the checkout that placed this order, if one did'),
  originalPriceFen: NonNegativeFen,
  serviceFeeFen: NonNegativeFen,
  depositFen: NonNegativeFen,
  paidInFen: NonNegativeFen.describe('everything the client paid into the order (stays after it closes; L6)'),
  escrowFen: NonNegativeFen.describe('what the order escrow holds now (0 once the order is closed)'),
  balanceDueFen: NonNegativeFen,
  cancelReason: z.enum(CANCEL_REASONS).nullable(),
  acceptedAt: At.nullable(),
  balancePaidAt: At.nullable(),
  uploads: z.number().int().min(0),
  latestUpload: LatestUpload.nullable().describe('T16: the latest draft (null before the first upload)'),
  publishedVideo: PublishedVideo.nullable().describe('T18: the publication (null until published)'),
  publishOverdue: z.boolean(),
  pendingCancellation: PendingCancellation.nullable().describe('T20–T22: a cancellation request waiting for the counterparty or ops (null when none)'),
  settlement: z.object({ refundFen: NonNegativeFen, creatorFen: NonNegativeFen, serviceFeeFen: NonNegativeFen, forfeitedFen: NonNegativeFen }).nullable(),
  nextDeadline: z.object({ kind: z.string().nullable(), at: At }).nullable(),
  deadlines: z.array(z.object({ kind: z.string(), at: At, consequence: z.string() })),
  version: z.number().int().min(1),
  updatedAt: At,
});

export const TaskOrderList = z.object({ orders: z.array(TaskOrderSummary), nextCursor: z.string().nullable() });

export const TopUpResult = z.object({ clientId: z.string(), paymentRef: z.string(), amountFen: NonNegativeFen, balanceFen: Fen });

export const BalancePaymentsResult = z.object({
  clientId: z.string(),
  results: z.array(
    z.discriminatedUnion('outcome', [
      z.object({ orderId: z.string(), outcome: z.literal('paid'), amountFen: NonNegativeFen }),
      z.object({ orderId: z.string(), outcome: z.literal('already_paid') }),
      z.object({ orderId: z.string(), outcome: z.literal('not_paid'), code: z.string(), message: z.string() }),
    ]),
  ),
  clientBalanceFen: Fen,
});

export const ClockNow = z.object({ now: At });
export const ClockAdvanced = z.object({ advancedMs: z.number().int().min(1), now: At });

export const AccountStatement = z.object({
  account: z.string(),
  balanceFen: Fen,
  entries: z.array(
    z.object({
      seq: z.number().int(),
      txId: z.string(),
      transferIndex: z.number().int(),
      kind: z.string(),
      orderId: z.string().nullable(),
      occurredAt: At,
      counterparty: z.string(),
      direction: z.enum(['debit', 'credit']),
      amountFen: NonNegativeFen,
      balanceAfterFen: Fen,
    }),
  ),
  nextCursor: z.string().nullable(),
});

export const TrialBalance = z.object({
  accounts: z.array(z.object({ account: z.string(), debitsFen: NonNegativeFen, creditsFen: NonNegativeFen, balanceFen: Fen })),
  totalDebitsFen: NonNegativeFen,
  totalCreditsFen: NonNegativeFen,
  totalFen: Fen,
  balanced: z.boolean(),
  transactions: z.number().int().min(0),
  asOfSeq: z.number().int().min(0),
});

export const TransactionPage = z.object({
  transactions: z.array(
    z.object({
      seq: z.number().int(),
      txId: z.string(),
      kind: z.string(),
      orderId: z.string().nullable(),
      externalPaymentRef: z.string().nullable(),
      occurredAt: At,
      recordedAt: At,
      chainId: z.number().int().min(0),
      chainSeq: z.number().int().min(1),
      contentHash: z.string(),
      prevHash: z.string(),
      chainHash: z.string(),
      transfers: z.array(z.object({ transferIndex: z.number().int(), debitAccount: z.string(), creditAccount: z.string(), amountFen: NonNegativeFen })),
    }),
  ),
  nextCursor: z.string().nullable(),
});

export const AuditReport = z.object({
  ok: z.boolean(),
  mode: z.enum(['full', 'incremental']),
  checkedTransactions: z.number().int(),
  checkedChains: z.number().int(),
  checkedOrders: z.number().int(),
  reconciledOrders: z.number().int(),
  orders: z.object({
    task: z.object({ checked: z.number().int(), reconciled: z.number().int() }),
    boost: z.object({ checked: z.number().int(), reconciled: z.number().int() }),
    checkout: z.object({ checked: z.number().int(), reconciled: z.number().int() }),
  }),
  workflows: z
    .object({
      compared: z.number().int().describe("closed orders whose workflow's final state was compared with their events (L6)"),
      running: z.number().int().describe('closed orders whose workflow had not returned yet'),
      unavailable: z.number().int().describe('closed orders Temporal could not answer for (past retention, or unreachable)'),
      skipped: z.string().optional(),
    })
    .describe("L6 against the workflows' final states"),
  checkpoint: z.object({
    from: z.object({ id: z.number().int(), recordedAt: At, mode: z.enum(['full', 'incremental']), eventsWatermark: z.number().int() }).nullable(),
    recorded: z.object({ id: z.number().int(), eventsWatermark: z.number().int() }).nullable(),
    notRecorded: z.string().optional(),
  }),
  discrepancyCount: z.number().int(),
  discrepancies: z.array(
    z.object({
      kind: z.string(),
      txId: z.string().optional(),
      orderId: z.string().optional(),
      orderKind: z.enum(ORDER_KINDS).optional(),
      chainId: z.number().int().optional(),
      account: z.string().optional(),
      message: z.string(),
    }),
  ),
});

/** A placement whose workflow runs but whose payment is not saved yet (SPEC §8: never hang). */
export const PlacementPending = z.object({ orderId: z.string(), status: z.literal('placing') });

/**
 * GET /v1/openapi.json: the document itself, typed down to its operations. The JSON Schemas inside
 * (parameters, bodies, responses) are open objects: a JSON Schema is recursive, and OpenAPI 3.0
 * publishes its own schema for them (https://spec.openapis.org/oas/3.0/schema).
 */
const JsonSchemaObject = z.looseObject({}).describe('a JSON Schema (OpenAPI 3.0 dialect)');
const OpenApiOperationView = z.looseObject({
  operationId: z.string(),
  summary: z.string(),
  description: z.string().optional(),
  tags: z.array(z.string()),
  'x-roles': z.array(z.enum(API_ROLES)),
  security: z.array(z.record(z.string(), z.array(z.string()))),
  parameters: z.array(z.looseObject({ name: z.string(), in: z.enum(['path', 'query', 'header']), required: z.boolean(), description: z.string().optional(), schema: JsonSchemaObject })),
  requestBody: z.looseObject({ required: z.boolean(), content: z.record(z.string(), z.looseObject({ schema: JsonSchemaObject })) }).optional(),
  responses: z.record(
    z.string(),
    z.looseObject({ description: z.string(), content: z.record(z.string(), z.looseObject({ schema: JsonSchemaObject })).optional(), headers: z.record(z.string(), JsonSchemaObject).optional() }),
  ),
});
export const OpenApiDocumentView = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string(), description: z.string() }),
  servers: z.array(z.looseObject({ url: z.string() })),
  tags: z.array(z.looseObject({ name: z.string() })),
  paths: z.record(z.string(), z.record(z.string(), OpenApiOperationView)),
  components: z.looseObject({ securitySchemes: z.record(z.string(), JsonSchemaObject), schemas: z.record(z.string(), JsonSchemaObject) }),
});
