import { WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { checkoutContext, checkoutRequestHash, checkoutStateOf, getCheckoutRow, requestOfState } from '../db/checkouts';
import type { Db } from '../db/connect';
import { clientBalanceFen } from '../db/top-ups';
import { DEFAULT_BOOST_POLICY, type BoostPolicy } from '../domain/boost';
import { firstRepeatedLine, priceCheckout, type CheckoutRequest, type CheckoutState } from '../domain/checkout';
import { reject } from '../domain/errors';
import { DEFAULT_TASK_POLICY, placementEvent, type TaskPolicy } from '../domain/task-order';
import { CHECKOUT_WORKFLOW, checkoutOutcomeUpdate, checkoutStateQuery, checkoutWorkflowId, type CheckoutInput } from '../workflows/checkout-api';
import { ApiError } from './errors';
import { within } from './task-order-service';
import { resendingUnprocessed } from './update-calls';

export interface CheckoutServiceDeps {
  readonly db: Db;
  readonly client: Client;
  readonly taskQueue: string;
  readonly nowMs: () => Promise<number>;
  readonly taskPolicy?: TaskPolicy;
  readonly boostPolicy?: BoostPolicy;
  /** C4: how long POST /v1/checkouts waits for every line to be placed before answering 202 (30 s). */
  readonly waitMs?: number;
}

/** C2: one line of a preview: what it costs and whether its boost is available. */
export interface PreviewLine {
  readonly lineIndex: number;
  readonly orderId: string;
  readonly creatorId: string;
  readonly priceFen: bigint;
  readonly serviceFeeFen: bigint;
  readonly placementFen: bigint;
  readonly boost: { readonly boostOrderId: string; readonly quoteId: string; readonly available: boolean; readonly reason: string | null; readonly boostFeeFen: bigint | null; readonly expectedViews: number | null } | null;
  readonly lineTotalFen: bigint;
}

export interface CheckoutPreview {
  readonly lines: readonly PreviewLine[];
  readonly totalFen: bigint;
  /** Whether POST /v1/checkouts would be refused now, and at which line (C3). */
  readonly refusal: { readonly lineIndex: number | null; readonly code: string; readonly message: string } | null;
}

export function createCheckoutService({ db, client, taskQueue, nowMs, taskPolicy = DEFAULT_TASK_POLICY, boostPolicy = DEFAULT_BOOST_POLICY, waitMs = 30_000 }: CheckoutServiceDeps) {
  const policies = { task: taskPolicy, boost: boostPolicy };

  /** C2: the lines' amounts, the total and each boost's availability; nothing is written. */
  async function preview(request: CheckoutRequest): Promise<CheckoutPreview> {
    const [context, now] = await Promise.all([checkoutContext(db, request), nowMs()]);
    const pricing = priceCheckout(request, context, now, policies);
    const lines = request.lines.map((line, lineIndex): PreviewLine => {
      const placed = placementEvent({ ...line, clientId: request.clientId, paymentMode: request.paymentMode, funding: { source: 'checkout', checkoutId: request.checkoutId } }, taskPolicy);
      if (placed.type !== 'TaskOrderPlaced') throw new Error('placementEvent: expected TaskOrderPlaced');
      const quote = line.boost ? context.quotes.get(line.boost.quoteId) : undefined;
      const boost = line.boost
        ? { ...line.boost, available: quote?.available ?? false, reason: quote ? (quote.available ? null : quote.reason) : 'unknown_quote', boostFeeFen: quote?.available ? quote.boostFeeFen : null, expectedViews: quote?.available ? quote.expectedViews : null }
        : null;
      const lineTotalFen = placed.paidFen + (boost?.boostFeeFen ?? 0n);
      return { lineIndex, orderId: line.orderId, creatorId: line.creatorId, priceFen: line.priceFen, serviceFeeFen: placed.serviceFeeFen, placementFen: placed.paidFen, boost, lineTotalFen };
    });
    const totalFen = lines.reduce((sum, l) => sum + l.lineTotalFen, 0n);
    // C1 repeats first, as POST /v1/checkouts refuses them (before any line's own checks).
    const failure = firstRepeatedLine(request.lines) ?? (pricing.ok ? undefined : pricing.failure);
    let refusal: CheckoutPreview['refusal'] = failure ? { lineIndex: failure.lineIndex ?? null, code: failure.rejection.code, message: failure.rejection.message } : null;
    if (!refusal && request.funding.source === 'account' && (await clientBalanceFen(db, request.clientId)) < totalFen) {
      refusal = { lineIndex: null, code: 'insufficient_funds', message: `the client account holds less than the total of ${totalFen} fen (L2)` };
    }
    return { lines, totalFen, refusal };
  }

  /**
   * C1–C4: the checkout's outcome. The same checkoutId with the same request answers the stored
   * outcome; with another request it is 409. Otherwise the checkout's workflow is started and its
   * outcome awaited for `waitMs`, then 202 with the checkout as it stands.
   */
  async function place(request: CheckoutRequest): Promise<{ created: boolean; pending: boolean; state: CheckoutState }> {
    refuseRepeatedLines(request);
    const existing = await getCheckoutRow(db, request.checkoutId);
    if (existing) return answer(sameOrConflict(existing.request_hash, request) && checkoutStateOf(existing), false);
    const workflowId = checkoutWorkflowId(request.checkoutId);
    const input: CheckoutInput = { request, taskPolicy, boostPolicy };
    // A closed run is never started again (its outcome is stored): REJECT_DUPLICATE. A run still
    // going is joined (a retried POST): USE_EXISTING.
    const startWorkflowOperation = new WithStartWorkflowOperation(CHECKOUT_WORKFLOW, {
      workflowId,
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
    let outcome: Promise<CheckoutState>;
    try {
      outcome = resendingUnprocessed(() => client.workflow.executeUpdateWithStart(checkoutOutcomeUpdate, { startWorkflowOperation }));
      outcome.catch(() => undefined); // awaited below; a refused start is answered from the stored row
      await startWorkflowOperation.workflowHandle();
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      const stored = await findRow(request.checkoutId);
      return answer(sameOrConflict(stored.request_hash, request) && checkoutStateOf(stored), false);
    }
    const waited = await within(outcome, waitMs);
    if (waited.done) return answer(sameOrConflict(checkoutRequestHash(requestOfState(waited.value)), request) && waited.value, true);
    const state = await client.workflow.getHandle(workflowId).query(checkoutStateQuery);
    if (!state) return { created: true, pending: true, state: placingPlaceholder(request) };
    return { created: true, pending: true, state };
  }

  async function findRow(checkoutId: string) {
    const row = await getCheckoutRow(db, checkoutId);
    if (!row) throw new ApiError('not_found', `checkout ${checkoutId} does not exist`);
    return row;
  }

  return {
    preview,
    place,
    async find(checkoutId: string): Promise<CheckoutState> {
      return checkoutStateOf(await findRow(checkoutId));
    },
  };
}

export type CheckoutService = ReturnType<typeof createCheckoutService>;

/** C3: a failed checkout answers its refusal (the first failing line in details.lineIndex), every time. */
function answer(state: CheckoutState, created: boolean): { created: boolean; pending: boolean; state: CheckoutState } {
  if (state.status === 'failed' && state.failure) {
    const { rejection, lineIndex } = state.failure;
    throw ApiError.from(reject(rejection.code, rejection.message, { ...rejection.details, ...(lineIndex === undefined ? {} : { lineIndex }), checkoutId: state.checkoutId }));
  }
  return { created, pending: state.status === 'placing', state };
}

/**
 * C1, §8: a creator, order id or boost id twice is a malformed request: 400 validation_failed at
 * its line before any workflow starts, so nothing is recorded and the backend may send the
 * corrected basket under the same checkoutId (a recorded refusal would make that a 409 conflict).
 */
function refuseRepeatedLines(request: CheckoutRequest): void {
  const repeated = firstRepeatedLine(request.lines);
  if (!repeated) return;
  throw ApiError.from(reject(repeated.rejection.code, repeated.rejection.message, { ...repeated.rejection.details, checkoutId: request.checkoutId }));
}

function sameOrConflict(storedHash: string, request: CheckoutRequest): true {
  if (storedHash !== checkoutRequestHash(request)) {
    throw new ApiError('invalid_state', `checkout ${request.checkoutId} was already placed with a different content (C4)`, { checkoutId: request.checkoutId });
  }
  return true;
}

/** A checkout whose first step is not recorded yet (its activities keep failing): placing, nothing paid. */
function placingPlaceholder(request: CheckoutRequest): CheckoutState {
  return { checkoutId: request.checkoutId, clientId: request.clientId, status: 'placing', paymentMode: request.paymentMode, funding: request.funding, totalFen: 0n, escrowFen: 0n, lines: [], requestLines: request.lines, createdAt: 0, updatedAt: 0, version: 0 };
}
