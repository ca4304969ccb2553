/**
 * E3: one notification of an order's event: whom the backend must tell, what, with which data. The
 * one type for every kind of order (each kind's `notificationsFor`, domain/<kind>/notifications.ts)
 * and the outbox that stores them (db/notifications.ts).
 */
export interface OrderNotification<K extends string = string> {
  readonly recipient: { readonly type: 'client' | 'creator'; readonly id: string };
  readonly kind: K;
  readonly data: Record<string, unknown>;
}

/** An instant in a notification's data: ISO 8601 (UTC), from epoch ms. */
export const notificationInstant = (ms: number): string => new Date(ms).toISOString();
