import { sql, type Kysely } from 'kysely';

// A copy of db/connect.ts APP_ROLE (migrations never import application code).
const APP_ROLE = 'xingtu_app';

/**
 * F6/issue 18: console sign-out revokes the session server-side. Sessions stay sealed cookies
 * (api/console/session.ts), each with a random id; signing out records that id here until the
 * session would have expired anyway, and a cookie whose id is here is not a session, so a copy of
 * the cookie taken before sign-out is refused. Signing in writes nothing (a failed sign-in must
 * not write at all); only a sign-out does, and it purges the rows whose sessions have expired.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table console_session_revocations (
      session_id text primary key check (session_id ~ '^[A-Za-z0-9_-]{16,64}$'),
      revoked_at timestamptz not null default now(),
      expires_at timestamptz not null)`.execute(db);
  await sql`create index console_session_revocations_expires_at on console_session_revocations (expires_at)`.execute(db);
  await sql`grant select, insert, delete on console_session_revocations to ${sql.raw(APP_ROLE)}`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table console_session_revocations`.execute(db);
}
