import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../db/connect';
import { ApiError } from './errors';
import { createClaimKeeper, type Claim, type Finish, type StoredKey } from './idempotency-claims';

/**
 * SPEC §8 `Idempotency-Key` on every POST, for every route (hooks on the app, so routes added
 * later are covered too). Keys are scoped by the caller's role. The first request with a key
 * claims it (a row with no status yet, inserted atomically), runs, and stores its response when it
 * is a 2xx or a 4xx; a retry with the same key and the same method, path and body gets that
 * response again (status and body, byte for byte, with `Idempotent-Replayed: true`) without running
 * anything. The same key with another request is `422 idempotency_mismatch`; a duplicate while the
 * first still runs is `409 invalid_state` (retry after a second). A 5xx (a `503 unavailable` above
 * all) is not stored: its claim is released so the request can be retried and then runs once; the
 * key stays bound to that request (a 503's command may have run after all), so another request
 * under it is still `422`. The
 * claims' lease, renewal and the retried release are in api/idempotency-claims.ts.
 */

/** 1–128 printable ASCII characters (no spaces). */
export const IDEMPOTENCY_KEY_PATTERN = /^[!-~]{1,128}$/;

export { IDEMPOTENCY_LEASE_SECONDS, IDEMPOTENCY_RETENTION_HOURS } from './idempotency-claims';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * What of an answer may be stored for replay (issue 18): a route whose answer carries a secret
     * (a webhook signing secret) stores and replays it without the secret, so no secret is ever
     * kept in clear in idempotency_keys. Unset: the answer as sent.
     */
    storedAnswer?: (body: string) => string;
  }
  interface FastifyRequest {
    /** The idempotency key this request claimed and must complete (or release) on send. */
    idempotencyClaim?: Claim;
  }
}

/**
 * The id of the Temporal Update a command sends under an Idempotency-Key (api/task-order-service.ts):
 * the same key for the same request (role, key, fingerprint) is the same Update, which Temporal runs
 * once however often a request that failed for a fault is retried.
 */
export function idempotentUpdateId(claim: Claim | undefined): string | undefined {
  if (!claim) return undefined;
  return `idem-${createHash('sha256').update(`${claim.role}\n${claim.key}\n${claim.hash}`, 'utf8').digest('hex')}`;
}

/** The request as the key's fingerprint: method, path with query, and the body in canonical JSON. */
export function requestFingerprint(method: string, url: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${url}\n${body === undefined ? '' : canonicalJson(body)}`, 'utf8').digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export interface IdempotencyOptions {
  /** The in-flight lease (default IDEMPOTENCY_LEASE_SECONDS); tests shorten it. */
  readonly leaseSeconds?: number;
}

export function installIdempotency(app: FastifyInstance, db: Db, options: IdempotencyOptions = {}): void {
  const keeper = createClaimKeeper(db, { ...options, log: (message, error) => app.log.warn({ err: error }, message) });
  app.addHook('onClose', () => keeper.close());

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'POST') return;
    const header = request.headers['idempotency-key'];
    if (header === undefined) return;
    const role = claimant(request);
    if (role === undefined) return; // issue 18: an anonymous request writes nothing, not even a key
    if (typeof header !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(header)) {
      throw new ApiError('validation_failed', 'the Idempotency-Key header must be one value of 1–128 printable ASCII characters without spaces');
    }
    const hash = requestFingerprint(request.method, request.url, request.body);
    await keeper.settlePending(role, header); // a retry after a fault: free the key first if we still hold it

    // One statement per attempt; another only when a concurrent transaction changed the row under it.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const found = await keeper.claim(role, header, hash);
      switch (found.kind) {
        case 'claimed':
          request.idempotencyClaim = found.claim;
          return;
        case 'stored':
          return answerStored(reply, found.stored, hash);
        case 'raced':
          continue;
        default:
          return assertNever(found);
      }
    }
    throw new ApiError('invalid_state', 'a request with this Idempotency-Key is in progress; retry later');
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const owned = request.idempotencyClaim;
    if (!owned) return payload;
    request.idempotencyClaim = undefined;
    await keeper.finish(owned, finishOf(reply, payload, request.routeOptions.config.storedAnswer), (message, error) => request.log.warn({ err: error }, message));
    return payload;
  });
}

/**
 * The role that claims a key: only an authenticated caller of a known, protected route (issue 18).
 * An unknown path (404), a public route (health, docs, the console's cookie-checked pages and
 * sign-in) or a request without a valid token claims nothing: otherwise anyone could fill
 * idempotency_keys, and have it replay whatever it stored, without a token.
 */
function claimant(request: FastifyRequest): string | undefined {
  if (request.is404 || request.routeOptions.config.public === true) return undefined;
  return request.apiRole;
}

/** A key already used: its response replayed, or 422 for another request, or 409 while it runs. */
function answerStored(reply: FastifyReply, stored: StoredKey, hash: string): FastifyReply {
  if (stored.request_hash !== hash) {
    throw new ApiError('idempotency_mismatch', 'this Idempotency-Key was already used for another request (method, path or body)');
  }
  if (stored.status_code === null || stored.response_body === null) {
    reply.header('retry-after', '1');
    throw new ApiError('invalid_state', 'a request with this Idempotency-Key is still in progress; retry later');
  }
  reply.code(stored.status_code).header('idempotent-replayed', 'true');
  if (stored.content_type) reply.header('content-type', stored.content_type);
  return reply.send(stored.response_body);
}

function assertNever(value: never): never {
  throw new Error(`unexpected claim attempt ${JSON.stringify(value)}`);
}

/**
 * A 2xx or 4xx response with a text body is stored for replay (as the route's `storedAnswer` keeps
 * it); anything else frees the key.
 */
function finishOf(reply: FastifyReply, payload: unknown, storedAnswer: ((body: string) => string) | undefined): Finish {
  const body = payload === null || payload === undefined ? '' : typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
  if (reply.statusCode < 200 || reply.statusCode >= 500 || body === undefined) return { kind: 'release' };
  const contentType = reply.getHeader('content-type');
  return { kind: 'complete', statusCode: reply.statusCode, contentType: typeof contentType === 'string' ? contentType : null, body: storedAnswer ? storedAnswer(body) : body };
}
