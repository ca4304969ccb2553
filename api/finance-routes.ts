import { PassThrough } from 'node:stream';
import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import { z, type ZodType } from 'zod';
import { auditLedger } from '../db/audit';
import type { Db } from '../db/connect';
import { accountStatement, decodeStatementCursor, exportTransfersCsv, listTransactions, trialBalance } from '../db/finance';
import { isAccountId } from '../domain/ledger/accounts';
import { ApiError } from './errors';
import { Id, Instant } from './schemas';

/** Finance's routes (SPEC §7 F1–F4, §8). */
export interface FinanceRoutesDeps {
  readonly db: Db;
  /**
   * Runs before every finance route, e.g. the role check of issue 6 (allow `finance`, and `ops`
   * where they need it). None yet: the routes are open.
   */
  readonly preHandler?: preHandlerHookHandler | preHandlerHookHandler[];
}

const Limit = z.coerce.number().int().min(1).max(500).default(100);

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
    from: Instant.optional(),
    to: Instant.optional(),
    orderId: Id.optional(),
    cursor: SeqCursor.optional(),
    limit: Limit,
  })
  .refine(fromBeforeTo, { message: 'from must be before to', path: ['from'] });

const ExportQuery = z.strictObject({ from: Instant, to: Instant }).refine(fromBeforeTo, { message: 'from must be before to', path: ['from'] });

const NoQuery = z.strictObject({});

export function registerFinanceRoutes(app: FastifyInstance, { db, preHandler }: FinanceRoutesDeps): void {
  const options = preHandler ? { preHandler } : {};

  // F1: balance and statement (oldest first, paged) of any account.
  app.get('/v1/ledger/accounts/:account', options, async (request) => {
    const { account } = parse(AccountParams, request.params);
    const { cursor, limit } = parse(StatementQuery, request.query);
    const statement = await accountStatement(db, account, { ...(cursor ? { after: cursor } : {}), limit });
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
  });

  // F2: every account's balance; the total is zero.
  app.get('/v1/ledger/trial-balance', options, async (request) => {
    parse(NoQuery, request.query);
    return trialBalance(db);
  });

  app.get('/v1/ledger/transactions', options, async (request) => {
    const q = parse(TransactionsQuery, request.query);
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
  });

  // F3: re-verify hash chains, double entry, immutability and L6.
  app.get('/v1/ledger/audit', options, async (request) => {
    parse(NoQuery, request.query);
    return auditLedger(db);
  });

  // F4: one CSV line per transfer of the transactions that occurred in [from, to).
  app.get('/v1/ledger/export.csv', options, async (request, reply) => {
    const { from, to } = parse(ExportQuery, request.query);
    const body = new PassThrough();
    const write = async (chunk: string) => {
      if (body.destroyed) throw new Error('export aborted: the client went away');
      if (!body.write(chunk)) {
        await new Promise<void>((resolve) => {
          body.once('drain', resolve);
          body.once('close', resolve);
        });
      }
    };
    exportTransfersCsv(db, { from: new Date(from), to: new Date(to) }, write).then(
      () => body.end(),
      (error: unknown) => {
        request.log.error(error);
        body.destroy(error instanceof Error ? error : new Error(String(error)));
      },
    );
    const name = `ledger-${from.replace(/[^0-9TZ]/g, '')}-${to.replace(/[^0-9TZ]/g, '')}.csv`;
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(body);
  });
}

function parse<S extends ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (!result.success) {
    throw new ApiError('validation_failed', 'the request is not valid', result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  return result.data;
}
