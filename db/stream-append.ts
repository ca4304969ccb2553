import { sql } from 'kysely';
import { storedJsonText } from '../domain/json';
import type { LedgerTransaction } from '../domain/ledger/types';
import type { RecordedEvent } from '../domain/recorded-event';
import type { Db } from './connect';
import { pgError } from './errors';
import { ledgerChainFor, transactionContentHash } from './ledger';
import type { OutboxNotification } from './notifications';
import type { NewBoostOrderRow, NewTaskOrderRow, OrderEventsTable } from './schema';

/** One activity's append, as the database function append_order_stream takes it (migration 0006). */
export interface StreamWrite {
  readonly kind: OrderEventsTable['order_kind'];
  /** The stream's id in order_events and the outbox. */
  readonly streamId: string;
  readonly causation: string;
  /** New events only, in version order. */
  readonly events: ReadonlyArray<RecordedEvent<{ readonly type: string }>>;
  readonly notifications: ReadonlyArray<{ readonly eventVersion: number; readonly notification: OutboxNotification }>;
  /** The read-model row of the state after the events (task_orders for 'task', boost_orders for 'boost'). */
  readonly readModel: NewTaskOrderRow | NewBoostOrderRow;
  readonly ledger: ReadonlyArray<{ readonly tx: LedgerTransaction; readonly occurredAt: Date }>;
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
  const ledger = write.ledger.map(({ tx, occurredAt }) => {
    if (tx.transfers.length === 0) throw new Error(`ledger transaction ${tx.txId} has no transfers`);
    return {
      tx_id: tx.txId,
      kind: tx.kind,
      order_id: tx.orderId,
      external_payment_ref: tx.externalPaymentRef ?? null,
      occurred_at: occurredAt,
      content_hash: transactionContentHash(tx, occurredAt),
      chain_id: ledgerChainFor(tx),
      transfers: tx.transfers.map((t) => [t.debitAccount, t.creditAccount, t.amountFen]),
    };
  });
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
  const { rows } = await sql<{ posted: number }>`
    select append_order_stream(${write.kind}::text, ${write.streamId}::text, ${write.causation}::text, ${json.events}::jsonb,
      ${json.notifications}::jsonb, ${json.readModel}::jsonb, ${json.ledger}::jsonb) as posted`.execute(db);
  return rows[0]?.posted ?? 0;
}

/** L3: another append took one of the versions (a retry after commit, or a concurrent writer): reload and compare. */
export function isStreamVersionTaken(error: unknown): boolean {
  const { code, constraint } = pgError(error);
  return code === '23505' && constraint === 'order_events_order_version_key';
}
