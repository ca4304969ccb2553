import { sql, type Kysely } from 'kysely';

// A copy of db/connect.ts APP_ROLE (migrations never import application code).
const APP_ROLE = 'xingtu_app';

/**
 * L3 (issue 21): order workflows to be told "look in your stream" (workflows/stream-sync-api.ts).
 * The API adds a row when it could not learn an Update's outcome: the Update's write may have been
 * stored by a workflow task that was then lost, and its caller, told 503, may never retry. Any API
 * process sends the signal (a lease, `due_at`, keeps two from sending at once) and deletes the row.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table stream_syncs (
      workflow_id text primary key check (length(workflow_id) between 1 and 200),
      requested_at timestamptz not null default now(),
      due_at timestamptz not null,
      attempts integer not null default 0,
      last_error text check (length(last_error) <= 500))`.execute(db);
  await sql`create index stream_syncs_due_at on stream_syncs (due_at)`.execute(db);
  await sql`grant select, insert, update, delete on stream_syncs to ${sql.raw(APP_ROLE)}`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table stream_syncs`.execute(db);
}
