import { sql, type Kysely } from 'kysely';

/**
 * E5: webhook signing secrets may be stored encrypted (platform/secret-box.ts: `enc1.…` under
 * WEBHOOK_SECRETS_KEY) as well as plain (`whsec_…`). Migration 0008's unnamed check allowed only
 * the plain form; it is replaced by a named one allowing both. An attempt whose secret cannot be
 * opened (a missing or wrong key) is recorded with the outcome `secret_unreadable`. docs/decisions.md.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`do $$
    declare c record;
    begin
      for c in select conname from pg_constraint
               where conrelid = 'public.webhook_endpoints'::regclass and contype = 'c' and pg_get_constraintdef(oid) like '%whsec\\_%'
      loop
        execute format('alter table public.webhook_endpoints drop constraint %I', c.conname);
      end loop;
    end $$`.execute(db);
  await sql`alter table webhook_endpoints add constraint webhook_endpoints_secret_format
    check (status = 'deleted' or secret like 'whsec\\_%' or secret like 'enc1.%')`.execute(db);
  await sql`alter table webhook_endpoints add constraint webhook_endpoints_previous_secret_format
    check (previous_secret is null or previous_secret like 'whsec\\_%' or previous_secret like 'enc1.%')`.execute(db);
  await sql`alter table webhook_attempts drop constraint webhook_attempts_outcome_check`.execute(db);
  await sql`alter table webhook_attempts add constraint webhook_attempts_outcome_check
    check (outcome in ('delivered', 'http_error', 'timeout', 'network_error', 'refused_target', 'secret_unreadable'))`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table webhook_attempts drop constraint webhook_attempts_outcome_check`.execute(db);
  await sql`alter table webhook_attempts add constraint webhook_attempts_outcome_check
    check (outcome in ('delivered', 'http_error', 'timeout', 'network_error', 'refused_target'))`.execute(db);
  await sql`alter table webhook_endpoints drop constraint webhook_endpoints_previous_secret_format`.execute(db);
  await sql`alter table webhook_endpoints drop constraint webhook_endpoints_secret_format`.execute(db);
  await sql`alter table webhook_endpoints add check (status = 'deleted' or secret like 'whsec_%')`.execute(db);
}
