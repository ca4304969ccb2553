import type { Db } from '../db/connect';
import { IDEMPOTENCY_RETENTION_HOURS, claimKeyRow, purgeExpiredKeys, releaseKey, renewClaims, storeKeyResponse, type StoredKey } from '../db/idempotency';
import { unavailableDependency } from '../platform/faults';

/**
 * The rows of `idempotency_keys` a request claims, renews and finishes (api/idempotency.ts), and
 * the bookkeeping that keeps a claim from outliving its request (SPEC §8: a request that failed for
 * a fault may be retried with the same key within seconds):
 *
 * - Claiming is one statement, whatever the key's state (issue 11): a new key is inserted
 *   (`on conflict do nothing`), an expired key or a lapsed lease is taken over, and otherwise the
 *   stored row comes back (a replay, a mismatch or a request in flight): one round trip.
 * - A claim is a lease: a request that runs longer than a third of the lease is renewed (all such
 *   claims of this process in one statement); a short request is never renewed. A claim no one
 *   renews (its process died) can be taken over once the lease has passed.
 * - Finishing a claim (storing the response, or releasing the key) that fails because the database
 *   is down is queued and retried every second until it succeeds, so the key is free again about
 *   a second after the database is back, not after the lease.
 * - Each claim carries a token (its lease's start, in microseconds): renewing, storing and
 *   releasing touch the row only while it still holds that token, so a request whose lease was
 *   taken over can never overwrite or free the claim of the request that took it.
 * - Expired keys are purged in the background (every PURGE_INTERVAL_MS, bounded batches), never on
 *   a request's path.
 */

/** How long an unrenewed in-flight claim blocks its key. Renewed every third of it. */
export const IDEMPOTENCY_LEASE_SECONDS = 15;
/** How long a completed key is replayed (db/idempotency.ts); after that it may be used again. */
export { IDEMPOTENCY_RETENTION_HOURS };
/** How often queued finishes are retried (and the renewal is due-checked). */
const TICK_MS = 1000;
/** At most this many finishes wait for the database; beyond, the oldest is left to its lease. */
const MAX_PENDING_FINISHES = 10_000;
/** How often expired keys are purged, and at most how many rows per purge (batches of PURGE_BATCH). */
const PURGE_INTERVAL_MS = 10_000;
const PURGE_BATCH = 1000;
const PURGE_MAX_BATCHES = 10;

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

export type { StoredKey };

/**
 * What one claim statement found: the key is ours now, or its row as stored (completed, or another
 * request's claim in flight), or neither — a concurrent transaction inserted or deleted the row
 * after this statement's snapshot was taken, so it is not visible yet: claim again.
 */
export type ClaimAttempt = { readonly kind: 'claimed'; readonly claim: Claim } | { readonly kind: 'stored'; readonly stored: StoredKey } | { readonly kind: 'raced' };

const id = (role: string, key: string) => `${role}\n${key}`;

export interface ClaimKeeper {
  /** Claims (role, key) for a request — a new key, an expired one, or a claim whose lease ran out — or reads it as stored, in one round trip. */
  claim(role: string, key: string, hash: string): Promise<ClaimAttempt>;
  /** Ends the claim: stores the response or releases the key, now or, if the database is down, soon. */
  finish(claim: Claim, finish: Finish, log: (message: string, error: unknown) => void): Promise<void>;
  /** Runs a queued finish of (role, key) now, so a retry that reaches this process needs not wait. */
  settlePending(role: string, key: string): Promise<void>;
  /** Deletes expired keys (bounded); runs every PURGE_INTERVAL_MS on its own. */
  purgeExpired(): Promise<void>;
  close(): Promise<void>;
}

