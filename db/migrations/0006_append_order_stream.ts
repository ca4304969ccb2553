import { sql, type Kysely } from 'kysely';
import { BOOST_ORDER_COLUMNS, TASK_ORDER_COLUMNS, appendOrderStreamFunction } from './append-order-stream-sql';

// Migrations take Kysely<any> and never import application code. APP_ROLE is a copy of
// db/connect.ts's.
const APP_ROLE = 'xingtu_app';

/**
 * E1 in one database call: an activity's whole append — events, outbox rows, the read-model row and
 * the ledger transactions — is one statement, so one round trip and one (autocommit) transaction
 * instead of BEGIN, a load, an insert per table and COMMIT (docs/ledger.md, "Throughput").
 *
 * Nothing about the invariants moves here: the function runs with the caller's rights (the
 * application's role), every constraint and trigger of the tables still applies (L1, L2, L4, L5),
 * and (order_id, version) stays the events' idempotency key (L3): a version already taken fails
 * with unique_violation on order_events_order_version_key, and the caller reloads the stream.
 * A ledger transaction whose id exists is a no-op when its content hash is the same (L3) and the
 * error XL003 otherwise; the check comes before the INSERT because the chain trigger runs first.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await appendOrderStreamFunction(
    [
      { kind: 'task', table: 'task_orders', columns: TASK_ORDER_COLUMNS },
      { kind: 'boost', table: 'boost_orders', columns: BOOST_ORDER_COLUMNS },
    ],
    false,
  ).execute(db);
  await sql`revoke execute on function append_order_stream(text, text, text, jsonb, jsonb, jsonb, jsonb) from public`.execute(db);
  await sql`grant execute on function append_order_stream(text, text, text, jsonb, jsonb, jsonb, jsonb) to ${sql.raw(APP_ROLE)}`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function append_order_stream(text, text, text, jsonb, jsonb, jsonb, jsonb)`.execute(db);
}
