import { taskEscrowAccount } from '../ledger/accounts';
import type { OrderKindDefinition } from '../order-kind';
import { TASK_DEADLINE_RULES } from './deadlines';
import type { TaskDeadlineKind } from './types';
import { decide } from './decide';
import { evolve } from './evolve';
import { TASK_LEDGER_TX_PREFIX, taskLedgerTxId, taskOrderWorkflowId } from './ids';
import { ledgerTransactionFor } from './ledger';
import { notificationsFor } from './notifications';
import { CLOSED_TASK_STATUSES, TASK_STATUSES, type TaskCommand, type TaskEvent, type TaskOrderState, type TaskStatus } from './types';

/** The task order as one kind (issue 19): where each of its rules lives (docs/architecture.md "An order kind"). */
export const TASK_ORDER_KIND: OrderKindDefinition<TaskOrderState, TaskCommand, TaskEvent, TaskStatus, TaskDeadlineKind> = {
  kind: 'task',
  workflowId: taskOrderWorkflowId,
  streamId: (orderId) => orderId, // a task order's stream is its own id
  ledgerTxPrefix: TASK_LEDGER_TX_PREFIX,
  ledgerTxId: taskLedgerTxId,
  escrowAccount: taskEscrowAccount,
  statuses: TASK_STATUSES,
  closedStatuses: CLOSED_TASK_STATUSES,
  decide,
  evolve,
  deadlines: TASK_DEADLINE_RULES,
  ledgerTransactionFor,
  notificationsFor,
};