export function createClaimKeeper(db: Db, options: { leaseSeconds?: number; log?: (message: string, error: unknown) => void } = {}): ClaimKeeper {
  const leaseSeconds = options.leaseSeconds ?? IDEMPOTENCY_LEASE_SECONDS;
  const log = options.log ?? (() => undefined);
  /** The claims this process holds, with when (its clock, ms) each lease was taken or last renewed. */
  const held = new Map<string, { readonly claim: Claim; leasedAtMs: number }>();
  const pending = new Map<string, { claim: Claim; finish: Finish }>();
  let renewing: Promise<void> | undefined;

  /** Claims the key, or reads it as stored, in one statement (db/idempotency.ts claimKeyRow); no row: 'raced', claim again. */
  async function claim(role: string, key: string, hash: string): Promise<ClaimAttempt> {
    const row = await claimKeyRow(db, { role, key, hash, leaseSeconds });
    if (row === undefined) return { kind: 'raced' };
    if (row.token !== null) {
      const claimed: Claim = { role, key, hash, token: BigInt(row.token), lost: false };
      held.set(id(role, key), { claim: claimed, leasedAtMs: Date.now() });
      return { kind: 'claimed', claim: claimed };
    }
    if (row.request_hash === null) return { kind: 'raced' };
    return { kind: 'stored', stored: { request_hash: row.request_hash, status_code: row.status_code, content_type: row.content_type, response_body: row.response_body } };
  }

  /** Stores the response or deletes the claim, if the row still holds this claim's token. */
  async function apply(owned: Claim, finish: Finish): Promise<void> {
    if (finish.kind === 'release') {
      await releaseKey(db, owned);
      return;
    }
    await storeKeyResponse(db, owned, finish);
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

  /** A claim is due for renewal a third of the lease after it was taken or last renewed. */
  const renewalDue = (leasedAtMs: number, now: number) => now - leasedAtMs >= (leaseSeconds * 1000) / 3;

  /** Extends the claims whose renewal is due, in one statement; learns which ones it lost. */
  async function renewHeld(due: ReadonlyArray<{ readonly claim: Claim; leasedAtMs: number }>): Promise<void> {
    const renewedAtMs = Date.now();
    const claims = due.map((entry) => entry.claim);
    const rows = await renewClaims(db, claims);
    const renewed = new Map(rows.map((row) => [id(row.role, row.key), BigInt(row.token)]));
    for (const entry of due) {
      const token = renewed.get(id(entry.claim.role, entry.claim.key));
      if (token === undefined) entry.claim.lost = true;
      else {
        entry.claim.token = token;
        entry.leasedAtMs = renewedAtMs;
      }
    }
  }

  async function tick(): Promise<void> {
    if (pending.size > 0) await flushPending();
    const now = Date.now();
    const due = [...held.values()].filter((entry) => renewalDue(entry.leasedAtMs, now));
    if (due.length === 0) return; // short requests end before their renewal is due: no statement
    renewing = renewHeld(due).catch((error: unknown) => {
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

  /** Deletes up to PURGE_BATCH expired keys (db/idempotency.ts purgeExpiredKeys). */
  function purgeBatch(): Promise<number> {
    return purgeExpiredKeys(db, PURGE_BATCH);
  }

  /** Purges expired keys in bounded batches; the key's retention, not this, is what a client sees. */
  async function purgeExpired(): Promise<void> {
    for (let batch = 0; batch < PURGE_MAX_BATCHES; batch += 1) {
      if ((await purgeBatch()) < PURGE_BATCH) return;
    }
  }

  let purging = false;
  const purgeTimer = setInterval(() => {
    if (purging) return;
    purging = true;
    void purgeExpired()
      .catch((error: unknown) => {
        if (!unavailableDependency(error)) log('could not purge expired Idempotency-Keys', error);
      })
      .finally(() => (purging = false));
  }, PURGE_INTERVAL_MS);
  purgeTimer.unref();

  async function close(): Promise<void> {
    clearInterval(timer);
    clearInterval(purgeTimer);
    await flushPending().catch(() => undefined);
  }

  return { claim, finish, settlePending, purgeExpired, close };
}
