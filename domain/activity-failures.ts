/** ApplicationFailure types thrown by activities and handled by workflows (pure constants). */
export const ACTIVITY_FAILURE = {
  insufficientFunds: 'insufficient_funds',
  paymentRefReused: 'payment_ref_reused',
  idempotencyConflict: 'idempotency_conflict',
  taskAlreadyBoosted: 'task_already_boosted', // B3: a second boost order for one task order
  orderIdTaken: 'order_id_taken', // C3/C4: the id is already used by an order or claimed by a checkout
  taskOrderNotOpen: 'task_order_not_open', // B3: the task closed (or was repriced) before the placement's write
} as const;

export type ActivityFailureType = (typeof ACTIVITY_FAILURE)[keyof typeof ACTIVITY_FAILURE];

/** The input field that marks the regular activity run after a local write's attempts failed (a retry of that write). */
export const RETRY_OF_LOCAL_WRITE = 'retryOfLocalWrite';

/** A worker that runs order writes only as regular activities refuses them as local ones with this type (worker/create-worker.ts). */
export const LOCAL_WRITES_OFF = 'local_writes_off';
