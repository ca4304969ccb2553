import { z } from 'zod';
import { API_ERROR_STATUS, type ApiErrorCode } from './errors';
import { CANCEL_REASONS, PAYMENT_MODES, TASK_STATUSES, TASK_TYPES } from '../domain/task-order/types';

/**
 * The bodies the API answers with, for the OpenAPI document (api/openapi.ts). They describe what
 * api/views.ts and the routes produce; test/fuzz.e2e.test.ts checks real responses against them.
 */

const Fen = z.number().int().describe('an amount in fen (CNY 0.01)');
const NonNegativeFen = Fen.min(0);
const At = z.string().describe('an instant, ISO 8601 UTC');
const Loose = z.looseObject({});

/** SPEC §8: every refusal. */
export const ErrorBody = z.strictObject({
  error: z.looseObject({
    code: z.enum(Object.keys(API_ERROR_STATUS) as [ApiErrorCode, ...ApiErrorCode[]]),
    message: z.string(),
    details: z.unknown().optional(),
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

export const TaskOrderView = TaskOrderSummary.extend({
  creatorId: z.string(),
  taskType: z.enum(TASK_TYPES),
  paymentMode: z.enum(PAYMENT_MODES),
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
  latestUpload: Loose.nullable(),
  publishedVideo: Loose.nullable(),
  publishOverdue: z.boolean(),
  pendingCancellation: Loose.nullable(),
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
    z.looseObject({
      seq: z.number().int(),
      txId: z.string(),
      kind: z.string(),
      orderId: z.string().nullable(),
      externalPaymentRef: z.string().nullable(),
      occurredAt: At,
      recordedAt: At,
      transfers: z.array(z.object({ transferIndex: z.number().int(), debitAccount: z.string(), creditAccount: z.string(), amountFen: NonNegativeFen })),
    }),
  ),
  nextCursor: z.string().nullable(),
});

export const AuditReport = z.looseObject({
  ok: z.boolean(),
  checkedTransactions: z.number().int(),
  checkedChains: z.number().int(),
  checkedOrders: z.number().int(),
  reconciledOrders: z.number().int(),
  orders: z.object({
    task: z.object({ checked: z.number().int(), reconciled: z.number().int() }),
    boost: z.object({ checked: z.number().int(), reconciled: z.number().int() }),
  }),
  workflows: z
    .object({
      compared: z.number().int().describe("closed orders whose workflow's final state was compared with their events (L6)"),
      running: z.number().int().describe('closed orders whose workflow had not returned yet'),
      unavailable: z.number().int().describe('closed orders Temporal could not answer for (past retention, or unreachable)'),
      skipped: z.string().optional(),
    })
    .describe("L6 against the workflows' final states"),
  discrepancyCount: z.number().int(),
  discrepancies: z.array(z.looseObject({ kind: z.string(), message: z.string() })),
});

/** A placement whose workflow runs but whose payment is not saved yet (SPEC §8: never hang). */
export const PlacementPending = z.object({ orderId: z.string(), status: z.literal('placing') });
