/** A notification for the outbox: the domain's one type (domain/notification.ts), each kind's `notificationsFor` makes them. */
export type { OrderNotification as OutboxNotification } from '../domain/notification';
