import { boostEscrowAccount } from '../ledger/accounts';
import type { OrderKindDefinition } from '../order-kind';
import { BOOST_DEADLINE_RULES, type BoostDeadlineKind } from './deadlines';
import { decideBoost } from './decide';
import { evolveBoost } from './evolve';
import { BOOST_LEDGER_TX_PREFIX, boostLedgerTxId, boostOrderWorkflowId, boostStreamId } from './ids';
import { boostLedgerTransactionFor } from './ledger';
import { boostNotificationsFor } from './notifications';
import { BOOST_STATUSES, CLOSED_BOOST_STATUSES, type BoostCommand, type BoostEvent, type BoostOrderState, type BoostStatus } from './types';

/** The boost order as one kind (issue 19): where each of its rules lives (docs/architecture.md "An order kind"). */
export const BOOST_ORDER_KIND: OrderKindDefinition<BoostOrderState, BoostCommand, BoostEvent, BoostStatus, BoostDeadlineKind> = {
  kind: 'boost',
  workflowId: boostOrderWorkflowId,
  streamId: boostStreamId,
  ledgerTxPrefix: BOOST_LEDGER_TX_PREFIX,
  ledgerTxId: boostLedgerTxId,
  escrowAccount: boostEscrowAccount,
  statuses: BOOST_STATUSES,
  closedStatuses: CLOSED_BOOST_STATUSES,
  decide: decideBoost,
  evolve: evolveBoost,
  deadlines: BOOST_DEADLINE_RULES,
  ledgerTransactionFor: boostLedgerTransactionFor,
  notificationsFor: boostNotificationsFor,
};
