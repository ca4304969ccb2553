import type { FastifyInstance, preHandlerAsyncHookHandler, preHandlerHookHandler } from 'fastify';
import { z } from 'zod';
import { auditLedger, type AuditOptions } from '../db/audit/audit';
import type { WorkflowOutcomes } from '../db/audit/audit-orders';
import type { Db } from '../db/connect';
import { accountStatement, decodeStatementCursor, listTransactions, openTransfersExport, type StreamReadLimits, trialBalance } from '../db/finance';
import { PLATFORM_ACCOUNTS, isAccountId } from '../domain/ledger/accounts';
import { ApiError } from './errors';
import { acquireOrRefuse, createReadGuards, type ReadGuards } from './rate-limit';
import { abortWhenClientLeaves, pagedStream, sendPagedStream } from './stream-reply';
import { AccountStatement, AuditReport, TransactionPage, TrialBalance } from './responses';
import { defineRoute } from './routes';
import { Id, Instant, QueryLimit } from './schemas';

/** Finance's routes (SPEC §7 F1–F4, §8). */
export interface FinanceRoutesDeps {
  readonly db: Db;
  /**
   * Runs before every finance route, after the role check (api/auth.ts: `finance`, and `backend`
   * for an account's balance and statement, so the backend can show a client its balance).
   */
  readonly preHandler?: FinancePreHandler | FinancePreHandler[];
  /** L6: the closed orders' workflow outcomes (api/workflow-outcomes.ts); without them the audit says it did not compare. */
  readonly workflows?: WorkflowOutcomes;
  /** Issue 18: this instance's limits on audits and exports (default: from the environment, api/rate-limit.ts). */
  readonly guards?: ReadGuards;
  /** Tuning of the audit (tests make it slow enough to abandon). */
  readonly audit?: Pick<AuditOptions, 'batchSize' | 'workflowConcurrency' | 'workerThreads'>;
  /** Tuning of the export: page size, database timeouts (a stalled reader's limit is in guards). */
  readonly export?: { readonly batchSize?: number; readonly limits?: StreamReadLimits };
}

export type FinancePreHandler = preHandlerHookHandler | preHandlerAsyncHookHandler;

/** Accounts that exist before any transfer (L2): the platform's and the payment provider's. */
const SYSTEM_ACCOUNTS: ReadonlySet<string> = new Set(Object.values(PLATFORM_ACCOUNTS));

const Limit = QueryLimit(500, 100);

const AccountParams = z.strictObject({
  account: z
    .string()
    .refine(isAccountId, 'an account is client:{id}, creator:{id}, escrow:task:{orderId}, escrow:boost:{boostOrderId}, platform:service_fees, platform:forfeited_deposits, platform:boost_premiums or external:payments'),
});

const StatementQuery = z.strictObject({
  cursor: z
    .string()
    .transform((value, ctx) => {
      const position = decodeStatementCursor(value);
      if (!position) ctx.addIssue({ code: 'custom', message: 'not a cursor from a previous page (nextCursor)' });
      return position ?? z.NEVER;
    })
    .optional(),
  limit: Limit,
});

const SeqCursor = z
  .string()
  .regex(/^\d{1,18}$/, 'not a cursor from a previous page (nextCursor)')
  .transform((v) => BigInt(v));

const fromBeforeTo = (q: { from?: string | undefined; to?: string | undefined }) => q.from === undefined || q.to === undefined || Date.parse(q.from) < Date.parse(q.to);

const TransactionsQuery = z
  .strictObject({
    from: Instant.optional().describe('transactions that occurred at or after this instant; must be before `to` (else 400)'),
    to: Instant.optional(),
    orderId: Id.optional(),
    cursor: SeqCursor.optional(),
    limit: Limit,
  })
  .refine(fromBeforeTo, { message: 'from must be before to', path: ['from'] });

const ExportQuery = z.strictObject({ from: Instant.describe('the range starts here (inclusive); must be before `to` (else 400)'), to: Instant.describe('the range ends here (exclusive)') }).refine(fromBeforeTo, { message: 'from must be before to', path: ['from'] });

const NoQuery = z.strictObject({});

// F3 at scale: `sinceCheckpoint=true` audits only what came after the latest checkpoint (db/audit/audit.ts).
const AuditQuery = z.strictObject({ sinceCheckpoint: z.enum(['true', 'false']).optional() });

