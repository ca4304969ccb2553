import { randomBytes } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { Db } from './connect';
import type { OrderKind } from '../domain/order-kind';
import { feedHead, positionOf, readFeed, type FeedRow } from './event-feed';
import type { SecretBox } from '../platform/secret-box';
import type { AttemptOutcome } from '../platform/webhook-outcomes';
import type { Database, WebhookEndpointsTable } from './schema';

/**
 * E5: webhook endpoints and their deliveries (migration 0008). The delivery loop
 * (worker/webhook-delivery.ts) fans the feed out into webhook_deliveries, claims due rows with
 * FOR UPDATE SKIP LOCKED and a lease, and records every attempt here.
 */

/** At most this many endpoints (active or disabled) at once. */
export const MAX_WEBHOOK_ENDPOINTS = 50;
/** A redelivery "since" schedules at most this many events per call. */
export const MAX_REDELIVER_EVENTS = 10_000;

type Executor = Db | Transaction<Database>;
export type EndpointRow = Omit<WebhookEndpointsTable, 'feed_xid' | 'feed_id' | 'created_at' | 'updated_at'> & { created_at: Date; updated_at: Date };

const ENDPOINT_COLUMNS = [
  'endpoint_id', 'url', 'description', 'event_types', 'secret', 'previous_secret', 'previous_secret_expires_at', 'status',
  'failing_since', 'disabled_at', 'deleted_at', 'created_at', 'updated_at',
] as const;

export const newEndpointId = (): string => `we_${randomBytes(10).toString('hex')}`;

export interface NewEndpoint {
  readonly endpointId: string;
  readonly url: string;
  readonly description: string | null;
  readonly eventTypes: readonly string[] | null;
  readonly secret: string;
}

/**
 * Registers an endpoint starting at the feed's head (events from now on); undefined when the limit
 * is reached. The secret is stored as `secrets` seals it (platform/secret-box.ts).
 */
export async function createEndpoint(db: Db, endpoint: NewEndpoint, secrets: SecretBox): Promise<EndpointRow | undefined> {
  return db.transaction().execute(async (trx) => {
    // One creation at a time, so two concurrent ones cannot both pass the limit.
    await sql`select pg_advisory_xact_lock(hashtext('webhook_endpoints'))`.execute(trx);
    const { count } = await trx.selectFrom('webhook_endpoints').select((eb) => eb.fn.countAll<string>().as('count')).where('status', '<>', 'deleted').executeTakeFirstOrThrow();
    if (Number(count) >= MAX_WEBHOOK_ENDPOINTS) return undefined;
    const head = await feedHead(trx);
    return trx
      .insertInto('webhook_endpoints')
      .values({
        endpoint_id: endpoint.endpointId, url: endpoint.url, description: endpoint.description,
        event_types: endpoint.eventTypes === null ? null : [...endpoint.eventTypes], secret: secrets.seal(endpoint.secret, endpoint.endpointId),
        previous_secret: null, previous_secret_expires_at: null, status: 'active', feed_xid: head.xid, feed_id: head.id,
        failing_since: null, disabled_at: null, deleted_at: null,
      })
      .returning(ENDPOINT_COLUMNS)
      .executeTakeFirstOrThrow();
  });
}

export function listEndpoints(db: Executor): Promise<EndpointRow[]> {
  return db.selectFrom('webhook_endpoints').select(ENDPOINT_COLUMNS).where('status', '<>', 'deleted').orderBy('created_at').orderBy('endpoint_id').limit(MAX_WEBHOOK_ENDPOINTS).execute();
}

/** A registered endpoint (not a deleted one). */
export function getEndpoint(db: Executor, endpointId: string): Promise<EndpointRow | undefined> {
  return db.selectFrom('webhook_endpoints').select(ENDPOINT_COLUMNS).where('endpoint_id', '=', endpointId).where('status', '<>', 'deleted').executeTakeFirst();
}

/** Stops every delivery to it and forgets its secrets; undefined if there is no such endpoint. */
export function deleteEndpoint(db: Db, endpointId: string): Promise<EndpointRow | undefined> {
  return db
    .updateTable('webhook_endpoints')
    .set({ status: 'deleted', deleted_at: sql<Date>`now()`, disabled_at: null, secret: '', previous_secret: null, previous_secret_expires_at: null, updated_at: sql<Date>`now()` })
    .where('endpoint_id', '=', endpointId)
    .where('status', '<>', 'deleted')
    .returning(ENDPOINT_COLUMNS)
    .executeTakeFirst();
}

