import { boostEscrowAccount, checkoutEscrowAccount, fundingAccount, taskEscrowAccount } from '../ledger/accounts';
import { transfers, type LedgerTransaction } from '../ledger/types';
import { checkoutLedgerTxId } from './ids';
import type { CheckoutState, RecordedCheckoutEvent } from './types';

/**
 * C4/L6: what a placed line takes from the checkout's escrow, posted by the line's own task or
 * boost order (its funding is the checkout): the audit expects these flows from these events.
 */
export function checkoutFundsOthers(before: CheckoutState | undefined, recorded: RecordedCheckoutEvent): Array<{ account: string; amountFen: bigint }> {
  const { event } = recorded;
  const line = (index: number) => before?.lines[index]?.line;
  if (event.type === 'CheckoutTaskPlaced') {
    const placed = line(event.lineIndex);
    return placed ? [{ account: taskEscrowAccount(placed.orderId), amountFen: placed.placementFen }] : [];
  }
  if (event.type === 'CheckoutBoostPlaced') {
    const boost = line(event.lineIndex)?.boostTerms;
    return boost ? [{ account: boostEscrowAccount(boost.boostOrderId), amountFen: boost.boostFeeFen }] : [];
  }
  return [];
}

/**
 * C4, L5: the checkout's own posting: the total, once, from the client's account (or
 * external:payments) into escrow:checkout:{id}. Each line's placement and boost fee leave that
 * escrow in the task and boost orders' own placement transactions (their funding is the
 * checkout), so the escrow is zero once every line is placed (L6). A refusal posts nothing.
 */
export function checkoutLedgerTransactionFor(_before: CheckoutState | undefined, recorded: RecordedCheckoutEvent): LedgerTransaction | undefined {
  const { event } = recorded;
  switch (event.type) {
    case 'CheckoutPaid': {
      const { checkoutId, clientId, funding, totalFen } = event.terms;
      const kind = 'checkout_payment';
      return {
        txId: checkoutLedgerTxId(checkoutId, recorded.version, kind),
        kind,
        orderId: checkoutId,
        transfers: transfers({ debitAccount: fundingAccount(funding, clientId), creditAccount: checkoutEscrowAccount(checkoutId), amountFen: totalFen }),
        ...(funding.source === 'external' ? { externalPaymentRef: funding.paymentRef } : {}),
      };
    }
    case 'CheckoutRefused':
    case 'CheckoutTaskPlaced':
    case 'CheckoutBoostPlaced':
    case 'CheckoutCompleted':
      return undefined;
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}
