import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any> and never import application code. APP_ROLE is a copy of
// db/connect.ts's.
const APP_ROLE = 'xingtu_app';

/**
 * The read-model columns with their types, in table order. The row travels as one JSON document and
 * each column is taken out and cast by name (jsonb_populate_record costs ~1 ms a call here). A later
 * migration that adds a column replaces the function.
 */
const TASK_ORDER_COLUMNS: ReadonlyArray<[string, string]> = [
  ['order_id', 'text'], ['client_id', 'text'], ['creator_id', 'text'], ['task_type', 'text'], ['title', 'text'],
  ['industry', 'text'], ['expected_publish_at', 'timestamptz'], ['payment_mode', 'text'], ['price_fen', 'bigint'],
  ['service_fee_fen', 'bigint'], ['paid_in_fen', 'bigint'], ['status', 'text'], ['cancel_reason', 'text'],
  ['next_deadline_kind', 'text'], ['next_deadline_at', 'timestamptz'], ['version', 'integer'], ['placement_hash', 'text'],
  ['placed_at', 'timestamptz'], ['updated_at', 'timestamptz'], ['details', 'jsonb'],
];
const BOOST_ORDER_COLUMNS: ReadonlyArray<[string, string]> = [
  ['boost_order_id', 'text'], ['task_order_id', 'text'], ['client_id', 'text'], ['creator_id', 'text'], ['quote_id', 'text'],
  ['video_id', 'text'], ['status', 'text'], ['end_reason', 'text'], ['price_fen', 'bigint'], ['boost_fee_fen', 'bigint'],
  ['expected_views', 'bigint'], ['escrow_fen', 'bigint'], ['refund_fen', 'bigint'], ['refund_due_at', 'timestamptz'],
  ['refund_posted_at', 'timestamptz'], ['calendar_missing', 'boolean'], ['next_deadline_kind', 'text'],
  ['next_deadline_at', 'timestamptz'], ['request_hash', 'text'], ['version', 'integer'], ['ordered_at', 'timestamptz'],
  ['updated_at', 'timestamptz'], ['details', 'jsonb'],
];

/** `insert into <table> (…) values (p_read_model->>'a'::type, …) on conflict (<key>) do update set (…) = (excluded.…)`. */
function upsertReadModel(table: string, columns: ReadonlyArray<[string, string]>) {
  const [key, ...rest] = columns.map(([name]) => name);
  // details travels as JSON text inside the document, so it is cast from ->> like every column.
  const values = columns.map(([name, type]) => `(p_read_model->>'${name}')::${type}`);
  return sql.raw(
    `insert into public.${table} (${columns.map(([name]) => name).join(', ')}) values (${values.join(', ')})
        on conflict (${key}) do update set (${rest.join(', ')}) = (${rest.map((c) => `excluded.${c}`).join(', ')})`,
  );
}

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
  await sql`
    create function append_order_stream(
      p_kind text, p_stream_id text, p_causation text,
      p_events jsonb, p_notifications jsonb, p_read_model jsonb, p_ledger jsonb)
    returns integer
    language plpgsql security invoker set search_path = pg_catalog, public as $$
    declare
      tx jsonb;
      v_seq bigint;
      v_existing text;
      v_posted integer := 0;
    begin
      insert into public.order_events (order_id, order_kind, version, type, payload, occurred_at, causation)
      select p_stream_id, p_kind, (e->>'version')::integer, e->>'type', e->'payload', (e->>'occurred_at')::timestamptz, p_causation
      from jsonb_array_elements(p_events) as e;

      insert into public.notifications (order_id, event_version, seq, recipient_type, recipient_id, kind, data)
      select p_stream_id, (n->>'event_version')::integer, (n->>'seq')::integer, n->>'recipient_type', n->>'recipient_id', n->>'kind', n->'data'
      from jsonb_array_elements(p_notifications) as n;

      if p_kind = 'task' then
        ${upsertReadModel('task_orders', TASK_ORDER_COLUMNS)};
      elsif p_kind = 'boost' then
        ${upsertReadModel('boost_orders', BOOST_ORDER_COLUMNS)};
      else
        raise exception 'unknown stream kind %', p_kind using errcode = 'invalid_parameter_value';
      end if;

      for tx in select value from jsonb_array_elements(p_ledger) loop
        select content_hash into v_existing from public.ledger_transactions where tx_id = tx->>'tx_id';
        if found then
          if v_existing = tx->>'content_hash' then
            continue;
          end if;
          raise exception 'ledger transaction % exists with a different content (L3)', tx->>'tx_id' using errcode = 'XL003';
        end if;
        insert into public.ledger_transactions (tx_id, kind, order_id, external_payment_ref, occurred_at, content_hash, chain_id)
        values (tx->>'tx_id', tx->>'kind', tx->>'order_id', tx->>'external_payment_ref', (tx->>'occurred_at')::timestamptz,
                tx->>'content_hash', (tx->>'chain_id')::integer)
        returning seq into v_seq;
        insert into public.ledger_transfers (tx_id, tx_seq, transfer_index, debit_account, credit_account, amount_fen)
        select tx->>'tx_id', v_seq, (t.n - 1)::integer, t.transfer->>0, t.transfer->>1, (t.transfer->>2)::bigint
        from jsonb_array_elements(tx->'transfers') with ordinality as t(transfer, n);
        v_posted := v_posted + 1;
      end loop;
      return v_posted;
    end $$`.execute(db);
  await sql`revoke execute on function append_order_stream(text, text, text, jsonb, jsonb, jsonb, jsonb) from public`.execute(db);
  await sql`grant execute on function append_order_stream(text, text, text, jsonb, jsonb, jsonb, jsonb) to ${sql.raw(APP_ROLE)}`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function append_order_stream(text, text, text, jsonb, jsonb, jsonb, jsonb)`.execute(db);
}