export function registerFinanceRoutes(app: FastifyInstance, deps: FinanceRoutesDeps): void {
  const { db, preHandler, workflows } = deps;
  const guards = deps.guards ?? createReadGuards();
  const options = preHandler ? { preHandler } : {};
  /** The expensive reads: the finance pre-handlers, then a per-token rate limit of their own. */
  const limited = (what: string) => ({ preHandler: [...(preHandler === undefined ? [] : Array.isArray(preHandler) ? preHandler : [preHandler]), guards.perToken(what)] });
  const tags = ['ledger'];

  // F1: balance and statement (oldest first, paged) of any account.
  defineRoute(app, {
    ...options,
    method: 'GET',
    path: '/v1/ledger/accounts/:account',
    roles: ['finance', 'backend'],
    tags,
    summary: "An account's balance and statement, oldest entry first, paged (F1)",
    description:
      'An account exists once a transfer has touched it; the system accounts (platform:…, external:payments) always exist. ' +
      'Any other account is 404 not_found: a client that never paid in nor got a refund has no account yet.',
    params: AccountParams,
    query: StatementQuery,
    responses: {
      200: { description: 'the balance and one page of entries', schema: AccountStatement },
      404: { description: 'not_found: no transfer ever touched this account (and it is not a system account)' },
    },
    handler: async ({ params: { account }, query: { cursor, limit } }) => {
      const statement = await accountStatement(db, account, { ...(cursor ? { after: cursor } : {}), limit });
      // The first page holds the oldest entries: empty means no transfer ever touched the account.
      if (!cursor && statement.entries.length === 0 && !SYSTEM_ACCOUNTS.has(account)) throw new ApiError('not_found', `account ${account} has no transfers: it does not exist (F1)`);
      return {
        account: statement.account,
        balanceFen: statement.balanceFen,
        entries: statement.entries.map((e) => ({
          seq: e.seq,
          txId: e.txId,
          transferIndex: e.transferIndex,
          kind: e.kind,
          orderId: e.orderId,
          occurredAt: e.occurredAt.toISOString(),
          counterparty: e.counterparty,
          direction: e.direction,
          amountFen: e.amountFen,
          balanceAfterFen: e.balanceAfterFen,
        })),
        nextCursor: statement.nextCursor,
      };
    },
  });

  // F2: every account's balance; the total is zero.
  defineRoute(app, {
    ...options,
    method: 'GET',
    path: '/v1/ledger/trial-balance',
    roles: ['finance'],
    tags,
    summary: "Every account's balance; the total is zero (F2)",
    query: NoQuery,
    responses: { 200: { description: 'the trial balance', schema: TrialBalance } },
    handler: () => trialBalance(db),
  });

  defineRoute(app, {
    ...options,
    method: 'GET',
    path: '/v1/ledger/transactions',
    roles: ['finance'],
    tags,
    summary: 'Ledger transactions in ledger order, filtered by time range or order, paged',
    query: TransactionsQuery,
    responses: { 200: { description: 'one page of transactions', schema: TransactionPage } },
    handler: async ({ query: q }) => {
      const filter = {
        ...(q.from === undefined ? {} : { from: new Date(q.from) }),
        ...(q.to === undefined ? {} : { to: new Date(q.to) }),
        ...(q.orderId === undefined ? {} : { orderId: q.orderId }),
      };
      const page = await listTransactions(db, filter, { ...(q.cursor === undefined ? {} : { afterSeq: q.cursor }), limit: q.limit });
      return {
        transactions: page.transactions.map((t) => ({ ...t, occurredAt: t.occurredAt.toISOString(), recordedAt: t.recordedAt.toISOString() })),
        nextCursor: page.nextCursor,
      };
    },
  });

  // F3: re-verify hash chains, double entry, immutability and L6.
  defineRoute(app, {
    ...limited('audits'),
    method: 'GET',
    path: '/v1/ledger/audit',
    roles: ['finance'],
    tags,
    summary: 'Audit: re-verify hash chains, double entry, immutability and L6 for every closed order (F3)',
    description:
      'Expensive: one audit at a time per API instance (another answers 429 rate_limited with Retry-After), rate limited per token; ' +
      'an audit whose client disconnects stops at its next batch and records no checkpoint.',
    query: AuditQuery,
    responses: { 200: { description: 'the audit report', schema: AuditReport } },
    handler: async ({ query }, _request, reply) => {
      const release = acquireOrRefuse(guards.audits, reply, 'audits');
      const client = abortWhenClientLeaves(reply);
      try {
        return await auditLedger(db, { ...deps.audit, ...(workflows ? { workflows } : {}), sinceCheckpoint: query.sinceCheckpoint === 'true', signal: client.signal });
      } catch (error) {
        if (client.signal.aborted) return reply; // nobody to answer: the audit stopped for that
        throw error;
      } finally {
        client.dispose();
        release();
      }
    },
  });

  // F4: one CSV line per transfer of the transactions that occurred in [from, to).
  defineRoute(app, {
    ...limited('exports'),
    method: 'GET',
    path: '/v1/ledger/export.csv',
    roles: ['finance'],
    tags,
    summary: 'Export the transfers of the transactions that occurred in [from, to) as CSV (F4)',
    description:
      'Streamed page by page, each page its own short query: the export holds no database connection while the client reads, and ' +
      'includes the transactions up to the highest seq at its start. At most a few exports stream at once per API instance ' +
      '(another answers 429 rate_limited with Retry-After); a client that reads nothing for a minute is disconnected.',
    query: ExportQuery,
    responses: { 200: { description: 'RFC 4180 CSV, one line per transfer', contentType: 'text/csv' } },
    handler: async ({ query: { from, to } }, request, reply) => {
      const release = acquireOrRefuse(guards.exports, reply, 'exports');
      try {
        const exporting = await openTransfersExport(db, { from: new Date(from), to: new Date(to) }, { ...deps.export });
        const body = pagedStream(exporting.next, (error) => request.log.error({ err: error }, 'export failed midway; the response is cut short'));
        const name = `ledger-${from.replace(/[^0-9TZ]/g, '')}-${to.replace(/[^0-9TZ]/g, '')}.csv`;
        reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`);
        return sendPagedStream(request, reply, body, { stallTimeoutMs: guards.limits.exportStallTimeoutMs, onClose: release });
      } catch (error) {
        release(); // nothing streams: the slot is free again
        throw error;
      }
    },
  });
}
