import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken } from './auth';
import { ApiError } from './errors';

/**
 * SPEC §8 Security / issue 18: sign-in and the expensive reads (audit, export, stuck list) are
 * rate limited (`429 rate_limited` with `Retry-After`), and the audit and the export are limited in
 * how many run at once in this process, so they can never take the whole database pool.
 *
 * Two small, in-memory, per-instance mechanisms (each API instance limits its own share; nothing is
 * shared through the database, which these limits protect):
 *   - TokenBuckets: a token bucket per key (a token's fingerprint, or a client IP for sign-in),
 *     at most `maxKeys` keys kept (the least recently used dropped first), so a flood of distinct
 *     keys cannot grow memory without bound;
 *   - ConcurrencyGate: at most `limit` holders at once; the next caller is refused, never queued
 *     (a queue would hold its HTTP request, and a slot, for an unknown time).
 */

export interface RateLimit {
  /** Requests allowed at once after a quiet period. */
  readonly burst: number;
  /** Requests per minute allowed on average. */
  readonly perMinute: number;
}

export interface ReadLimits {
  /** Console sign-in attempts per client IP (no token is authenticated yet). */
  readonly signIn: RateLimit;
  /** Each expensive read route (audit, export, stuck list), per token. */
  readonly expensiveRead: RateLimit;
  /** Audits running at once in this instance (each takes 2 connections and worker threads). */
  readonly concurrentAudits: number;
  /** CSV exports streaming at once in this instance. */
  readonly concurrentExports: number;
  /** An export whose reader takes nothing for this long is disconnected, freeing its slot. */
  readonly exportStallTimeoutMs: number;
}

/**
 * Generous: no person clicking, nor a test polling every 100 ms for a while, reaches them; a
 * script hammering a route or guessing tokens does. Env: RATE_LIMIT_SIGN_IN_PER_MINUTE,
 * RATE_LIMIT_EXPENSIVE_PER_MINUTE (burst = the per-minute figure), MAX_CONCURRENT_AUDITS,
 * MAX_CONCURRENT_EXPORTS, EXPORT_STALL_TIMEOUT_SECONDS.
 */
export const DEFAULT_READ_LIMITS: ReadLimits = {
  signIn: { burst: 30, perMinute: 30 },
  expensiveRead: { burst: 300, perMinute: 300 },
  concurrentAudits: 1,
  concurrentExports: 2,
  exportStallTimeoutMs: 60_000,
};

const MAX_CONFIGURED = 100_000;

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_CONFIGURED) throw new Error(`${name} must be an integer from 1 to ${MAX_CONFIGURED}, not ${raw}`);
  return n;
}

/** The limits from the environment, each defaulting to DEFAULT_READ_LIMITS. */
export function loadReadLimits(env: NodeJS.ProcessEnv = process.env): ReadLimits {
  const signIn = positiveInt(env, 'RATE_LIMIT_SIGN_IN_PER_MINUTE', DEFAULT_READ_LIMITS.signIn.perMinute);
  const expensive = positiveInt(env, 'RATE_LIMIT_EXPENSIVE_PER_MINUTE', DEFAULT_READ_LIMITS.expensiveRead.perMinute);
  return {
    signIn: { burst: signIn, perMinute: signIn },
    expensiveRead: { burst: expensive, perMinute: expensive },
    concurrentAudits: positiveInt(env, 'MAX_CONCURRENT_AUDITS', DEFAULT_READ_LIMITS.concurrentAudits),
    concurrentExports: positiveInt(env, 'MAX_CONCURRENT_EXPORTS', DEFAULT_READ_LIMITS.concurrentExports),
    exportStallTimeoutMs: 1000 * positiveInt(env, 'EXPORT_STALL_TIMEOUT_SECONDS', DEFAULT_READ_LIMITS.exportStallTimeoutMs / 1000),
  };
}

export type Taken = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  atMs: number;
}

