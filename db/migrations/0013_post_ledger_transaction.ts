import { sql, type Kysely } from 'kysely';
import { READ_MODELS_SINCE_0012, appendOrderStreamFunction } from './append-order-stream-sql';

// Migrations never import application code. APP_ROLE is a copy of db/connect.ts's; XL003 of
// db/errors.ts LEDGER_ID_CONFLICT.
const APP_ROLE = 'xingtu_app';

/**
 * L3 (issue 19), one rule in one place: every ledger transaction is posted by one database function,
 * post_ledger_transaction, the only place that decides whether an id already stored is the same
 * transaction (a no-op, 'duplicate') or another content under that id (SQLSTATE XL003, never an
 * overwrite). append_order_stream (order steps) calls it, and so does db/ledger.ts (top-ups), which
 * used to compare in TypeScript.
 *
 * The same transaction: the same content hash (L4: kind, order, payment reference, time and
 * transfers). A top-up's time is when its request arrived, so its retry comes later with another
 * hash: its caller passes p_time_is_content = false, and the same kind, order, payment reference
 * and transfers (in order) then make it the same top-up.
 *
 * Two posts of one new id at once: the first check finds nothing for both; the chain's head is
 * then locked (the chain trigger would lock it at the insert anyway) and the id looked up again,
 * by a statement whose snapshot is taken after the winner committed, so the loser answers
 * 'duplicate' or XL003 instead of failing on the primary key after the chain trigger ran. A
 * repeat found by the first check takes no lock.
 *
 * Only functions change: rows stored before this migration are compared like new ones (their
 * content_hash and transfers are what the function reads), and running up again replaces the
 * same functions.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await storedFunction().execute(db);
  await postFunction().execute(db);
  for (const signature of ['ledger_transaction_stored(jsonb, boolean)', 'post_ledger_transaction(jsonb, boolean)']) {
    await sql`revoke execute on function ${sql.raw(signature)} from public`.execute(db);
    await sql`grant execute on function ${sql.raw(signature)} to ${sql.raw(APP_ROLE)}`.execute(db);
  }
  await appendOrderStreamFunction(READ_MODELS_SINCE_0012, true, 'post_ledger_transaction').execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await appendOrderStreamFunction(READ_MODELS_SINCE_0012, true, 'inline').execute(db);
  await sql`drop function post_ledger_transaction(jsonb, boolean), ledger_transaction_stored(jsonb, boolean)`.execute(db);
}

/**
 * L3's check: false when the id is new; true when it is stored with the same content; XL003
 * otherwise. Volatile (the default) on purpose: each call sees the rows committed before it.
 */
function storedFunction() {
  return sql`
    create or replace function ledger_transaction_stored(p_tx jsonb, p_time_is_content boolean) returns boolean
    language plpgsql security invoker set search_path = pg_catalog, public as $$
    declare
      v_stored public.ledger_transactions;
    begin
      select * into v_stored from public.ledger_transactions where tx_id = p_tx->>'tx_id';
      if not found then
        return false;
      end if;
      if v_stored.content_hash = p_tx->>'content_hash' then
        return true;
      end if;
      if not p_time_is_content
         and v_stored.kind = p_tx->>'kind'
         and v_stored.order_id is not distinct from p_tx->>'order_id'
         and v_stored.external_payment_ref is not distinct from p_tx->>'external_payment_ref'
         and (select jsonb_agg(jsonb_build_array(f.debit_account, f.credit_account, f.amount_fen) order by f.transfer_index)
              from public.ledger_transfers f where f.tx_id = v_stored.tx_id)
           = (select jsonb_agg(jsonb_build_array(t.transfer->>0, t.transfer->>1, (t.transfer->>2)::bigint) order by t.n)
              from jsonb_array_elements(p_tx->'transfers') with ordinality as t(transfer, n)) then
        return true;
      end if;
      raise exception 'ledger transaction % exists with a different content (L3)', p_tx->>'tx_id' using errcode = 'XL003';
    end $$`;
}

/**
 * Posts one ledger transaction (L1–L5 stay with the tables' constraints and triggers): 'posted',
 * 'duplicate', or XL003. p_tx is append_order_stream's element: tx_id, kind, order_id,
 * external_payment_ref, occurred_at, content_hash, chain_id, transfers [[debit, credit, amount]].
 */
function postFunction() {
  return sql`
    create or replace function post_ledger_transaction(p_tx jsonb, p_time_is_content boolean default true) returns text
    language plpgsql security invoker set search_path = pg_catalog, public as $$
    declare
      v_seq bigint;
    begin
      if public.ledger_transaction_stored(p_tx, p_time_is_content) then
        return 'duplicate';
      end if;
      perform public.ledger_lock_chains(array[(p_tx->>'chain_id')::integer]);
      if public.ledger_transaction_stored(p_tx, p_time_is_content) then
        return 'duplicate';
      end if;
      insert into public.ledger_transactions (tx_id, kind, order_id, external_payment_ref, occurred_at, content_hash, chain_id)
      values (p_tx->>'tx_id', p_tx->>'kind', p_tx->>'order_id', p_tx->>'external_payment_ref', (p_tx->>'occurred_at')::timestamptz,
              p_tx->>'content_hash', (p_tx->>'chain_id')::integer)
      returning seq into v_seq;
      insert into public.ledger_transfers (tx_id, tx_seq, transfer_index, debit_account, credit_account, amount_fen)
      select p_tx->>'tx_id', v_seq, (t.n - 1)::integer, t.transfer->>0, t.transfer->>1, (t.transfer->>2)::bigint
      from jsonb_array_elements(p_tx->'transfers') with ordinality as t(transfer, n);
      return 'posted';
    end $$`;
}
