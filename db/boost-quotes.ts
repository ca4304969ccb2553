import type { CitedQuote } from '../domain/boost/decide';
import type { BoostPolicy } from '../domain/boost/policy';
import type { BoostQuote } from '../domain/boost/pricing';
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
