import { BOOST_ORDER_KIND } from './boost/kind';
import { CHECKOUT_KIND } from './checkout/kind';
import { ORDER_KINDS, type OrderKind } from './order-kind';
import { TASK_ORDER_KIND } from './task-order/kind';

/**
 * Every kind's definition by its name (issue 19), for the layers that meet a kind by name: a stored
 * row's `order_kind`, a workflow id, a metrics label, the audit. A new kind is one entry here (and
 * its definition in domain/<kind>/kind.ts); the compiler then asks for its storage in
 * db/order-kinds.ts.
 */
export const ORDER_KIND_DEFINITIONS = {
  task: TASK_ORDER_KIND,
  boost: BOOST_ORDER_KIND,
  checkout: CHECKOUT_KIND,
} as const satisfies Record<OrderKind, unknown>;

/** The kind and order id of an order workflow's id (the inverse of each kind's workflowId); undefined for any other id. */
export function orderOfWorkflowId(workflowId: string): { readonly kind: OrderKind; readonly orderId: string } | undefined {
  for (const kind of ORDER_KINDS) {
    const prefix = ORDER_KIND_DEFINITIONS[kind].workflowId('');
    if (workflowId.startsWith(prefix)) return { kind, orderId: workflowId.slice(prefix.length) };
  }
  return undefined;
}
