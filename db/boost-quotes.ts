import type { CitedQuote } from '../domain/boost/decide';
import type { BoostPolicy } from '../domain/boost/policy';
import { DAY_MS } from '../domain/boost/policy';
import { MAX_EXCLUDED_VIDEOS, type BoostQuote, type CreatorVideo } from '../domain/boost/pricing';
import { fromStoredJson, toStoredJson } from '../domain/json';
import type { Db } from './connect';

/** B1: a quote is stored with its id (and the client it was made for, if the backend named one). */
export async function insertBoostQuote(db: Db, quoteId: string, clientId: string | undefined, quote: BoostQuote, policy: BoostPolicy): Promise<void> {
  const validUntilMs = quote.available ? quote.validUntilMs : quote.quotedAtMs + policy.quoteValidityMs;
  await db
    .insertInto('boost_quotes')
    .values({
      quote_id: quoteId,
      client_id: clientId ?? null,
      creator_id: quote.creatorId,
      price_fen: quote.priceFen,
      available: quote.available,
      quoted_at: new Date(quote.quotedAtMs),
      valid_until: new Date(validUntilMs),
      result: JSON.stringify(toStoredJson(quote)),
    })
    .execute();
}

/** B3: the quote an order cites, as the pure decider takes it. */
export async function getCitedQuote(db: Db, quoteId: string): Promise<{ quote: CitedQuote; clientId: string | null } | undefined> {
  const row = await db.selectFrom('boost_quotes').select(['quote_id', 'client_id', 'result']).where('quote_id', '=', quoteId).executeTakeFirst();
  if (!row) return undefined;
  return { quote: { ...fromStoredJson<BoostQuote>(row.result), quoteId: row.quote_id }, clientId: row.client_id };
}

/** B2: ops keep the opt-outs in creator_boost_opt_outs (insert a row to opt a creator out, delete it to opt back in). */
export async function isOptedOut(db: Db, creatorId: string): Promise<boolean> {
  const row = await db.selectFrom('creator_boost_opt_outs').select('creator_id').where('creator_id', '=', creatorId).executeTakeFirst();
  return row !== undefined;
}

/**
 * B2: the creator's most recent videos published before the quote's window (the complement of
 * creatorVideos in db/video-stats.ts, same boundary), so the quote can list them as excluded
 * (`outside_window`) and say why a creator is unavailable. Bounded: the explanation shows at most
 * MAX_EXCLUDED_VIDEOS.
 */
export async function videosBeforeWindow(db: Db, creatorId: string, nowMs: number, windowDays: number): Promise<CreatorVideo[]> {
  const rows = await db
    .selectFrom('video_stats')
    .select(['video_id', 'published_at', 'views'])
    .where('creator_id', '=', creatorId)
    .where('published_at', '<', new Date(nowMs - Math.ceil(windowDays) * DAY_MS))
    .orderBy('published_at', 'desc')
    .orderBy('video_id')
    .limit(MAX_EXCLUDED_VIDEOS)
    .execute();
  return rows.map((r) => ({ videoId: r.video_id, publishedAt: r.published_at.toISOString(), views: r.views }));
}
