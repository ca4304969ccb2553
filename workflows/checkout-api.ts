import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BoostPolicy } from '../domain/boost/policy';
import type { CheckoutRequest, CheckoutState } from '../domain/checkout/types';
import type { TaskPolicy } from '../domain/task-order/policy';

/** The messages of the checkout workflow, shared by the workflow, the order workflows it places and the API. */

export const CHECKOUT_WORKFLOW = 'checkoutWorkflow';

export { checkoutWorkflowId } from '../domain/checkout/ids';

/** C1: the request as sent, and the policies its lines are placed under (§1 policy snapshot). */
export interface CheckoutInput {
  readonly request: CheckoutRequest;
  readonly taskPolicy: TaskPolicy;
  readonly boostPolicy: BoostPolicy;
}

/** C4: answers once the checkout is closed: every line placed (completed) or none and nothing paid (failed). */
export const checkoutOutcomeUpdate = defineUpdate<CheckoutState>('outcome');

export const checkoutStateQuery = defineQuery<CheckoutState | undefined>('state');

/** C4: sent by a line's task or boost workflow once its placement is recorded. */
export const checkoutOrderPlacedSignal = defineSignal<[{ readonly kind: 'task' | 'boost'; readonly id: string }]>('orderPlaced');
