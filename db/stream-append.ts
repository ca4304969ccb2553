import { sql } from 'kysely';
import { storedJsonText } from '../domain/json';
import type { LedgerTransaction } from '../domain/ledger/types';
import type { RecordedEvent } from '../domain/recorded-event';
import type { Db } from './connect';
import { pgError } from './errors';
import { ledgerTransactionRow } from './ledger';
import type { OutboxNotification } from './notifications';
import type { NewBoostOrderRow, NewCheckoutRow, NewTaskOrderRow, OrderEventsTable } from './schema';

/** One activity's append, as the database function append_order_stream takes it (migration 0006). */
export interface StreamWrite {
  readonly kind: OrderEventsTable['order_kind'];
  /** The stream's id in order_events and the outbox. */
  readonly streamId: string;
  readonly causation: string;
  /** New events only, in version order. */
  readonly events: ReadonlyArray<RecordedEvent<{ readonly type: string }>>;
  readonly notifications: ReadonlyArray<{ readonly eventVersion: number; readonly notification: OutboxNotification }>;
  /** The read-model row of the state after the events (task_orders, boost_orders or checkouts, by kind). */
  readonly readModel: NewTaskOrderRow | NewBoostOrderRow | NewCheckoutRow;
  readonly ledger: ReadonlyArray<{ readonly tx: LedgerTransaction; readonly occurredAt: Date }>;
  /** A task order the write depends on, checked under a row lock in the same statement (B3). */
  readonly requiresTaskOrder?: TaskOrderRequirement;
}

/**
 * B3: a boost placement is written only while its task order is open and still at the quoted
 * price. The API checks that first, but the task can be cancelled (and its deposit refunded)
 * between that check and the placement's write: found by the simulation (seed 18103), where a
 * boost was paid with the refund of the very task it boosted.
 */
export interface TaskOrderRequirement {
  readonly taskOrderId: string;
  readonly priceFen: bigint;
  readonly closedStatuses: readonly string[];
}

/** B3: the task order a write requires was closed (or repriced) before the write. */
export class TaskOrderNotOpenError extends Error {
  override readonly name = 'TaskOrderNotOpenError';
}

/** The four JSON parameters of append_order_stream, and the chains its ledger transactions extend. */
export function streamWriteJson(write: StreamWrite): { events: string; notifications: string; readModel: string; ledger: string; chainIds: number[] } {
  const seqByVersion = new Map<number, number>();
  const notifications = write.notifications.map(({ eventVersion, notification }) => {
    const seq = seqByVersion.get(eventVersion) ?? 0;
    seqByVersion.set(eventVersion, seq + 1);
    return {
      event_version: eventVersion,
      seq,
      recipient_type: notification.recipient.type,
      recipient_id: notification.recipient.id,
      kind: notification.kind,
      data: notification.data,
    };
  });
  const events = write.events.map((e) => ({ version: e.version, type: e.event.type, payload: e.event, occurred_at: new Date(e.occurredAt) }));
  const ledger = write.ledger.map(({ tx, occurredAt }) => ledgerTransactionRow(tx, occurredAt));
  return {
    events: storedJsonText(events),
    notifications: storedJsonText(notifications),
    readModel: storedJsonText(write.readModel),
    ledger: storedJsonText(ledger),
    chainIds: ledger.map((t) => t.chain_id),
  };
}

/**
 * E1, L1–L5: writes the events, their outbox rows, the read-model row and the ledger transactions
 * in one round trip and one transaction. Fails with unique_violation on the version key when a
 * version is taken (see isStreamVersionTaken), XL003 for a ledger id stored with another content.
 * Returns the number of ledger transactions posted (a stored identical one counts as not posted).
 */
export async function writeStreamAppend(db: Db, write: StreamWrite): Promise<number> {
  const json = streamWriteJson(write);
  const append = sql`append_order_stream(${write.kind}::text, ${write.streamId}::text, ${write.causation}::text, ${json.events}::jsonb,
      ${json.notifications}::jsonb, ${json.readModel}::jsonb, ${json.ledger}::jsonb)`;
  const required = write.requiresTaskOrder;
  if (required === undefined) {
    const { rows } = await sql<{ posted: number }>`select ${append} as posted`.execute(db);
    return rows[0]?.posted ?? 0;
  }
  // The task row is share-locked in the same statement, so a cancellation committing meanwhile is
  // seen (READ COMMITTED re-reads a locked row) and the two writes are ordered. When the first
  // version is already stored (a retry after commit) the append runs and fails on its version, as
  // any retry does, so a placement recorded before the task closed is never reported refused.
  const firstVersion = write.events[0]?.version ?? 0;
  const { rows } = await sql<{ posted: number }>`
    with task as (select status, price_fen from task_orders where order_id = ${required.taskOrderId} for share)
    select ${append} as posted
    where exists (select 1 from task where status <> all(${[...required.closedStatuses]}::text[]) and price_fen = ${required.priceFen.toString()}::bigint)
       or exists (select 1 from order_events where order_id = ${write.streamId} and version = ${firstVersion})`.execute(db);
  const row = rows[0];
  if (row === undefined) throw new TaskOrderNotOpenError(`task order ${required.taskOrderId} is closed or no longer at the quoted price of ${required.priceFen} fen (B3)`);
  return row.posted;
}

/** L3: another append took one of the versions (a retry after commit, or a concurrent writer): reload and compare. */
export function isStreamVersionTaken(error: unknown): boolean {
  const { code, constraint } = pgError(error);
  return code === '23505' && constraint === 'order_events_order_version_key';
}
