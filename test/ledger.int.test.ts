import { ApplicationFailure } from '@temporalio/common';
import { sql } from 'kysely';
import { createActivities } from '../activities';
import { StreamStateCache, appendToStream, type OrderStream } from '../activities/append-to-stream';
import { taskOrderStream } from '../activities/task-orders';
import { auditLedger } from '../db/audit/audit';
import { APP_ROLE, type Db } from '../db/connect';
import { IdempotencyConflictError, InsufficientFundsError, translatePgError } from '../db/errors';
import { trialBalance } from '../db/finance';
import { GENESIS_HASH, LEDGER_CHAIN_COUNT, accountBalance, chainHash, ledgerChainFor, ledgerTransactionRow, postLedgerTransaction, postLedgerTransactions, transactionContentHash } from '../db/ledger';
import { storedJsonText } from '../domain/json';
import type { LedgerTransaction } from '../domain/ledger/types';
import { DEFAULT_TASK_POLICY, placementEvent, type TaskEvent, type TaskOrderState } from '../domain/task-order';
import { withOwnedTestDatabase, writeCounts } from './support/db';
import { placement } from './support/fixtures';
import { postTopUp } from '../db/top-ups';

let app: Db; // the application's pool: role xingtu_app
let owner: Db; // the login user (the schema owner, a superuser in tests)
withOwnedTestDatabase((world) => ({ app, owner } = world));

