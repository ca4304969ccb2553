import { PLATFORM_ACCOUNTS, boostEscrowAccount, clientAccount, fundingAccount } from '../ledger/accounts';
import { transfers, type LedgerTransaction } from '../ledger/types';
import { boostLedgerTxId } from './ids';
import type { BoostOrderState, RecordedBoostEvent } from './types';

/**
 * The ledger transaction a boost event posts, if money moves (L1, L2, L5):
 * - BoostOrdered (B3): the fee from the client's account (or external:payments) into escrow:boost:{id};
 * - BoostEvaluated (B6): the platform's share (fee − compensation) from the escrow to platform:boost_premiums;
 * - RefundPosted (B7): the refund from the escrow to the client's account.
 * Every path leaves the escrow at zero (L6). The id derives from the boost order and the event's
 * version, so a retried activity never posts twice (L3).
 */
export function boostLedgerTransactionFor(before: BoostOrderState | undefined, recorded: RecordedBoostEvent): LedgerTransaction | undefined {
  const { event, version } = recorded;
  switch (event.type) {
    case 'BoostOrdered': {
      const { boostOrderId, clientId, funding, boostFeeFen } = event;
      const source = fundingAccount(funding, clientId);
      return {
        txId: boostTxId(boostOrderId, version, 'boost_payment'),
        kind: 'boost_payment',
        orderId: boostOrderId,
        transfers: transfers({ debitAccount: source, creditAccount: boostEscrowAccount(boostOrderId), amountFen: boostFeeFen }),
        ...(funding.source === 'external' ? { externalPaymentRef: funding.paymentRef } : {}),
      };
    }
    case 'BoostEvaluated': {
      const { boostOrderId } = required(before, event.type).terms;
      return {
        txId: boostTxId(boostOrderId, version, 'boost_premium'),
        kind: 'boost_premium',
        orderId: boostOrderId,
        transfers: transfers({ debitAccount: boostEscrowAccount(boostOrderId), creditAccount: PLATFORM_ACCOUNTS.boostPremiums, amountFen: event.platformKeepsFen }),
      };
    }
    case 'RefundPosted': {
      const { boostOrderId, clientId } = required(before, event.type).terms;
      return {
        txId: boostTxId(boostOrderId, version, 'boost_refund'),
        kind: 'boost_refund',
        orderId: boostOrderId,
        transfers: transfers({ debitAccount: boostEscrowAccount(boostOrderId), creditAccount: clientAccount(clientId), amountFen: event.amountFen }),
      };
    }
    case 'VideoPublished':
    case 'BoostPeriodEnded':
    case 'BoostExpired':
    case 'BoostEndedByTaskCancellation':
    case 'RefundScheduled':
      return undefined;
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/** L3: the id of one event's ledger transaction (domain/boost/ids.ts). */
export const boostTxId = boostLedgerTxId;

function required(before: BoostOrderState | undefined, type: string): BoostOrderState {
  if (!before) throw new Error(`${type} before BoostOrdered`);
  return before;
}
