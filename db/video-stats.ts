import { sql } from 'kysely';
import type { CreatorVideo } from '../domain/boost/pricing';
import { DAY_MS } from '../domain/boost/policy';
import type { Db } from './connect';
import { pgError } from './errors';
import type { VideoStatsRow } from './schema';

/** B8: one observation of a video's view count, as the analytics pipeline posts it. */
export interface VideoStatsInput {
  readonly videoId: string;
  readonly creatorId: string;
  readonly publishedAt: string; // ISO 8601
  readonly views: bigint;
  readonly observedAt: string; // ISO 8601
}

/** created: first count of the video; updated: a higher count; unchanged: the same count again. */
export type VideoStatsOutcome = 'created' | 'updated' | 'unchanged';

/** B8: a count lower than the stored one is refused. */
export class LowerViewCountError extends Error {
  override readonly name = 'LowerViewCountError';
  constructor(
    readonly videoId: string,
    readonly storedViews: bigint,
    readonly postedViews: bigint,
  ) {
    super(`video ${videoId}: a view count of ${postedViews} is lower than the stored ${storedViews} (B8: a count never decreases)`);
  }
}

/** A video reported again under another creator. */
export class VideoCreatorMismatchError extends Error {
  override readonly name = 'VideoCreatorMismatchError';
  constructor(
    readonly videoId: string,
    readonly storedCreatorId: string,
  ) {
    super(`video ${videoId} belongs to creator ${storedCreatorId} (B8)`);
  }
}

/**
 * B8: stores a view count. A higher count replaces the stored one (with its publishedAt and
 * observedAt), the same count is a no-op, a lower one is refused. The raise is one conditional
 * upsert (`… do update … where stored < posted`), so concurrent posts never lower the count; the
 * trigger video_stats_never_decrease refuses any other UPDATE that would (db/migrations/0005).
 */
export async function recordVideoStats(db: Db, input: VideoStatsInput): Promise<{ outcome: VideoStatsOutcome; row: VideoStatsRow }> {
  let result;
  try {
    result = await sql<VideoStatsRow & { inserted: boolean }>`
      insert into video_stats (video_id, creator_id, published_at, views, observed_at)
      values (${input.videoId}, ${input.creatorId}, ${input.publishedAt}::timestamptz, ${input.views.toString()}::int8, ${input.observedAt}::timestamptz)
      on conflict (video_id) do update
        set views = excluded.views, published_at = excluded.published_at, observed_at = excluded.observed_at, updated_at = now()
        where video_stats.views < excluded.views and video_stats.creator_id = excluded.creator_id
      returning video_id, creator_id, published_at, views, observed_at, updated_at, (xmax = 0) as inserted`.execute(db);
  } catch (error) {
    // The trigger, should a concurrent writer slip past the conditional update.
    const { constraint } = pgError(error);
    if (constraint === 'video_stats_views_never_decrease' || constraint === 'video_stats_creator_fixed') {
      const stored = await getVideoStats(db, input.videoId);
      if (stored) throw refusal(stored, input);
    }
    throw error;
  }
  const written = result.rows[0];
  if (written) {
    const { inserted, ...row } = written;
    return { outcome: inserted ? 'created' : 'updated', row };
  }
  const stored = await getVideoStats(db, input.videoId);
  if (!stored) throw new Error(`video_stats ${input.videoId}: neither written nor found`);
  const refused = refusal(stored, input);
  if (refused) throw refused;
  return { outcome: 'unchanged', row: stored };
}

function refusal(stored: VideoStatsRow, input: VideoStatsInput): Error | undefined {
  if (stored.creator_id !== input.creatorId) return new VideoCreatorMismatchError(input.videoId, stored.creator_id);
  if (stored.views > input.views) return new LowerViewCountError(input.videoId, stored.views, input.views);
  return undefined;
}

export async function getVideoStats(db: Db, videoId: string): Promise<VideoStatsRow | undefined> {
  return db.selectFrom('video_stats').selectAll().where('video_id', '=', videoId).executeTakeFirst();
}

/** B5/B6: the latest view count of a video, or null when the feed has not reported it (never guessed). */
export async function latestViewsOf(db: Db, videoId: string): Promise<number | null> {
  const row = await db.selectFrom('video_stats').select('views').where('video_id', '=', videoId).executeTakeFirst();
  return row ? Number(row.views) : null;
}

/** At most this many videos of one creator enter a quote (the most recently published). */
const MAX_QUOTE_VIDEOS = 1000;

/**
 * B2: the creator's videos with their latest counts, published from `windowDays` before `nowMs`
 * (the pricing module applies the exact window and lists anything it leaves out).
 */
export async function creatorVideos(db: Db, creatorId: string, nowMs: number, windowDays: number): Promise<CreatorVideo[]> {
  const rows = await db
    .selectFrom('video_stats')
    .select(['video_id', 'published_at', 'views'])
    .where('creator_id', '=', creatorId)
    .where('published_at', '>=', new Date(nowMs - Math.ceil(windowDays) * DAY_MS))
    .orderBy('published_at', 'desc')
    .orderBy('video_id')
    .limit(MAX_QUOTE_VIDEOS)
    .execute();
  return rows.map((r) => ({ videoId: r.video_id, publishedAt: r.published_at.toISOString(), views: r.views }));
}
