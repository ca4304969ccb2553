import { checkoutEscrowAccount } from '../ledger/accounts';
import type { OrderKindDefinition } from '../order-kind';
import { decideCheckout } from './decide';
import { evolveCheckout } from './evolve';
import { CHECKOUT_LEDGER_TX_PREFIX, checkoutLedgerTxId, checkoutStreamId, checkoutWorkflowId } from './ids';
import { checkoutFundsOthers, checkoutLedgerTransactionFor } from './ledger';
import { checkoutNotificationsFor } from './notifications';
import { CHECKOUT_STATUSES, CLOSED_CHECKOUT_STATUSES, type CheckoutCommand, type CheckoutEvent, type CheckoutState, type CheckoutStatus } from './types';

/**
 * The checkout as one kind (C1–C5): where each of its rules lives. It has no deadline of its own:
 * once paid its workflow places every line at once (C4), and each order then keeps its own.
 */
export const CHECKOUT_KIND: OrderKindDefinition<CheckoutState, CheckoutCommand, CheckoutEvent, CheckoutStatus, never> = {
  kind: 'checkout',
  workflowId: checkoutWorkflowId,
  streamId: checkoutStreamId,
  ledgerTxPrefix: CHECKOUT_LEDGER_TX_PREFIX,
  ledgerTxId: checkoutLedgerTxId,
  escrowAccount: checkoutEscrowAccount,
  statuses: CHECKOUT_STATUSES,
  closedStatuses: CLOSED_CHECKOUT_STATUSES,
  decide: decideCheckout,
  evolve: evolveCheckout,
  deadlines: {},
  ledgerTransactionFor: checkoutLedgerTransactionFor,
  notificationsFor: checkoutNotificationsFor,
  fundsOthers: checkoutFundsOthers,
};
