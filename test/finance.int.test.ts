import Fastify, { type FastifyInstance, type preHandlerAsyncHookHandler } from 'fastify';
import type { Client } from '@temporalio/client';
import { sql } from 'kysely';
import { createActivities } from '../activities';
import { buildApp } from '../api/app';
import { registerFinanceRoutes } from '../api/finance-routes';
import { auditLedger } from '../db/audit/audit';
import { createDb, type Db } from '../db/connect';
import { EXPORT_CSV_COLUMNS, csvLine, exportTransfersCsv, trialBalance } from '../db/finance';
import { accountBalance, postLedgerTransaction } from '../db/ledger';
import { rebuildTaskOrderReadModels } from '../db/rebuild';
import { DEFAULT_TASK_POLICY, placementEvent, type TaskEvent, type TaskPlacement } from '../domain/task-order';
import { createTestDatabase, type TestDatabase } from './support/db';
import { placement } from './support/fixtures';

let database: TestDatabase;
let db: Db; // the application's role
let owner: Db; // the login user: a superuser here, who can tamper behind the application's back
let app: FastifyInstance;
let baseUrl: string;

const T0 = Date.parse('2025-06-01T00:00:00Z');
const HOUR = 3_600_000;
const creator = { type: 'creator', id: 'creator-1' } as const;
const FINANCE_TOKEN = 'finance_test_token_0123456789abcdef';

/** Appends events to an order through the activity, as the workflow does (E1). */
async function record(orderId: string, events: Array<{ at: number; event: TaskEvent }>, fromVersion = 1): Promise<void> {
  await createActivities({ db }).recordTaskEvents({
    orderId,
    causation: 'test',
    events: events.map(({ at, event }, i) => ({ version: fromVersion + i, occurredAt: at, event })),
  });
}

const orders: Record<'cancelled' | 'open' | 'deposit' | 'completed', TaskPlacement> = {
  cancelled: placement(),
  open: placement(),
  deposit: placement({ paymentMode: 'deposit' }),
  completed: placement({ priceFen: 200_000n }),
};

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
  owner = createDb({ connectionString: database.url, role: null, maxConnections: 2 });
  const placed = (p: TaskPlacement, at: number) => ({ at, event: placementEvent(p, DEFAULT_TASK_POLICY) });

  // T7: placed in full mode, rejected by the creator: full refund to the client's account.
  await record(orders.cancelled.orderId, [placed(orders.cancelled, T0)]);
  await record(
    orders.cancelled.orderId,
    [{ at: T0 + HOUR, event: { type: 'TaskOrderCancelled', reason: 'rejected_by_creator', by: creator, refundFen: 110_000n, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: 0n } }],
    2,
  );
  // Still awaiting acceptance: money in escrow.
  await record(orders.open.orderId, [placed(orders.open, T0 + 2 * HOUR)]);
  // T4/T6: deposit mode, not accepted in time: the deposit (the service fee) is refunded.
  await record(orders.deposit.orderId, [
    placed(orders.deposit, T0 + 3 * HOUR),
    { at: T0 + 27 * HOUR, event: { type: 'TaskOrderCancelled', reason: 'not_accepted_in_time', by: { type: 'system' }, refundFen: 10_000n, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: 0n } },
  ]);
  // T18: accepted, then settled: the price to the creator, the service fee to the platform.
  await record(orders.completed.orderId, [
    placed(orders.completed, T0 + 4 * HOUR),
    { at: T0 + 5 * HOUR, event: { type: 'TaskOrderAccepted', by: creator, priceFen: 200_000n, serviceFeeFen: 20_000n, previousPriceFen: 200_000n } },
    { at: T0 + 48 * HOUR, event: { type: 'TaskOrderCompleted', creatorFen: 200_000n, serviceFeeFen: 20_000n } },
  ]);

  // The app as it runs (auth, bigint serializer, SPEC §8 error bodies), with a finance token; the
  // finance routes are added here only if api/app.ts does not register them.
  app = buildApp({ db, client: {} as Client, taskQueue: 'unused', tokens: [{ role: 'finance', token: FINANCE_TOKEN }] });
  if (!app.hasRoute({ method: 'GET', url: '/v1/ledger/audit' })) registerFinanceRoutes(app, { db });
  // Real HTTP (Fastify's inject needs an ESM-only module jest does not load).
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await owner?.destroy();
  await database?.drop();
});

