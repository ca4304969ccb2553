import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any> and never import application code: they must keep working as the
// application changes.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('order_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('order_id', 'text', (c) => c.notNull())
    .addColumn('order_kind', 'text', (c) => c.notNull().check(sql`order_kind in ('task', 'boost')`))
    .addColumn('version', 'integer', (c) => c.notNull().check(sql`version >= 1`))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('causation', 'text')
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('order_events_order_version_key', ['order_id', 'version'])
    .execute();

  await db.schema
    .createTable('ledger_transactions')
    .addColumn('tx_id', 'text', (c) => c.primaryKey())
    .addColumn('seq', 'bigserial', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('order_id', 'text')
    .addColumn('external_payment_ref', 'text', (c) => c.unique()) // L5: never used twice
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('chain_hash', 'text', (c) => c.notNull().unique())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('ledger_transactions_order_idx').on('ledger_transactions').column('order_id').execute();

  await db.schema
    .createTable('ledger_transfers')
    .addColumn('tx_id', 'text', (c) => c.notNull().references('ledger_transactions.tx_id'))
    .addColumn('transfer_index', 'integer', (c) => c.notNull().check(sql`transfer_index >= 0`))
    .addColumn('debit_account', 'text', (c) => c.notNull())
    .addColumn('credit_account', 'text', (c) => c.notNull())
    .addColumn('amount_fen', 'bigint', (c) => c.notNull().check(sql`amount_fen > 0`)) // L1
    .addPrimaryKeyConstraint('ledger_transfers_pkey', ['tx_id', 'transfer_index'])
    .addCheckConstraint('ledger_transfers_two_accounts', sql`debit_account <> credit_account`)
    .execute();
  await db.schema.createIndex('ledger_transfers_debit_idx').on('ledger_transfers').columns(['debit_account', 'tx_id']).execute();
  await db.schema.createIndex('ledger_transfers_credit_idx').on('ledger_transfers').columns(['credit_account', 'tx_id']).execute();

  // L2: a client account never goes negative, enforced by the database. Only client accounts keep
  // a running balance row (one row per client, so orders of different clients never contend);
  // every other balance is the sum over its transfers.
  await db.schema
    .createTable('client_balances')
    .addColumn('account', 'text', (c) => c.primaryKey().check(sql`account like 'client:%'`))
    .addColumn('balance_fen', 'bigint', (c) => c.notNull().check(sql`balance_fen >= 0`))
    .execute();

  await sql`
    create function apply_client_balances() returns trigger language plpgsql as $$
    begin
      if new.credit_account like 'client:%' then
        insert into client_balances (account, balance_fen) values (new.credit_account, new.amount_fen)
        on conflict (account) do update set balance_fen = client_balances.balance_fen + excluded.balance_fen;
      end if;
      if new.debit_account like 'client:%' then
        insert into client_balances (account, balance_fen) values (new.debit_account, -new.amount_fen)
        on conflict (account) do update set balance_fen = client_balances.balance_fen + excluded.balance_fen;
      end if;
      return new;
    end $$`.execute(db);
  await sql`create trigger ledger_transfers_client_balances after insert on ledger_transfers
    for each row execute function apply_client_balances()`.execute(db);

  // L4: the ledger and the event streams are append-only.
  await sql`
    create function reject_mutation() returns trigger language plpgsql as $$
    begin
      raise exception 'append-only table %: % is not allowed', tg_table_name, tg_op using errcode = 'raise_exception';
    end $$`.execute(db);
  for (const table of ['ledger_transactions', 'ledger_transfers', 'order_events']) {
    await sql`create trigger ${sql.raw(`${table}_no_update_delete`)} before update or delete on ${sql.table(table)}
      for each row execute function reject_mutation()`.execute(db);
    await sql`create trigger ${sql.raw(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
      for each statement execute function reject_mutation()`.execute(db);
  }

  // L4: the head of the hash chain; each transaction links to the previous one's hash.
  await db.schema
    .createTable('ledger_chain_head')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await sql`insert into ledger_chain_head (id, seq, hash) values (1, 0, repeat('0', 64))`.execute(db);

  await db.schema
    .createTable('task_orders')
    .addColumn('order_id', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('creator_id', 'text', (c) => c.notNull())
    .addColumn('task_type', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('industry', 'text', (c) => c.notNull())
    .addColumn('expected_publish_at', 'timestamptz', (c) => c.notNull())
    .addColumn('payment_mode', 'text', (c) => c.notNull())
    .addColumn('price_fen', 'bigint', (c) => c.notNull())
    .addColumn('service_fee_fen', 'bigint', (c) => c.notNull())
    .addColumn('paid_in_fen', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('cancel_reason', 'text')
    .addColumn('next_deadline_kind', 'text')
    .addColumn('next_deadline_at', 'timestamptz')
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('placement_hash', 'text', (c) => c.notNull())
    .addColumn('placed_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('details', 'jsonb', (c) => c.notNull())
    .execute();
  for (const column of ['client_id', 'creator_id', 'status', 'placed_at', 'next_deadline_at']) {
    await db.schema.createIndex(`task_orders_${column}_idx`).on('task_orders').column(column).execute();
  }

  // E3: the outbox; one row per (event, recipient), never twice.
  await db.schema
    .createTable('notifications')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('order_id', 'text', (c) => c.notNull())
    .addColumn('event_version', 'integer', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('recipient_type', 'text', (c) => c.notNull())
    .addColumn('recipient_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('delivered_at', 'timestamptz')
    .addUniqueConstraint('notifications_event_seq_key', ['order_id', 'event_version', 'seq'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['notifications', 'task_orders', 'ledger_chain_head', 'client_balances', 'ledger_transfers', 'ledger_transactions', 'order_events']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await sql`drop function if exists apply_client_balances, reject_mutation`.execute(db);
}
