import { sql, type Kysely, type Transaction } from 'kysely';
import type { LedgerTransaction } from '../domain/ledger/types';
import { IdempotencyConflictError } from './errors';
import { canonicalJson, sha256Hex } from './hash';
import type { Database } from './schema';

export type PostingResult = 'posted' | 'duplicate';

/** L4: the number of hash chains (rows of ledger_chain_heads, created by migration 0002). */
export const LEDGER_CHAIN_COUNT = 16;

/** L4: the prev_hash of each chain's first transaction. */
export const GENESIS_HASH = '0'.repeat(64);

/** L4: what the hash of a transaction covers. */
export function transactionContentHash(tx: LedgerTransaction, occurredAt: Date): string {
  return sha256Hex(
    canonicalJson({
      txId: tx.txId,
      kind: tx.kind,
      orderId: tx.orderId,
      externalPaymentRef: tx.externalPaymentRef ?? null,
      occurredAt: occurredAt.toISOString(),
      transfers: tx.transfers.map((t) => [t.debitAccount, t.creditAccount, t.amountFen]),
    }),
  );
}

/** L4: the link; the database computes the same (trigger ledger_transactions_chain). */
export function chainHash(prevHash: string, contentHash: string): string {
  return sha256Hex(`${prevHash}${contentHash}`);
}

/**
 * L4: the chain a transaction extends, a stable hash of its order (of its id when it has no
 * order). All transactions of one order share a chain, so an activity posting several of them
 * locks one chain head only; different orders spread over the chains and rarely wait for
 * each other.
 */
export function ledgerChainFor(tx: Pick<LedgerTransaction, 'txId' | 'orderId'>): number {
  const key = tx.orderId || tx.txId;
  return Number.parseInt(sha256Hex(key).slice(0, 8), 16) % LEDGER_CHAIN_COUNT;
}

/**
 * Posts a ledger transaction exactly once (L1, L3, L4). Same id and content: a no-op. Same id,
 * other content: IdempotencyConflictError. Overdrawing a client account fails in the database
 * (client_balances check). The database links the transaction into its chain and locks that
 * chain's head until commit: call it last in the surrounding transaction. To post transactions of
 * several orders in one database transaction, use postLedgerTransactions.
 */
export async function postLedgerTransaction(trx: Transaction<Database>, tx: LedgerTransaction, occurredAt: Date): Promise<PostingResult> {
  if (tx.transfers.length === 0) throw new Error(`ledger transaction ${tx.txId} has no transfers`);
  const contentHash = transactionContentHash(tx, occurredAt);
  // One round trip: the idempotency check, the transaction row (its chain link comes from the
  // trigger) and its transfers. When the id exists, nothing is inserted and its hash comes back.
  const { rows } = await sql<{ existing_hash: string | null; seq: bigint | null }>`
    with existing as (
      select content_hash from ledger_transactions where tx_id = ${tx.txId}::text
    ), inserted as (
      insert into ledger_transactions (tx_id, kind, order_id, external_payment_ref, occurred_at, content_hash, chain_id)
      select ${tx.txId}::text, ${tx.kind}::text, ${tx.orderId}::text, ${tx.externalPaymentRef ?? null}::text, ${occurredAt}::timestamptz,
             ${contentHash}::text, ${ledgerChainFor(tx)}::integer
      where not exists (select 1 from existing)
      returning seq
    ), transfers as (
      insert into ledger_transfers (tx_id, tx_seq, transfer_index, debit_account, credit_account, amount_fen)
      select ${tx.txId}::text, inserted.seq, (t.n - 1)::integer, t.debit_account, t.credit_account, t.amount_fen
      from inserted,
           unnest(${tx.transfers.map((t) => t.debitAccount)}::text[], ${tx.transfers.map((t) => t.creditAccount)}::text[],
                  ${tx.transfers.map((t) => t.amountFen.toString())}::int8[]) with ordinality as t(debit_account, credit_account, amount_fen, n)
    )
    select (select content_hash from existing) as existing_hash, (select seq from inserted) as seq`.execute(trx);
  const result = rows[0];
  if (result?.existing_hash) {
    if (result.existing_hash === contentHash) return 'duplicate';
    throw new IdempotencyConflictError(`ledger transaction ${tx.txId} exists with a different content (L3)`);
  }
  if (result?.seq === null || result?.seq === undefined) throw new Error(`ledger transaction ${tx.txId} was not stored`);
  return 'posted';
}

/**
 * Several postings in one database transaction, in the given order. Their chains are locked
 * first, in ascending order, so concurrent multi-order postings cannot deadlock on chain heads.
 */
export async function postLedgerTransactions(
  trx: Transaction<Database>,
  postings: ReadonlyArray<{ readonly tx: LedgerTransaction; readonly occurredAt: Date }>,
): Promise<PostingResult[]> {
  const chains = [...new Set(postings.map(({ tx }) => ledgerChainFor(tx)))].sort((a, b) => a - b);
  if (chains.length > 1) await sql`select ledger_lock_chains(${sql.val(chains)}::integer[])`.execute(trx);
  const results: PostingResult[] = [];
  for (const { tx, occurredAt } of postings) results.push(await postLedgerTransaction(trx, tx, occurredAt));
  return results;
}

/**
 * L1: balance = credits − debits; two index-only sums (no balance row, so accounts every order
 * posts to, such as platform:service_fees, are never a hot row).
 */
export async function accountBalance(db: Kysely<Database>, account: string): Promise<bigint> {
  const { rows } = await sql<{ balance: string }>`
    select (select coalesce(sum(amount_fen), 0) from ledger_transfers where credit_account = ${account})
         - (select coalesce(sum(amount_fen), 0) from ledger_transfers where debit_account = ${account}) as balance`.execute(db);
  return BigInt(rows[0]?.balance ?? '0');
}