/** A token bucket per key, at most `maxKeys` keys (least recently used dropped first). */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: RateLimit,
    private readonly maxKeys = 10_000,
    private readonly nowMs: () => number = Date.now,
  ) {}

  take(key: string): Taken {
    const now = this.nowMs();
    const perMs = this.limit.perMinute / 60_000;
    const previous = this.buckets.get(key);
    const bucket = previous ?? { tokens: this.limit.burst, atMs: now };
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + (now - bucket.atMs) * perMs);
    bucket.atMs = now;
    // Re-inserted so the map's order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    this.evict();
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)) };
  }

  get size(): number {
    return this.buckets.size;
  }

  private evict(): void {
    while (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
  }
}

/** At most `limit` holders at once; a caller beyond it is refused at once (never queued). */
export class ConcurrencyGate {
  private held = 0;

  constructor(readonly limit: number) {}

  /** A release function (idempotent), or undefined when every slot is taken. */
  tryAcquire(): (() => void) | undefined {
    if (this.held >= this.limit) return undefined;
    this.held += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= 1;
    };
  }

  get inUse(): number {
    return this.held;
  }
}

/** How long a refused audit or export should wait before retrying: they take seconds to minutes. */
export const BUSY_RETRY_AFTER_SECONDS = 5;

/** Sets Retry-After and throws SPEC §8's 429 (the API's and the console's error handlers keep the header). */
export function refuseRateLimited(reply: FastifyReply, retryAfterSeconds: number, message: string): never {
  void reply.header('retry-after', String(retryAfterSeconds));
  throw new ApiError('rate_limited', message, { retryAfterSeconds });
}

/**
 * A token's key for its buckets: a fingerprint (sha256, shortened), so no token is kept in clear
 * in memory longer than the request (SPEC §8 Security).
 */
export function tokenKey(request: FastifyRequest): string {
  const token = bearerToken(request.headers.authorization) ?? '';
  return createHash('sha256').update(token).digest('hex').slice(0, 32);
}

/** A preHandler that takes one request from `buckets` under the key `keyOf` gives, or answers 429. */
export function rateLimitGuard(buckets: TokenBuckets, keyOf: (request: FastifyRequest) => string, what: string) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const taken = buckets.take(keyOf(request));
    if (!taken.ok) refuseRateLimited(reply, taken.retryAfterSeconds, `too many ${what}: retry in ${taken.retryAfterSeconds} s`);
  };
}

/** Holds a slot of `gate` for the request, or answers 429; the slot is released by the returned function. */
export function acquireOrRefuse(gate: ConcurrencyGate, reply: FastifyReply, what: string): () => void {
  const release = gate.tryAcquire();
  if (!release) refuseRateLimited(reply, BUSY_RETRY_AFTER_SECONDS, `${gate.limit} ${what} already running on this instance (the most at once): retry in ${BUSY_RETRY_AFTER_SECONDS} s`);
  return release;
}

/** One instance's limits on the expensive reads and on sign-in, shared by the routes that use them. */
export interface ReadGuards {
  readonly limits: ReadLimits;
  readonly audits: ConcurrencyGate;
  readonly exports: ConcurrencyGate;
  /** A per-token rate limit of its own for one route (`what` names it in the 429's message). */
  perToken(what: string): ReturnType<typeof rateLimitGuard>;
  /** Console sign-in attempts, per client IP: a guesser has no token yet, and may send many. */
  readonly signIn: ReturnType<typeof rateLimitGuard>;
}

export function createReadGuards(limits: ReadLimits = loadReadLimits()): ReadGuards {
  return {
    limits,
    audits: new ConcurrencyGate(limits.concurrentAudits),
    exports: new ConcurrencyGate(limits.concurrentExports),
    perToken: (what) => rateLimitGuard(new TokenBuckets(limits.expensiveRead), tokenKey, what),
    signIn: rateLimitGuard(new TokenBuckets(limits.signIn), (request) => request.ip, 'sign-in attempts from this address'),
  };
}
