import type { Db } from '../db/connect';
import { IdempotencyConflictError, PaymentRefReusedError } from '../db/errors';
import { loadTaskEvents } from '../db/events';
import { getTaskOrderRow } from '../db/task-orders';
import { clientBalanceFen, postTopUp } from '../db/top-ups';
import type { RejectionCode } from '../domain/errors';
import { balanceDueFen, fold } from '../domain/task-order';
import { ApiError } from './errors';
import type { TaskOrderService } from './task-order-service';

export type CombinedFunding = { readonly source: 'account' } | { readonly source: 'external'; readonly paymentRef: string; readonly amountFen: bigint };

export type BalanceOutcome =
  | { readonly orderId: string; readonly outcome: 'paid'; readonly amountFen: bigint }
  | { readonly orderId: string; readonly outcome: 'already_paid' }
  | { readonly orderId: string; readonly outcome: 'not_paid'; readonly code: RejectionCode; readonly message: string };

export interface PaymentsServiceDeps {
  readonly db: Db;
  readonly orders: TaskOrderService;
  /** Now in the workflows' clock, so a top-up and the postings around it share one timeline (§9 sandbox). */
  readonly nowMs: () => Promise<number>;
}

export function createPaymentsService({ db, orders, nowMs }: PaymentsServiceDeps) {
  /** L5: external money enters the client's account, once per paymentRef. */
  async function topUp(clientId: string, paymentRef: string, amountFen: bigint): Promise<{ created: boolean; balanceFen: bigint }> {
    try {
      const result = await postTopUp(db, { clientId, paymentRef, amountFen }, new Date(await nowMs()));
      return { created: result === 'posted', balanceFen: await clientBalanceFen(db, clientId) };
    } catch (error) {
      if (error instanceof IdempotencyConflictError || error instanceof PaymentRefReusedError) {
        throw new ApiError('idempotency_mismatch', `paymentRef ${paymentRef} was already used for another payment (L5)`);
      }
      throw error;
    }
  }

  /**
   * T14 combined payment: the money first lands in the client's account (an external payment as a
   * top-up keyed by its paymentRef), then each order's balance is paid from the account by its own
   * workflow. An order that cannot be paid (cancelled meanwhile, not awaiting its balance, funds run
   * out) leaves its share in the client's account. A retry finds the top-up done and the paid
   * orders paid, so no order is ever paid twice.
   */
  async function payBalances(clientId: string, orderIds: readonly string[], funding: CombinedFunding) {
    for (const orderId of orderIds) {
      const row = await getTaskOrderRow(db, orderId);
      if (!row) throw new ApiError('not_found', `task order ${orderId} not found`);
      if (row.client_id !== clientId) throw new ApiError('forbidden', `task order ${orderId} is not client ${clientId}'s`);
    }
    if (funding.source === 'external') await topUp(clientId, funding.paymentRef, funding.amountFen);

    const results: BalanceOutcome[] = [];
    for (const orderId of orderIds) results.push(await payOne(clientId, orderId));
    return { clientId, results, clientBalanceFen: await clientBalanceFen(db, clientId) };
  }

  async function payOne(clientId: string, orderId: string): Promise<BalanceOutcome> {
    const before = fold(await loadTaskEvents(db, orderId));
    if (before?.balancePaidAt !== undefined) return { orderId, outcome: 'already_paid' };
    const amountFen = before && before.status === 'awaiting_balance' ? balanceDueFen(before) : 0n;
    try {
      const { pending } = await orders.commandWithin(orderId, 'pay_balance', { actor: { type: 'client', id: clientId }, funding: { source: 'account' } });
      // Accepted but not settled (Temporal went away, or the write keeps failing): its outcome is
      // not known, so the whole call is a fault to retry (T14: a retry never pays twice).
      if (pending) throw new ApiError('unavailable', `the balance payment of order ${orderId} was accepted but is not settled yet; retry in a moment (the same Idempotency-Key may be reused)`, { orderId });
      return { orderId, outcome: 'paid', amountFen };
    } catch (error) {
      // A fault is not this order's outcome: the whole request answers 503 and may be retried.
      if (!(error instanceof ApiError) || error.code === 'unavailable') throw error;
      const after = fold(await loadTaskEvents(db, orderId));
      if (after?.balancePaidAt !== undefined) return { orderId, outcome: 'already_paid' }; // a concurrent call paid it
      return { orderId, outcome: 'not_paid', code: error.code, message: error.message };
    }
  }

  return { topUp, payBalances };
}