/** A new current secret (stored as `secrets` seals it); the old one keeps signing for `graceSeconds` (0: it stops at once). */
export function rotateSecret(db: Db, endpointId: string, secret: string, graceSeconds: number, secrets: SecretBox): Promise<EndpointRow | undefined> {
  const keepOld = graceSeconds > 0;
  return db
    .updateTable('webhook_endpoints')
    .set((eb) => ({
      secret: secrets.seal(secret, endpointId),
      previous_secret: keepOld ? eb.ref('secret') : null,
      previous_secret_expires_at: keepOld ? sql<Date>`now() + ${graceSeconds} * interval '1 second'` : null,
      updated_at: sql<Date>`now()`,
    }))
    .where('endpoint_id', '=', endpointId)
    .where('status', '<>', 'deleted')
    .returning(ENDPOINT_COLUMNS)
    .executeTakeFirst();
}

/** The secrets that sign now: the current one, and the previous one during its grace period (opened by `secrets`). */
export function signingSecrets(row: Pick<EndpointRow, 'endpoint_id' | 'secret' | 'previous_secret' | 'previous_secret_expires_at'>, nowMs: number, secrets: SecretBox): string[] {
  const previous = row.previous_secret && row.previous_secret_expires_at && row.previous_secret_expires_at.getTime() > nowMs ? [row.previous_secret] : [];
  return [row.secret, ...previous].map((stored) => secrets.open(stored, row.endpoint_id));
}

/** An endpoint that is wanted again (a redelivery): active, not failing. */
async function reactivate(trx: Transaction<Database>, endpointId: string): Promise<void> {
  await trx
    .updateTable('webhook_endpoints')
    .set({ status: 'active', disabled_at: null, failing_since: null, updated_at: sql<Date>`now()` })
    .where('endpoint_id', '=', endpointId)
    .where('status', '=', 'disabled')
    .execute();
}

/** Due now, starting a fresh retry window; a leased row keeps its lease (never two sends at once). */
const RESCHEDULE = sql`status = 'pending', next_attempt_at = now(), retry_window_started_at = null, delivered_at = null, updated_at = now()`;

/** Ops: deliver one event (again); re-enables a disabled endpoint. false: no such event in the feed, or not of the endpoint's types. */
export async function redeliverEvent(db: Db, endpointId: string, notificationId: bigint): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ notification_id: bigint }>`
      insert into webhook_deliveries (endpoint_id, notification_id, order_id, writer_xid, status)
      select e.endpoint_id, n.id, n.order_id, n.writer_xid, 'pending'
      from notifications n join webhook_endpoints e on e.endpoint_id = ${endpointId}
      where n.id = ${notificationId} and n.writer_xid < pg_snapshot_xmin(pg_current_snapshot())
        and (e.event_types is null or n.kind = any(e.event_types))
      on conflict (endpoint_id, notification_id) do update set ${RESCHEDULE}
      returning notification_id`.execute(trx);
    if (rows.length === 0) return false;
    await reactivate(trx, endpointId);
    return true;
  });
}

/**
 * Ops: deliver again every event this endpoint was given (its deliveries: fanned out after it
 * was registered, of its types) recorded at or after `since`; re-enables a disabled endpoint.
 * Events after its fan-out position are delivered anyway.
 */
export async function redeliverSince(db: Db, endpointId: string, since: Date): Promise<{ scheduled: number }> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ notification_id: bigint }>`
      with chosen as (
        select d.endpoint_id, d.notification_id from webhook_deliveries d join notifications n on n.id = d.notification_id
        where d.endpoint_id = ${endpointId} and n.created_at >= ${since}
        order by d.writer_xid, d.notification_id
        limit ${MAX_REDELIVER_EVENTS + 1})
      update webhook_deliveries d set ${RESCHEDULE}
      from chosen where d.endpoint_id = chosen.endpoint_id and d.notification_id = chosen.notification_id
      returning d.notification_id`.execute(trx);
    // Nothing half done: the throw rolls the transaction back and the caller narrows the time range.
    if (rows.length > MAX_REDELIVER_EVENTS) throw new RedeliverTooLarge();
    await reactivate(trx, endpointId);
    return { scheduled: rows.length };
  });
}

