/**
 * The ids of a boost order, in one place (issue 19): everyone builds and parses them from here.
 */

/** Every boost-order workflow's id starts with it (`boost-order:{boostOrderId}`). */
export const BOOST_ORDER_WORKFLOW_ID_PREFIX = 'boost-order:';

/** The id of the workflow of one boost order. */
export const boostOrderWorkflowId = (boostOrderId: string): string => `${BOOST_ORDER_WORKFLOW_ID_PREFIX}${boostOrderId}`;

/** The boost order id of a boost-order workflow id (the inverse of boostOrderWorkflowId); undefined for any other id. */
export function boostOrderIdOfWorkflowId(workflowId: string): string | undefined {
  return workflowId.startsWith(BOOST_ORDER_WORKFLOW_ID_PREFIX) ? workflowId.slice(BOOST_ORDER_WORKFLOW_ID_PREFIX.length) : undefined;
}
