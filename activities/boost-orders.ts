import { sql } from 'kysely';
import { boostPlacementRequirement, boostOrderRow, loadBoostEvents, translateBoostWriteError } from '../db/boost-orders';
import { loadBusinessCalendar } from '../db/calendar';
import type { Db } from '../db/connect';
import { latestViewsOf } from '../db/video-stats';
import type { BoostEvent, BoostOrderState, BusinessCalendar, RecordedBoostEvent } from '../domain/boost';
import { BOOST_ORDER_KIND } from '../domain/boost/kind';
import { appendToStream, type AppendResult, type OrderStream, type StoredEvent, type StreamStateCache } from './append-to-stream';
import { loadStreamEventsFrom } from '../db/events';

export interface RecordBoostEventsInput {
  readonly boostOrderId: string;
  readonly events: readonly RecordedBoostEvent[];
  /** What caused these events (an update or signal id, a timer), kept with each event (E1). */
  readonly causation: string;
  /** L3: a version stored with another content is answered with the stored stream, not a conflict (see AppendResult.stored). */
  readonly returnStored?: boolean;
}

export type RecordBoostEventsResult = AppendResult<BoostEvent>;

/** What the boost workflow needs to know about its linked task order (B3/B4, T18). */
export interface TaskOrderFacts {
  readonly status: string;
  readonly publishedVideo?: { readonly videoId: string; readonly publishedAtMs: number };
}

/** A boost order's stream: the kind's definition (domain/boost/kind.ts) and its storage (B3's checks in the write). */
export function boostOrderStream(boostOrderId: string): OrderStream<BoostOrderState, BoostEvent> {
  return {
    definition: BOOST_ORDER_KIND,
    orderId: boostOrderId,
    load: (reader) => loadBoostEvents(reader, boostOrderId),
    readModelRow: boostOrderRow,
    requiresTaskOrder: boostPlacementRequirement,
    translateError: translateBoostWriteError,
  };
}

export function createBoostOrderActivities({ db, streams }: { db: Db; streams?: StreamStateCache }) {
  return {
    /** E1, L3: see appendToStream. */
    /** L3 (order-runtime's takeStored): the stream's events after `version`, with their causations (a lost task's step). */
    async storedBoostEventsAfter(input: { readonly boostOrderId: string; readonly version: number }): Promise<Array<StoredEvent<BoostEvent>>> {
      return loadStreamEventsFrom<BoostEvent>(db, 'boost', BOOST_ORDER_KIND.streamId(input.boostOrderId), input.version + 1);
    },

    async recordBoostEvents(input: RecordBoostEventsInput): Promise<RecordBoostEventsResult> {
      return appendToStream(db, boostOrderStream(input.boostOrderId), input.events, input.causation, streams, input.returnStored);
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