export class RedeliverTooLarge extends Error {
  constructor() {
    super(`more than ${MAX_REDELIVER_EVENTS} events since that time`);
  }
}

/**
 * Moves every active endpoint's fan-out forward (each endpoint in a transaction of its own): the
 * final feed rows after its position become deliveries (those of its types), and the position
 * advances. An endpoint another worker is fanning out is skipped. Returns the rows looked at.
 */
export async function fanOut(db: Db, batch: number): Promise<number> {
  const endpoints = await db.selectFrom('webhook_endpoints').select('endpoint_id').where('status', '=', 'active').orderBy('endpoint_id').limit(MAX_WEBHOOK_ENDPOINTS).execute();
  let looked = 0;
  for (const { endpoint_id } of endpoints) looked += await fanOutEndpoint(db, endpoint_id, batch);
  return looked;
}

async function fanOutEndpoint(db: Db, endpointId: string, batch: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const endpoint = await trx
      .selectFrom('webhook_endpoints')
      .select(['endpoint_id', 'event_types', sql<string>`feed_xid::text`.as('feed_xid'), 'feed_id'])
      .where('endpoint_id', '=', endpointId)
      .where('status', '=', 'active')
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
    if (!endpoint) return 0;
    const rows = await readFeed(trx, { after: { xid: endpoint.feed_xid, id: endpoint.feed_id }, limit: batch });
    const last = rows[rows.length - 1];
    if (!last) return 0;
    const wanted = rows.filter((row) => endpoint.event_types === null || endpoint.event_types.includes(row.kind));
    if (wanted.length > 0) {
      await trx
        .insertInto('webhook_deliveries')
        .values(wanted.map((row) => ({ endpoint_id: endpoint.endpoint_id, notification_id: row.id, order_id: row.order_id, writer_xid: row.writer_xid, status: 'pending' as const })))
        .onConflict((oc) => oc.columns(['endpoint_id', 'notification_id']).doNothing())
        .execute();
    }
    const position = positionOf(last);
    await trx.updateTable('webhook_endpoints').set({ feed_xid: position.xid, feed_id: position.id }).where('endpoint_id', '=', endpoint.endpoint_id).execute();
    return rows.length;
  });
}

/** A claimed delivery: the event, where it goes and the secrets to sign it with. */
export interface ClaimedDelivery extends FeedRow {
  readonly endpoint_id: string;
  readonly attempt_count: number;
  readonly lease_token: string;
  readonly url: string;
  readonly secret: string;
  readonly previous_secret: string | null;
  readonly previous_secret_expires_at: Date | null;
}

/**
 * Claims up to `limit` due deliveries for `leaseMs`: pending, not leased, of an active endpoint,
 * and the oldest pending one of its order for that endpoint (per order, in feed order). Rows
 * another worker holds are skipped; an expired lease (a worker that died mid-delivery) is taken over.
 */
export async function claimDeliveries(db: Db, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const token = randomBytes(12).toString('hex');
  const { rows } = await sql<ClaimedDelivery>`
    with due as (
      select d.endpoint_id, d.notification_id
      from webhook_deliveries d
      join webhook_endpoints e on e.endpoint_id = d.endpoint_id and e.status = 'active'
      where d.status = 'pending' and d.next_attempt_at <= now() and (d.lease_until is null or d.lease_until < now())
        and not exists (
          select 1 from webhook_deliveries p
          where p.endpoint_id = d.endpoint_id and p.order_id = d.order_id and p.status = 'pending'
            and (p.writer_xid, p.notification_id) < (d.writer_xid, d.notification_id))
      order by d.next_attempt_at, d.writer_xid, d.notification_id
      limit ${limit}
      for update of d skip locked
    ), claimed as (
      update webhook_deliveries d
      set lease_until = now() + ${leaseMs} * interval '1 millisecond', lease_token = ${token},
          attempt_count = d.attempt_count + 1, updated_at = now()
      from due where d.endpoint_id = due.endpoint_id and d.notification_id = due.notification_id
      returning d.endpoint_id, d.notification_id, d.attempt_count, d.lease_token
    )
    select c.endpoint_id, c.attempt_count, c.lease_token, e.url, e.secret, e.previous_secret, e.previous_secret_expires_at,
           n.id, n.writer_xid::text as writer_xid, n.order_id, n.event_version, n.recipient_type, n.recipient_id,
           n.kind, n.data, n.created_at, ev.order_kind, ev.occurred_at
    from claimed c
    join webhook_endpoints e on e.endpoint_id = c.endpoint_id
    join notifications n on n.id = c.notification_id
    join order_events ev on ev.order_id = n.order_id and ev.version = n.event_version
    order by n.writer_xid, n.id`.execute(db);
  return rows;
}

