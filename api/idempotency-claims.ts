import { sql } from 'kysely';
import type { Db } from '../db/connect';
import { unavailableDependency } from '../platform/faults';

/**
 * The rows of `idempotency_keys` a request claims, renews and finishes (api/idempotency.ts), and
 * the bookkeeping that keeps a claim from outliving its request (SPEC §8: a request that failed for
 * a fault may be retried with the same key within seconds):
 *
 * - A claim is a lease: while its request runs, this process renews it every third of the lease;
 *   a claim no one renews (its process died) can be taken over once the lease has passed.
 * - Finishing a claim (storing the response, or releasing the key) that fails because the database
 *   is down is queued and retried every second until it succeeds, so the key is free again about
 *   a second after the database is back, not after the lease.
 * - Each claim carries a token (its lease's start, in microseconds): renewing, storing and
 *   releasing touch the row only while it still holds that token, so a request whose lease was
 *   taken over can never overwrite or free the claim of the request that took it.
 */

/** How long an unrenewed in-flight claim blocks its key. Renewed every third of it. */
export const IDEMPOTENCY_LEASE_SECONDS = 15;
/** How long a completed key is replayed; after that it may be used again. */
export const IDEMPOTENCY_RETENTION_HOURS = 24;
/** How often queued finishes are retried (and the renewal is due-checked). */
const TICK_MS = 1000;
/** At most this many finishes wait for the database; beyond, the oldest is left to its lease. */
const MAX_PENDING_FINISHES = 10_000;

export interface Claim {
  readonly role: string;
  readonly key: string;
  /** The request's fingerprint (method, path, body). */
  readonly hash: string;
  /** The lease's start (µs since the epoch), as the row has it. */
  token: bigint;
  /** Renewal found the row no longer ours (the lease ran out and another request took it). */
  lost: boolean;
}

/** What becomes of a claim when its request ends: its response is stored, or the key released. */
export type Finish =
  | { readonly kind: 'complete'; readonly statusCode: number; readonly contentType: string | null; readonly body: string }
  | { readonly kind: 'release' };

export interface StoredKey {
  readonly request_hash: string;
  readonly status_code: number | null;
  readonly content_type: string | null;
  readonly response_body: string | null;
}

/** The lease token of a row: `created_at`, which a claim and each renewal set to now(). */
const TOKEN = sql<bigint>`(extract(epoch from created_at) * 1000000)::int8`;

const id = (role: string, key: string) => `${role}\n${key}`;

export interface ClaimKeeper {
  /** Claims (role, key) for a request: a new key, an expired one, or a claim whose lease ran out. */
  claim(role: string, key: string, hash: string): Promise<Claim | undefined>;
  lookup(role: string, key: string): Promise<StoredKey | undefined>;
  /** Ends the claim: stores the response or releases the key, now or, if the database is down, soon. */
  finish(claim: Claim, finish: Finish, log: (message: string, error: unknown) => void): Promise<void>;
  /** Runs a queued finish of (role, key) now, so a retry that reaches this process needs not wait. */
  settlePending(role: string, key: string): Promise<void>;
  purgeExpired(): Promise<void>;
  close(): Promise<void>;
}

