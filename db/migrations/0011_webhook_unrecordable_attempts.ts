import { sql, type Kysely } from 'kysely';

/**
 * E5/§10 (issue 18, hostile receivers): an attempt whose outcome could not be written (a database
 * error while recording it, e.g. a receiver's answer PostgreSQL refused) is recorded, as a fallback,
 * with the outcome `unrecordable`: a failure that backs off and shows in the endpoint's deliveries
 * (worker/webhook-delivery.ts; docs/decisions.md "Hostile webhook receivers").
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table webhook_attempts drop constraint webhook_attempts_outcome_check`.execute(db);
  await sql`alter table webhook_attempts add constraint webhook_attempts_outcome_check
    check (outcome in ('delivered', 'http_error', 'timeout', 'network_error', 'refused_target', 'secret_unreadable', 'unrecordable'))`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from webhook_attempts where outcome = 'unrecordable'`.execute(db);
  await sql`alter table webhook_attempts drop constraint webhook_attempts_outcome_check`.execute(db);
  await sql`alter table webhook_attempts add constraint webhook_attempts_outcome_check
    check (outcome in ('delivered', 'http_error', 'timeout', 'network_error', 'refused_target', 'secret_unreadable'))`.execute(db);
}
