import { sql, type Kysely } from 'kysely';

/**
 * L2 fix: PostgreSQL checks CHECK constraints on the row an `INSERT … ON CONFLICT DO UPDATE`
 * proposes before it resolves the conflict, so debiting an existing client balance through an
 * upsert of `-amount` always failed. A debit now updates the existing row; only a client without
 * a balance row inserts one, whose negative balance the CHECK refuses (insufficient funds).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function apply_client_balances() returns trigger
    language plpgsql security definer set search_path = pg_catalog, public as $$
    begin
      if new.credit_account like 'client:%' then
        insert into public.client_balances (account, balance_fen) values (new.credit_account, new.amount_fen)
        on conflict (account) do update set balance_fen = client_balances.balance_fen + excluded.balance_fen;
      end if;
      if new.debit_account like 'client:%' then
        update public.client_balances set balance_fen = balance_fen - new.amount_fen where account = new.debit_account;
        if not found then
          insert into public.client_balances (account, balance_fen) values (new.debit_account, -new.amount_fen);
        end if;
      end if;
      return new;
    end $$`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(_db: Kysely<any>): Promise<void> {
  // The previous body was wrong; there is nothing to go back to.
}
