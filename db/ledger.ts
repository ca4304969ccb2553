import { sql, type Kysely, type Transaction } from 'kysely';
import type { LedgerTransaction } from '../domain/ledger/types';
import { storedJsonText } from '../domain/json';
import { LEDGER_ID_CONFLICT, pgError, translatePgError } from './errors';
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

/** A ledger transaction as the database functions take it (post_ledger_transaction, append_order_stream). */
export function ledgerTransactionRow(tx: LedgerTransaction, occurredAt: Date) {
  if (tx.transfers.length === 0) throw new Error(`ledger transaction ${tx.txId} has no transfers`);
  return {
    tx_id: tx.txId,
    kind: tx.kind,
    order_id: tx.orderId,
    external_payment_ref: tx.externalPaymentRef ?? null,
    occurred_at: occurredAt,
    content_hash: transactionContentHash(tx, occurredAt),
    chain_id: ledgerChainFor(tx),
    transfers: tx.transfers.map((t) => [t.debitAccount, t.creditAccount, t.amountFen]),
  };
}

/** L3: what makes a stored transaction with the same id the same transaction. */
export interface PostingOptions {
  /**
   * true (the default): the same content hash, time included. false: the same kind, order, payment
   * reference and transfers at any time — for a top-up, whose time is when its request arrived, so
   * a retry of it comes later.
   */
  readonly timeIsContent?: boolean;
}

/**
 * Posts a ledger transaction exactly once (L1, L3, L4) through the database function
 * post_ledger_transaction (migration 0013), the one place L3's check lives. Same id and content: a
 * no-op. Same id, other content: IdempotencyConflictError. Overdrawing a client account fails in
 * the database (client_balances check). The database links the transaction into its chain and
 * locks that chain's head until commit: call it last in the surrounding transaction. To post
 * transactions of several orders in one database transaction, use postLedgerTransactions.
 */
export async function postLedgerTransaction(
  trx: Transaction<Database>,
  tx: LedgerTransaction,
  occurredAt: Date,
  { timeIsContent = true }: PostingOptions = {},
): Promise<PostingResult> {
  const row = storedJsonText(ledgerTransactionRow(tx, occurredAt));
  try {
    const { rows } = await sql<{ result: PostingResult }>`select post_ledger_transaction(${row}::jsonb, ${timeIsContent}::boolean) as result`.execute(trx);
    const result = rows[0]?.result;
    if (result !== 'posted' && result !== 'duplicate') throw new Error(`ledger transaction ${tx.txId} was not stored`);
    return result;
  } catch (error) {
    // Only L3's conflict is translated here (callers read the others' SQLSTATE, or translate them).
    if (pgError(error).code === LEDGER_ID_CONFLICT) throw translatePgError(error);
    throw error;
  }
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