let counter = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter += 1)}`;

function tx(overrides: Partial<LedgerTransaction> & Pick<LedgerTransaction, 'transfers'>): LedgerTransaction {
  return { txId: unique('test:tx'), kind: 'test', orderId: unique('ord'), ...overrides };
}

const post = (db: Db, t: LedgerTransaction, at = new Date('2025-03-01T00:00:00Z')) => db.transaction().execute((trx) => postLedgerTransaction(trx, t, at));

/** A client account with money in it (a top-up from external:payments, L5). */
async function fundedClient(amountFen: bigint): Promise<string> {
  const account = `client:${unique('c')}`;
  await post(app, tx({ kind: 'top_up', transfers: [{ debitAccount: 'external:payments', creditAccount: account, amountFen }] }));
  return account;
}

async function someTransaction(): Promise<string> {
  const t = tx({ transfers: [{ debitAccount: 'external:payments', creditAccount: `escrow:task:${unique('o')}`, amountFen: 500n }] });
  await post(app, t);
  return t.txId;
}

async function failure(work: Promise<unknown>): Promise<{ code?: string; constraint?: string; message: string }> {
  try {
    await work;
  } catch (error) {
    return error as { code?: string; constraint?: string; message: string };
  }
  throw new Error('expected a failure');
}

describe('L4: the ledger and the event streams are immutable, enforced by PostgreSQL', () => {
  test('the application runs as the role xingtu_app, without UPDATE, DELETE or TRUNCATE rights there', async () => {
    const { rows } = await sql<{ current_user: string }>`select current_user`.execute(app);
    expect(rows[0]?.current_user).toBe(APP_ROLE);
    const { rows: rights } = await sql<{ table: string; privilege: string }>`
      select t as table, p as privilege
      from unnest(array['ledger_transactions', 'ledger_transfers', 'order_events']) t, unnest(array['UPDATE', 'DELETE', 'TRUNCATE']) p
      where has_table_privilege(${APP_ROLE}, t, p)`.execute(owner);
    expect(rights).toEqual([]);
  });

  test.each([
    ['UPDATE ledger_transfers', sql`update ledger_transfers set amount_fen = amount_fen + 1`],
    ['DELETE ledger_transfers', sql`delete from ledger_transfers`],
    ['TRUNCATE ledger_transfers', sql`truncate ledger_transfers`],
    ['UPDATE ledger_transactions', sql`update ledger_transactions set kind = 'x'`],
    ['DELETE ledger_transactions', sql`delete from ledger_transactions`],
    ['TRUNCATE ledger_transactions', sql`truncate ledger_transactions cascade`],
    ['UPDATE order_events', sql`update order_events set type = 'x'`],
    ['DELETE order_events', sql`delete from order_events`],
    ['TRUNCATE order_events', sql`truncate order_events`],
    ['UPDATE ledger_chain_heads', sql`update ledger_chain_heads set seq = 0`],
    ['UPDATE client_balances', sql`update client_balances set balance_fen = balance_fen + 100`],
    ['INSERT client_balances', sql`insert into client_balances values ('client:free-money', 100)`],
  ])('L4: %s as the application role: permission denied', async (_name, statement) => {
    await someTransaction();
    const error = await failure(statement.execute(app));
    expect(error.code).toBe('42501'); // insufficient_privilege
  });

  test.each([
    ['UPDATE ledger_transfers', sql`update ledger_transfers set amount_fen = amount_fen + 1`],
    ['DELETE ledger_transfers', sql`delete from ledger_transfers`],
    ['TRUNCATE ledger_transfers', sql`truncate ledger_transfers`],
    ['UPDATE ledger_transactions', sql`update ledger_transactions set kind = 'x'`],
    ['DELETE ledger_transactions', sql`delete from ledger_transactions`],
    ['UPDATE order_events', sql`update order_events set type = 'x'`],
    ['DELETE order_events', sql`delete from order_events`],
    ['TRUNCATE order_events', sql`truncate order_events`],
  ])('L4: %s as the owner: refused by the append-only trigger', async (_name, statement) => {
    await someTransaction();
    const p = placement();
    await createActivities({ db: app }).recordTaskEvents({ orderId: p.orderId, causation: 'test', events: [{ version: 1, occurredAt: Date.now(), event: placementEvent(p, DEFAULT_TASK_POLICY) }] });
    const before = await writeCounts(owner);
    const error = await failure(statement.execute(owner));
    expect(error.message).toMatch(/append-only table .*: (UPDATE|DELETE|TRUNCATE) is not allowed/);
    expect(await writeCounts(owner)).toEqual(before);
  });
});

describe('L1: every ledger transaction is balanced and has transfers, enforced by PostgreSQL', () => {
  test('L1: a transaction with zero transfers is refused at commit (deferred constraint trigger)', async () => {
    const before = await writeCounts(app);
    const error = await failure(
      app.transaction().execute(async (trx) => {
        await sql`insert into ledger_transactions (tx_id, kind, order_id, occurred_at, content_hash, chain_id)
                  values ('test:empty', 'test', 'o-empty', now(), repeat('a', 64), 0)`.execute(trx);
        // The insert itself passes: the check runs at commit, when all transfers must be there.
      }),
    );
    expect(error.code).toBe('23514');
    expect(error.constraint).toBe('ledger_transactions_have_transfers');
    expect(await writeCounts(app)).toEqual(before);
  });

  test('L1: a transfer must move a positive amount between two different accounts', async () => {
    const zero = await failure(post(app, tx({ transfers: [{ debitAccount: 'external:payments', creditAccount: 'client:z', amountFen: 0n }] })));
    expect(zero.code).toBe('23514');
    const same = await failure(post(app, tx({ transfers: [{ debitAccount: 'client:z', creditAccount: 'client:z', amountFen: 1n }] })));
    expect(same.code).toBe('23514');
    await expect(post(app, tx({ transfers: [] }))).rejects.toThrow(/no transfers/);
  });
});

describe('L2: a client account never goes negative, enforced by PostgreSQL', () => {
  test('L2: transfers inserted directly with SQL that overdraw a client account fail in the database', async () => {
    const client = await fundedClient(1_000n);
    const before = await writeCounts(app);
    const error = await failure(
      app.transaction().execute(async (trx) => {
        const { rows } = await sql<{ seq: bigint }>`
          insert into ledger_transactions (tx_id, kind, order_id, occurred_at, content_hash, chain_id)
          values ('test:overdraft', 'test', 'o-overdraft', now(), repeat('b', 64), 3) returning seq`.execute(trx);
        await sql`insert into ledger_transfers (tx_id, tx_seq, transfer_index, debit_account, credit_account, amount_fen)
                  values ('test:overdraft', ${rows[0]?.seq}, 0, ${client}, 'escrow:task:o-overdraft', 1001)`.execute(trx);
      }),
    );
    expect(error.code).toBe('23514');
    expect(error.constraint).toBe('client_balances_balance_fen_check');
    expect(translatePgError(error)).toBeInstanceOf(InsufficientFundsError);
    expect(await writeCounts(app)).toEqual(before);
    expect(await accountBalance(app, client)).toBe(1_000n);
  });

  test('L2: an overdraft is refused even as the owner (the check is on the data, not on the role)', async () => {
    const client = await fundedClient(10n);
    const error = await failure(post(owner, tx({ transfers: [{ debitAccount: client, creditAccount: 'platform:service_fees', amountFen: 11n }] })));
    expect(error.constraint).toBe('client_balances_balance_fen_check');
  });

  test('L2: 20 concurrent payments of 100 from an account holding 1000: exactly 10 succeed, the balance never goes below 0', async () => {
    const client = await fundedClient(1_000n);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => post(app, tx({ transfers: [{ debitAccount: client, creditAccount: `escrow:task:${unique('o')}`, amountFen: 100n }] }))),
    );
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    for (const r of rejected) expect(translatePgError(r.reason)).toBeInstanceOf(InsufficientFundsError);
    expect(await accountBalance(app, client)).toBe(0n);
    const stored = await app.selectFrom('client_balances').select('balance_fen').where('account', '=', client).executeTakeFirstOrThrow();
    expect(stored.balance_fen).toBe(0n);
  });
});

describe('L4: hash chains', () => {
  test('L4: the database links each transaction into its chain with the same hash the application computes', async () => {
    const t = tx({ externalPaymentRef: unique('pay'), transfers: [{ debitAccount: 'external:payments', creditAccount: 'client:hash', amountFen: 7n }] });
    const at = new Date('2025-04-01T08:00:00.123Z');
    const chain = ledgerChainFor(t);
    const head = await app.selectFrom('ledger_chain_heads').selectAll().where('chain_id', '=', chain).executeTakeFirstOrThrow();
    await post(app, t, at);
    const row = await app.selectFrom('ledger_transactions').selectAll().where('tx_id', '=', t.txId).executeTakeFirstOrThrow();
    expect(row.chain_id).toBe(chain);
    expect(row.content_hash).toBe(transactionContentHash(t, at));
    expect(row.chain_seq).toBe(head.seq + 1n);
    expect(row.prev_hash).toBe(head.hash);
    expect(row.chain_hash).toBe(chainHash(head.hash, row.content_hash));
    const after = await app.selectFrom('ledger_chain_heads').selectAll().where('chain_id', '=', chain).executeTakeFirstOrThrow();
    expect(after).toEqual({ chain_id: chain, seq: row.chain_seq, hash: row.chain_hash });
  });

  test(`L4: there are ${LEDGER_CHAIN_COUNT} chains, and the transactions of one order share one`, async () => {
    const { rows } = await sql<{ n: bigint }>`select count(*)::int8 as n from ledger_chain_heads`.execute(app);
    expect(rows[0]?.n).toBe(BigInt(LEDGER_CHAIN_COUNT));
    expect(ledgerChainFor({ txId: 'a', orderId: 'o-1' })).toBe(ledgerChainFor({ txId: 'b', orderId: 'o-1' }));
    const chains = new Set(Array.from({ length: 200 }, (_, i) => ledgerChainFor({ txId: `t${i}`, orderId: `o-${i}` })));
    expect(chains.size).toBe(LEDGER_CHAIN_COUNT);
  });

  test('L4: postLedgerTransactions posts several orders in one database transaction, locking their chains in order', async () => {
    // Several rounds, each with two writers that both hold an open database transaction before
    // either posts (a barrier), so their postings overlap: in opposite orders, unordered chain locks
    // would deadlock here.
    for (let round = 0; round < 8; round += 1) {
      const client = await fundedClient(1_000n);
      const postings = [300n, 200n, 100n].map((amountFen) => ({
        tx: tx({ transfers: [{ debitAccount: client, creditAccount: `escrow:task:${unique('o')}`, amountFen }] }),
        occurredAt: new Date(),
      }));
      let arrive!: () => void;
      let arrived = 0;
      const bothInside = new Promise<void>((resolve) => (arrive = () => (++arrived === 2 ? resolve() : undefined)));
      const writer = (order: typeof postings) =>
        app.transaction().execute(async (trx) => {
          await sql`select txid_current()`.execute(trx);
          arrive();
          await bothInside;
          return postLedgerTransactions(trx, order);
        });
      const results = await Promise.allSettled([writer(postings), writer([...postings].reverse())]);
      // Both writers post the same three transactions: one posts, the other finds them (or loses the
      // race on the primary key and would be retried); never a deadlock. The check reads each error
      // itself (its code and message, through its causes): JSON.stringify of an Error shows neither.
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      expect(failures.filter(isDeadlock).map(String)).toEqual([]);
      expect(failures.length).toBeLessThan(2);
      expect(await accountBalance(app, client)).toBe(400n);
    }
  });
});

describe('L1/L2/L4 under concurrency', () => {
  test('L1/L2/L4: 32 concurrent writers post to the same accounts: every balance is the sum of its transfers, client_balances too, and the chains verify', async () => {
    const clients = ['client:conc-a', 'client:conc-b'];
    const writers = 32;
    const perWriter = 8;
    const posted: LedgerTransaction[] = [];
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter; i += 1) {
          const client = clients[(w + i) % 2] as string;
          const orderId = `conc-${w}-${i}`;
          const t: LedgerTransaction = {
            txId: `conc:${orderId}`,
            kind: 'test_payment',
            orderId,
            transfers: [
              { debitAccount: 'external:payments', creditAccount: client, amountFen: 1_000n + BigInt(w) },
              { debitAccount: client, creditAccount: `escrow:task:${orderId}`, amountFen: 900n },
              { debitAccount: `escrow:task:${orderId}`, creditAccount: 'platform:service_fees', amountFen: 90n },
              { debitAccount: `escrow:task:${orderId}`, creditAccount: 'creator:conc', amountFen: 810n },
            ],
          };
          expect(await post(app, t, new Date())).toBe('posted');
          posted.push(t);
        }
      }),
    );
    expect(posted).toHaveLength(writers * perWriter);

    // Every balance equals the sum over its transfers (computed here from the rows).
    const transfers = await app.selectFrom('ledger_transfers').select(['debit_account', 'credit_account', 'amount_fen']).execute();
    const sums = new Map<string, bigint>();
    for (const t of transfers) {
      sums.set(t.credit_account, (sums.get(t.credit_account) ?? 0n) + t.amount_fen);
      sums.set(t.debit_account, (sums.get(t.debit_account) ?? 0n) - t.amount_fen);
    }
    const trial = await trialBalance(app);
    expect(trial.totalFen).toBe(0n);
    expect(new Map(trial.accounts.map((a) => [a.account, a.balanceFen]))).toEqual(sums);
    for (const account of [...clients, 'platform:service_fees', 'creator:conc', 'external:payments']) {
      expect(await accountBalance(app, account)).toBe(sums.get(account));
    }
    expect(sums.get('platform:service_fees')).toBeGreaterThanOrEqual(90n * BigInt(writers * perWriter));
    const stored = await app.selectFrom('client_balances').selectAll().execute();
    for (const row of stored) expect(row.balance_fen).toBe(sums.get(row.account));
    expect(stored.map((r) => r.account).sort()).toEqual([...sums.keys()].filter((a) => a.startsWith('client:')).sort());

    // Each chain is gapless and verifies, and its head is its last transaction.
    const { rows: chains } = await sql<{ chain_id: number; n: bigint; max_seq: bigint }>`
      select chain_id, count(*)::int8 as n, max(chain_seq)::int8 as max_seq from ledger_transactions group by chain_id`.execute(app);
    expect(chains.length).toBeGreaterThan(8);
    for (const c of chains) expect(c.max_seq).toBe(c.n);
    const report = await auditLedger(app);
    expect(report.discrepancies).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checkedTransactions).toBe(Number((await trialBalance(app)).transactions));
  }, 60_000);
});

describe('E1/L2/L4: placements from many writers, each one database call', () => {
  test('E1/L2/L4: 16 writers place 24 orders from one client account holding enough for 10: exactly 10 are stored whole, the rest leave nothing', async () => {
    const activities = createActivities({ db: app });
    const clientId = unique('rich');
    await post(app, tx({ kind: 'top_up', transfers: [{ debitAccount: 'external:payments', creditAccount: `client:${clientId}`, amountFen: 10n * 110_000n }] }));
    const before = await writeCounts(app);
    const placements = Array.from({ length: 24 }, () => placement({ clientId, funding: { source: 'account' } }));
    const queue = [...placements];
    const outcomes = new Map<string, string>();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let p = queue.shift(); p; p = queue.shift()) {
          const recorded = { version: 1, occurredAt: Date.now(), event: placementEvent(p, DEFAULT_TASK_POLICY) };
          try {
            await activities.recordTaskEvents({ orderId: p.orderId, causation: 'test', events: [recorded] });
            outcomes.set(p.orderId, 'placed');
          } catch (error) {
            outcomes.set(p.orderId, (error as ApplicationFailure).type ?? String(error));
          }
        }
      }),
    );
    const placed = placements.filter((p) => outcomes.get(p.orderId) === 'placed').map((p) => p.orderId);
    expect(placed).toHaveLength(10);
    expect([...outcomes.values()].filter((o) => o !== 'placed')).toEqual(Array(14).fill('insufficient_funds'));
    expect(await accountBalance(app, `client:${clientId}`)).toBe(0n);
    // Only the placed orders wrote anything: one event, one outbox row, one read-model row, one posting each.
    const after = await writeCounts(app);
    const added = (table: string) => (after[table] ?? 0) - (before[table] ?? 0);
    expect(added('order_events')).toBe(10);
    expect(added('task_orders')).toBe(10);
    expect(added('notifications')).toBe(10);
    expect(added('ledger_transactions')).toBe(10);
    const events = await app.selectFrom('order_events').select('order_id').where('order_id', 'in', placements.map((p) => p.orderId)).execute();
    expect(events.map((e) => e.order_id).sort()).toEqual([...placed].sort());
    const report = await auditLedger(app);
    expect(report.discrepancies).toEqual([]);
  }, 60_000);
});

describe('L3: exactly once', () => {
  test('L3: a posting run twice is stored once; the second run is a no-op', async () => {
    const t = tx({ transfers: [{ debitAccount: 'external:payments', creditAccount: 'client:twice', amountFen: 42n }] });
    const at = new Date('2025-05-05T05:05:05Z');
    expect(await post(app, t, at)).toBe('posted');
    const before = await writeCounts(app);
    expect(await post(app, t, at)).toBe('duplicate');
    expect(await writeCounts(app)).toEqual(before);
    expect(await accountBalance(app, 'client:twice')).toBe(42n);
  });

  test('L3: the same key with a different content is an IdempotencyConflictError, and nothing changes', async () => {
    const t = tx({ transfers: [{ debitAccount: 'external:payments', creditAccount: 'client:conflict', amountFen: 42n }] });
    await post(app, t);
    const before = await writeCounts(app);
    await expect(post(app, { ...t, transfers: [{ debitAccount: 'external:payments', creditAccount: 'client:conflict', amountFen: 43n }] })).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    await expect(post(app, t, new Date('2030-01-01T00:00:00Z'))).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect(await writeCounts(app)).toEqual(before);
  });

  test('L3/E1: an activity retried after its database commit (interrupted before completing) stores its events and postings once', async () => {
    const activities = createActivities({ db: app });
    const p = placement();
    const input = { orderId: p.orderId, causation: 'test', events: [{ version: 1, occurredAt: Date.now(), event: placementEvent(p, DEFAULT_TASK_POLICY) }] };
    expect(await activities.recordTaskEvents(input)).toEqual({ appended: 1, alreadyRecorded: 0 });
    const before = await writeCounts(app);
    // The first attempt committed; Temporal never heard back and runs the activity again.
    expect(await activities.recordTaskEvents(input)).toEqual({ appended: 0, alreadyRecorded: 1 });
    expect(await writeCounts(app)).toEqual(before);
    const rows = await app.selectFrom('ledger_transactions').select('tx_id').where('order_id', '=', p.orderId).execute();
    expect(rows).toHaveLength(1);
    expect(await accountBalance(app, `escrow:task:${p.orderId}`)).toBe(110_000n);
  });

  test('L3: two attempts of the same activity racing each other store it once, and both complete', async () => {
    const activities = createActivities({ db: app });
    const p = placement();
    const input = { orderId: p.orderId, causation: 'test', events: [{ version: 1, occurredAt: Date.now(), event: placementEvent(p, DEFAULT_TASK_POLICY) }] };
    // The loser's write fails as a whole on the version key; it reads the stream again and finds its event.
    const results = await Promise.all([activities.recordTaskEvents(input), activities.recordTaskEvents(input)]);
    expect(results).toEqual(expect.arrayContaining([{ appended: 1, alreadyRecorded: 0 }, { appended: 0, alreadyRecorded: 1 }]));
    expect(await activities.recordTaskEvents(input)).toEqual({ appended: 0, alreadyRecorded: 1 });
    const { rows } = await sql<{ n: bigint }>`select count(*)::int8 as n from ledger_transactions where order_id = ${p.orderId}`.execute(app);
    expect(rows[0]?.n).toBe(1n);
    expect(await accountBalance(app, `escrow:task:${p.orderId}`)).toBe(110_000n);
  });

  test('L3: two writers racing for the same next version with different contents: one is stored, the other fails idempotency_conflict', async () => {
    const activities = createActivities({ db: app });
    const p = placement();
    const at = Date.now();
    await activities.recordTaskEvents({ orderId: p.orderId, causation: 'test', events: [{ version: 1, occurredAt: at, event: placementEvent(p, DEFAULT_TASK_POLICY) }] });
    const accepted = (priceFen: bigint) => ({
      version: 2,
      occurredAt: at + 1,
      event: { type: 'TaskOrderAccepted' as const, by: { type: 'creator' as const, id: p.creatorId }, priceFen, serviceFeeFen: priceFen / 10n, previousPriceFen: p.priceFen },
    });
    const results = await Promise.allSettled([
      activities.recordTaskEvents({ orderId: p.orderId, causation: 'a', events: [accepted(100_000n)] }),
      activities.recordTaskEvents({ orderId: p.orderId, causation: 'b', events: [accepted(110_000n)] }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected');
    expect((lost as PromiseRejectedResult).reason).toBeInstanceOf(ApplicationFailure);
    expect(((lost as PromiseRejectedResult).reason as ApplicationFailure).type).toBe('idempotency_conflict');
    const stored = await app.selectFrom('order_events').select(['version', 'payload']).where('order_id', '=', p.orderId).orderBy('version').execute();
    expect(stored).toHaveLength(2);
    const row = await app.selectFrom('task_orders').select(['version', 'price_fen']).where('order_id', '=', p.orderId).executeTakeFirstOrThrow();
    // E2: the read model is the winner's.
    expect(row.version).toBe(2);
    expect(row.price_fen.toString()).toBe((stored[1]?.payload as { priceFen: string }).priceFen);
  });

  test('E1: an append is all or nothing: a placement that would overdraw its client account leaves no event, outbox row or read-model row', async () => {
    const activities = createActivities({ db: app });
    const p = placement({ clientId: unique('poor'), funding: { source: 'account' } });
    const before = await writeCounts(app);
    const error = await failure(
      activities.recordTaskEvents({ orderId: p.orderId, causation: 'test', events: [{ version: 1, occurredAt: Date.now(), event: placementEvent(p, DEFAULT_TASK_POLICY) }] }),
    );
    expect((error as unknown as ApplicationFailure).type).toBe('insufficient_funds');
    expect(await writeCounts(app)).toEqual(before);
  });

  test('L3: a ledger id already stored with another content fails the append with idempotency_conflict, and nothing is written', async () => {
    const activities = createActivities({ db: app });
    const p = placement();
    const recorded = { version: 1, occurredAt: Date.now(), event: placementEvent(p, DEFAULT_TASK_POLICY) };
    // The id the placement's payment will carry, taken by a posting of another amount.
    const txId = `task:${p.orderId}:v1:placement_payment`;
    await post(app, tx({ txId, kind: 'placement_payment', orderId: p.orderId, transfers: [{ debitAccount: 'external:payments', creditAccount: `escrow:task:${p.orderId}`, amountFen: 1n }] }));
    const before = await writeCounts(app);
    const error = await failure(activities.recordTaskEvents({ orderId: p.orderId, causation: 'test', events: [recorded] }));
    expect((error as unknown as ApplicationFailure).type).toBe('idempotency_conflict');
    expect(error.message).toContain(txId);
    expect(await writeCounts(app)).toEqual(before);
  });

  test("L3: the same event key with a different content fails the activity with ApplicationFailure 'idempotency_conflict' (non-retryable)", async () => {
    const activities = createActivities({ db: app });
    const p = placement();
    const at = Date.now();
    await activities.recordTaskEvents({ orderId: p.orderId, causation: 'test', events: [{ version: 1, occurredAt: at, event: placementEvent(p, DEFAULT_TASK_POLICY) }] });
    const before = await writeCounts(app);
    const error = await failure(
      activities.recordTaskEvents({
        orderId: p.orderId,
        causation: 'test',
        events: [{ version: 1, occurredAt: at, event: placementEvent({ ...p, priceFen: p.priceFen + 1n }, DEFAULT_TASK_POLICY) }],
      }),
    );
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as unknown as ApplicationFailure).type).toBe('idempotency_conflict');
    expect((error as unknown as ApplicationFailure).nonRetryable).toBe(true);
    expect(await writeCounts(app)).toEqual(before);
  });

  test('L4: the first transaction of a chain links to the genesis hash', async () => {
    const { rows } = await sql<{ prev_hash: string }>`select prev_hash from ledger_transactions where chain_seq = 1`.execute(app);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.prev_hash).toBe(GENESIS_HASH);
  });
});

describe('L3 (issue 19): one check, in the database — post_ledger_transaction refuses the same id with another content on both paths', () => {
  const later = new Date('2025-06-01T00:05:00Z');

  /** The database function itself, called as the application's role: its answer or its failure. */
  const callPost = (tx: LedgerTransaction, at: Date, timeIsContent: boolean) =>
    sql<{ result: string }>`select post_ledger_transaction(${storedJsonText(ledgerTransactionRow(tx, at))}::jsonb, ${timeIsContent}::boolean) as result`
      .execute(app)
      .then(({ rows }) => rows[0]?.result);

  /** A transaction as stored, read back (its first transfer's amount replaced by `amountFen`). */
  async function storedTransaction(txId: string, amountFen?: bigint): Promise<{ tx: LedgerTransaction; at: Date }> {
    const row = await app.selectFrom('ledger_transactions').selectAll().where('tx_id', '=', txId).executeTakeFirstOrThrow();
    const transfers = await app.selectFrom('ledger_transfers').selectAll().where('tx_id', '=', txId).orderBy('transfer_index').execute();
    const tx: LedgerTransaction = {
      txId,
      kind: row.kind,
      orderId: row.order_id,
      ...(row.external_payment_ref === null ? {} : { externalPaymentRef: row.external_payment_ref }),
      transfers: transfers.map((t, i) => ({ debitAccount: t.debit_account, creditAccount: t.credit_account, amountFen: i === 0 && amountFen !== undefined ? amountFen : t.amount_fen })),
    };
    return { tx, at: new Date(row.occurred_at) };
  }

  test('L3: a top-up: the function answers duplicate for the same money later and XL003 for another amount; postTopUp relays its refusal, with no comparison of its own', async () => {
    const clientId = unique('c-l3');
    const topUp = { clientId, paymentRef: unique('pay-l3'), amountFen: 500n };
    expect(await postTopUp(app, topUp, new Date('2025-06-01T00:00:00Z'))).toBe('posted');
    const txId = `topup:${topUp.paymentRef}`;
    const same = await storedTransaction(txId);
    const other = await storedTransaction(txId, 501n);
    const before = await writeCounts(app);
    // A retry of a top-up arrives later: the same top-up when the time is not compared (the top-up path)…
    expect(await callPost(same.tx, later, false)).toBe('duplicate');
    // …but not for a posting whose time is its content (every order step).
    expect((await failure(callPost(same.tx, later, true))).code).toBe('XL003');
    const refused = await failure(callPost(other.tx, later, false));
    expect(refused.code).toBe('XL003');
    expect(refused.message).toBe(`ledger transaction ${txId} exists with a different content (L3)`);
    // postTopUp's IdempotencyConflictError is the database's refusal, message and all.
    const viaTopUp = await failure(postTopUp(app, { ...topUp, amountFen: 501n }, later));
    expect(viaTopUp).toBeInstanceOf(IdempotencyConflictError);
    expect(viaTopUp.message).toBe(refused.message);
    expect(await failure(postTopUp(app, { ...topUp, clientId: unique('c-other') }, later))).toBeInstanceOf(IdempotencyConflictError);
    expect(await writeCounts(app)).toEqual(before);
    expect(await accountBalance(app, `client:${clientId}`)).toBe(500n);
  });

  test('L3: an order append: append_order_stream posts through post_ledger_transaction, which refuses a payment id stored with another amount (XL003 → idempotency_conflict)', async () => {
    // The append has no check of its own any more: it calls the function.
    const { rows } = await sql<{ src: string }>`select prosrc as src from pg_proc where proname = 'append_order_stream'`.execute(owner);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.src).toContain('public.post_ledger_transaction(tx)');
    expect(rows[0]?.src).not.toContain('XL003');

    const activities = createActivities({ db: app });
    const p = placement();
    await activities.recordTaskEvents({ orderId: p.orderId, causation: 'test', events: [{ version: 1, occurredAt: Date.now(), event: placementEvent(p, DEFAULT_TASK_POLICY) }] });
    const paid = await storedTransaction(`task:${p.orderId}:v1:placement_payment`);
    const other = await storedTransaction(`task:${p.orderId}:v1:placement_payment`, 1n);
    const before = await writeCounts(app);
    expect(await callPost(paid.tx, paid.at, true)).toBe('duplicate');
    for (const timeIsContent of [true, false]) {
      const refused = await failure(callPost(other.tx, paid.at, timeIsContent));
      expect(refused.code).toBe('XL003');
      expect(refused.message).toBe(`ledger transaction ${paid.tx.txId} exists with a different content (L3)`);
    }

    // Another order whose payment id the function already holds with another amount: the append fails with its refusal.
    const q = placement();
    const txId = `task:${q.orderId}:v1:placement_payment`;
    const taken = tx({ txId, kind: 'placement_payment', orderId: q.orderId, transfers: [{ debitAccount: 'external:payments', creditAccount: `escrow:task:${q.orderId}`, amountFen: 1n }] });
    expect(await callPost(taken, paid.at, true)).toBe('posted');
    const counts = await writeCounts(app);
    const error = await failure(activities.recordTaskEvents({ orderId: q.orderId, causation: 'test', events: [{ version: 1, occurredAt: Date.now(), event: placementEvent(q, DEFAULT_TASK_POLICY) }] }));
    expect((error as unknown as ApplicationFailure).type).toBe('idempotency_conflict');
    expect(error.message).toBe(`ledger transaction ${txId} exists with a different content (L3)`);
    expect(await writeCounts(app)).toEqual(counts);
    expect(counts.ledger_transactions).toBe((before.ledger_transactions ?? 0) + 1);
  });
});

describe('L5/L3: the same top-up sent many times at once', () => {
  test('10 identical top-ups at once → one posted, nine duplicates, one transaction; a racing different amount → IdempotencyConflictError', async () => {
    const clientId = `c-race-${Date.now()}`;
    const topUp = { clientId, paymentRef: `race-${clientId}`, amountFen: 700n };
    const results = await Promise.all(Array.from({ length: 10 }, () => postTopUp(app, topUp, new Date())));
    expect(results.filter((r) => r === 'posted')).toHaveLength(1);
    expect(results.filter((r) => r === 'duplicate')).toHaveLength(9);
    expect(await accountBalance(app, `client:${clientId}`)).toBe(700n);
    const other = await Promise.all(
      [1n, 2n].map((extra) => postTopUp(app, { ...topUp, paymentRef: `race2-${clientId}`, amountFen: 700n + extra }, new Date()).then(
        (r) => r,
        (e: unknown) => (e instanceof IdempotencyConflictError ? 'conflict' : String(e)),
      )),
    );
    expect(other.sort()).toEqual(['conflict', 'posted']);
  });
});

describe('E1/L3 with the worker’s stream cache (issue 11: no read before a write the worker can plan from its last one)', () => {
  const accepted = (p: ReturnType<typeof placement>, at: number, priceFen: bigint) => ({
    version: 2,
    occurredAt: at + 1,
    event: { type: 'TaskOrderAccepted' as const, by: { type: 'creator' as const, id: p.creatorId }, priceFen, serviceFeeFen: priceFen / 10n, previousPriceFen: p.priceFen },
  });
  const counted = (p: ReturnType<typeof placement>, loads: { n: number }): OrderStream<TaskOrderState, TaskEvent> => {
    const stream = taskOrderStream(p.orderId);
    return {
      ...stream,
      load: (reader) => {
        loads.n += 1;
        return stream.load(reader);
      },
    };
  };

  test('E1: the next command after this worker’s own write is planned without reading the stream; a retry of it reads and finds it stored', async () => {
    const p = placement();
    const at = Date.now();
    const loads = { n: 0 };
    const cache = new StreamStateCache();
    const place = [{ version: 1, occurredAt: at, event: placementEvent(p, DEFAULT_TASK_POLICY) }];
    expect(await appendToStream(app, counted(p, loads), place, 'test', cache)).toEqual({ appended: 1, alreadyRecorded: 0 });
    expect(await appendToStream(app, counted(p, loads), [accepted(p, at, 100_000n)], 'test', cache)).toEqual({ appended: 1, alreadyRecorded: 0 });
    expect(loads.n).toBe(0);
    const before = await writeCounts(app);
    expect(await appendToStream(app, counted(p, loads), [accepted(p, at, 100_000n)], 'test', cache)).toEqual({ appended: 0, alreadyRecorded: 1 });
    expect(loads.n).toBe(1);
    expect(await writeCounts(app)).toEqual(before);
    // E2: the read model planned from the cache is the projection of the stored events.
    const row = await app.selectFrom('task_orders').select(['version', 'status', 'price_fen']).where('order_id', '=', p.orderId).executeTakeFirstOrThrow();
    expect([row.version, row.status, row.price_fen]).toEqual([2, 'in_production', 100_000n]);
  });

  test('L3: another worker wrote the next version meanwhile: this worker’s cached plan fails on the version key, reads the stream, and finds the same event stored or reports the conflict', async () => {
    const p = placement();
    const at = Date.now();
    const mine = createActivities({ db: app });
    const other = createActivities({ db: app });
    await mine.recordTaskEvents({ orderId: p.orderId, causation: 'test', events: [{ version: 1, occurredAt: at, event: placementEvent(p, DEFAULT_TASK_POLICY) }] });
    await other.recordTaskEvents({ orderId: p.orderId, causation: 'other', events: [accepted(p, at, 100_000n)] });
    const before = await writeCounts(app);
    // The same event (an activity retried on another worker): stored once.
    expect(await mine.recordTaskEvents({ orderId: p.orderId, causation: 'test', events: [accepted(p, at, 100_000n)] })).toEqual({ appended: 0, alreadyRecorded: 1 });
    // Another content at that version: the conflict L3 stops the order for.
    const error = await failure(mine.recordTaskEvents({ orderId: p.orderId, causation: 'test', events: [accepted(p, at, 110_000n)] }));
    expect((error as unknown as ApplicationFailure).type).toBe('idempotency_conflict');
    expect(await writeCounts(app)).toEqual(before);
  });

  test('the cache keeps at most its bound of streams, dropping the least recently used', () => {
    const cache = new StreamStateCache(2);
    cache.set('a', { version: 1, state: 'a1' });
    cache.set('b', { version: 1, state: 'b1' });
    cache.get('a');
    cache.set('c', { version: 1, state: 'c1' });
    expect([cache.size, cache.get('b'), cache.get<string>('a')?.state, cache.get<string>('c')?.state]).toEqual([2, undefined, 'a1', 'c1']);
    cache.set('a', { version: 3, state: 'a3' });
    cache.set('a', { version: 2, state: 'a2' }); // an older point never replaces a newer one
    expect(cache.get<string>('a')).toEqual({ version: 3, state: 'a3' });
  });
});

/** A PostgreSQL deadlock (SQLSTATE 40P01), found by code or message anywhere in the error's cause chain. */
function isDeadlock(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== null && e !== undefined && depth < 10; depth += 1) {
    if (typeof e !== 'object') return /deadlock/i.test(String(e));
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (code === '40P01' || (typeof message === 'string' && /deadlock/i.test(message))) return true;
    e = cause;
  }
  return false;
}
