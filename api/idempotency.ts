import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import { ApiError } from './errors';

/**
 * SPEC §8 `Idempotency-Key` on every POST, for every route (hooks on the app, so routes added
 * later are covered too). Keys are scoped by the caller's role. The first request with a key
 * claims it (a row with no status yet, inserted atomically), runs, and stores its response when it
 * is a 2xx or a 4xx; a retry with the same key and the same method, path and body gets that
 * response again (status and body, byte for byte, with `Idempotent-Replayed: true`) without running
 * anything. The same key with another request is `422 idempotency_mismatch`; a duplicate while the
 * first still runs is `409 invalid_state` (retry after a second). A 5xx is not stored: its claim is
 * removed so the request can be retried.
 */

/** 1–128 printable ASCII characters (no spaces). */
export const IDEMPOTENCY_KEY_PATTERN = /^[!-~]{1,128}$/;

/** How long a completed key is replayed; after that it may be used again. */
export const IDEMPOTENCY_RETENTION_HOURS = 24;
/** A claim whose request neither finished nor failed (its process died) is freed after this. */
export const IDEMPOTENCY_IN_FLIGHT_LEASE_MINUTES = 5;
/** Every this many claims, one bounded purge of expired keys. */
const PURGE_EVERY = 200;

declare module 'fastify' {
  interface FastifyRequest {
    /** The idempotency key this request claimed and must complete (or release) on send. */
    idempotencyClaim?: { readonly role: string; readonly key: string };
  }
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

export function installIdempotency(app: FastifyInstance, db: Db): void {
  let claims = 0;

  /** Claims (role, key) for this request: a new key, an expired one, or an abandoned claim. */
  async function claim(role: string, key: string, hash: string): Promise<boolean> {
    const { rows } = await sql<{ claimed: boolean }>`
      insert into idempotency_keys (role, key, request_hash) values (${role}, ${key}, ${hash})
      on conflict (role, key) do update
        set request_hash = excluded.request_hash, created_at = now(), status_code = null, content_type = null, response_body = null, completed_at = null
        where idempotency_keys.created_at < now() - make_interval(hours => ${IDEMPOTENCY_RETENTION_HOURS}::int)
           or (idempotency_keys.status_code is null
               and idempotency_keys.created_at < now() - make_interval(mins => ${IDEMPOTENCY_IN_FLIGHT_LEASE_MINUTES}::int))
      returning true as claimed`.execute(db);
    return rows.length === 1;
  }

  async function purgeExpired(): Promise<void> {
    await sql`delete from idempotency_keys where ctid = any(array(
        select ctid from idempotency_keys
        where created_at < now() - make_interval(hours => ${IDEMPOTENCY_RETENTION_HOURS}::int) limit 1000))`.execute(db);
  }

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'POST') return;
    const header = request.headers['idempotency-key'];
    if (header === undefined) return;
    if (typeof header !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(header)) {
      throw new ApiError('validation_failed', 'the Idempotency-Key header must be one value of 1–128 printable ASCII characters without spaces');
    }
    const role = request.apiRole ?? 'public';
    const hash = requestFingerprint(request.method, request.url, request.body);

    for (let attempt = 0; attempt < 3; attempt += 1) {
      if (await claim(role, header, hash)) {
        request.idempotencyClaim = { role, key: header };
        claims += 1;
        if (claims % PURGE_EVERY === 0) await purgeExpired().catch((error: unknown) => request.log.warn({ err: error }, 'idempotency purge failed'));
        return;
      }
      const stored = await db
        .selectFrom('idempotency_keys')
        .select(['request_hash', 'status_code', 'content_type', 'response_body'])
        .where('role', '=', role)
        .where('key', '=', header)
        .executeTakeFirst();
      if (!stored) continue; // released (a 5xx) in between: claim again
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
    throw new ApiError('invalid_state', 'a request with this Idempotency-Key is in progress; retry later');
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const owned = request.idempotencyClaim;
    if (!owned) return payload;
    request.idempotencyClaim = undefined;
    const body = payload === null || payload === undefined ? '' : typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
    const release = () => db.deleteFrom('idempotency_keys').where('role', '=', owned.role).where('key', '=', owned.key).where('status_code', 'is', null).execute();
    try {
      if (reply.statusCode >= 200 && reply.statusCode < 500 && body !== undefined) {
        const contentType = reply.getHeader('content-type');
        await db
          .updateTable('idempotency_keys')
          .set({ status_code: reply.statusCode, content_type: typeof contentType === 'string' ? contentType : null, response_body: body, completed_at: new Date() })
          .where('role', '=', owned.role)
          .where('key', '=', owned.key)
          .execute();
      } else {
        await release();
      }
    } catch (error) {
      request.log.error({ err: error }, 'could not record the response of an Idempotency-Key');
      await release().catch(() => undefined);
    }
    return payload;
  });
}
