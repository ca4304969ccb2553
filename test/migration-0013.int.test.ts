import { Migrator, sql } from 'kysely';
import { createActivities } from '../activities';
import { auditLedger } from '../db/audit/audit';
import type { Db } from '../db/connect';
import { IdempotencyConflictError } from '../db/errors';
import { accountBalance, ledgerTransactionRow } from '../db/ledger';
import { MIGRATIONS } from '../db/migrate';
import * as m0013 from '../db/migrations/0013_post_ledger_transaction';
import { postTopUp } from '../db/top-ups';
import { DEFAULT_TASK_POLICY, placementEvent } from '../domain/task-order';
import { withOwnedTestDatabase } from './support/db';
import { placement } from './support/fixtures';

let app: Db; // the application's pool: role xingtu_app
let owner: Db; // the login user (the schema owner, a superuser in tests)
withOwnedTestDatabase((world) => ({ app, owner } = world));

const MIGRATION = '0013_post_ledger_transaction';

const functionNames = async () =>
  (await sql<{ name: string }>`select proname as name from pg_proc where proname in ('post_ledger_transaction', 'ledger_transaction_stored') order by 1`.execute(owner)).rows.map((r) => r.name);

/** A top-up as the code before migration 0013 posted it: the transaction row and its transfer, by INSERT. */
async function topUpAsBefore0013(clientId: string, paymentRef: string, amountFen: bigint, at: Date): Promise<void> {
  const row = ledgerTransactionRow(
    { txId: `topup:${paymentRef}`, kind: 'top_up', orderId: null, externalPaymentRef: paymentRef, transfers: [{ debitAccount: 'external:payments', creditAccount: `client:${clientId}`, amountFen }] },
    at,
  );
  await app.transaction().execute(async (trx) => {
    const { rows } = await sql<{ seq: bigint }>`
      insert into ledger_transactions (tx_id, kind, order_id, external_payment_ref, occurred_at, content_hash, chain_id)
      values (${row.tx_id}, ${row.kind}, null, ${paymentRef}, ${at}, ${row.content_hash}, ${row.chain_id}) returning seq`.execute(trx);
    await sql`insert into ledger_transfers (tx_id, tx_seq, transfer_index, debit_account, credit_account, amount_fen)
      values (${row.tx_id}, ${rows[0]?.seq}, 0, 'external:payments', ${`client:${clientId}`}, ${amountFen.toString()}::int8)`.execute(trx);
  });
}

describe('L3 (issue 19): migration 0013 on a deployment migrated up to 0012, with data in it', () => {
  test('down to 0012, data written by 0012’s functions, up again: the rows stored before are compared like new ones, and 0013 runs twice harmlessly', async () => {
    const migrator = new Migrator({ db: owner, provider: { getMigrations: async () => MIGRATIONS } });
    // Later migrations go down first (and come up again below): this is about 0013 alone.
    const down = await migrator.migrateTo('0012_checkouts');
    expect(down.error).toBeUndefined();
    expect(down.results?.filter((r) => r.migrationName === MIGRATION).map((r) => [r.migrationName, r.direction, r.status])).toEqual([[MIGRATION, 'Down', 'Success']]);
    expect(down.results?.every((r) => r.status === 'Success')).toBe(true);
    expect(await functionNames()).toEqual([]);

    // At 0012: an order placed by 0012's append_order_stream, a top-up as the code then posted it.
    const activities = createActivities({ db: app });
    const p = placement();
    const placed = { orderId: p.orderId, causation: 'test', events: [{ version: 1, occurredAt: Date.now(), event: placementEvent(p, DEFAULT_TASK_POLICY) }] };
    expect(await activities.recordTaskEvents(placed)).toEqual({ appended: 1, alreadyRecorded: 0 });
    const clientId = `c-0013-${Date.now()}`;
    await topUpAsBefore0013(clientId, `pay-${clientId}`, 700n, new Date('2025-06-01T00:00:00Z'));

    const up = await migrator.migrateToLatest();
    expect(up.error).toBeUndefined();
    expect(up.results?.filter((r) => r.migrationName === MIGRATION).map((r) => [r.migrationName, r.direction, r.status])).toEqual([[MIGRATION, 'Up', 'Success']]);
    expect(up.results?.every((r) => r.status === 'Success')).toBe(true);
    // Idempotent: its up again (create or replace), and the migrator has nothing left to run.
    await m0013.up(owner);
    expect((await migrator.migrateToLatest()).results).toEqual([]);
    expect(await functionNames()).toEqual(['ledger_transaction_stored', 'post_ledger_transaction']);

    // The old rows, through the new function: a repeat is a no-op, another content a conflict (L3).
    const topUp = { clientId, paymentRef: `pay-${clientId}`, amountFen: 700n };
    expect(await postTopUp(app, topUp, new Date('2025-06-02T00:00:00Z'))).toBe('duplicate');
    await expect(postTopUp(app, { ...topUp, amountFen: 701n }, new Date())).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect(await accountBalance(app, `client:${clientId}`)).toBe(700n);
    expect(await activities.recordTaskEvents(placed)).toEqual({ appended: 0, alreadyRecorded: 1 });
    // New postings extend the chains the old rows are on; the audit finds nothing wrong.
    const q = placement();
    expect(await activities.recordTaskEvents({ ...placed, orderId: q.orderId, events: [{ version: 1, occurredAt: Date.now(), event: placementEvent(q, DEFAULT_TASK_POLICY) }] })).toEqual({ appended: 1, alreadyRecorded: 0 });
    expect(await postTopUp(app, { ...topUp, paymentRef: `pay2-${clientId}` }, new Date())).toBe('posted');
    expect((await auditLedger(app)).discrepancies).toEqual([]);
  }, 60_000);
});
