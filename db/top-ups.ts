import { PLATFORM_ACCOUNTS, clientAccount } from '../domain/ledger/accounts';
import type { Db } from './connect';
import type { LedgerTransaction } from '../domain/ledger/types';
import { translatePgError } from './errors';
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
 * amount is refused (IdempotencyConflictError), as is a paymentRef already used by an order. L3's
 * comparison is the database's (post_ledger_transaction, migration 0013), concurrent repeats
 * included: a top-up's retry arrives later than the original, so its time is not compared.
 */
export async function postTopUp(db: Db, topUp: TopUp, occurredAt: Date): Promise<PostingResult> {
  const tx: LedgerTransaction = {
    txId: `topup:${topUp.paymentRef}`,
    kind: 'top_up',
    orderId: null,
    externalPaymentRef: topUp.paymentRef,
    transfers: [{ debitAccount: PLATFORM_ACCOUNTS.externalPayments, creditAccount: clientAccount(topUp.clientId), amountFen: topUp.amountFen }],
  };
  try {
    const result = await db.transaction().execute((trx) => postLedgerTransaction(trx, tx, occurredAt, { timeIsContent: false }));
    if (result === 'posted') countLedgerPostings(['top_up']); // SPEC §10 ledger postings
    return result;
  } catch (error) {
    throw translatePgError(error);
  }
}

export async function clientBalanceFen(db: Db, clientId: string): Promise<bigint> {
  const row = await db.selectFrom('client_balances').select('balance_fen').where('account', '=', clientAccount(clientId)).executeTakeFirst();
  return row?.balance_fen ?? 0n;
}
