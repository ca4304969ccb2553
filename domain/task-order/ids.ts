/**
 * The ids of a task order, in one place (issue 19): everyone builds and parses them from here.
 */

/** Every task-order workflow's id starts with it (`task-order:{orderId}`). */
export const TASK_ORDER_WORKFLOW_ID_PREFIX = 'task-order:';

/** The id of the workflow of one task order. */
export const taskOrderWorkflowId = (orderId: string): string => `${TASK_ORDER_WORKFLOW_ID_PREFIX}${orderId}`;

/** The order id of a task-order workflow id (the inverse of taskOrderWorkflowId); undefined for any other id. */
export function taskOrderIdOfWorkflowId(workflowId: string): string | undefined {
  return workflowId.startsWith(TASK_ORDER_WORKFLOW_ID_PREFIX) ? workflowId.slice(TASK_ORDER_WORKFLOW_ID_PREFIX.length) : undefined;
}

/** Every ledger transaction id of a task order starts with it (L3); a boost's may otherwise be equal. */
export const TASK_LEDGER_TX_PREFIX = 'task:';

/** L3: the deterministic id of the ledger transaction of one event (`task:{orderId}:v{version}:{kind}`). */
export const taskLedgerTxId = (orderId: string, version: number, kind: string): string => `${TASK_LEDGER_TX_PREFIX}${orderId}:v${version}:${kind}`;
