import { PLATFORM_ACCOUNTS, clientAccount, creatorAccount, taskEscrowAccount } from '../ledger/accounts';
import { transfers, type LedgerTransaction } from '../ledger/types';
import type { RecordedTaskEvent, TaskOrderState } from './types';

/**
 * The ledger transaction an event posts, if money moves (L1, L2, L5). The id is derived from the
 * order and the event's version, so a retried activity can never post twice (L3).
 */
export function ledgerTransactionFor(before: TaskOrderState | undefined, recorded: RecordedTaskEvent): LedgerTransaction | undefined {
  const { event } = recorded;
  switch (event.type) {
    case 'TaskOrderPlaced': {
      const { placement } = event;
      const escrow = taskEscrowAccount(placement.orderId);
      const source = placement.funding.source === 'external' ? PLATFORM_ACCOUNTS.externalPayments : clientAccount(placement.clientId);
      return {
        txId: txId(placement.orderId, recorded.version, 'placement_payment'),
        kind: 'placement_payment',
        orderId: placement.orderId,
        transfers: transfers({ debitAccount: source, creditAccount: escrow, amountFen: event.paidFen }),
        ...(placement.funding.source === 'external' ? { externalPaymentRef: placement.funding.paymentRef } : {}),
      };
    }
    case 'TaskOrderCancelled': {
      if (!before) throw new Error('cancellation before placement');
      const { orderId, clientId, creatorId } = before.placement;
      const escrow = taskEscrowAccount(orderId);
      return {
        txId: txId(orderId, recorded.version, 'cancellation_settlement'),
        kind: 'cancellation_settlement',
        orderId,
        transfers: transfers(
          { debitAccount: escrow, creditAccount: clientAccount(clientId), amountFen: event.refundFen },
          { debitAccount: escrow, creditAccount: creatorAccount(creatorId), amountFen: event.creatorFen },
          { debitAccount: escrow, creditAccount: PLATFORM_ACCOUNTS.serviceFees, amountFen: event.serviceFeeFen },
          { debitAccount: escrow, creditAccount: PLATFORM_ACCOUNTS.forfeitedDeposits, amountFen: event.forfeitedFen },
        ),
      };
    }
    case 'TaskOrderAccepted':
    case 'CreatorReminded':
      return undefined;
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

function txId(orderId: string, version: number, kind: string): string {
  return `task:${orderId}:v${version}:${kind}`;
}