export function createClaimKeeper(db: Db, options: { leaseSeconds?: number; log?: (message: string, error: unknown) => void } = {}): ClaimKeeper {
  const leaseSeconds = options.leaseSeconds ?? IDEMPOTENCY_LEASE_SECONDS;
  const log = options.log ?? (() => undefined);
  const held = new Map<string, Claim>();
  const pending = new Map<string, { claim: Claim; finish: Finish }>();
  let renewing: Promise<void> | undefined;
  let lastRenewal = Date.now();

  async function claim(role: string, key: string, hash: string): Promise<Claim | undefined> {
    const { rows } = await sql<{ token: bigint }>`
      insert into idempotency_keys (role, key, request_hash) values (${role}, ${key}, ${hash})
      on conflict (role, key) do update
        set request_hash = excluded.request_hash, created_at = now(), status_code = null, content_type = null, response_body = null, completed_at = null
        where idempotency_keys.created_at < now() - make_interval(hours => ${IDEMPOTENCY_RETENTION_HOURS}::int)
           or (idempotency_keys.status_code is null
               and idempotency_keys.created_at < now() - ${leaseSeconds}::double precision * interval '1 second')
      returning ${TOKEN} as token`.execute(db);
    const token = rows[0]?.token;
    if (token === undefined) return undefined;
    const claimed: Claim = { role, key, hash, token: BigInt(token), lost: false };
    held.set(id(role, key), claimed);
    return claimed;
  }

  async function lookup(role: string, key: string): Promise<StoredKey | undefined> {
    return db.selectFrom('idempotency_keys').select(['request_hash', 'status_code', 'content_type', 'response_body']).where('role', '=', role).where('key', '=', key).executeTakeFirst();
  }

  /** Stores the response or deletes the claim, if the row still holds this claim's token. */
  async function apply(owned: Claim, finish: Finish): Promise<void> {
    const mine = sql<boolean>`${TOKEN} = ${owned.token.toString()}::int8`;
    if (finish.kind === 'release') {
      await db.deleteFrom('idempotency_keys').where('role', '=', owned.role).where('key', '=', owned.key).where('status_code', 'is', null).where(mine).execute();
      return;
    }
    await db
      .updateTable('idempotency_keys')
      .set({ status_code: finish.statusCode, content_type: finish.contentType, response_body: finish.body, completed_at: new Date() })
      .where('role', '=', owned.role)
      .where('key', '=', owned.key)
      .where('status_code', 'is', null)
      .where(mine)
      .execute();
  }

  async function finish(owned: Claim, outcome: Finish, report: (message: string, error: unknown) => void): Promise<void> {
    held.delete(id(owned.role, owned.key));
    await renewing; // a renewal in flight may be moving this claim's token
    if (owned.lost) return report('an Idempotency-Key claim was taken over after its lease ran out; this response is not stored', undefined);
    try {
      await apply(owned, outcome);
    } catch (error) {
      if (unavailableDependency(error)) return enqueue(owned, outcome, report, error);
      // Not a fault (a bug): never replay a response we could not store; free the key instead.
      report('could not record the response of an Idempotency-Key', error);
      await apply(owned, { kind: 'release' }).catch((again: unknown) => enqueue(owned, { kind: 'release' }, report, again));
    }
  }

  function enqueue(owned: Claim, outcome: Finish, report: (message: string, error: unknown) => void, error: unknown): void {
    report('the database is unavailable: finishing this Idempotency-Key is queued and retried every second', error);
    if (pending.size >= MAX_PENDING_FINISHES) {
      const [oldest] = pending.keys();
      if (oldest !== undefined) pending.delete(oldest); // its lease frees it instead
    }
    pending.set(id(owned.role, owned.key), { claim: owned, finish: outcome });
  }

  /** Retries the queued finishes in order; stops at the first fault (the database is still down). */
  async function flushPending(): Promise<void> {
    for (const [entry, { claim: owned, finish: outcome }] of [...pending]) {
      try {
        await apply(owned, outcome);
      } catch (error) {
        if (unavailableDependency(error)) return;
        log('dropping a queued Idempotency-Key finish that keeps failing; its lease will free the key', error);
      }
      if (pending.get(entry)?.claim === owned) pending.delete(entry);
    }
  }

  async function settlePending(role: string, key: string): Promise<void> {
    const entry = pending.get(id(role, key));
    if (!entry) return;
    await apply(entry.claim, entry.finish).catch(() => undefined);
    if (pending.get(id(role, key)) === entry) pending.delete(id(role, key));
  }

  /** Extends every claim this process holds, in one statement; learns which ones it lost. */
  async function renewHeld(): Promise<void> {
    const claims = [...held.values()];
    if (claims.length === 0) return;
    const { rows } = await sql<{ role: string; key: string; token: bigint }>`
      update idempotency_keys k set created_at = now()
      from unnest(${claims.map((c) => c.role)}::text[], ${claims.map((c) => c.key)}::text[], ${claims.map((c) => c.token.toString())}::int8[]) as c(role, key, token)
      where k.role = c.role and k.key = c.key and k.status_code is null and (extract(epoch from k.created_at) * 1000000)::int8 = c.token
      returning k.role, k.key, (extract(epoch from k.created_at) * 1000000)::int8 as token`.execute(db);
    const renewed = new Map(rows.map((row) => [id(row.role, row.key), BigInt(row.token)]));
    for (const owned of claims) {
      const token = renewed.get(id(owned.role, owned.key));
      if (token === undefined) owned.lost = true;
      else owned.token = token;
    }
  }

  async function tick(): Promise<void> {
    if (pending.size > 0) await flushPending();
    if (held.size === 0 || Date.now() - lastRenewal < (leaseSeconds * 1000) / 3) return;
    lastRenewal = Date.now();
    renewing = renewHeld().catch((error: unknown) => {
      if (!unavailableDependency(error)) log('could not renew Idempotency-Key claims', error);
    });
    await renewing;
    renewing = undefined;
  }

  let ticking = false;
  const timer = setInterval(() => {
    if (ticking) return;
    ticking = true;
    void tick()
      .catch((error: unknown) => log('Idempotency-Key upkeep failed', error))
      .finally(() => (ticking = false));
  }, Math.min(TICK_MS, (leaseSeconds * 1000) / 6));
  timer.unref(); // never what keeps a process alive

  async function purgeExpired(): Promise<void> {
    await sql`delete from idempotency_keys where ctid = any(array(
        select ctid from idempotency_keys
        where created_at < now() - make_interval(hours => ${IDEMPOTENCY_RETENTION_HOURS}::int) limit 1000))`.execute(db);
  }

  async function close(): Promise<void> {
    clearInterval(timer);
    await flushPending().catch(() => undefined);
  }

  return { claim, lookup, finish, settlePending, purgeExpired, close };
}
