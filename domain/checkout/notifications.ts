import type { OrderNotification } from '../notification';
import type { CheckoutState, RecordedCheckoutEvent } from './types';

export const CHECKOUT_NOTIFICATION_KINDS = [
  'checkout_completed', // C4/C5: every line placed
  'checkout_failed', // C3/C5: nothing placed, nothing paid
] as const;
export type CheckoutNotificationKind = (typeof CHECKOUT_NOTIFICATION_KINDS)[number];

/** E3/C5: what the backend is told about a checkout: it completed (every line placed) or it failed (nothing placed). */
export function checkoutNotificationsFor(after: CheckoutState, recorded: RecordedCheckoutEvent): Array<OrderNotification<CheckoutNotificationKind>> {
  const client = { type: 'client', id: after.clientId } as const;
  const { event } = recorded;
  switch (event.type) {
    case 'CheckoutCompleted':
      return [
        {
          recipient: client,
          kind: 'checkout_completed' as const,
          data: {
            checkoutId: after.checkoutId,
            totalFen: after.totalFen,
            lines: after.lines.map(({ line }) => ({ orderId: line.orderId, boostOrderId: line.boostTerms?.boostOrderId ?? null })),
          },
        },
      ];
    case 'CheckoutRefused':
      return [
        {
          recipient: client,
          kind: 'checkout_failed' as const,
          data: { checkoutId: after.checkoutId, lineIndex: event.failure.lineIndex ?? null, code: event.failure.rejection.code, message: event.failure.rejection.message },
        },
      ];
    case 'CheckoutPaid':
    case 'CheckoutTaskPlaced':
    case 'CheckoutBoostPlaced':
      return []; // each order tells its own placement (task_placed, boost_ordered)
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}
