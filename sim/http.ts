import { randomUUID } from 'node:crypto';
import type { ApiRole } from '../platform/config';
import type { Exchange, SimHttp, SimHttpOptions } from './types';

export interface SimHttpConfig {
  readonly baseUrl: string;
  readonly tokens: Readonly<Record<ApiRole, string>>;
  /** Every attempt of every request, as it happened (the run's checks read them). */
  readonly record: (exchange: Exchange) => void;
  /** One attempt's limit; past it the attempt counts as unanswered (status 0). Default 45 s (> the API's 30 s command wait). */
  readonly requestTimeoutMs?: number;
  /** `call`'s budget over all its attempts. Default 120 s. */
  readonly callBudgetMs?: number;
  readonly maxAttempts?: number;
  /** Prefix of the Idempotency-Keys `call` makes up for `idempotent` requests. */
  readonly keyPrefix?: string;
}

interface Attempt {
  readonly exchange: Exchange;
  readonly retryAfterMs: number | undefined;
}

const MAX_BACKOFF_MS = 2000;

/**
 * The API as a careful main backend uses it (sim/types.ts SimHttp). `send` makes one attempt;
 * `call` retries an unanswered request or a `503 unavailable` with backoff (honouring Retry-After,
 * at most 2 s), always with the same Idempotency-Key, until a definitive answer or its budget is
 * spent. What may be retried:
 * - GET: always;
 * - POST with an Idempotency-Key (given, or made up by `call` when `idempotent` is set): 503, no
 *   answer, and — on a retry — `409` "this Idempotency-Key is still in progress" (the first
 *   attempt's request is still running on the server);
 * - POST without a key: only 503 (the API ran nothing, or only what the retry repeats harmlessly: a
 *   view count stored before its wake-up failed, B8); no answer is returned as it is, since the
 *   request may have been applied and a blind retry could apply it twice.
 * When the budget runs out the answer is the last attempt with status 0 (`response.gaveUp`).
 */
export function createSimHttp(config: SimHttpConfig): SimHttp {
  const { baseUrl, tokens, record, requestTimeoutMs = 45_000, callBudgetMs = 120_000, maxAttempts = 60, keyPrefix = 'sim' } = config;

  async function attempt(method: 'GET' | 'POST', path: string, body: unknown, role: ApiRole, key: string | undefined): Promise<Attempt> {
    const headers: Record<string, string> = { authorization: `Bearer ${tokens[role]}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (key !== undefined) headers['idempotency-key'] = key;
    const startedAtMs = Date.now();
    let status = 0;
    let response: unknown;
    let retryAfterMs: number | undefined;
    try {
      const answer = await fetch(`${baseUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      const text = await answer.text();
      status = answer.status;
      response = parse(text);
      const retryAfter = Number(answer.headers.get('retry-after'));
      if (Number.isFinite(retryAfter) && retryAfter >= 0 && answer.headers.has('retry-after')) retryAfterMs = retryAfter * 1000;
    } catch (error) {
      status = 0;
      response = { noAnswer: describe(error) };
    }
    const exchange: Exchange = {
      method,
      path,
      ...(body === undefined ? {} : { body }),
      ...(key === undefined ? {} : { idempotencyKey: key }),
      status,
      response,
      startedAtMs,
      endedAtMs: Date.now(),
    };
    record(exchange);
    return { exchange, retryAfterMs };
  }

  return {
    async send(method, path, body, options: SimHttpOptions = {}) {
      return (await attempt(method, path, body, options.role ?? 'backend', options.idempotencyKey)).exchange;
    },

    async call(method, path, body, options: SimHttpOptions = {}) {
      const role = options.role ?? 'backend';
      const key = options.idempotencyKey ?? (method === 'POST' && options.idempotent ? `${keyPrefix}-${randomUUID()}` : undefined);
      const mayRetryUnanswered = method === 'GET' || key !== undefined;
      const deadline = Date.now() + callBudgetMs;
      let last: Attempt | undefined;
      const earlier: Array<{ status: number; startedAtMs: number; endedAtMs: number }> = [];
      const answer = (exchange: Exchange): Exchange => (earlier.length ? { ...exchange, earlierAttempts: [...earlier] } : exchange);
      for (let n = 1; n <= maxAttempts; n++) {
        if (last) earlier.push({ status: last.exchange.status, startedAtMs: last.exchange.startedAtMs, endedAtMs: last.exchange.endedAtMs });
        last = await attempt(method, path, body, role, key);
        const { status, response } = last.exchange;
        const retry =
          status === 503 ||
          (status === 0 && mayRetryUnanswered) ||
          (n > 1 && key !== undefined && status === 409 && isKeyInProgress(response));
        if (!retry) return answer(last.exchange);
        const backoff = Math.min(MAX_BACKOFF_MS, last.retryAfterMs ?? 150 * 2 ** Math.min(n - 1, 4));
        const delay = backoff / 2 + Math.random() * (backoff / 2);
        if (Date.now() + delay >= deadline) break;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      const final = (last as Attempt).exchange;
      return answer({ ...final, status: 0, response: { gaveUp: true, lastStatus: final.status, lastResponse: final.response } });
    },
  };
}

/** The API's answer to a duplicate whose first request still runs (api/idempotency.ts). */
function isKeyInProgress(response: unknown): boolean {
  const error = (response as { error?: { code?: string; message?: string } } | undefined)?.error;
  return error?.code === 'invalid_state' && /Idempotency-Key is (still )?in progress/i.test(error.message ?? '');
}

function parse(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const code = (cause as { code?: string } | undefined)?.code;
  return `${error.name}: ${error.message}${code ? ` (${code})` : cause instanceof Error ? ` (${cause.message})` : ''}`;
}
