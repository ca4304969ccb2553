import { orderIds } from '../order-ids';

/**
 * The ids of a task order, in one place (issue 19): everyone builds and parses them from here. The
 * workflow id is `task-order:{orderId}`; a ledger transaction id `task:{orderId}:v{version}:{kind}`
 * (L3); the stream id is the order id itself.
 */
const TASK_ORDER_IDS = orderIds({ workflowId: 'task-order:', ledgerTx: 'task:' });

/** Every task-order workflow's id starts with it (`task-order:{orderId}`). */
export const TASK_ORDER_WORKFLOW_ID_PREFIX = TASK_ORDER_IDS.workflowIdPrefix;
export const taskOrderWorkflowId = TASK_ORDER_IDS.workflowId;
/** The inverse of taskOrderWorkflowId; undefined for any other id. */
export const taskOrderIdOfWorkflowId = TASK_ORDER_IDS.orderIdOfWorkflowId;

/** Every ledger transaction id of a task order starts with it (L3); a boost's may otherwise be equal. */
export const TASK_LEDGER_TX_PREFIX = TASK_ORDER_IDS.ledgerTxPrefix;
export const taskLedgerTxId = TASK_ORDER_IDS.ledgerTxId;
