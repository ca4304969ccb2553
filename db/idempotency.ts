import { sql } from 'kysely';
import type { Db } from './connect';

/**
 * The statements over `idempotency_keys` (SPEC §8 Idempotency-Key): claim, store, release, renew,
 * purge. What they mean for a request — leases, queued finishes, the upkeep timers — is
 * api/idempotency-claims.ts.
 */

/** How long a completed key is replayed; after that it may be used again. */
export const IDEMPOTENCY_RETENTION_HOURS = 24;

/** A key's row as stored: its request's fingerprint and, once completed, its response. */
export interface StoredKey {
  readonly request_hash: string;
  readonly status_code: number | null;
  readonly content_type: string | null;
  readonly response_body: string | null;
}

/** A claim's row: (role, key) and its lease token (µs since the epoch: `created_at`). */
export interface ClaimToken {
  readonly role: string;
  readonly key: string;
  readonly token: bigint;
}

/** The lease token of a row: `created_at`, which a claim and each renewal set to now(). */
const TOKEN = sql<bigint>`(extract(epoch from created_at) * 1000000)::int8`;

const expired = sql`created_at < now() - make_interval(hours => ${IDEMPOTENCY_RETENTION_HOURS}::int)`;
const lapsed = (leaseSeconds: number) => sql`(status_code is null and created_at < now() - ${leaseSeconds}::double precision * interval '1 second')`;

/**
 * One statement: `fresh` inserts a new key; `taken` takes over an existing row that expired or
 * whose lease lapsed (re-checked on the row's latest version if another transaction changes it
 * meanwhile); otherwise the row is read as it stands — never an expired one (one a concurrent
 * purge or takeover changed under `taken`). A conflicting row committed after this statement's
 * snapshot is in none of the three: no row. A row with a token is the claim's; without, the stored key.
 */
export async function claimKeyRow(db: Db, { role, key, hash, leaseSeconds }: { role: string; key: string; hash: string; leaseSeconds: number }) {
  const { rows } = await sql<{ token: string | null } & { [K in keyof StoredKey]: StoredKey[K] | null }>`
    with fresh as (
      insert into idempotency_keys (role, key, request_hash) values (${role}, ${key}, ${hash})
      on conflict (role, key) do nothing
      returning ${TOKEN} as token
    ), taken as (
      update idempotency_keys
        set request_hash = ${hash}, created_at = now(), status_code = null, content_type = null, response_body = null, completed_at = null
        where role = ${role} and key = ${key} and not exists (select from fresh) and (${expired} or (${lapsed(leaseSeconds)} and request_hash = ${hash}))
        returning ${TOKEN} as token
    )
    select token, null::text as request_hash, null::int4 as status_code, null::text as content_type, null::text as response_body from fresh
    union all select token, null, null, null, null from taken
    union all select null, request_hash, status_code, content_type, response_body from idempotency_keys
      where role = ${role} and key = ${key} and not exists (select from fresh) and not exists (select from taken) and not ${expired}`.execute(db);
  return rows[0];
}

const holds = (token: bigint) => sql<boolean>`${TOKEN} = ${token.toString()}::int8`;

/**
 * Releases the claim's row if it still holds this token and no response was stored: its lease
 * lapses at once (`created_at` an hour back, far past any lease), so the same request may claim it
 * again now, while the key stays bound to that request until it expires: a request that failed
 * with a 5xx may still have run (a 503's command applied after all), so another request under its
 * key is refused, as for any key used once (SPEC §8).
 */
export async function releaseKey(db: Db, owned: ClaimToken): Promise<void> {
  await sql`update idempotency_keys set created_at = now() - interval '1 hour'
    where role = ${owned.role} and key = ${owned.key} and status_code is null and ${holds(owned.token)}`.execute(db);
}

/** Stores the response on the claim's row if it still holds this token and none was stored. */
export async function storeKeyResponse(db: Db, owned: ClaimToken, response: { statusCode: number; contentType: string | null; body: string }): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ status_code: response.statusCode, content_type: response.contentType, response_body: response.body, completed_at: new Date() })
    .where('role', '=', owned.role)
    .where('key', '=', owned.key)
    .where('status_code', 'is', null)
    .where(holds(owned.token))
    .execute();
}

/** Extends the leases of these claims (those still holding their token) in one statement; answers the renewed ones with their new tokens. */
export async function renewClaims(db: Db, claims: readonly ClaimToken[]): Promise<Array<{ role: string; key: string; token: bigint }>> {
  const { rows } = await sql<{ role: string; key: string; token: bigint }>`
    update idempotency_keys k set created_at = now()
    from unnest(${claims.map((c) => c.role)}::text[], ${claims.map((c) => c.key)}::text[], ${claims.map((c) => c.token.toString())}::int8[]) as c(role, key, token)
    where k.role = c.role and k.key = c.key and k.status_code is null and (extract(epoch from k.created_at) * 1000000)::int8 = c.token
    returning k.role, k.key, (extract(epoch from k.created_at) * 1000000)::int8 as token`.execute(db);
  return rows;
}

/**
 * Deletes up to `batch` expired keys; `skip locked` so API instances purging at once do not
 * wait for each other, and the age re-checked on the row's latest version (a key taken over since is kept).
 */
export async function purgeExpiredKeys(db: Db, batch: number): Promise<number> {
  const result = await sql`
    delete from idempotency_keys k using (
      select role, key from idempotency_keys where ${expired} limit ${batch} for update skip locked) gone
    where k.role = gone.role and k.key = gone.key and k.created_at < now() - make_interval(hours => ${IDEMPOTENCY_RETENTION_HOURS}::int)`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}
