import { checkoutContext, checkoutRow, loadCheckoutEvents, placedCheckoutOrders } from '../db/checkouts';
import type { Db } from '../db/connect';
import { checkoutLedgerTransactionFor, checkoutNotificationsFor, checkoutStreamId, evolveCheckout, type CheckoutContext, type CheckoutRequest, type CheckoutState, type RecordedCheckoutEvent } from '../domain/checkout';
import { appendToStream, type AppendResult, type StreamStateCache } from './append-to-stream';

export interface RecordCheckoutEventsInput {
  readonly checkoutId: string;
  readonly events: readonly RecordedCheckoutEvent[];
  readonly causation: string;
}

/** The checkout's context as a workflow can carry it (maps and sets are not payloads). */
export interface CheckoutContextPayload {
  readonly quotes: ReadonlyArray<CheckoutContext['quotes'] extends ReadonlyMap<string, infer Q> ? Q : never>;
  readonly usedOrderIds: readonly string[];
  readonly usedBoostOrderIds: readonly string[];
}

export function createCheckoutActivities({ db, streams }: { db: Db; streams?: StreamStateCache }) {
  return {
    /** E1, L3, C4: see appendToStream; the payment's write also claims the lines' ids (migration 0012). */
    async recordCheckoutEvents(input: RecordCheckoutEventsInput): Promise<AppendResult> {
      const { checkoutId } = input;
      return appendToStream<CheckoutState, RecordedCheckoutEvent>(
        db,
        {
          kind: 'checkout',
          streamId: checkoutStreamId(checkoutId),
          load: (reader) => loadCheckoutEvents(reader, checkoutId),
          evolve: evolveCheckout,
          notificationsFor: checkoutNotificationsFor,
          ledgerTransactionFor: checkoutLedgerTransactionFor,
          readModelRow: checkoutRow,
        },
        input.events,
        input.causation,
        streams,
      );
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
