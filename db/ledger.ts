import { sql, type Kysely, type Transaction } from 'kysely';
import type { LedgerTransaction } from '../domain/ledger/types';
import { IdempotencyConflictError } from './errors';
import { canonicalJson, sha256Hex } from './hash';
import type { Database } from './schema';

export type PostingResult = 'posted' | 'duplicate';

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

export function chainHash(prevHash: string, contentHash: string): string {
  return sha256Hex(`${prevHash}${contentHash}`);
}

/**
 * Posts a ledger transaction exactly once (L1, L3, L4). Same id and content: a no-op. Same id,
 * other content: IdempotencyConflictError. Overdrawing a client account fails in the database
 * (client_balances check). Call it last in the surrounding transaction: it takes the hash-chain
 * head's row lock, held until commit.
 */
export async function postLedgerTransaction(trx: Transaction<Database>, tx: LedgerTransaction, occurredAt: Date): Promise<PostingResult> {
  if (tx.transfers.length === 0) throw new Error(`ledger transaction ${tx.txId} has no transfers`);
  const contentHash = transactionContentHash(tx, occurredAt);
  const existing = await trx.selectFrom('ledger_transactions').select('content_hash').where('tx_id', '=', tx.txId).executeTakeFirst();
  if (existing) {
    if (existing.content_hash === contentHash) return 'duplicate';
    throw new IdempotencyConflictError(`ledger transaction ${tx.txId} exists with a different content (L3)`);
  }
  const head = await trx.selectFrom('ledger_chain_head').select(['seq', 'hash']).where('id', '=', 1).forUpdate().executeTakeFirstOrThrow();
  const hash = chainHash(head.hash, contentHash);
  await trx
    .insertInto('ledger_transactions')
    .values({
      tx_id: tx.txId,
      kind: tx.kind,
      order_id: tx.orderId,
      external_payment_ref: tx.externalPaymentRef ?? null,
      occurred_at: occurredAt,
      content_hash: contentHash,
      prev_hash: head.hash,
      chain_hash: hash,
    })
    .execute();
  await trx
    .insertInto('ledger_transfers')
    .values(tx.transfers.map((t, i) => ({ tx_id: tx.txId, transfer_index: i, debit_account: t.debitAccount, credit_account: t.creditAccount, amount_fen: t.amountFen })))
    .execute();
  await trx.updateTable('ledger_chain_head').set({ seq: head.seq + 1n, hash }).where('id', '=', 1).execute();
  return 'posted';
}

/** L1: balance = credits − debits; two index-backed sums. */
export async function accountBalance(db: Kysely<Database>, account: string): Promise<bigint> {
  const { rows } = await sql<{ balance: string }>`
    select (select coalesce(sum(amount_fen), 0) from ledger_transfers where credit_account = ${account})
         - (select coalesce(sum(amount_fen), 0) from ledger_transfers where debit_account = ${account}) as balance`.execute(db);
  return BigInt(rows[0]?.balance ?? '0');
}
