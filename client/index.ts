import createClient, { type Client } from 'openapi-fetch';
import { parseJsonExact } from './json';
import type { paths } from './schema';

/**
 * The typed TypeScript client of the Xingtu order-workflows API (issue 12 item 4): openapi-fetch
 * over the types openapi-typescript generated from the API's own OpenAPI document
 * (client/schema.d.ts, `npm run client:generate`). Paths, parameters, bodies and every documented
 * response — errors included — are checked by the compiler:
 *
 *     const api = createXingtuClient({ baseUrl: 'http://127.0.0.1:3000', token: process.env.XINGTU_TOKEN! });
 *     const { data, error, response } = await api.POST('/v1/task-orders/{orderId}/accept', {
 *       params: { path: { orderId: 'o-1' }, header: { 'Idempotency-Key': 'accept-o-1' } },
 *       body: { actor: { type: 'creator', id: 'k-1' } },
 *     });
 *
 * Safe retries (SPEC §8): every POST carries an Idempotency-Key — the caller's own (best: derived
 * from its own operation, so a retry after a crash reuses it) or, when it gives none, a fresh
 * random one per call. A call answered `503 unavailable`, or failing on the network, is retried
 * with the same key, after the server's Retry-After, a bounded number of times: the API runs it
 * once (a replayed answer says `Idempotent-Replayed: true`).
 *
 * This file imports nothing from the API's code, so client/ can be used on its own.
 */

export type { components, operations, paths } from './schema';
export { parseJsonExact } from './json';

export type XingtuClient = Client<paths>;

export interface XingtuClientOptions {
  /** The API's root, e.g. `http://127.0.0.1:3000` (no trailing `/v1`). */
  readonly baseUrl: string;
  /** A bearer token of API_TOKENS; its role decides which operations answer (x-roles). */
  readonly token: string;
  /** Retries of a call answered 503 or failing on the network (default 2, at most 5; 0: none). */
  readonly retries?: number;
  /** The longest wait before a retry, whatever Retry-After says (default 5000 ms). */
  readonly maxRetryDelayMs?: number;
  /** `auto` (default): a POST without an Idempotency-Key gets a random one; `off`: only the caller's. */
  readonly idempotencyKeys?: 'auto' | 'off';
  /** Extra headers for every call (e.g. a request id). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The fetch to use (default globalThis.fetch). */
  readonly fetch?: (input: Request) => Promise<Response>;
}

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
const MAX_RETRIES = 5;
const FALLBACK_RETRY_DELAY_MS = 1000;

export function createXingtuClient(options: XingtuClientOptions): XingtuClient {
  const { baseUrl, token, headers = {} } = options;
  return createClient<paths>({
    baseUrl: baseUrl.replace(/\/+$/, ''),
    headers: { ...headers, authorization: `Bearer ${token}` },
    fetch: retryingFetch(options),
  });
}

/** A fresh random Idempotency-Key (1–128 printable ASCII characters, SPEC §8). */
export function newIdempotencyKey(): string {
  return `xc-${crypto.randomUUID()}`;
}

/** The fetch the client calls: adds the POST's key, then retries 503s and network errors with it. */
function retryingFetch(options: XingtuClientOptions): (input: Request) => Promise<Response> {
  const base = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const retries = Math.max(0, Math.min(MAX_RETRIES, Math.trunc(options.retries ?? 2)));
  const maxDelayMs = Math.max(0, options.maxRetryDelayMs ?? 5000);
  return async (input) => {
    const request = withIdempotencyKey(input, options.idempotencyKeys ?? 'auto');
    // Without a key a POST is retried only when it never reached the server (a network error).
    const replayable = request.method !== 'POST' || request.headers.has(IDEMPOTENCY_KEY_HEADER);
    for (let attempt = 0; ; attempt += 1) {
      const last = attempt >= retries;
      let response: Response;
      try {
        response = await base(last ? request : request.clone());
      } catch (error) {
        if (last) throw error;
        await sleep(Math.min(maxDelayMs, FALLBACK_RETRY_DELAY_MS));
        continue;
      }
      if (response.status !== 503 || last || !replayable) return withExactJson(response);
      await response.body?.cancel();
      await sleep(Math.min(maxDelayMs, retryAfterMs(response.headers.get('retry-after'))));
    }
  };
}

/**
 * Issue 18: amounts and totals may exceed 2^53, where `JSON.parse` rounds silently. The client
 * reads every body with parseJsonExact (client/json.ts): such an integer arrives as a bigint, and
 * the generated types say `number | bigint` for every amount (format int64).
 */
function withExactJson(response: Response): Response {
  Object.defineProperty(response, 'json', { value: async () => parseJsonExact(await response.text()) });
  return response;
}

function withIdempotencyKey(request: Request, mode: 'auto' | 'off'): Request {
  if (mode === 'off' || request.method !== 'POST' || request.headers.has(IDEMPOTENCY_KEY_HEADER)) return request;
  const headers = new Headers(request.headers);
  headers.set(IDEMPOTENCY_KEY_HEADER, newIdempotencyKey());
  return new Request(request, { headers });
}

/** Retry-After in seconds (SPEC §8 sends seconds); anything else: one second. */
function retryAfterMs(value: string | null): number {
  const seconds = value === null ? Number.NaN : Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : FALLBACK_RETRY_DELAY_MS;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
