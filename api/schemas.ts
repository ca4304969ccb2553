import { z } from 'zod';
import { MAX_AMOUNT_FEN } from '../domain/money';
import { PAYMENT_MODES, TASK_STATUSES, TASK_TYPES } from '../domain/task-order/types';

/** Ids are the backend's own: bounded, printable, safe inside ledger account names. */
export const Id = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'an id is 1–64 characters of A–Z a–z 0–9 _ . -');

/** Amounts are JSON integers of fen (SPEC §1), held as bigint. */
export const AmountFen = z
  .number()
  .int()
  .positive()
  .max(Number(MAX_AMOUNT_FEN))
  .transform((n) => BigInt(n));

/**
 * An ISO 8601 instant that PostgreSQL can store: a UTC offset of at most ±14:00 (the widest in use;
 * PostgreSQL refuses more than ±15:59) and a year from 1970 to 9999 (it has no year 0).
 */
export const Instant = z.iso
  .datetime({ offset: true })
  .refine(isStorableInstant, 'an instant from 1970 to 9999 with a UTC offset of at most ±14:00')
  .describe('an ISO 8601 instant with Z or a UTC offset of at most ±14:00, from 1970 to 9999');

/** true: PostgreSQL can store the instant (and it is sane for this domain): 1970 to 9999, as above. */
export function isStorableInstant(value: string): boolean {
  const offset = /([+-])(\d\d):(\d\d)$/.exec(value);
  if (offset && Number(offset[2]) * 60 + Number(offset[3]) > 14 * 60) return false;
  const ms = Date.parse(value);
  return ms >= 0 && ms < Date.UTC(10000, 0, 1);
}

/** Half of a surrogate pair. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/**
 * NUL, or half of a surrogate pair: text PostgreSQL refuses (NUL in text and in jsonb: 22021,
 * 22P05) or that node-pg would silently rewrite (a lone surrogate becomes U+FFFD; as a jsonb
 * escape it is 22P02). Issue 18: one predicate for every string that may reach the database.
 */
export const isStorableText = (value: string): boolean => !value.includes('\u0000') && !LONE_SURROGATE.test(value);
export const STORABLE_TEXT_MESSAGE = 'text must be well-formed Unicode without NUL characters';

/** A string PostgreSQL can store as it is (issue 18): the refinement for any free-form string. */
export const StorableString = z.string().refine(isStorableText, STORABLE_TEXT_MESSAGE);

/**
 * SPEC §8/§10: how deeply a request's JSON may nest. No schema nests more than a few levels (a
 * checkout's line's boost is 4); a hostile body of 64 KB can nest 30 000 levels, and every
 * recursive walk of it (the Idempotency-Key's fingerprint, the text check below) would overflow
 * the stack: a 500. api/app.ts refuses deeper bodies before any of them runs.
 */
export const MAX_INPUT_DEPTH = 32;
const TOO_DEEP_MESSAGE = `the request nests arrays and objects more than ${MAX_INPUT_DEPTH} levels deep`;

/** A `400 validation_failed` issue when `value` nests deeper than MAX_INPUT_DEPTH; walked without recursion. */
export function inputDepthIssue(value: unknown): { path: string; message: string } | undefined {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (next.value === null || typeof next.value !== 'object') continue;
    if (next.depth >= MAX_INPUT_DEPTH) return { path: '', message: TOO_DEEP_MESSAGE };
    for (const child of Object.values(next.value)) pending.push({ value: child, depth: next.depth + 1 });
  }
  return undefined;
}

/**
 * Issue 18, the class fix: every string of a request's input — params, query, body, at any depth,
 * keys included — is checked before its schema runs (api/routes.ts parseInput), so a route whose
 * schema forgot the refinement still never hands PostgreSQL a NUL or a lone surrogate.
 */
export function unstorableTextIssues(value: unknown, path: readonly (string | number)[] = []): { path: string; message: string }[] {
  if (typeof value === 'string') return isStorableText(value) ? [] : [{ path: path.join('.'), message: STORABLE_TEXT_MESSAGE }];
  if (path.length > MAX_INPUT_DEPTH) return [{ path: path.join('.'), message: TOO_DEEP_MESSAGE }]; // never recurse as deep as a hostile body nests
  if (Array.isArray(value)) return value.flatMap((item, index) => unstorableTextIssues(item, [...path, index]));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, item]) => [
    ...(isStorableText(key) ? [] : [{ path: [...path, '(key)'].join('.'), message: STORABLE_TEXT_MESSAGE }]),
    ...unstorableTextIssues(item, [...path, key]),
  ]);
}

/**
 * A page size in a query string, `max` at most: decimal digits only. Issue 18: `z.coerce.number()`
 * alone also reads `0x10` as 16, `1e2` as 100 and ` 7` as 7; anything but digits is now a 400.
 * (The digits are checked before the coercion, so the document still says `integer`.)
 */
export const QueryLimit = (max: number, fallback: number) =>
  z.preprocess((v) => (typeof v === 'string' && !/^[0-9]{1,6}$/.test(v) ? Number.NaN : v), z.coerce.number().int().min(1).max(max).default(fallback));

