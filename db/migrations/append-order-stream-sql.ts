import { sql, type RawBuilder } from 'kysely';

// Shared by the migrations that (re)create append_order_stream (0006, 0012, 0013): they never
// import application code, only this builder of the function's SQL.

/** One kind's read model: the stream kind, its table and its columns with their types, in table order (the key first). */
export interface ReadModelTable {
  readonly kind: string;
  readonly table: string;
  readonly columns: ReadonlyArray<[string, string]>;
}

/**
 * The read-model columns with their types, in table order. The row travels as one JSON document and
 * each column is taken out and cast by name (jsonb_populate_record costs ~1 ms a call here). A later
 * migration that adds a column replaces the function.
 */
export const TASK_ORDER_COLUMNS: ReadonlyArray<[string, string]> = [
  ['order_id', 'text'], ['client_id', 'text'], ['creator_id', 'text'], ['task_type', 'text'], ['title', 'text'],
  ['industry', 'text'], ['expected_publish_at', 'timestamptz'], ['payment_mode', 'text'], ['price_fen', 'bigint'],
  ['service_fee_fen', 'bigint'], ['paid_in_fen', 'bigint'], ['status', 'text'], ['cancel_reason', 'text'],
  ['next_deadline_kind', 'text'], ['next_deadline_at', 'timestamptz'], ['version', 'integer'], ['placement_hash', 'text'],
  ['placed_at', 'timestamptz'], ['updated_at', 'timestamptz'], ['details', 'jsonb'],
];
export const BOOST_ORDER_COLUMNS: ReadonlyArray<[string, string]> = [
  ['boost_order_id', 'text'], ['task_order_id', 'text'], ['client_id', 'text'], ['creator_id', 'text'], ['quote_id', 'text'],
  ['video_id', 'text'], ['status', 'text'], ['end_reason', 'text'], ['price_fen', 'bigint'], ['boost_fee_fen', 'bigint'],
  ['expected_views', 'bigint'], ['escrow_fen', 'bigint'], ['refund_fen', 'bigint'], ['refund_due_at', 'timestamptz'],
  ['refund_posted_at', 'timestamptz'], ['calendar_missing', 'boolean'], ['next_deadline_kind', 'text'],
  ['next_deadline_at', 'timestamptz'], ['request_hash', 'text'], ['version', 'integer'], ['ordered_at', 'timestamptz'],
  ['updated_at', 'timestamptz'], ['details', 'jsonb'],
];
export const CHECKOUT_COLUMNS: ReadonlyArray<[string, string]> = [
  ['checkout_id', 'text'], ['client_id', 'text'], ['status', 'text'], ['payment_mode', 'text'], ['total_fen', 'bigint'],
  ['escrow_fen', 'bigint'], ['line_count', 'integer'], ['failed_line_index', 'integer'], ['failure_code', 'text'],
  ['request_hash', 'text'], ['version', 'integer'], ['created_at', 'timestamptz'], ['updated_at', 'timestamptz'], ['details', 'jsonb'],
];

/** The three kinds append_order_stream knows since migration 0012 (a new kind makes a new list, as columns do). */
export const READ_MODELS_SINCE_0012: readonly ReadModelTable[] = [
  { kind: 'task', table: 'task_orders', columns: TASK_ORDER_COLUMNS },
  { kind: 'boost', table: 'boost_orders', columns: BOOST_ORDER_COLUMNS },
  { kind: 'checkout', table: 'checkouts', columns: CHECKOUT_COLUMNS },
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

/** `if p_kind = 'task' then <upsert> elsif p_kind = 'boost' then <upsert> …` (the caller adds the else). */
function readModelBranches(readModels: readonly ReadModelTable[]) {
  return sql.join(
    readModels.map((m, i) => sql`${sql.raw(i === 0 ? 'if' : 'elsif')} p_kind = ${sql.raw(`'${m.kind}'`)} then
        ${upsertReadModel(m.table, m.columns)};`),
    sql.raw('\n      '),
  );
}

/**
 * How append_order_stream posts its ledger transactions. 'inline' is the SQL of 0006 and 0012 (L3's
 * check written into the loop), kept so those migrations still create what they created;
 * 'post_ledger_transaction' (0013 on) calls the one function every ledger posting goes through.
 */
export type LedgerPosting = 'inline' | 'post_ledger_transaction';

function ledgerLoop(posting: LedgerPosting) {
  if (posting === 'post_ledger_transaction') {
    return sql`for tx in select value from jsonb_array_elements(p_ledger) loop
        if public.post_ledger_transaction(tx) = 'posted' then
          v_posted := v_posted + 1;
        end if;
      end loop;`;
  }
  return sql`for tx in select value from jsonb_array_elements(p_ledger) loop
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
      end loop;`;
}

/**
 * E1 in one database call: an activity's whole append — events, outbox rows, the read-model row and
 * the ledger transactions — as one statement (see migration 0006 for the invariants it keeps).
 */
export function appendOrderStreamFunction(readModels: readonly ReadModelTable[], replace: boolean, posting: LedgerPosting = 'inline'): RawBuilder<unknown> {
  return sql`
    ${sql.raw(replace ? 'create or replace' : 'create')} function append_order_stream(
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

      ${readModelBranches(readModels)}
      else
        raise exception 'unknown stream kind %', p_kind using errcode = 'invalid_parameter_value';
      end if;

      ${ledgerLoop(posting)}
      return v_posted;
    end $$`;
}
