import type { Db } from '../db/connect';
import { IdempotencyConflictError } from '../db/errors';
import { insertTaskEvent, loadTaskEvents } from '../db/events';
import { postLedgerTransaction } from '../db/ledger';
import { insertNotifications } from '../db/notifications';
import { upsertTaskOrderRow } from '../db/task-orders';
import type { LedgerTransaction } from '../domain/ledger/types';
import { evolve, fold, ledgerTransactionFor, notificationsFor, type RecordedTaskEvent } from '../domain/task-order';
import { sameRecordedEvent, toActivityFailure } from './failures';

export interface RecordTaskEventsInput {
  readonly orderId: string;
  readonly events: readonly RecordedTaskEvent[];
  /** What caused these events (an update id, a timer), kept with each event (E1). */
  readonly causation: string;
}

export interface RecordTaskEventsResult {
  readonly appended: number;
  readonly alreadyRecorded: number;
}

export function createTaskOrderActivities({ db }: { db: Db }) {
  return {
    /**
     * E1: appends the events, their ledger transactions, the read-model row and the outbox
     * notifications in one database transaction. Versions are the idempotency key (L3): a retry
     * finds its events already stored and changes nothing.
     */
    async recordTaskEvents(input: RecordTaskEventsInput): Promise<RecordTaskEventsResult> {
      try {
        return await db.transaction().execute(async (trx) => {
          const stored = await loadTaskEvents(trx, input.orderId);
          let state = fold(stored);
          const ledger: Array<{ tx: LedgerTransaction; occurredAt: Date }> = [];
          let appended = 0;
          for (const recorded of input.events) {
            const existing = stored.find((e) => e.version === recorded.version);
            if (existing) {
              if (!sameRecordedEvent(existing, recorded)) {
                throw new IdempotencyConflictError(`event ${input.orderId} v${recorded.version} is stored with a different content (L3)`);
              }
              continue;
            }
            const expected = (state?.version ?? 0) + 1;
            if (recorded.version !== expected) {
              throw new IdempotencyConflictError(`event ${input.orderId} v${recorded.version} does not follow v${expected - 1}`);
            }
            const before = state;
            state = evolve(before, recorded);
            await insertTaskEvent(trx, input.orderId, recorded, input.causation);
            await insertNotifications(trx, input.orderId, recorded.version, notificationsFor(state, recorded));
            const tx = ledgerTransactionFor(before, recorded);
            if (tx) ledger.push({ tx, occurredAt: new Date(recorded.occurredAt) });
            appended += 1;
          }
          if (appended > 0 && state) {
            await upsertTaskOrderRow(trx, state);
            for (const { tx, occurredAt } of ledger) await postLedgerTransaction(trx, tx, occurredAt);
          }
          return { appended, alreadyRecorded: input.events.length - appended };
        });
      } catch (error) {
        throw toActivityFailure(error);
      }
    },
  };
}
