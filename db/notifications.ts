/** A notification for the outbox (task orders: domain/task-order/notifications.ts; boost orders: db/boost-orders.ts). */
export interface OutboxNotification {
  readonly recipient: { readonly type: string; readonly id: string };
  readonly kind: string;
  readonly data: Record<string, unknown>;
}
