import { PLATFORM_ACCOUNTS, clientAccount, creatorAccount, fundingAccount, taskEscrowAccount } from '../ledger/accounts';
import { transfers, type LedgerTransaction } from '../ledger/types';
import { taskLedgerTxId } from './ids';
import type { Funding, RecordedTaskEvent, TaskOrderState } from './types';

/**
 * The ledger transaction an event posts, if money moves (L1, L2, L5). The id is derived from the
 * order and the event's version, so a retried activity can never post twice (L3).
 */
export function ledgerTransactionFor(before: TaskOrderState | undefined, recorded: RecordedTaskEvent): LedgerTransaction | undefined {
  const { event } = recorded;
  switch (event.type) {
    case 'TaskOrderPlaced': {
      const { placement } = event;
      return payment(placement.orderId, placement.clientId, placement.funding, recorded.version, 'placement_payment', event.paidFen);
    }
    case 'BalancePaid': {
      // T12: the balance enters escrow, from the client's account or from an external payment (L5).
      const { orderId, clientId } = required(before, event.type).placement;
      return payment(orderId, clientId, event.funding, recorded.version, 'balance_payment', event.amountFen);
    }
    case 'TaskOrderCancelled': {
      const { orderId, clientId, creatorId } = required(before, event.type).placement;
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
    case 'TaskOrderCompleted': {
      // T18: settlement: the final price to the creator, the service fee to the platform.
      const { orderId, creatorId } = required(before, event.type).placement;
      const escrow = taskEscrowAccount(orderId);
      return {
        txId: txId(orderId, recorded.version, 'completion_settlement'),
        kind: 'completion_settlement',
        orderId,
        transfers: transfers(
          { debitAccount: escrow, creditAccount: creatorAccount(creatorId), amountFen: event.creatorFen },
          { debitAccount: escrow, creditAccount: PLATFORM_ACCOUNTS.serviceFees, amountFen: event.serviceFeeFen },
        ),
      };
    }
    case 'TaskOrderAccepted':
    case 'CreatorReminded':
    case 'PriceRestored':
    case 'VideoUploaded':
    case 'VideoReviewed':
    case 'VideoAutoApproved':
    case 'VideoPublished':
    case 'PublishOverdueFlagged':
    case 'CancellationRequested':
    case 'CancellationConfirmed':
    case 'CancellationDeclined':
    case 'CancellationEscalated':
    case 'CancellationArbitrated':
      return undefined;
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/** A client payment into the order's escrow (L5: from its account or from external:payments). */
function payment(orderId: string, clientId: string, funding: Funding, version: number, kind: string, amountFen: bigint): LedgerTransaction {
  const source = fundingAccount(funding, clientId);
  return {
    txId: txId(orderId, version, kind),
    kind,
    orderId,
    transfers: transfers({ debitAccount: source, creditAccount: taskEscrowAccount(orderId), amountFen }),
    ...(funding.source === 'external' ? { externalPaymentRef: funding.paymentRef } : {}),
  };
}

function required(before: TaskOrderState | undefined, type: string): TaskOrderState {
  if (!before) throw new Error(`${type} before placement`);
  return before;
}

const txId = taskLedgerTxId;