/** Free text: trimmed, 1–max characters, well-formed Unicode without NUL. */
export const Text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine(isStorableText, STORABLE_TEXT_MESSAGE);

export const Funding = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('account') }),
  z.strictObject({ source: z.literal('external'), paymentRef: Id }),
]);

export const PlaceTaskOrderBody = z.strictObject({
  orderId: Id,
  clientId: Id,
  creatorId: Id,
  taskType: z.enum(TASK_TYPES),
  priceFen: AmountFen,
  brief: z.strictObject({
    title: Text(200),
    industry: Text(64),
    expectedPublishAt: Instant,
  }),
  paymentMode: z.enum(PAYMENT_MODES),
  funding: Funding,
});

export const Actor = z.strictObject({ type: z.enum(['client', 'creator']), id: Id });
const Reason = Text(500);

export const AcceptBody = z.strictObject({ actor: Actor, newPriceFen: AmountFen.optional() });
export const ActorBody = z.strictObject({ actor: Actor });
export const ActorReasonBody = z.strictObject({ actor: Actor, reason: Reason.optional() });

export const OrderIdParams = z.strictObject({ orderId: Id });


export const ClockAdvanceBody = z
  .strictObject({
    days: z.number().int().min(0).max(400).default(0),
    hours: z.number().int().min(0).max(24 * 400).default(0),
    minutes: z.number().int().min(0).max(60 * 24 * 400).default(0),
    seconds: z.number().int().min(0).max(3600 * 24 * 400).default(0),
  })
  .describe('days + hours + minutes + seconds: more than 0 and at most 400 days in all (else 400)')
  .transform(({ days, hours, minutes, seconds }) => ((days * 24 + hours) * 60 + minutes) * 60_000 + seconds * 1000)
  .refine((ms) => ms > 0 && ms <= 400 * 24 * 3600_000, 'advance by more than 0 and at most 400 days');

export const PayBalanceBody = z.strictObject({ actor: Actor, funding: Funding });
const VideoUrl = z.url().max(2000).refine(isStorableText, 'a URL must be well-formed Unicode without NUL characters');
/**
 * T16: an upload names its draft, its URL, or both. Two branches rather than a refine, so the
 * document shows the rule (`anyOf`): with a draftId (and maybe a URL), or with a URL alone.
 */
export const UploadVideoBody = z.union([
  z.strictObject({ actor: Actor, draftId: Id, videoUrl: VideoUrl.optional() }).describe('a draft by its id (and maybe its URL)'),
  z.strictObject({ actor: Actor, videoUrl: VideoUrl }).describe('a draft by its URL'),
]);
export const ReviewBody = z.strictObject({ actor: Actor, decision: z.enum(['approve', 'request_changes']), comment: Reason.optional() });
export const PublishBody = z.strictObject({ actor: Actor, videoId: Id, publishedAt: Instant });
export const CancelResponseBody = z.strictObject({ actor: Actor, accept: z.boolean(), reason: Reason.optional() });

export const ClientIdParams = z.strictObject({ clientId: Id });
export const TopUpBody = z.strictObject({ paymentRef: Id, amountFen: AmountFen });

export const BalancePaymentsBody = z.strictObject({
  clientId: Id,
  orderIds: z
    .array(Id)
    .min(1)
    .max(50)
    .refine((ids) => new Set(ids).size === ids.length, 'orderIds must not repeat')
    .meta({ uniqueItems: true }), // the refine above, as the document can say it
  funding: z.discriminatedUnion('source', [
    z.strictObject({ source: z.literal('account') }),
    z.strictObject({ source: z.literal('external'), paymentRef: Id, amountFen: AmountFen }),
  ]),
});

/** What encodeListCursor writes: an ISO instant as `Date#toISOString` writes it, `|`, an order id. */
const LIST_CURSOR = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?Z)\|([A-Za-z0-9_.-]{1,64})$/;

/**
 * A task-order list cursor. Issue 18: it is client input like any other, so what it decodes to is
 * held to the same rules as the filters (an Id, a storable Instant): a forged cursor is a 400,
 * never a NUL or a year PostgreSQL refuses.
 */
export const ListCursor = z
  .string()
  .max(200)
  .transform((value, ctx) => {
    const match = LIST_CURSOR.exec(Buffer.from(value, 'base64url').toString('utf8'));
    if (!match?.[1] || !match[2] || !isStorableInstant(match[1])) {
      ctx.addIssue({ code: 'custom', message: 'invalid cursor: not a nextCursor from a previous page' });
      return z.NEVER;
    }
    return { placedAt: new Date(match[1]), orderId: match[2] };
  });

export function encodeListCursor(placedAt: Date, orderId: string): string {
  return Buffer.from(`${placedAt.toISOString()}|${orderId}`, 'utf8').toString('base64url');
}

export const ListTaskOrdersQuery = z.strictObject({
  clientId: Id.optional(),
  creatorId: Id.optional(),
  status: z.enum(TASK_STATUSES).optional(),
  createdFrom: Instant.optional(),
  createdTo: Instant.optional(),
  cursor: ListCursor.optional(),
  limit: QueryLimit(200, 50),
});
