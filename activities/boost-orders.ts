import { sql } from 'kysely';
import {
  boostNotificationsFor,
  boostStreamId,
  insertBoostEvent,
  loadBoostEvents,
  upsertBoostOrderRow,
} from '../db/boost-orders';
import { loadBusinessCalendar } from '../db/calendar';
import type { Db } from '../db/connect';
import { IdempotencyConflictError } from '../db/errors';
import { postLedgerTransaction } from '../db/ledger';
import { insertNotifications } from '../db/notifications';
import { latestViewsOf } from '../db/video-stats';
import { boostLedgerTransactionFor, evolveBoost, foldBoost, type BusinessCalendar, type RecordedBoostEvent } from '../domain/boost';
import type { LedgerTransaction } from '../domain/ledger/types';
import { sameRecordedEvent, toActivityFailure } from './failures';

export interface RecordBoostEventsInput {
  readonly boostOrderId: string;
  readonly events: readonly RecordedBoostEvent[];
  /** What caused these events (an update or signal id, a timer), kept with each event (E1). */
  readonly causation: string;
}

export interface RecordBoostEventsResult {
  readonly appended: number;
  readonly alreadyRecorded: number;
}

/** What the boost workflow needs to know about its linked task order (B3/B4, T18). */
export interface TaskOrderFacts {
  readonly status: string;
  readonly publishedVideo?: { readonly videoId: string; readonly publishedAtMs: number };
}

export function createBoostOrderActivities({ db }: { db: Db }) {
  return {
    /**
     * E1: appends the boost events, their ledger transactions, the read-model row and the outbox
     * notifications in one database transaction. Versions are the idempotency key (L3): a retry
     * finds its events already stored and changes nothing.
     */
    async recordBoostEvents(input: RecordBoostEventsInput): Promise<RecordBoostEventsResult> {
      const streamId = boostStreamId(input.boostOrderId);
      try {
        return await db.transaction().execute(async (trx) => {
          const stored = await loadBoostEvents(trx, input.boostOrderId);
          let state = foldBoost(stored);
          const ledger: Array<{ tx: LedgerTransaction; occurredAt: Date }> = [];
          let appended = 0;
          for (const recorded of input.events) {
            const existing = stored.find((e) => e.version === recorded.version);
            if (existing) {
              if (!sameRecordedEvent(existing, recorded)) {
                throw new IdempotencyConflictError(`event ${streamId} v${recorded.version} is stored with a different content (L3)`);
              }
              continue;
            }
            const expected = (state?.version ?? 0) + 1;
            if (recorded.version !== expected) {
              throw new IdempotencyConflictError(`event ${streamId} v${recorded.version} does not follow v${expected - 1}`);
            }
            const before = state;
            state = evolveBoost(before, recorded);
            await insertBoostEvent(trx, input.boostOrderId, recorded, input.causation);
            await insertNotifications(trx, streamId, recorded.version, boostNotificationsFor(state, recorded));
            const tx = boostLedgerTransactionFor(before, recorded);
            // A movement of 0 fen (a 0-fen fee, or a compensation equal to the fee) posts nothing.
            if (tx && tx.transfers.length > 0) ledger.push({ tx, occurredAt: new Date(recorded.occurredAt) });
            appended += 1;
          }
          if (appended > 0 && state) {
            await upsertBoostOrderRow(trx, state);
            for (const { tx, occurredAt } of ledger) await postLedgerTransaction(trx, tx, occurredAt);
          }
          return { appended, alreadyRecorded: input.events.length - appended };
        });
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    /** B7: the business calendar as ops keep it (read through an activity: replay never sees a change). */
    async loadBusinessCalendar(): Promise<BusinessCalendar> {
      return loadBusinessCalendar(db);
    },

    /** B6/B8: the latest view count of the video, or null while the feed has not reported it. */
    async latestViews(videoId: string): Promise<number | null> {
      return latestViewsOf(db, videoId);
    },

    /**
     * B3/B4: the linked task order's status and published video, from its read model. The boost
     * workflow asks once it has linked itself, for a task published or cancelled before the link.
     */
    async taskOrderFacts(taskOrderId: string): Promise<TaskOrderFacts | null> {
      const row = await db
        .selectFrom('task_orders')
        .select([
          'status',
          sql<string | null>`details -> 'state' -> 'publishedVideo' ->> 'videoId'`.as('video_id'),
          sql<string | null>`details -> 'state' -> 'publishedVideo' ->> 'publishedAt'`.as('published_at'),
        ])
        .where('order_id', '=', taskOrderId)
        .executeTakeFirst();
      if (!row) return null;
      const publishedAtMs = row.published_at === null ? Number.NaN : Date.parse(row.published_at);
      return {
        status: row.status,
        ...(row.video_id !== null && Number.isSafeInteger(publishedAtMs) ? { publishedVideo: { videoId: row.video_id, publishedAtMs } } : {}),
      };
    },
  };
}