async function get(url: string, base = baseUrl) {
  const response = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${FINANCE_TOKEN}` } });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type'), text, json: () => JSON.parse(text) };
}

/** A small RFC 4180 parser (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 1;
    } else field += c;
  }
  if (field !== '' || row.length > 0) throw new Error('CSV does not end with CRLF');
  return rows;
}

describe('F1: balance and statement of any account', () => {
  test('F1: a client account: balance and paged statement, each entry with the balance after it', async () => {
    const account = `client:${orders.cancelled.clientId}`;
    const first = await get(`/v1/ledger/accounts/${account}?limit=1`);
    expect(first.status).toBe(200);
    const page1 = first.json();
    expect(page1.account).toBe(account);
    expect(page1.balanceFen).toBe(120_000); // two refunds: 110 000 + 10 000
    expect(page1.entries).toHaveLength(1);
    expect(page1.entries[0]).toMatchObject({
      txId: `task:${orders.cancelled.orderId}:v2:cancellation_settlement`,
      kind: 'cancellation_settlement',
      orderId: orders.cancelled.orderId,
      occurredAt: new Date(T0 + HOUR).toISOString(),
      counterparty: `escrow:task:${orders.cancelled.orderId}`,
      direction: 'credit',
      amountFen: 110_000,
      balanceAfterFen: 110_000,
    });
    expect(typeof page1.nextCursor).toBe('string');
    const page2 = (await get(`/v1/ledger/accounts/${account}?limit=1&cursor=${page1.nextCursor}`)).json();
    expect(page2.entries).toEqual([expect.objectContaining({ orderId: orders.deposit.orderId, amountFen: 10_000, balanceAfterFen: 120_000 })]);
    expect(page2.nextCursor).toBeNull();
  });

  test('F1: a platform account every order posts to: its balance is the sum over its transfers', async () => {
    const body = (await get('/v1/ledger/accounts/platform:service_fees')).json();
    expect(body.balanceFen).toBe(20_000);
    expect(body.entries).toEqual([expect.objectContaining({ direction: 'credit', counterparty: `escrow:task:${orders.completed.orderId}`, amountFen: 20_000 })]);
    expect((await get('/v1/ledger/accounts/external:payments')).json().balanceFen).toBe(-(110_000 + 110_000 + 10_000 + 220_000));
  });

  test('F1: walking every page of an account gives all its entries once, ending at its balance', async () => {
    const account = 'external:payments';
    const entries: Array<{ txId: string; balanceAfterFen: number }> = [];
    let cursor: string | null = null;
    do {
      const body: { entries: typeof entries; nextCursor: string | null } = (await get(`/v1/ledger/accounts/${account}?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json();
      entries.push(...body.entries);
      cursor = body.nextCursor;
    } while (cursor);
    expect(entries).toHaveLength(4);
    expect(new Set(entries.map((e) => e.txId)).size).toBe(4);
    expect(entries[entries.length - 1]?.balanceAfterFen).toBe(Number(await accountBalance(db, account)));
  });

  test('F1: an account no transfer ever touched is 404 not_found; a system account exists before any transfer (issue 12)', async () => {
    const unknown = await get('/v1/ledger/accounts/creator:nobody');
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toMatchObject({ error: { code: 'not_found' } });
    expect((await get('/v1/ledger/accounts/client:never-paid')).status).toBe(404);
    expect((await get(`/v1/ledger/accounts/${encodeURIComponent('escrow:task:never-placed')}`)).status).toBe(404);
    expect((await get('/v1/ledger/accounts/platform:boost_premiums')).json()).toMatchObject({ account: 'platform:boost_premiums', balanceFen: expect.any(Number) });
  });

  test.each([
    ['not an account', '/v1/ledger/accounts/bank:1'],
    ['a limit of 0', '/v1/ledger/accounts/client:c?limit=0'],
    ['a limit too large', '/v1/ledger/accounts/client:c?limit=100000'],
    ['a forged cursor', '/v1/ledger/accounts/client:c?cursor=abc'],
    ['an unknown parameter', '/v1/ledger/accounts/client:c?page=2'],
    ['a repeated parameter', '/v1/ledger/accounts/client:c?limit=1&limit=2'],
    ['a bad instant', '/v1/ledger/transactions?from=yesterday'],
    ['from after to', '/v1/ledger/transactions?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z'],
    ['a bad order id', '/v1/ledger/transactions?orderId=a%20b'],
    ['a bad transactions cursor', '/v1/ledger/transactions?cursor=-1'],
    ['an export without a range', '/v1/ledger/export.csv'],
    ['an export with from = to', '/v1/ledger/export.csv?from=2025-01-01T00:00:00Z&to=2025-01-01T00:00:00Z'],
    ['a parameter on the trial balance', '/v1/ledger/trial-balance?x=1'],
  ])('§8: %s is answered 400 validation_failed', async (_name, url) => {
    const response = await get(url);
    expect(response.status).toBe(400);
    expect(response.json().error.code).toBe('validation_failed');
  });
});

