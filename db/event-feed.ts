import { sql } from 'kysely';
import { ORDER_KIND_DEFINITIONS } from '../domain/kinds';
import { ORDER_KINDS, orderIdOfStreamId, type OrderKind } from '../domain/order-kind';
import type { Db } from './connect';

/**
 * E4: the event feed over the outbox (notifications), in one total order that a cursor never
 * skips. The order is (writer_xid, id) — the writing transaction's xid8, then the row's id — and a
 * read only returns rows whose writer_xid is below the snapshot's xmin (migration 0008 explains
 * why that makes "after this cursor" final). The price: the feed lags behind the oldest
 * transaction still open on the server, normally milliseconds (docs/decisions.md).
 */

/** A place in the feed: after the row (xid, id). xid is xid8 as decimal text. */
export interface FeedPosition {
  readonly xid: string;
  readonly id: bigint;
}

export const FEED_START: FeedPosition = { xid: '0', id: 0n };

const CURSOR = /^v1:(\d{1,20}):(\d{1,19})$/;

/** Opaque to clients (base64url), versioned so the encoding can change. */
export function encodeFeedCursor(position: FeedPosition): string {
  return Buffer.from(`v1:${position.xid}:${position.id}`, 'utf8').toString('base64url');
}

export function decodeFeedCursor(cursor: string): FeedPosition | undefined {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(cursor)) return undefined;
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match?.[1] || !match[2]) return undefined;
  const id = BigInt(match[2]);
  if (BigInt(match[1]) >= 2n ** 64n || id >= 2n ** 63n) return undefined;
  return { xid: match[1], id };
}

/** One feed row: the notification with its event's kind and time. */
export interface FeedRow {
  readonly id: bigint;
  readonly writer_xid: string;
  readonly order_id: string;
  readonly event_version: number;
  readonly recipient_type: string;
  readonly recipient_id: string;
  readonly kind: string;
  readonly data: unknown;
  readonly created_at: Date;
  readonly order_kind: OrderKind;
  readonly occurred_at: Date;
}

export interface FeedQuery {
  readonly after: FeedPosition;
  readonly limit: number;
  readonly types?: readonly string[] | undefined;
  /** An order's id, of any kind (its rows are those of each kind's stream id of it, domain/<kind>/kind.ts streamId). */
  readonly orderId?: string | undefined;
  /** Only rows at or before this position (the fan-out of one endpoint); default: no bound. */
  readonly upTo?: FeedPosition | undefined;
}

/** The rows after `after` that are final (their writer and every writer before it has ended), in feed order. */
export async function readFeed(db: Db, query: FeedQuery): Promise<FeedRow[]> {
  const { after, limit, types, orderId } = query;
  const { rows } = await sql<FeedRow>`
    select n.id, n.writer_xid::text as writer_xid, n.order_id, n.event_version, n.recipient_type, n.recipient_id,
           n.kind, n.data, n.created_at, e.order_kind, e.occurred_at
    from notifications n
    join order_events e on e.order_id = n.order_id and e.version = n.event_version
    where (n.writer_xid, n.id) > (${after.xid}::xid8, ${after.id}::bigint)
      and n.writer_xid < pg_snapshot_xmin(pg_current_snapshot())
      ${types && types.length > 0 ? sql`and n.kind = any(${[...types]}::text[])` : sql``}
      ${orderId === undefined ? sql`` : sql`and n.order_id in (${sql.join(ORDER_KINDS.map((kind) => ORDER_KIND_DEFINITIONS[kind].streamId(orderId)))})`}
    order by n.writer_xid, n.id
    limit ${limit}`.execute(db);
  return rows;
}

/** One event by its feed id, if it exists and is final. */
export async function feedRowById(db: Db, id: bigint): Promise<FeedRow | undefined> {
  const { rows } = await sql<FeedRow>`
    select n.id, n.writer_xid::text as writer_xid, n.order_id, n.event_version, n.recipient_type, n.recipient_id,
           n.kind, n.data, n.created_at, e.order_kind, e.occurred_at
    from notifications n
    join order_events e on e.order_id = n.order_id and e.version = n.event_version
    where n.id = ${id} and n.writer_xid < pg_snapshot_xmin(pg_current_snapshot())`.execute(db);
  return rows[0];
}

/** Where a reader starting now begins: every row not yet final sorts after this. */
export async function feedHead(db: Db): Promise<FeedPosition> {
  const { rows } = await sql<{ xmin: string }>`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`.execute(db);
  return { xid: rows[0]?.xmin ?? '0', id: 0n };
}

export const positionOf = (row: Pick<FeedRow, 'writer_xid' | 'id'>): FeedPosition => ({ xid: row.writer_xid, id: row.id });

/** The feed id of a notification (also every webhook's `webhook-id`): stable for ever. */
export const feedEventId = (id: bigint): string => `evt_${id}`;

export function parseFeedEventId(value: string): bigint | undefined {
  const match = /^evt_([1-9]\d{0,18})$/.exec(value);
  const id = match?.[1] ? BigInt(match[1]) : undefined;
  return id !== undefined && id < 2n ** 63n ? id : undefined; // an int8
}

/** Stored payload keys that travel under another name (SPEC §1: an instant is named `…At`). */
const RENAMED_KEYS: Readonly<Record<string, string>> = { validUntil: 'validUntilAt' };
/** Integer keys stored as decimal strings (bigint in the domain; storedJsonText). */
const INTEGER_KEY = /(Fen|Views)$/;

/** The payload as JSON: amounts as integers, instants named …At. */
function payloadJson(data: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries((data ?? {}) as Record<string, unknown>)) {
    const name = RENAMED_KEYS[key] ?? key;
    if (INTEGER_KEY.test(key) && typeof value === 'string' && /^-?\d+$/.test(value)) {
      const n = Number(value);
      if (!Number.isSafeInteger(n)) throw new RangeError(`${key} beyond JSON integers`);
      out[name] = n;
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** The order id of a notification's stream id (`boost:{id}` → `{id}`), by its kind's streamId: what the feed and the deliveries show. */
export function orderIdOfRow(row: { readonly order_kind: OrderKind; readonly order_id: string }): string {
  return orderIdOfStreamId(ORDER_KIND_DEFINITIONS[row.order_kind], row.order_id);
}

/** E4/E5: one event as the feed lists it and a webhook carries it (the same JSON in both). */
export function feedEventJson(row: FeedRow) {
  return {
    id: feedEventId(row.id),
    type: row.kind,
    occurredAt: row.occurred_at.toISOString(),
    recordedAt: row.created_at.toISOString(),
    orderId: orderIdOfRow(row),
    orderKind: row.order_kind,
    orderVersion: row.event_version,
    recipient: { type: row.recipient_type, id: row.recipient_id },
    payload: payloadJson(row.data),
  };
}
export type FeedEventJson = ReturnType<typeof feedEventJson>;
