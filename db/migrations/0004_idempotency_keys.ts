import { sql, type Kysely } from 'kysely';

// A copy of db/connect.ts APP_ROLE (migrations never import application code).
const APP_ROLE = 'xingtu_app';

/**
 * SPEC §8 `Idempotency-Key` on every POST (api/idempotency.ts): one row per (role, key). The row is
 * claimed (status_code NULL) before the request runs, so a concurrent duplicate never runs it
 * twice, and completed with the response (2xx/4xx) that a retry replays. A 5xx deletes the claim.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table idempotency_keys (
      role text not null check (role ~ '^[a-z_]{1,32}$'),
      key text not null check (length(key) between 1 and 128),
      request_hash text not null check (request_hash ~ '^[0-9a-f]{64}$'),
      status_code integer check (status_code between 200 and 499),
      content_type text,
      response_body text,
      created_at timestamptz not null default now(),
      completed_at timestamptz,
      primary key (role, key),
      check ((status_code is null) = (completed_at is null)),
      check ((status_code is null) = (response_body is null)))`.execute(db);
  await sql`create index idempotency_keys_created_at on idempotency_keys (created_at)`.execute(db);
  await sql`grant select, insert, update, delete on idempotency_keys to ${sql.raw(APP_ROLE)}`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table idempotency_keys`.execute(db);
}