describe('F2: trial balance', () => {
  test('F2: every account with its balance; the total is 0', async () => {
    const body = (await get('/v1/ledger/trial-balance')).json();
    expect(body.totalFen).toBe(0);
    expect(body.balanced).toBe(true);
    expect(body.totalDebitsFen).toBe(body.totalCreditsFen);
    const balances = Object.fromEntries(body.accounts.map((a: { account: string; balanceFen: number }) => [a.account, a.balanceFen]));
    expect(balances).toMatchObject({
      [`escrow:task:${orders.open.orderId}`]: 110_000,
      [`escrow:task:${orders.cancelled.orderId}`]: 0,
      [`creator:${orders.completed.creatorId}`]: 200_000,
      'platform:service_fees': 20_000,
    });
  });
});

describe('transactions list', () => {
  test('filtered by order, by time range, and paged', async () => {
    const byOrder = (await get(`/v1/ledger/transactions?orderId=${orders.completed.orderId}`)).json();
    expect(byOrder.transactions.map((t: { kind: string }) => t.kind)).toEqual(['placement_payment', 'completion_settlement']);
    expect(byOrder.transactions[1].transfers).toEqual([
      { transferIndex: 0, debitAccount: `escrow:task:${orders.completed.orderId}`, creditAccount: `creator:${orders.completed.creatorId}`, amountFen: 200_000 },
      { transferIndex: 1, debitAccount: `escrow:task:${orders.completed.orderId}`, creditAccount: 'platform:service_fees', amountFen: 20_000 },
    ]);
    const range = (await get(`/v1/ledger/transactions?from=${new Date(T0).toISOString()}&to=${new Date(T0 + 2 * HOUR).toISOString()}`)).json();
    expect(range.transactions.map((t: { txId: string }) => t.txId)).toEqual([
      `task:${orders.cancelled.orderId}:v1:placement_payment`,
      `task:${orders.cancelled.orderId}:v2:cancellation_settlement`,
    ]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const body: { transactions: Array<{ txId: string }>; nextCursor: string | null } = (await get(`/v1/ledger/transactions?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json();
      seen.push(...body.transactions.map((t) => t.txId));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
  });
});

describe('F4: CSV export', () => {
  test("F4: the CSV export's per-account totals equal the trial balance", async () => {
    const response = await get('/v1/ledger/export.csv?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z');
    expect(response.status).toBe(200);
    expect(response.contentType).toMatch(/^text\/csv/);
    const [header, ...lines] = parseCsv(response.text);
    expect(header).toEqual([...EXPORT_CSV_COLUMNS]);
    const totals = new Map<string, bigint>();
    for (const line of lines) {
      const [, , , , , debit, credit, amount] = line as [string, string, string, string, string, string, string, string];
      totals.set(debit, (totals.get(debit) ?? 0n) - BigInt(amount));
      totals.set(credit, (totals.get(credit) ?? 0n) + BigInt(amount));
    }
    const trial = await trialBalance(db);
    expect(totals).toEqual(new Map(trial.accounts.map((a) => [a.account, a.balanceFen])));
    expect(lines).toHaveLength(Number((await sql<{ n: bigint }>`select count(*)::int8 as n from ledger_transfers`.execute(db)).rows[0]?.n));
  });

  test('F4: only transactions that occurred in [from, to) are exported, one line per transfer', async () => {
    const from = new Date(T0 + 48 * HOUR).toISOString();
    const response = await get(`/v1/ledger/export.csv?from=${from}&to=${new Date(T0 + 49 * HOUR).toISOString()}`);
    const [, ...lines] = parseCsv(response.text);
    const tx = `task:${orders.completed.orderId}:v3:completion_settlement`;
    expect(lines).toEqual([
      [tx, expect.stringMatching(/^\d+$/), from, 'completion_settlement', orders.completed.orderId, `escrow:task:${orders.completed.orderId}`, `creator:${orders.completed.creatorId}`, '200000'],
      [tx, expect.stringMatching(/^\d+$/), from, 'completion_settlement', orders.completed.orderId, `escrow:task:${orders.completed.orderId}`, 'platform:service_fees', '20000'],
    ]);
  });

  test('F4: fields are quoted as RFC 4180 says', async () => {
    expect(csvLine(['a', 'b,c', 'say "hi"', 'x\ny', ''])).toBe('a,"b,c","say ""hi""","x\ny",\r\n');
    // A kind with a comma and a quote, exported and parsed back intact.
    const other = createDb({ connectionString: database.url, maxConnections: 1 });
    try {
      await other.transaction().execute((trx) =>
        postLedgerTransaction(
          trx,
          { txId: 'adj:1', kind: 'adjustment, "manual"', orderId: 'adj-1', transfers: [{ debitAccount: 'platform:service_fees', creditAccount: 'client:adj', amountFen: 1n }] },
          new Date('1999-01-01T00:00:00Z'),
        ),
      );
      let text = '';
      await exportTransfersCsv(other, { from: new Date('1999-01-01T00:00:00Z'), to: new Date('1999-01-02T00:00:00Z') }, (chunk) => {
        text += chunk;
      });
      expect(parseCsv(text)[1]).toEqual(['adj:1', expect.any(String), '1999-01-01T00:00:00.000Z', 'adjustment, "manual"', 'adj-1', 'platform:service_fees', 'client:adj', '1']);
    } finally {
      await other.destroy();
    }
  });
});

describe('F3: audit', () => {
  test('F3: a clean ledger: zero discrepancies, every transaction and order checked, closed orders reconciled (L6)', async () => {
    const response = await get('/v1/ledger/audit');
    expect(response.status).toBe(200);
    const report = response.json();
    expect(report.discrepancies).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checkedTransactions).toBe(Number((await trialBalance(db)).transactions));
    expect(report.checkedOrders).toBe(4);
    expect(report.reconciledOrders).toBe(3);
    expect(report.checkedChains).toBe(16);
  });

  test('F3 at scale: GET /v1/ledger/audit?sinceCheckpoint=true audits only what came after the last clean audit', async () => {
    const full = (await get('/v1/ledger/audit')).json();
    expect(full).toMatchObject({ ok: true, mode: 'full', checkpoint: { from: null, recorded: { id: expect.any(Number) } } });
    const incremental = (await get('/v1/ledger/audit?sinceCheckpoint=true')).json();
    expect(incremental).toMatchObject({ ok: true, mode: 'incremental', checkedTransactions: 0, checkedOrders: 0, checkpoint: { from: { id: full.checkpoint.recorded.id } } });
    expect((await get('/v1/ledger/audit?sinceCheckpoint=false')).json().mode).toBe('full');
    expect((await get('/v1/ledger/audit?sinceCheckpoint=yes')).status).toBe(400);
  });

  test('F3/L4: an amount altered behind the application\'s back (triggers bypassed as superuser) is reported, naming the transaction', async () => {
    const txId = `task:${orders.cancelled.orderId}:v2:cancellation_settlement`;
    await tamper(sql`update ledger_transfers set amount_fen = amount_fen - 1 where tx_id = ${txId}`);
    try {
      const report = await auditLedger(db);
      expect(report.ok).toBe(false);
      expect(report.discrepancies).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: 'content_hash_mismatch', txId, orderId: orders.cancelled.orderId }),
          expect.objectContaining({ kind: 'escrow_not_zero', orderId: orders.cancelled.orderId }), // L6
          expect.objectContaining({ kind: 'client_balance_mismatch', account: `client:${orders.cancelled.clientId}` }),
        ]),
      );
      expect(report.discrepancies.find((d) => d.kind === 'content_hash_mismatch')?.message).toContain(txId);
    } finally {
      await tamper(sql`update ledger_transfers set amount_fen = amount_fen + 1 where tx_id = ${txId}`);
    }
    expect((await auditLedger(db)).discrepancies).toEqual([]);
  });

  test('F3/E2: a read-model row that differs from its events is reported; a rebuild repairs it', async () => {
    await sql`update task_orders set status = 'completed', paid_in_fen = 0 where order_id = ${orders.open.orderId}`.execute(db);
    const report = await auditLedger(db);
    expect(report.discrepancies).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'read_model_mismatch', orderId: orders.open.orderId, message: expect.stringContaining('paid_in_fen, status') })]),
    );
    // Now "closed" per its row, the order is reconciled too: its escrow still holds the money.
    expect(report.discrepancies).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'escrow_not_zero', orderId: orders.open.orderId })]));
    await rebuildTaskOrderReadModels(db);
    expect((await auditLedger(db)).discrepancies).toEqual([]);
  });

  test('F3/L4/L6: deleting transactions and editing events behind the application\'s back is reported', async () => {
    // On a database of its own: these changes are not undone.
    const scratch = await createTestDatabase();
    const scratchOwner = createDb({ connectionString: scratch.url, role: null, maxConnections: 1 });
    try {
      const activities = createActivities({ db: scratch.db });
      const ps = [placement(), placement(), placement()];
      for (const p of ps) {
        await activities.recordTaskEvents({ orderId: p.orderId, causation: 'test', events: [{ version: 1, occurredAt: T0, event: placementEvent(p, DEFAULT_TASK_POLICY) }] });
      }
      const [a, b, c] = ps as [TaskPlacement, TaskPlacement, TaskPlacement];
      await activities.recordTaskEvents({
        orderId: a.orderId,
        causation: 'test',
        events: [{ version: 2, occurredAt: T0 + HOUR, event: { type: 'TaskOrderCancelled', reason: 'cancelled_by_client_before_acceptance', by: { type: 'client', id: a.clientId }, refundFen: 110_000n, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: 0n } }],
      });
      expect((await auditLedger(scratch.db)).discrepancies).toEqual([]);

      const settlement = `task:${a.orderId}:v2:cancellation_settlement`;
      const payment = `task:${b.orderId}:v1:placement_payment`;
      await scratchOwner.transaction().execute(async (trx) => {
        await sql`set local session_replication_role = replica`.execute(trx);
        await sql`delete from ledger_transfers where tx_id in (${settlement}, ${payment})`.execute(trx);
        await sql`delete from ledger_transactions where tx_id in (${settlement}, ${payment})`.execute(trx);
        await sql`update order_events set payload = jsonb_set(payload, '{paidFen}', '"1"') where order_id = ${c.orderId} and version = 1`.execute(trx);
      });
      const report = await auditLedger(scratch.db);
      const kinds = (kind: string) => report.discrepancies.filter((d) => d.kind === kind);
      // A deleted transaction: a gap or a shortened chain (L4), and missing from its order (L3/E1).
      expect([...kinds('chain_seq_gap'), ...kinds('chain_head_mismatch')].length).toBeGreaterThanOrEqual(1);
      expect(kinds('ledger_transaction_missing').map((d) => d.txId).sort()).toEqual([payment, settlement].sort());
      // The closed order's escrow no longer empties (L6).
      expect(kinds('escrow_not_zero').map((d) => d.orderId)).toEqual([a.orderId]);
      // An edited event: its order's row and ledger no longer follow from it (E2, L3).
      expect(kinds('read_model_mismatch').map((d) => d.orderId)).toContain(c.orderId);
      expect(kinds('ledger_transaction_differs_from_events').map((d) => d.orderId)).toEqual([c.orderId]);
    } finally {
      await scratchOwner.destroy();
      await scratch.drop();
    }
  });
});

describe('E2: rebuild of the read models', () => {
  test('E2: a rebuild from the events yields identical rows; a lost row comes back and an orphan row goes', async () => {
    const rows = () => db.selectFrom('task_orders').selectAll().orderBy('order_id').execute();
    const before = await rows();
    expect(before).toHaveLength(4);
    expect(await rebuildTaskOrderReadModels(db)).toEqual({ rebuilt: 4, skipped: 0, deleted: 0, failures: [] });
    expect(await rows()).toEqual(before);

    const { order_id: _id, ...rest } = before[0] as (typeof before)[number];
    await db.deleteFrom('task_orders').where('order_id', '=', orders.deposit.orderId).execute();
    await db.insertInto('task_orders').values({ ...rest, order_id: 'orphan-without-events', details: JSON.stringify(rest.details) }).execute();
    expect(await rebuildTaskOrderReadModels(db)).toEqual({ rebuilt: 4, skipped: 0, deleted: 1, failures: [] });
    expect(await rows()).toEqual(before);
    expect((await auditLedger(db)).ok).toBe(true);
  });
});

describe('finance routes take a preHandler (the role check of issue 6)', () => {
  test('a preHandler runs before every finance route', async () => {
    const guarded = Fastify();
    const seen: string[] = [];
    const financeOnly: preHandlerAsyncHookHandler = async (request, reply) => {
      seen.push(request.url);
      return reply.code(403).send({ error: { code: 'forbidden', message: 'finance only' } });
    };
    registerFinanceRoutes(guarded, { db, preHandler: financeOnly });
    const base = await guarded.listen({ host: '127.0.0.1', port: 0 });
    for (const url of ['/v1/ledger/trial-balance', '/v1/ledger/audit', '/v1/ledger/transactions', '/v1/ledger/accounts/client:x', '/v1/ledger/export.csv']) {
      expect((await get(url, base)).status).toBe(403);
    }
    expect(seen).toHaveLength(5);
    await guarded.close();
  });
});

async function tamper(statement: ReturnType<typeof sql>): Promise<void> {
  await owner.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    await statement.execute(trx);
  });
}
