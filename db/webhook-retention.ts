import { sql } from 'kysely';
import type { Db } from './connect';

/** One batch deletes at most this many deliveries (with their attempts). */
export const PRUNE_BATCH = 1_000;
/** One run deletes at most this many batches; a larger backlog needs another run. */
export const PRUNE_MAX_BATCHES = 1_000;

export interface PruneResult {
  readonly deliveries: number;
  readonly attempts: number;
  /** Whether finished deliveries older than the cut-off are left (the run hit PRUNE_MAX_BATCHES). */
  readonly more: boolean;
}

/**
 * E5 retention: deletes the finished deliveries (delivered, or given up after the retry window)
 * whose last change is older than `olderThanDays`, with their attempts, oldest first, in batches
 * of `batchSize` (each its own transaction, so it never holds locks long). Pending deliveries are
 * never touched, and the feed (notifications) stays whole: the events stay listed at
 * GET /v1/events and can still be redelivered by id. Must run as the schema owner: attempts are
 * append-only for the application's role (migration 0008). docs/decisions.md.
 */
export async function pruneWebhookHistory(owner: Db, olderThanDays: number, batchSize = PRUNE_BATCH, maxBatches = PRUNE_MAX_BATCHES): Promise<PruneResult> {
  if (!Number.isInteger(olderThanDays) || olderThanDays < 1) throw new RangeError('olderThanDays must be a whole number of days ≥ 1');
  let deliveries = 0;
  let attempts = 0;
  for (let batch = 0; batch < maxBatches; batch += 1) {
    const { rows } = await sql<{ deliveries: string; attempts: string }>`
      with doomed as (
        select endpoint_id, notification_id from webhook_deliveries
        where status in ('delivered', 'failed') and updated_at < now() - make_interval(days => ${olderThanDays})
        order by updated_at
        limit ${batchSize}
        for update skip locked
      ), gone_attempts as (
        delete from webhook_attempts a using doomed d
        where a.endpoint_id = d.endpoint_id and a.notification_id = d.notification_id
        returning 1
      ), gone as (
        delete from webhook_deliveries w using doomed d
        where w.endpoint_id = d.endpoint_id and w.notification_id = d.notification_id
        returning 1
      )
      select (select count(*) from gone)::text as deliveries, (select count(*) from gone_attempts)::text as attempts`.execute(owner);
    const n = Number(rows[0]?.deliveries ?? 0);
    deliveries += n;
    attempts += Number(rows[0]?.attempts ?? 0);
    if (n < batchSize) return { deliveries, attempts, more: false };
  }
  return { deliveries, attempts, more: true };
}
