import { orderIds } from '../order-ids';

/**
 * The ids of a checkout (C1–C5), in one place: everyone builds and parses them from here. The
 * workflow id is `checkout:{checkoutId}`, the ledger transaction of its payment
 * `checkout:{checkoutId}:v{version}:{kind}` (L3), the stream id `checkout:{checkoutId}`.
 */
const CHECKOUT_IDS = orderIds({ workflowId: 'checkout:', ledgerTx: 'checkout:' });

/** E1: a checkout's stream id in order_events and the outbox; a task order's id never contains ':'. */
export const checkoutStreamId = (checkoutId: string): string => `checkout:${checkoutId}`;

export const CHECKOUT_WORKFLOW_ID_PREFIX = CHECKOUT_IDS.workflowIdPrefix;
export const checkoutWorkflowId = CHECKOUT_IDS.workflowId;
/** The inverse of checkoutWorkflowId; undefined for any other id. */
export const checkoutIdOfWorkflowId = CHECKOUT_IDS.orderIdOfWorkflowId;

/** Every ledger transaction id of a checkout starts with it (L3). */
export const CHECKOUT_LEDGER_TX_PREFIX = CHECKOUT_IDS.ledgerTxPrefix;
export const checkoutLedgerTxId = CHECKOUT_IDS.ledgerTxId;