export interface AttemptRecord {
  readonly endpointId: string;
  readonly notificationId: bigint;
  readonly leaseToken: string;
  readonly attemptNo: number;
  readonly attemptedAt: Date;
  readonly outcome: AttemptOutcome;
  readonly statusCode: number | null;
  readonly latencyMs: number;
  readonly responseSnippet: string | null;
  readonly error: string | null;
}

export interface RetryRules {
  /** The delay before the next attempt after this failed one. */
  readonly retryDelayMs: number;
  /** A delivery failing this long gives up; an endpoint failing this long is disabled. */
  readonly retryWindowMs: number;
}

/** Records an attempt and its consequences, in one transaction. */
export async function recordAttempt(db: Db, attempt: AttemptRecord, rules: RetryRules): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('webhook_attempts')
      .values({
        endpoint_id: attempt.endpointId, notification_id: attempt.notificationId, attempt_no: attempt.attemptNo, attempted_at: attempt.attemptedAt,
        outcome: attempt.outcome, status_code: attempt.statusCode, latency_ms: attempt.latencyMs, response_snippet: attempt.responseSnippet, error: attempt.error,
      })
      .execute();
    await applyOutcome(trx, attempt, rules);
  });
}

/**
 * The last resort when not even an `unrecordable` attempt row can be written: the delivery and
 * endpoint are updated as for a failed attempt (backoff, retry window, failing_since), without
 * the attempt row — so the lease never lapses into an immediate resend.
 */
export async function recordOutcomeOnly(db: Db, attempt: Pick<AttemptRecord, 'endpointId' | 'notificationId' | 'leaseToken' | 'attemptedAt'>, rules: RetryRules): Promise<void> {
  await db.transaction().execute((trx) => applyOutcome(trx, { ...attempt, outcome: 'unrecordable', statusCode: null }, rules));
}

type Outcome = Pick<AttemptRecord, 'endpointId' | 'notificationId' | 'leaseToken' | 'attemptedAt' | 'outcome' | 'statusCode'>;

/** The delivery (if this claim still holds it) and the endpoint after an attempt. */
async function applyOutcome(trx: Transaction<Database>, attempt: Outcome, rules: RetryRules): Promise<void> {
  const mine = sql<boolean>`lease_token = ${attempt.leaseToken}`;
  if (attempt.outcome === 'delivered') {
    await sql`update webhook_deliveries set status = 'delivered', delivered_at = now(), lease_until = null, lease_token = null,
        last_outcome = 'delivered', last_status_code = ${attempt.statusCode}, updated_at = now()
      where endpoint_id = ${attempt.endpointId} and notification_id = ${attempt.notificationId} and ${mine}`.execute(trx);
    await sql`update webhook_endpoints set failing_since = null where endpoint_id = ${attempt.endpointId} and failing_since is not null`.execute(trx);
    return;
  }
  const window = sql`${rules.retryWindowMs} * interval '1 millisecond'`;
  await sql`update webhook_deliveries set
        retry_window_started_at = coalesce(retry_window_started_at, ${attempt.attemptedAt}),
        status = case when coalesce(retry_window_started_at, ${attempt.attemptedAt}) <= now() - ${window} then 'failed' else 'pending' end,
        next_attempt_at = now() + ${rules.retryDelayMs} * interval '1 millisecond',
        lease_until = null, lease_token = null, last_outcome = ${attempt.outcome}, last_status_code = ${attempt.statusCode}, updated_at = now()
      where endpoint_id = ${attempt.endpointId} and notification_id = ${attempt.notificationId} and ${mine}`.execute(trx);
  await sql`update webhook_endpoints set
        failing_since = coalesce(failing_since, ${attempt.attemptedAt}),
        status = case when status = 'active' and coalesce(failing_since, ${attempt.attemptedAt}) <= now() - ${window} then 'disabled' else status end,
        disabled_at = case when status = 'active' and coalesce(failing_since, ${attempt.attemptedAt}) <= now() - ${window} then now() else disabled_at end
      where endpoint_id = ${attempt.endpointId} and status <> 'deleted'`.execute(trx);
}

