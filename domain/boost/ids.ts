import { orderIds } from '../order-ids';

/**
 * The ids of a boost order, in one place (issue 19): everyone builds and parses them from here. The
 * workflow id is `boost-order:{boostOrderId}`; a ledger transaction id
 * `boost:{boostOrderId}:v{version}:{kind}` (L3); the stream id `boost:{boostOrderId}`.
 */
const BOOST_ORDER_IDS = orderIds({ workflowId: 'boost-order:', ledgerTx: 'boost:' });

/**
 * E1: a boost order's stream id in order_events and the outbox (`boost:{boostOrderId}`): a task
 * order's id never contains ':' (api/schemas.ts Id), so it never collides with a task stream.
 */
export const boostStreamId = (boostOrderId: string): string => `boost:${boostOrderId}`;

/** Every boost-order workflow's id starts with it (`boost-order:{boostOrderId}`). */
export const BOOST_ORDER_WORKFLOW_ID_PREFIX = BOOST_ORDER_IDS.workflowIdPrefix;
export const boostOrderWorkflowId = BOOST_ORDER_IDS.workflowId;
/** The inverse of boostOrderWorkflowId; undefined for any other id. */
export const boostOrderIdOfWorkflowId = BOOST_ORDER_IDS.orderIdOfWorkflowId;

/** Every ledger transaction id of a boost order starts with it (L3); a task order's may otherwise be equal. */
export const BOOST_LEDGER_TX_PREFIX = BOOST_ORDER_IDS.ledgerTxPrefix;
export const boostLedgerTxId = BOOST_ORDER_IDS.ledgerTxId;
