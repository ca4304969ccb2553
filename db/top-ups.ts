import { PLATFORM_ACCOUNTS, clientAccount } from '../domain/ledger/accounts';
import type { Db } from './connect';
import { IdempotencyConflictError, pgError, translatePgError } from './errors';
import { postLedgerTransaction, type PostingResult } from './ledger';
import { countLedgerPostings } from '../platform/metrics';

export interface TopUp {
  readonly clientId: string;
  readonly paymentRef: string;
  readonly amountFen: bigint;
}

/**
 * L5: money captured by the payment provider enters the client's account. The paymentRef is the
 * idempotency key: the same top-up again is a no-op; the same paymentRef with another client or
 * amount is refused (IdempotencyConflictError), as is a paymentRef already used by an order.
 */
export async function postTopUp(db: Db, topUp: TopUp, occurredAt: Date): Promise<PostingResult> {
  const txId = `topup:${topUp.paymentRef}`;
  // A retry arrives later than the original, so it is the same top-up when its transfer is.
  const before = await sameAsStored(db, txId, topUp);
  if (before) return before;
  try {
    const result = await db.transaction().execute((trx) =>
      postLedgerTransaction(
        trx,
        {
          txId,
          kind: 'top_up',
          orderId: null,
          externalPaymentRef: topUp.paymentRef,
          transfers: [{ debitAccount: PLATFORM_ACCOUNTS.externalPayments, creditAccount: clientAccount(topUp.clientId), amountFen: topUp.amountFen }],
        },
        occurredAt,
      ),
    );
    if (result === 'posted') countLedgerPostings(['top_up']); // SPEC §10 ledger postings
    return result;
  } catch (error) {
    // The same top-up sent twice at once: the loser of the race finds the winner's row, stamped a
    // moment apart (so its content hash differs): the same top-up is the same client and amount.
    if (pgError(error).code === '23505' || error instanceof IdempotencyConflictError) {
      const after = await sameAsStored(db, txId, topUp);
      if (after) return after;
    }
    throw translatePgError(error);
  }
}

/** 'duplicate' when this top-up is stored already; a conflict when its id holds another; else undefined. */
async function sameAsStored(db: Db, txId: string, topUp: TopUp): Promise<'duplicate' | undefined> {
  const existing = await db.selectFrom('ledger_transfers').select(['credit_account', 'amount_fen']).where('tx_id', '=', txId).execute();
  if (existing.length === 0) return undefined;
  const same = existing.length === 1 && existing[0]?.credit_account === clientAccount(topUp.clientId) && existing[0]?.amount_fen === topUp.amountFen;
  if (same) return 'duplicate';
  throw new IdempotencyConflictError(`top-up ${topUp.paymentRef} exists with another client or amount (L5)`);
}

export async function clientBalanceFen(db: Db, clientId: string): Promise<bigint> {
  const row = await db.selectFrom('client_balances').select('balance_fen').where('account', '=', clientAccount(clientId)).executeTakeFirst();
  return row?.balance_fen ?? 0n;
}
