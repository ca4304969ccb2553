import { checkoutEscrowAccount, fundingAccount } from '../ledger/accounts';
import { transfers, type LedgerTransaction } from '../ledger/types';
import { checkoutLedgerTxId } from './ids';
import type { CheckoutState, RecordedCheckoutEvent } from './types';

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
