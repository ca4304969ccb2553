import type { Rejection } from './errors';
import type { LedgerTransaction } from './ledger/types';
import type { OrderNotification } from './notification';
import type { RecordedEvent } from './recorded-event';

/** The kinds of order (`order_events.order_kind`, metrics labels, the audit): the one list. */
export const ORDER_KINDS = ['task', 'boost', 'checkout'] as const;
/** A kind of order by name. (Its rules are `OrderKindDefinition`, by name in domain/kinds.ts; its storage `OrderKindSpec`, db/order-kinds.ts.) */
export type OrderKind = (typeof ORDER_KINDS)[number];

/** One value per kind (`{ task: …, boost: … }`), made by `value` for each. */
export function byKind<T>(value: (kind: OrderKind) => T): Record<OrderKind, T> {
  return Object.fromEntries(ORDER_KINDS.map((kind) => [kind, value(kind)])) as Record<OrderKind, T>;
}

/**
 * One kind of order's rules in one object (issue 19): its ids, statuses, pure core, deadlines,
 * postings and notifications. Every layer takes it instead of restating a piece of the kind: the
 * workflow runtime (workflows/order-runtime.ts), the append (activities/append-to-stream.ts
 * `OrderStream`), the storage (db/order-kinds.ts `OrderKindSpec`), the feed, the audit, the ops and
 * metrics reads, the preview (domain/ledger/preview.ts `PreviewKind`). docs/architecture.md "An
 * order kind" says which takes what, and how a new kind plugs in.
 */
export interface OrderKindDefinition<S, C, E, Status extends string, D extends string> {
  readonly kind: OrderKind;
  /** The order's workflow id (Temporal). */
  readonly workflowId: (orderId: string) => string;
  /** The order's stream id in order_events and the outbox (E1). */
  readonly streamId: (orderId: string) => string;
  /** Every ledger transaction id of this kind starts with it (L3). */
  readonly ledgerTxPrefix: string;
  readonly ledgerTxId: (orderId: string, version: number, kind: string) => string;
  readonly escrowAccount: (orderId: string) => string;
  readonly statuses: readonly Status[];
  readonly closedStatuses: readonly Status[];
  readonly decide: (state: S, command: C, nowMs: number) => { readonly ok: true; readonly events: readonly E[] } | { readonly ok: false; readonly rejection: Rejection };
  readonly evolve: (state: S | undefined, recorded: RecordedEvent<E>) => S;
  /** When each deadline applies and what it does (domain/<kind>/deadlines.ts). */
  readonly deadlines: { readonly [K in D]: { readonly dueAtMs: (state: S) => number | undefined; readonly consequence: (state: S) => string } };
  readonly ledgerTransactionFor: (before: S | undefined, recorded: RecordedEvent<E>) => LedgerTransaction | undefined;
  /**
   * C4/L6: money an event sends from this kind's escrow into other orders' escrows through their
   * own postings (a checkout funding its lines): the audit expects these flows from the events.
   */
  readonly fundsOthers?: (before: S | undefined, recorded: RecordedEvent<E>) => ReadonlyArray<{ readonly account: string; readonly amountFen: bigint }>;
  /** E3: whom to tell what about an event; `after` is the state it produced (domain/<kind>/notifications.ts). */
  readonly notificationsFor: (after: S, recorded: RecordedEvent<E>) => readonly OrderNotification[];
}

/**
 * A kind's definition as a layer takes it that folds, stores and posts but neither decides nor
 * times (activities/append-to-stream.ts, db/order-kinds.ts): its state and events known, its
 * commands, statuses and deadline kinds left open.
 */
export type OrderKindOf<S, E> = OrderKindDefinition<S, never, E, string, string>;

/** A kind's statuses that are not closed, in the order of `statuses`. */
export function openStatusesOf<Status extends string>(definition: Pick<OrderKindDefinition<never, never, never, Status, never>, 'statuses' | 'closedStatuses'>): Status[] {
  return definition.statuses.filter((status) => !definition.closedStatuses.includes(status));
}

/** The order id of one of a kind's stream ids, the inverse of its streamId (`boost:{id}` → `{id}`); any other id as it is. */
export function orderIdOfStreamId(definition: Pick<OrderKindDefinition<never, never, never, string, never>, 'streamId'>, streamId: string): string {
  const prefix = definition.streamId('');
  return streamId.startsWith(prefix) ? streamId.slice(prefix.length) : streamId;
}
