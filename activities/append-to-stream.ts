import type { Transaction } from 'kysely';
import type { Db } from '../db/connect';
import { IdempotencyConflictError } from '../db/errors';
import { postLedgerTransaction } from '../db/ledger';
import { insertNotifications, type OutboxNotification } from '../db/notifications';
import type { Database } from '../db/schema';
import type { LedgerTransaction } from '../domain/ledger/types';
import { sameRecordedEvent, toActivityFailure } from './failures';

interface Recorded {
  readonly version: number;
  readonly occurredAt: number;
  readonly event: unknown;
}

/** How one kind of order stream is stored: its events, its pure core, its read model. */
export interface OrderStream<S, E extends Recorded> {
  /** The stream's id in order_events and the outbox. */
  readonly streamId: string;
  load(trx: Transaction<Database>): Promise<E[]>;
  evolve(state: S | undefined, recorded: E): S;
  insertEvent(trx: Transaction<Database>, recorded: E, causation: string): Promise<void>;
  notificationsFor(after: S, recorded: E): readonly OutboxNotification[];
  ledgerTransactionFor(before: S | undefined, recorded: E): LedgerTransaction | undefined;
  upsertReadModel(trx: Transaction<Database>, state: S): Promise<void>;
}

export interface AppendResult {
  readonly appended: number;
  readonly alreadyRecorded: number;
}

/**
 * E1: appends the events, their ledger transactions, the read-model row and the outbox
 * notifications in one database transaction. Versions are the idempotency key (L3): a retry finds
 * its events already stored and changes nothing; the same version with another content is a
 * conflict that stops the workflow for ops. The ledger is posted last: it takes a chain head lock.
 */
export async function appendToStream<S, E extends Recorded>(db: Db, stream: OrderStream<S, E>, events: readonly E[], causation: string): Promise<AppendResult> {
  try {
    return await db.transaction().execute(async (trx) => {
      const stored = await stream.load(trx);
      let state = stored.reduce<S | undefined>((s, e) => stream.evolve(s, e), undefined);
      let version = stored.length === 0 ? 0 : (stored[stored.length - 1]?.version ?? 0);
      const ledger: Array<{ tx: LedgerTransaction; occurredAt: Date }> = [];
      let appended = 0;
      for (const recorded of events) {
        const existing = stored.find((e) => e.version === recorded.version);
        if (existing) {
          if (!sameRecordedEvent(existing, recorded)) {
            throw new IdempotencyConflictError(`event ${stream.streamId} v${recorded.version} is stored with a different content (L3)`);
          }
          continue;
        }
        if (recorded.version !== version + 1) {
          throw new IdempotencyConflictError(`event ${stream.streamId} v${recorded.version} does not follow v${version}`);
        }
        const before = state;
        state = stream.evolve(before, recorded);
        version = recorded.version;
        await stream.insertEvent(trx, recorded, causation);
        await insertNotifications(trx, stream.streamId, recorded.version, stream.notificationsFor(state, recorded));
        const tx = stream.ledgerTransactionFor(before, recorded);
        // A movement of 0 fen (e.g. a 0-fen boost fee) posts nothing.
        if (tx && tx.transfers.length > 0) ledger.push({ tx, occurredAt: new Date(recorded.occurredAt) });
        appended += 1;
      }
      if (appended > 0 && state !== undefined) {
        await stream.upsertReadModel(trx, state);
        for (const { tx, occurredAt } of ledger) await postLedgerTransaction(trx, tx, occurredAt);
      }
      return { appended, alreadyRecorded: events.length - appended };
    });
  } catch (error) {
    throw toActivityFailure(error);
  }
}
