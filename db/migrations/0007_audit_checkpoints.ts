import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any> and never import application code. APP_ROLE is a copy of
// db/connect.ts's.
const APP_ROLE = 'xingtu_app';

/**
 * Issue 11: audit checkpoints (F3 at scale, docs/decisions.md "Audit checkpoints").
 *
 * A clean audit records a checkpoint: where it verified each hash chain up to (its head: seq and
 * hash) and `events_watermark`, an order_events id such that every event with an id up to it was
 * committed before that audit's snapshot (and so was audited by it or an earlier one). An
 * incremental audit (`audit --since-checkpoint`) starts from the latest checkpoint: it verifies
 * each chain from the checkpoint's head on and audits the orders with events or ledger
 * transactions after it.
 *
 * Append-only, like the ledger: the application's role may read and insert checkpoints, never
 * change or delete one (the owner is stopped by the same trigger as on the ledger).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table audit_checkpoints (
      id bigserial primary key,
      recorded_at timestamptz not null default now(),
      mode text not null check (mode in ('full', 'incremental')),
      based_on bigint references audit_checkpoints (id),
      events_watermark bigint not null check (events_watermark >= 0),
      checked_transactions bigint not null check (checked_transactions >= 0),
      checked_orders bigint not null check (checked_orders >= 0),
      workflows_compared bigint not null check (workflows_compared >= 0),
      workflows_skipped text,
      check ((mode = 'full') = (based_on is null)))`.execute(db);
  await sql`create table audit_checkpoint_heads (
      checkpoint_id bigint not null references audit_checkpoints (id),
      chain_id integer not null check (chain_id >= 0),
      seq bigint not null check (seq >= 0),
      hash text not null check (hash ~ '^[0-9a-f]{64}$'),
      primary key (checkpoint_id, chain_id))`.execute(db);

  for (const table of ['audit_checkpoints', 'audit_checkpoint_heads']) {
    // reject_mutation() is migration 0001's guard of the ledger and the event streams.
    await sql`create trigger ${sql.raw(`${table}_no_update_delete`)} before update or delete on ${sql.table(table)}
      for each row execute function reject_mutation()`.execute(db);
    await sql`create trigger ${sql.raw(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
      for each statement execute function reject_mutation()`.execute(db);
  }

  // The default privileges of 0002 grant every new table's read-model rights; take back what an
  // append-only table must not allow.
  const app = sql.raw(APP_ROLE);
  await sql`grant select, insert on audit_checkpoints, audit_checkpoint_heads to ${app}`.execute(db);
  await sql`revoke update, delete, truncate on audit_checkpoints, audit_checkpoint_heads from ${app}`.execute(db);
  await sql`grant usage, select on sequence audit_checkpoints_id_seq to ${app}`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table audit_checkpoint_heads`.execute(db);
  await sql`drop table audit_checkpoints`.execute(db);
}
