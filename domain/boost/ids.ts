/**
 * The ids of a boost order, in one place (issue 19): everyone builds and parses them from here.
 */

/**
 * E1: a boost order's stream id in order_events and the outbox (`boost:{boostOrderId}`): a task
 * order's id never contains ':' (api/schemas.ts Id), so it never collides with a task stream.
 */
export const boostStreamId = (boostOrderId: string): string => `boost:${boostOrderId}`;

/** Every boost-order workflow's id starts with it (`boost-order:{boostOrderId}`). */
export const BOOST_ORDER_WORKFLOW_ID_PREFIX = 'boost-order:';

/** The id of the workflow of one boost order. */
export const boostOrderWorkflowId = (boostOrderId: string): string => `${BOOST_ORDER_WORKFLOW_ID_PREFIX}${boostOrderId}`;

/** The boost order id of a boost-order workflow id (the inverse of boostOrderWorkflowId); undefined for any other id. */
export function boostOrderIdOfWorkflowId(workflowId: string): string | undefined {
  return workflowId.startsWith(BOOST_ORDER_WORKFLOW_ID_PREFIX) ? workflowId.slice(BOOST_ORDER_WORKFLOW_ID_PREFIX.length) : undefined;
}

/** Every ledger transaction id of a boost order starts with it (L3); a task order's may otherwise be equal. */
export const BOOST_LEDGER_TX_PREFIX = 'boost:';

/** L3: the deterministic id of the ledger transaction of one event (`boost:{boostOrderId}:v{version}:{kind}`). */
export const boostLedgerTxId = (boostOrderId: string, version: number, kind: string): string => `${BOOST_LEDGER_TX_PREFIX}${boostOrderId}:v${version}:${kind}`;