/** The disabled endpoints, for the stuck list (O1, reason webhook_failing). */
export function disabledEndpoints(db: Executor): Promise<Array<Pick<EndpointRow, 'endpoint_id' | 'url' | 'failing_since' | 'disabled_at'>>> {
  return db.selectFrom('webhook_endpoints').select(['endpoint_id', 'url', 'failing_since', 'disabled_at']).where('status', '=', 'disabled').orderBy('endpoint_id').limit(MAX_WEBHOOK_ENDPOINTS).execute();
}

/** One delivery with its newest attempts, for GET /v1/webhook-endpoints/{id}/deliveries. */
export interface DeliveryListing {
  readonly notification_id: bigint;
  readonly writer_xid: string;
  readonly kind: string;
  readonly order_id: string;
  readonly order_kind: OrderKind;
  readonly status: 'pending' | 'delivered' | 'failed';
  readonly attempt_count: number;
  readonly next_attempt_at: Date;
  readonly delivered_at: Date | null;
  readonly last_outcome: string | null;
  readonly last_status_code: number | null;
  readonly created_at: Date;
  readonly attempts: Array<{ attempt_no: number; attempted_at: Date; outcome: AttemptOutcome; status_code: number | null; latency_ms: number; response_snippet: string | null; error: string | null }>;
}

/** The newest attempts listed per delivery. */
export const ATTEMPTS_LISTED = 25;

/** An endpoint's deliveries, newest event first, before `before` (a feed position); each with its newest attempts. */
export async function listDeliveries(db: Db, endpointId: string, options: { limit: number; before?: { xid: string; id: bigint } | undefined; eventId?: bigint | undefined }): Promise<DeliveryListing[]> {
  // One snapshot for the deliveries and their attempts: read apart, an attempt recorded in between
  // would be listed beside the delivery's state from before it (a next attempt before the last one).
  return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute((trx) => readDeliveries(trx, endpointId, options));
}

async function readDeliveries(db: Db, endpointId: string, options: { limit: number; before?: { xid: string; id: bigint } | undefined; eventId?: bigint | undefined }): Promise<DeliveryListing[]> {
  const { before, eventId, limit } = options;
  const { rows } = await sql<Omit<DeliveryListing, 'attempts'>>`
    select d.notification_id, d.writer_xid::text as writer_xid, n.kind, n.order_id, ev.order_kind, d.status, d.attempt_count,
           d.next_attempt_at, d.delivered_at, d.last_outcome, d.last_status_code, d.created_at
    from webhook_deliveries d
    join notifications n on n.id = d.notification_id
    join order_events ev on ev.order_id = n.order_id and ev.version = n.event_version
    where d.endpoint_id = ${endpointId}
      ${before ? sql`and (d.writer_xid, d.notification_id) < (${before.xid}::xid8, ${before.id}::bigint)` : sql``}
      ${eventId === undefined ? sql`` : sql`and d.notification_id = ${eventId}`}
    order by d.writer_xid desc, d.notification_id desc
    limit ${limit}`.execute(db);
  if (rows.length === 0) return [];
  const attempts = await sql<DeliveryListing['attempts'][number] & { notification_id: bigint }>`
    select a.notification_id, a.attempt_no, a.attempted_at, a.outcome, a.status_code, a.latency_ms, a.response_snippet, a.error
    from unnest(${rows.map((r) => r.notification_id.toString())}::bigint[]) as t(id)
    cross join lateral (
      select * from webhook_attempts w where w.endpoint_id = ${endpointId} and w.notification_id = t.id
      order by w.attempt_id desc limit ${ATTEMPTS_LISTED}) a
    order by a.notification_id, a.attempt_id`.execute(db);
  return rows.map((row) => ({ ...row, attempts: attempts.rows.filter((a) => a.notification_id === row.notification_id) }));
}
