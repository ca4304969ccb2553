import { PLATFORM_ACCOUNTS, clientAccount } from '../domain/ledger/accounts';
import type { Db } from './connect';
import { IdempotencyConflictError, translatePgError } from './errors';
import { postLedgerTransaction, type PostingResult } from './ledger';

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
  const existing = await db.selectFrom('ledger_transfers').select(['credit_account', 'amount_fen']).where('tx_id', '=', txId).execute();
  if (existing.length > 0) {
    const same = existing.length === 1 && existing[0]?.credit_account === clientAccount(topUp.clientId) && existing[0]?.amount_fen === topUp.amountFen;
    if (same) return 'duplicate';
    throw new IdempotencyConflictError(`top-up ${topUp.paymentRef} exists with another client or amount (L5)`);
  }
  try {
    return await db.transaction().execute((trx) =>
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
  } catch (error) {
    throw translatePgError(error);
  }
}

export async function clientBalanceFen(db: Db, clientId: string): Promise<bigint> {
  const row = await db.selectFrom('client_balances').select('balance_fen').where('account', '=', clientAccount(clientId)).executeTakeFirst();
  return row?.balance_fen ?? 0n;
}
