import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any> and never import application code: they must keep working as the
// application changes. A copy of db/connect.ts APP_ROLE.
const APP_ROLE = 'xingtu_app';

/**
 * Issue 5: boost orders (SPEC §3).
 *
 * - `video_stats` (B8): the latest view count per video. A count never decreases: the application
 *   only raises it (a conditional upsert) and a trigger refuses any UPDATE that would lower it.
 * - `boost_quotes` (B1): every quote, with its explanation (B2), valid 30 minutes.
 * - `creator_boost_opt_outs` (B2): creators who opted out of boosts; ops/db fill it by hand.
 * - `business_calendar_years` / `business_calendar_days` (B7): the official calendar ops can
 *   extend. This migration only creates the tables; db/calendar.ts seeds the bundled years right
 *   after the migrations (a year already in the table is never touched again).
 * - `boost_orders`: the read model of boost orders (E2), at most one per task order (B3).
 * The boost event streams live in order_events (order_kind = 'boost', order_id = 'boost:{id}').
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  // ── B8: video stats ───────────────────────────────────────────────────────────────────────
  await sql`create table video_stats (
      video_id text primary key,
      creator_id text not null,
      published_at timestamptz not null,
      views bigint not null check (views >= 0),
      observed_at timestamptz not null,
      updated_at timestamptz not null default now())`.execute(db);
  await sql`create index video_stats_creator_published_idx on video_stats (creator_id, published_at)`.execute(db);
  await sql`
    create function video_stats_never_decrease() returns trigger language plpgsql as $$
    begin
      if new.views < old.views then
        raise exception 'video %: a view count of % is lower than the stored % (B8: counts never decrease)', old.video_id, new.views, old.views
          using errcode = 'check_violation', constraint = 'video_stats_views_never_decrease';
      end if;
      if new.creator_id <> old.creator_id then
        raise exception 'video % belongs to creator %', old.video_id, old.creator_id
          using errcode = 'check_violation', constraint = 'video_stats_creator_fixed';
      end if;
      return new;
    end $$`.execute(db);
  await sql`create trigger video_stats_never_decrease before update on video_stats
      for each row execute function video_stats_never_decrease()`.execute(db);

  // ── B1/B2: quotes ─────────────────────────────────────────────────────────────────────────
  await sql`create table boost_quotes (
      quote_id text primary key,
      client_id text,
      creator_id text not null,
      price_fen bigint not null check (price_fen > 0),
      available boolean not null,
      quoted_at timestamptz not null,
      valid_until timestamptz not null check (valid_until > quoted_at),
      result jsonb not null,
      created_at timestamptz not null default now())`.execute(db);
  await sql`create index boost_quotes_quoted_at_idx on boost_quotes (quoted_at)`.execute(db);

  // ── B2: opt-outs, maintained by ops ───────────────────────────────────────────────────────
  await sql`create table creator_boost_opt_outs (
      creator_id text primary key,
      opted_out_at timestamptz not null default now(),
      note text)`.execute(db);

  // ── B7: the business calendar ─────────────────────────────────────────────────────────────
  await sql`create table business_calendar_years (
      year integer primary key check (year between 1000 and 9999),
      source text,
      loaded_at timestamptz not null default now())`.execute(db);
  await sql`create table business_calendar_days (
      date date primary key,
      kind text not null check (kind in ('holiday', 'workday')),
      year integer not null references business_calendar_years (year),
      check (extract(year from date)::integer = year))`.execute(db);
  await sql`create index business_calendar_days_year_idx on business_calendar_days (year)`.execute(db);

  // ── Boost orders: the read model (E2) ─────────────────────────────────────────────────────
  await sql`create table boost_orders (
      boost_order_id text primary key,
      task_order_id text not null,
      client_id text not null,
      creator_id text not null,
      quote_id text not null,
      video_id text,
      status text not null check (status in ('awaiting_publication', 'boosting', 'evaluating', 'refund_scheduled', 'closed')),
      end_reason text,
      price_fen bigint not null check (price_fen >= 0),
      boost_fee_fen bigint not null check (boost_fee_fen >= 0),
      expected_views bigint not null check (expected_views > 0),
      escrow_fen bigint not null check (escrow_fen >= 0),
      refund_fen bigint,
      refund_due_at timestamptz,
      refund_posted_at timestamptz,
      calendar_missing boolean not null default false,
      next_deadline_kind text,
      next_deadline_at timestamptz,
      request_hash text not null check (request_hash ~ '^[0-9a-f]{64}$'),
      version integer not null check (version >= 1),
      ordered_at timestamptz not null,
      updated_at timestamptz not null,
      details jsonb not null,
      constraint boost_orders_task_order_id_key unique (task_order_id))`.execute(db);
  for (const column of ['client_id', 'video_id', 'status', 'next_deadline_at', 'refund_due_at']) {
    await sql`create index ${sql.raw(`boost_orders_${column}_idx`)} on boost_orders (${sql.raw(column)})`.execute(db);
  }

  // ── The application's role (L4, see 0002) ─────────────────────────────────────────────────
  const app = sql.raw(APP_ROLE);
  await sql`grant select, insert, update, delete on video_stats, boost_quotes, creator_boost_opt_outs,
      business_calendar_years, business_calendar_days, boost_orders to ${app}`.execute(db);
  // No new sequences: every key above is the caller's own id (nothing to grant usage on).
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['boost_orders', 'business_calendar_days', 'business_calendar_years', 'creator_boost_opt_outs', 'boost_quotes', 'video_stats']) {
    await sql`drop table if exists ${sql.table(table)}`.execute(db);
  }
  await sql`drop function if exists video_stats_never_decrease()`.execute(db);
}
