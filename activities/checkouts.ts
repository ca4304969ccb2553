import { checkoutContext, checkoutRow, loadCheckoutEvents, placedCheckoutOrders } from '../db/checkouts';
import type { Db } from '../db/connect';
import type { CheckoutContext, CheckoutEvent, CheckoutRequest, CheckoutState, RecordedCheckoutEvent } from '../domain/checkout';
import { CHECKOUT_KIND } from '../domain/checkout/kind';
import { appendToStream, type AppendResult, type OrderStream, type StreamStateCache } from './append-to-stream';

export interface RecordCheckoutEventsInput {
  readonly checkoutId: string;
  readonly events: readonly RecordedCheckoutEvent[];
  readonly causation: string;
  /** L3: a version stored with another content is answered with the stored stream, not a conflict (see AppendResult.stored). */
  readonly returnStored?: boolean;
}

/** The checkout's context as a workflow can carry it (maps and sets are not payloads). */
export interface CheckoutContextPayload {
  readonly quotes: ReadonlyArray<CheckoutContext['quotes'] extends ReadonlyMap<string, infer Q> ? Q : never>;
  readonly usedOrderIds: readonly string[];
  readonly usedBoostOrderIds: readonly string[];
}

/** A checkout's stream: the kind's definition (domain/checkout/kind.ts) and its storage (its payment claims the lines' ids). */
export function checkoutStream(checkoutId: string): OrderStream<CheckoutState, CheckoutEvent> {
  return { definition: CHECKOUT_KIND, orderId: checkoutId, load: (reader) => loadCheckoutEvents(reader, checkoutId), readModelRow: checkoutRow };
}

export function createCheckoutActivities({ db, streams }: { db: Db; streams?: StreamStateCache }) {
  return {
    /** E1, L3, C4: see appendToStream; the payment's write also claims the lines' ids (migration 0012). */
    async recordCheckoutEvents(input: RecordCheckoutEventsInput): Promise<AppendResult<CheckoutEvent>> {
      return appendToStream(db, checkoutStream(input.checkoutId), input.events, input.causation, streams, input.returnStored);
    },

    /** C2/C3: the cited quotes and the ids already used, read at the checkout's payment. */
    async checkoutContext(request: CheckoutRequest): Promise<CheckoutContextPayload> {
      const context = await checkoutContext(db, request);
      return { quotes: [...context.quotes.values()], usedOrderIds: [...context.usedOrderIds], usedBoostOrderIds: [...context.usedBoostOrderIds] };
    },

    /** C4: which of the checkout's orders are stored: a placement a signal did not report is found here. */
    async placedCheckoutOrders(ids: { orderIds: readonly string[]; boostOrderIds: readonly string[] }): Promise<{ orderIds: string[]; boostOrderIds: string[] }> {
      return placedCheckoutOrders(db, ids.orderIds, ids.boostOrderIds);
    },
  };
}
