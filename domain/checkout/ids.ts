/**
 * The ids of a checkout (C1–C5), in one place: everyone builds and parses them from here.
 */

/** E1: a checkout's stream id in order_events and the outbox (`checkout:{checkoutId}`); task ids never contain ':'. */
export const checkoutStreamId = (checkoutId: string): string => `checkout:${checkoutId}`;

/** Every checkout workflow's id starts with it (`checkout:{checkoutId}`). */
export const CHECKOUT_WORKFLOW_ID_PREFIX = 'checkout:';

/** The id of the workflow of one checkout. */
export const checkoutWorkflowId = (checkoutId: string): string => `${CHECKOUT_WORKFLOW_ID_PREFIX}${checkoutId}`;

/** The checkout id of a checkout workflow id (the inverse of checkoutWorkflowId); undefined for any other id. */
export function checkoutIdOfWorkflowId(workflowId: string): string | undefined {
  return workflowId.startsWith(CHECKOUT_WORKFLOW_ID_PREFIX) ? workflowId.slice(CHECKOUT_WORKFLOW_ID_PREFIX.length) : undefined;
}

/** Every ledger transaction id of a checkout starts with it (L3). */
export const CHECKOUT_LEDGER_TX_PREFIX = 'checkout:';

/** L3: the deterministic id of the ledger transaction of one event (`checkout:{checkoutId}:v{version}:{kind}`). */
export const checkoutLedgerTxId = (checkoutId: string, version: number, kind: string): string =>
  `${CHECKOUT_LEDGER_TX_PREFIX}${checkoutId}:v${version}:${kind}`;
