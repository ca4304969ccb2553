import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any> and never import application code. APP_ROLE is a copy of
// db/connect.ts's.
const APP_ROLE = 'xingtu_app';

/**
 * Issue 13: the event feed (E4) and webhooks (E5); docs/decisions.md.
 *
 * Feed order. notifications.id is a bigserial: assigned at insert, so two appends can commit in
 * the other order (id 7 visible, id 6 still in flight). A cursor "after id 7" would then skip 6
 * for ever. Each row records the top-level transaction that wrote it (`writer_xid`, xid8: 64 bits,
 * never wraps), the feed is ordered by (writer_xid, id), and a page only holds rows with
 * writer_xid below the reading snapshot's xmin — every transaction below it has ended, and every
 * transaction that can still commit has an xid at or above it, so it sorts after every row
 * already handed out. The default is evaluated inside append_order_stream's insert (migration
 * 0006 needs no change). Rows written before this migration all get the migration's own xid:
 * they are committed, and keep their id order among themselves.
 *
 * Webhooks: endpoints (each with a feed position it has fanned out up to), one delivery per
 * (endpoint, event) — the outbox the delivery loop claims with FOR UPDATE SKIP LOCKED and a lease —
 * and every attempt.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table notifications add column writer_xid xid8 not null default pg_current_xact_id()`.execute(db);
  await sql`create index notifications_feed_idx on notifications (writer_xid, id)`.execute(db);
  await sql`create index notifications_order_feed_idx on notifications (order_id, writer_xid, id)`.execute(db);

  await sql`create table webhook_endpoints (
      endpoint_id text primary key,
      url text not null check (length(url) between 1 and 2048),
      description text check (length(description) <= 500),
      event_types text[] check (cardinality(event_types) between 1 and 64),
      secret text not null,
      previous_secret text,
      previous_secret_expires_at timestamptz,
      status text not null check (status in ('active', 'disabled', 'deleted')),
      feed_xid xid8 not null,
      feed_id bigint not null default 0,
      failing_since timestamptz,
      disabled_at timestamptz,
      deleted_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check ((status = 'deleted') = (deleted_at is not null)),
      check ((status = 'disabled') = (disabled_at is not null)),
      check (status = 'deleted' or secret like 'whsec_%'),
      check ((previous_secret is null) = (previous_secret_expires_at is null)))`.execute(db);

  await sql`create table webhook_deliveries (
      endpoint_id text not null references webhook_endpoints (endpoint_id),
      notification_id bigint not null references notifications (id),
      order_id text not null,
      writer_xid xid8 not null,
      status text not null check (status in ('pending', 'delivered', 'failed')),
      attempt_count integer not null default 0 check (attempt_count >= 0),
      next_attempt_at timestamptz not null default now(),
      retry_window_started_at timestamptz,
      lease_until timestamptz,
      lease_token text,
      last_outcome text,
      last_status_code integer,
      delivered_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (endpoint_id, notification_id))`.execute(db);
  await sql`create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending'`.execute(db);
  await sql`create index webhook_deliveries_order_idx on webhook_deliveries (endpoint_id, order_id, writer_xid, notification_id) where status = 'pending'`.execute(db);
  await sql`create index webhook_deliveries_listing_idx on webhook_deliveries (endpoint_id, writer_xid desc, notification_id desc)`.execute(db);

  await sql`create table webhook_attempts (
      attempt_id bigserial primary key,
      endpoint_id text not null,
      notification_id bigint not null,
      attempt_no integer not null check (attempt_no >= 1),
      attempted_at timestamptz not null,
      outcome text not null check (outcome in ('delivered', 'http_error', 'timeout', 'network_error', 'refused_target')),
      status_code integer,
      latency_ms integer not null check (latency_ms >= 0),
      response_snippet text check (length(response_snippet) <= 1024),
      error text check (length(error) <= 500),
      foreign key (endpoint_id, notification_id) references webhook_deliveries (endpoint_id, notification_id))`.execute(db);
  await sql`create index webhook_attempts_delivery_idx on webhook_attempts (endpoint_id, notification_id, attempt_id)`.execute(db);
  // Migration 0002's default privileges grant the application's role these tables and the
  // sequence; attempts are a record of what happened, so they are append-only for it.
  await sql`revoke update, delete, truncate on webhook_attempts from ${sql.raw(APP_ROLE)}`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table webhook_attempts`.execute(db);
  await sql`drop table webhook_deliveries`.execute(db);
  await sql`drop table webhook_endpoints`.execute(db);
  await sql`drop index notifications_order_feed_idx`.execute(db);
  await sql`drop index notifications_feed_idx`.execute(db);
  await sql`alter table notifications drop column writer_xid`.execute(db);
}
