import type { FastifyInstance } from 'fastify';
import { parseJsonExact, stringifyExact } from '../../platform/exact-json';
import type { ConsoleSession } from './session';

/**
 * The console calls the API's own routes with the session's bearer token, over the loopback
 * interface to this very process: the same handlers, role checks (403 for a role a route does not
 * allow), validation, Idempotency-Key handling and error codes as any API client, and no business
 * rule duplicated here. (Not `app.inject`: light-my-request loads the ESM-only `cookie` package
 * with require(), which jest's CommonJS runtime cannot do, so the console could not be tested as it
 * runs; a loopback request costs about a millisecond.)
 */
export interface ApiAnswer {
  readonly status: number;
  /**
   * The JSON body, read exactly (platform/exact-json.ts), with every amount a bigint: an integer
   * named `…Fen` (SPEC §1: units in names) is a bigint whatever its size, so the pages handle money
   * as bigint fen only (amountsAsBigint).
   */
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly text: string;
  readonly headers: Headers;
}

export type ConsoleApi = (method: 'GET' | 'POST', url: string, body?: unknown, idempotencyKey?: string) => Promise<ApiAnswer>;

/** The longest a console page waits for the API (the audit of a large ledger takes a while). */
const API_TIMEOUT_MS = 120_000;

/** This process's own API address, reached over loopback whatever interface it listens on. */
export function loopbackBaseUrl(app: FastifyInstance): string {
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the console needs the API to listen on a TCP port');
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const host = wildcard ? (address.family === 'IPv6' ? '[::1]' : '127.0.0.1') : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * `signal`: the console request's own (api/stream-reply.ts abortWhenClientLeaves): when the browser
 * goes away, the API call is abandoned too, so an audit nobody waits for stops (issue 18).
 */
export function consoleApi(app: FastifyInstance, session: ConsoleSession, signal?: AbortSignal): ConsoleApi {
  return async (method, url, body, idempotencyKey) => {
    const response = await fetch(`${loopbackBaseUrl(app)}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${session.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: withTimeout(signal, API_TIMEOUT_MS),
    });
    return answerOf(response, await response.text());
  };
}

function withTimeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  return signal ? AbortSignal.any([signal, AbortSignal.timeout(ms)]) : AbortSignal.timeout(ms);
}

/** An API answer from a response and its text. */
export function answerOf(response: Response, text: string): ApiAnswer {
  const isJson = (response.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: response.status, body: isJson && text ? amountsAsBigint(parseJsonExact(text)) : undefined, text, headers: response.headers };
}

/** An amount's name: `priceFen`, `amountFen`, `totalFen` (SPEC §1: units in names). */
const AMOUNT_KEY = /Fen$/;

/**
 * Every integer of a JSON value whose key names an amount (`…Fen`, or an element of a list so
 * named) as a bigint; everything else as it is. The API writes amounts as JSON integers, which
 * parseJsonExact reads as a number up to 2^53 and a bigint beyond: after this, always a bigint.
 */
export function amountsAsBigint(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((item: unknown) => amountsAsBigint(item, key));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, amountsAsBigint(v, k)]));
  return typeof value === 'number' && Number.isInteger(value) && AMOUNT_KEY.test(key) ? BigInt(value) : value;
}

/**
 * A GET whose body the caller streams on (the CSV export, issue 18): not read here, so the console
 * never holds a whole export in memory; `signal` abandons it when the browser goes away. No overall
 * timeout: a long download is fine while it moves (the API disconnects a reader that stalls).
 */
export function consoleDownload(app: FastifyInstance, session: ConsoleSession, url: string, signal: AbortSignal): Promise<Response> {
  return fetch(`${loopbackBaseUrl(app)}${url}`, { headers: { authorization: `Bearer ${session.token}` }, signal });
}

/** The `{error: {code, message}}` of a refusal, as one line for the page. */
export function errorLine(answer: ApiAnswer): { code: string; message: string } {
  const error = answer.body?.error as { code?: string; message?: string; details?: unknown } | undefined;
  const details = error?.details === undefined ? '' : ` ${stringifyExact(error.details)}`;
  return { code: error?.code ?? `http_${answer.status}`, message: `${error?.message ?? 'the API refused the request'}${details}` };
}

/** A path segment, encoded (ids come from users). */
export const seg = (value: string) => encodeURIComponent(value);

/** A query string from the defined, non-empty values. */
export function query(values: Record<string, string | number | undefined | null>): string {
  const entries = Object.entries(values).filter(([, v]) => v !== undefined && v !== null && v !== '') as Array<[string, string | number]>;
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
}
