import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any> and never import application code: they must keep working as the
// application changes. Constants below are copies (db/connect.ts APP_ROLE, db/ledger.ts
// LEDGER_CHAIN_COUNT and GENESIS_HASH).

const APP_ROLE = 'xingtu_app';
const CHAIN_COUNT = 16;

/**
 * Issue 4: the ledger's invariants enforced by PostgreSQL itself (see docs/ledger.md).
 *
 * - L4, tamper evidence without a hot row: 16 hash chains (ledger_chain_heads) instead of one
 *   head row; the database, not the application, links each new transaction to its chain's head.
 * - L1: a transaction without transfers is refused at commit (deferred constraint trigger).
 * - L4, immutability: the application runs as role xingtu_app, which has no UPDATE, DELETE or
 *   TRUNCATE on the ledger and the event streams (the owner is stopped by the triggers of 0001).
 * - F1: transfers carry their transaction's seq, so a statement is an index range scan.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  // ── L4: striped hash chains ─────────────────────────────────────────────────────────────────
  await sql`create table ledger_chain_heads (
      chain_id integer primary key check (chain_id >= 0),
      seq bigint not null check (seq >= 0),
      hash text not null check (hash ~ '^[0-9a-f]{64}$'))`.execute(db);
  // The single chain of 0001 continues as chain 0 (its transactions keep their links); the other
  // chains start from the genesis hash.
  await sql`insert into ledger_chain_heads (chain_id, seq, hash) select 0, seq, hash from ledger_chain_head where id = 1`.execute(db);
  await sql`insert into ledger_chain_heads (chain_id, seq, hash)
      select g, 0, repeat('0', 64) from generate_series(0, ${sql.lit(CHAIN_COUNT - 1)}) g
      on conflict (chain_id) do nothing`.execute(db);

  await sql`alter table ledger_transactions add column chain_id integer, add column chain_seq bigint`.execute(db);
  await sql`alter table ledger_transfers add column tx_seq bigint`.execute(db);
  // Backfill rows of 0001 (none on a fresh database). The tables are append-only, so the owner
  // lifts the guard for these two statements only, inside this migration's transaction.
  await sql`alter table ledger_transactions disable trigger ledger_transactions_no_update_delete`.execute(db);
  await sql`update ledger_transactions t set chain_id = 0, chain_seq = r.n
      from (select tx_id, row_number() over (order by seq) as n from ledger_transactions) r where r.tx_id = t.tx_id`.execute(db);
  await sql`alter table ledger_transactions enable trigger ledger_transactions_no_update_delete`.execute(db);
  await sql`alter table ledger_transfers disable trigger ledger_transfers_no_update_delete`.execute(db);
  await sql`update ledger_transfers f set tx_seq = t.seq from ledger_transactions t where t.tx_id = f.tx_id`.execute(db);
  await sql`alter table ledger_transfers enable trigger ledger_transfers_no_update_delete`.execute(db);

  await sql`alter table ledger_transactions
      alter column chain_id set not null,
      alter column chain_seq set not null,
      add constraint ledger_transactions_chain_seq_key unique (chain_id, chain_seq),
      add constraint ledger_transactions_tx_seq_key unique (tx_id, seq),
      add constraint ledger_transactions_content_hash_check check (content_hash ~ '^[0-9a-f]{64}$')`.execute(db);
  await sql`drop table ledger_chain_head`.execute(db);

  // The database extends the chain: the application supplies chain_id and content_hash; chain_seq,
  // prev_hash and chain_hash come from the chain's head, locked until commit. SECURITY DEFINER:
  // the application role cannot write ledger_chain_heads itself.
  await sql`
    create function ledger_extend_chain() returns trigger
    language plpgsql security definer set search_path = pg_catalog, public as $$
    declare
      head record;
    begin
      select seq, hash into head from public.ledger_chain_heads where chain_id = new.chain_id for update;
      if not found then
        raise exception 'ledger chain % does not exist', new.chain_id using errcode = 'foreign_key_violation';
      end if;
      new.chain_seq := head.seq + 1;
      new.prev_hash := head.hash;
      new.chain_hash := encode(sha256(convert_to(head.hash || new.content_hash, 'UTF8')), 'hex');
      update public.ledger_chain_heads set seq = new.chain_seq, hash = new.chain_hash where chain_id = new.chain_id;
      return new;
    end $$`.execute(db);
  await sql`create trigger ledger_transactions_chain before insert on ledger_transactions
      for each row execute function ledger_extend_chain()`.execute(db);

  // Several transactions in one database transaction (e.g. T14 combined payment over several
  // orders) lock their chains in ascending order first, so two such writers never deadlock.
  await sql`
    create function ledger_lock_chains(chain_ids integer[]) returns void
    language plpgsql security definer set search_path = pg_catalog, public as $$
    begin
      perform 1 from public.ledger_chain_heads where chain_id = any(chain_ids) order by chain_id for update;
    end $$`.execute(db);

  // ── L1: every transaction has at least one transfer, checked at commit ─────────────────────────
  await sql`
    create function ledger_require_transfers() returns trigger
    language plpgsql security definer set search_path = pg_catalog, public as $$
    begin
      if not exists (select 1 from public.ledger_transfers where tx_id = new.tx_id) then
        raise exception 'ledger transaction % has no transfers (L1)', new.tx_id
          using errcode = 'check_violation', constraint = 'ledger_transactions_have_transfers';
      end if;
      return null;
    end $$`.execute(db);
  await sql`create constraint trigger ledger_transactions_have_transfers after insert on ledger_transactions
      deferrable initially deferred for each row execute function ledger_require_transfers()`.execute(db);

  // ── F1: transfers carry their transaction's seq (kept right by a composite foreign key) ───────
  await sql`alter table ledger_transfers
      alter column tx_seq set not null,
      drop constraint ledger_transfers_tx_id_fkey,
      add constraint ledger_transfers_tx_fkey foreign key (tx_id, tx_seq) references ledger_transactions (tx_id, seq)`.execute(db);
  await sql`drop index ledger_transfers_debit_idx`.execute(db);
  await sql`drop index ledger_transfers_credit_idx`.execute(db);
  // Balances are sums over these (index-only scans); statements are range scans in seq order.
  await sql`create index ledger_transfers_debit_idx on ledger_transfers (debit_account, tx_seq, transfer_index) include (amount_fen)`.execute(db);
  await sql`create index ledger_transfers_credit_idx on ledger_transfers (credit_account, tx_seq, transfer_index) include (amount_fen)`.execute(db);
  await sql`create index ledger_transactions_occurred_at_idx on ledger_transactions (occurred_at, seq)`.execute(db);

  // ── L2: client balances are written by the trigger only, with the owner's rights ───────────────
  await sql`alter function apply_client_balances() security definer set search_path = pg_catalog, public`.execute(db);

  // ── L4: the application's role ─────────────────────────────────────────────────────────────────
  await sql`
    do $$
    begin
      if not exists (select 1 from pg_roles where rolname = ${sql.lit(APP_ROLE)}) then
        create role ${sql.raw(APP_ROLE)} nologin;
      end if;
      -- The login user must be able to SET ROLE to it (a superuser can anyway).
      if not (select rolsuper from pg_roles where rolname = current_user) then
        begin
          execute format('grant %I to %I', ${sql.lit(APP_ROLE)}, current_user);
        exception when insufficient_privilege then
          raise warning 'could not grant % to %: grant it, or connect as a member of it', ${sql.lit(APP_ROLE)}, current_user;
        end;
      end if;
    end $$`.execute(db);
  const app = sql.raw(APP_ROLE);
  await sql`grant usage on schema public to ${app}`.execute(db);
  // Read models, the outbox and anything else: read and write; then take back what must not be.
  await sql`grant select, insert, update, delete on all tables in schema public to ${app}`.execute(db);
  await sql`grant usage, select on all sequences in schema public to ${app}`.execute(db);
  await sql`revoke all on kysely_migration, kysely_migration_lock from ${app}`.execute(db);
  await sql`revoke update, delete, truncate on order_events, ledger_transactions, ledger_transfers from ${app}`.execute(db);
  await sql`revoke insert, update, delete, truncate on client_balances, ledger_chain_heads from ${app}`.execute(db);
  await sql`revoke delete, truncate on notifications from ${app}`.execute(db); // E3: never re-sent
  await sql`revoke execute on function ledger_extend_chain(), ledger_require_transfers(), apply_client_balances() from public`.execute(db);
  // Tables of later migrations get the read-model rights by default; an append-only table revokes
  // UPDATE and DELETE in its own migration, as above.
  await sql`alter default privileges in schema public grant select, insert, update, delete on tables to ${app}`.execute(db);
  await sql`alter default privileges in schema public grant usage, select on sequences to ${app}`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from ledger_transactions where chain_id <> 0`.execute(db);
  if (Number(rows[0]?.n ?? 0) > 0) throw new Error('0002 cannot be undone: transactions on chains 1–15 have no place in the single chain of 0001');
  const app = sql.raw(APP_ROLE);
  await sql`alter default privileges in schema public revoke all on tables from ${app}`.execute(db);
  await sql`alter default privileges in schema public revoke all on sequences from ${app}`.execute(db);
  await sql`revoke all on all tables in schema public from ${app}`.execute(db);
  await sql`revoke all on all sequences in schema public from ${app}`.execute(db);
  await sql`alter function apply_client_balances() security invoker reset search_path`.execute(db);
  await sql`drop index ledger_transactions_occurred_at_idx`.execute(db);
  await sql`drop index ledger_transfers_debit_idx`.execute(db);
  await sql`drop index ledger_transfers_credit_idx`.execute(db);
  await sql`alter table ledger_transfers drop constraint ledger_transfers_tx_fkey,
      add constraint ledger_transfers_tx_id_fkey foreign key (tx_id) references ledger_transactions (tx_id), drop column tx_seq`.execute(db);
  await sql`create index ledger_transfers_debit_idx on ledger_transfers (debit_account, tx_id)`.execute(db);
  await sql`create index ledger_transfers_credit_idx on ledger_transfers (credit_account, tx_id)`.execute(db);
  await sql`drop trigger ledger_transactions_have_transfers on ledger_transactions`.execute(db);
  await sql`drop trigger ledger_transactions_chain on ledger_transactions`.execute(db);
  await sql`drop function ledger_require_transfers(), ledger_lock_chains(integer[]), ledger_extend_chain()`.execute(db);
  await sql`create table ledger_chain_head (id integer primary key check (id = 1), seq bigint not null, hash text not null)`.execute(db);
  await sql`insert into ledger_chain_head (id, seq, hash) select 1, seq, hash from ledger_chain_heads where chain_id = 0`.execute(db);
  await sql`alter table ledger_transactions drop constraint ledger_transactions_chain_seq_key,
      drop constraint ledger_transactions_tx_seq_key, drop constraint ledger_transactions_content_hash_check,
      drop column chain_id, drop column chain_seq`.execute(db);
  await sql`drop table ledger_chain_heads`.execute(db);
}
