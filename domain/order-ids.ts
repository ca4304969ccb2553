/**
 * The shape of a kind's ids (issue 19): its workflow id is `{workflow prefix}{orderId}`, and the
 * ledger transaction of one event is `{ledger prefix}{orderId}:v{version}:{kind}` (L3). Each kind
 * names its two prefixes once (domain/task-order/ids.ts, domain/boost/ids.ts) and takes its
 * builders from here. The ids are stored and are idempotency keys: the strings built here must stay
 * byte-identical (domain/order-ids.unit.test.ts pins them).
 */
export interface OrderIds<W extends string, L extends string> {
  /** Every workflow id of the kind starts with it. */
  readonly workflowIdPrefix: W;
  /** The id of the workflow of one order. */
  readonly workflowId: (orderId: string) => string;
  /** The order id of a workflow id of this kind (the inverse of workflowId); undefined for any other id. */
  readonly orderIdOfWorkflowId: (workflowId: string) => string | undefined;
  /** Every ledger transaction id of the kind starts with it (L3): another kind's may otherwise be equal. */
  readonly ledgerTxPrefix: L;
  /** L3: the deterministic id of the ledger transaction of one event. */
  readonly ledgerTxId: (orderId: string, version: number, kind: string) => string;
}

export function orderIds<W extends string, L extends string>(prefixes: { readonly workflowId: W; readonly ledgerTx: L }): OrderIds<W, L> {
  const { workflowId: workflowPrefix, ledgerTx: ledgerPrefix } = prefixes;
  return {
    workflowIdPrefix: workflowPrefix,
    workflowId: (orderId) => `${workflowPrefix}${orderId}`,
    orderIdOfWorkflowId: (workflowId) => (workflowId.startsWith(workflowPrefix) ? workflowId.slice(workflowPrefix.length) : undefined),
    ledgerTxPrefix: ledgerPrefix,
    ledgerTxId: (orderId, version, kind) => `${ledgerPrefix}${orderId}:v${version}:${kind}`,
  };
}
