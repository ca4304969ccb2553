import { sql, type Kysely } from 'kysely';
import { BOOST_ORDER_COLUMNS, CHECKOUT_COLUMNS, TASK_ORDER_COLUMNS, appendOrderStreamFunction } from './append-order-stream-sql';

// Migrations never import application code. APP_ROLE is a copy of db/connect.ts's.
const APP_ROLE = 'xingtu_app';

/**
 * C1–C5: checkouts. Their events are a stream of kind 'checkout' in order_events (`checkout:{id}`),
 * their read model is `checkouts`, and append_order_stream learns the kind.
 *
 * C3/C4, the ids a checkout uses (docs/decisions.md "Checkout: reserving ids"): every task and
 * boost order id is claimed in `order_id_claims` by the write that first stores it — a single
 * placement's read-model row (owner: none), or a checkout's payment (owner: the checkout), which
 * claims every line's ids in the same transaction as the money. The primary key makes two claims
 * of one id wait for each other; the second fails (XC001), and its whole write — payment
 * included — is rolled back. So two checkouts, or a checkout and a single placement, racing for one
 * id never both pay. A checkout's own lines find their ids claimed by that checkout and go on.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table order_events drop constraint order_events_order_kind_check`.execute(db);
  await sql`alter table order_events add constraint order_events_order_kind_check check (order_kind in ('task', 'boost', 'checkout'))`.execute(db);

  await sql`create table checkouts (
      checkout_id text primary key,
      client_id text not null,
      status text not null check (status in ('placing', 'completed', 'failed')),
      payment_mode text not null check (payment_mode in ('full', 'deposit')),
      total_fen bigint not null check (total_fen >= 0),
      escrow_fen bigint not null check (escrow_fen >= 0 and escrow_fen <= total_fen),
      line_count integer not null check (line_count between 0 and 50),
      failed_line_index integer check (failed_line_index >= 0),
      failure_code text,
      request_hash text not null check (request_hash ~ '^[0-9a-f]{64}$'),
      version integer not null check (version >= 1),
      created_at timestamptz not null,
      updated_at timestamptz not null,
      details jsonb not null,
      check ((status = 'failed') = (failure_code is not null)))`.execute(db);
  await sql`create index checkouts_client_idx on checkouts (client_id, created_at desc)`.execute(db);

  await sql`create table order_id_claims (
      id_kind text not null check (id_kind in ('task', 'boost')),
      id text not null,
      checkout_id text,
      claimed_at timestamptz not null default now(),
      primary key (id_kind, id))`.execute(db);
  // Orders stored before checkouts existed hold their ids already.
  await sql`insert into order_id_claims (id_kind, id, claimed_at) select 'task', order_id, placed_at from task_orders`.execute(db);
  await sql`insert into order_id_claims (id_kind, id, claimed_at) select 'boost', boost_order_id, ordered_at from boost_orders`.execute(db);
  await sql`revoke update, delete, truncate on order_id_claims from ${sql.raw(APP_ROLE)}`.execute(db);

  // One function claims an id for an owner (null: a single placement) or fails with XC001.
  await sql`
    create function claim_order_id(p_kind text, p_id text, p_checkout_id text) returns void
    language plpgsql security invoker set search_path = pg_catalog, public as $$
    declare
      v_owner text;
    begin
      insert into public.order_id_claims (id_kind, id, checkout_id) values (p_kind, p_id, p_checkout_id)
      on conflict (id_kind, id) do nothing;
      if found then
        return;
      end if;
      select checkout_id into v_owner from public.order_id_claims where id_kind = p_kind and id = p_id;
      -- The same owner again is the same order's row stored again (E2's rebuild re-inserts it).
      if v_owner is distinct from p_checkout_id then
        raise exception 'the % id % is already used%', p_kind, p_id,
          case when v_owner is null then '' else ' by checkout ' || v_owner end
          using errcode = 'XC001', detail = p_kind || ':' || p_id;
      end if;
    end $$`.execute(db);

  await sql`
    create function claim_task_order_id() returns trigger
    language plpgsql security invoker set search_path = pg_catalog, public as $$
    begin
      perform public.claim_order_id('task', new.order_id, new.details -> 'state' -> 'placement' -> 'funding' ->> 'checkoutId');
      return new;
    end $$`.execute(db);
  await sql`create trigger task_orders_claim_id after insert on task_orders for each row execute function claim_task_order_id()`.execute(db);

  await sql`
    create function claim_boost_order_id() returns trigger
    language plpgsql security invoker set search_path = pg_catalog, public as $$
    begin
      perform public.claim_order_id('boost', new.boost_order_id, new.details -> 'state' -> 'terms' -> 'funding' ->> 'checkoutId');
      return new;
    end $$`.execute(db);
  await sql`create trigger boost_orders_claim_id after insert on boost_orders for each row execute function claim_boost_order_id()`.execute(db);

  // C4: a paid checkout claims every line's ids in its payment's transaction.
  await sql`
    create function claim_checkout_ids() returns trigger
    language plpgsql security invoker set search_path = pg_catalog, public as $$
    declare
      line jsonb;
    begin
      if new.status = 'failed' then
        return new;
      end if;
      for line in select value from jsonb_array_elements(new.details -> 'state' -> 'lines') loop
        perform public.claim_order_id('task', line -> 'line' ->> 'orderId', new.checkout_id);
        if line -> 'line' -> 'boostTerms' is not null then
          perform public.claim_order_id('boost', line -> 'line' -> 'boostTerms' ->> 'boostOrderId', new.checkout_id);
        end if;
      end loop;
      return new;
    end $$`.execute(db);
  await sql`create trigger checkouts_claim_ids after insert on checkouts for each row execute function claim_checkout_ids()`.execute(db);

  await appendOrderStreamFunction(
    [
      { kind: 'task', table: 'task_orders', columns: TASK_ORDER_COLUMNS },
      { kind: 'boost', table: 'boost_orders', columns: BOOST_ORDER_COLUMNS },
      { kind: 'checkout', table: 'checkouts', columns: CHECKOUT_COLUMNS },
    ],
    true,
  ).execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await appendOrderStreamFunction(
    [
      { kind: 'task', table: 'task_orders', columns: TASK_ORDER_COLUMNS },
      { kind: 'boost', table: 'boost_orders', columns: BOOST_ORDER_COLUMNS },
    ],
    true,
  ).execute(db);
  await sql`drop trigger checkouts_claim_ids on checkouts`.execute(db);
  await sql`drop trigger boost_orders_claim_id on boost_orders`.execute(db);
  await sql`drop trigger task_orders_claim_id on task_orders`.execute(db);
  await sql`drop function claim_checkout_ids(), claim_boost_order_id(), claim_task_order_id(), claim_order_id(text, text, text)`.execute(db);
  await sql`drop table order_id_claims`.execute(db);
  await sql`drop table checkouts`.execute(db);
  await sql`delete from order_events where order_kind = 'checkout'`.execute(db);
  await sql`alter table order_events drop constraint order_events_order_kind_check`.execute(db);
  await sql`alter table order_events add constraint order_events_order_kind_check check (order_kind in ('task', 'boost'))`.execute(db);
}
