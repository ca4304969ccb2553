import { lookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { checkWebhookUrl, guardedLookup, type WebhookUrlPolicy } from '../platform/url-safety';
import type { AttemptOutcome } from '../platform/webhook-outcomes';

/** What is read and kept of a response body: enough to see an error page's gist; the rest is never read. */
export const RESPONSE_SNIPPET_BYTES = 512;
/** The longest `error` kept (the column's limit is 500). */
export const ATTEMPT_ERROR_CHARS = 300;
/** Response headers larger than this are a network_error (node's parser refuses them). */
const MAX_RESPONSE_HEADER_BYTES = 16 * 1024;

export interface HttpAttempt {
  readonly outcome: AttemptOutcome;
  readonly statusCode: number | null;
  readonly responseSnippet: string | null;
  readonly error: string | null;
}

/** The send was cut off by the loop being killed: nothing is recorded (the lease runs out instead). */
export class DeliveryKilled extends Error {}

/**
 * C0 controls but tab, newline and carriage return; DEL; C1 controls. PostgreSQL refuses NUL in
 * text (`invalid byte sequence … 0x00`) and the others make a listing unreadable; each becomes U+FFFD.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
/** A surrogate without its pair (e.g. a string cut between the two): not encodable as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Any text that a peer may have shaped (a response body, a Location header, a TLS error naming the
 * peer's certificate) as PostgreSQL accepts it: well-formed UTF-16 (no lone surrogate), no NUL nor
 * other control character, at most `maxChars` characters.
 */
export function storableText(text: string, maxChars: number): string {
  return text.slice(0, maxChars).replace(LONE_SURROGATE, '\uFFFD').replace(UNPRINTABLE, '\uFFFD');
}

/**
 * The stored start of a response body, whatever its bytes (binary, gzip, NUL, invalid UTF-8): decoded
 * as UTF-8 with U+FFFD for invalid sequences, a multi-byte character cut at the end dropped, controls
 * replaced (storableText). At most RESPONSE_SNIPPET_BYTES characters; null for an empty body.
 */
export function responseSnippet(bytes: Uint8Array): string | null {
  // stream: true holds back (drops) an incomplete sequence at the end: the body was cut there, not wrong there.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, RESPONSE_SNIPPET_BYTES), { stream: true });
  return text === '' ? null : storableText(text, RESPONSE_SNIPPET_BYTES);
}

/** The outcome of an answer with this status; a redirect is a failure, and says where it pointed (not followed). */
function answered(response: http.IncomingMessage, body: Uint8Array): HttpAttempt {
  const status = response.statusCode ?? 0;
  const location = status >= 300 && status < 400 ? response.headers.location : undefined;
  return {
    outcome: status >= 200 && status < 300 ? 'delivered' : 'http_error',
    statusCode: status,
    responseSnippet: responseSnippet(body),
    error: location === undefined ? null : storableText(`redirect not followed (location: ${location})`, ATTEMPT_ERROR_CHARS),
  };
}

/**
 * Reads at most RESPONSE_SNIPPET_BYTES of the body, then stops reading (the socket is destroyed: a
 * 10 MB or endless body is never buffered). Content-Encoding is ignored: a gzip body is kept as the
 * bytes it is, never inflated. Resolves once enough is read, at the body's end, or when the
 * exchange is cut off (the timeout, a reset) after the status arrived: the status decides.
 */
function readSnippet(response: http.IncomingMessage, done: (body: Uint8Array) => void): void {
  const chunks: Buffer[] = [];
  let kept = 0;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done(Buffer.concat(chunks));
  };
  response.on('data', (chunk: Buffer) => {
    if (finished) return;
    chunks.push(chunk.subarray(0, RESPONSE_SNIPPET_BYTES - kept));
    kept += Math.min(chunk.length, RESPONSE_SNIPPET_BYTES - kept);
    if (kept < RESPONSE_SNIPPET_BYTES) return;
    finish();
    response.destroy();
  });
  response.on('end', finish);
  response.on('error', finish);
  response.on('close', finish);
}

/**
 * One POST of a signed webhook. Never follows a redirect (a 3xx is a failure like any non-2xx),
 * re-checks the URL against the policy and every resolved address (DNS rebinding), and gives up
 * after `timeoutMs` for the whole exchange up to the status (a receiver that never answers, or
 * answers later, is a `timeout`). Whatever the peer does — any bytes, any size, a reset, a TLS
 * failure — the result is an outcome with storable text, never an exception (but DeliveryKilled).
 */
export function postWebhook(target: string, headers: Record<string, string>, body: string, options: { timeoutMs: number; policy: WebhookUrlPolicy; kill: AbortSignal }): Promise<HttpAttempt> {
  const checked = checkWebhookUrl(target, options.policy);
  if (!checked.ok) return Promise.resolve({ outcome: 'refused_target', statusCode: null, responseSnippet: null, error: storableText(checked.reason, ATTEMPT_ERROR_CHARS) });
  const url = checked.url;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([timeout, options.kill]);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<HttpAttempt>((resolve, reject) => {
    let status: number | undefined;
    const fail = (error: unknown) => {
      if (options.kill.aborted) return reject(new DeliveryKilled('the delivery loop was killed'));
      if (status !== undefined) return; // the answer is being read: readSnippet resolves with it
      if (timeout.aborted) return resolve({ outcome: 'timeout', statusCode: null, responseSnippet: null, error: `no answer within ${options.timeoutMs} ms` });
      const code = (error as { code?: unknown }).code;
      const message = error instanceof Error ? error.message : String(error);
      const described = typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
      resolve({ outcome: code === 'EWEBHOOKTARGET' ? 'refused_target' : 'network_error', statusCode: null, responseSnippet: null, error: storableText(described, ATTEMPT_ERROR_CHARS) });
    };
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'xingtu-webhooks/1' },
        lookup: guardedLookup(options.policy, lookup) as never,
        // A connection per attempt: no pooled socket outlives the attempt (or the loop, when it stops).
        agent: false,
        maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
        signal,
      },
      (response) => {
        status = response.statusCode ?? 0;
        readSnippet(response, (bytes) => {
          if (options.kill.aborted) return reject(new DeliveryKilled('the delivery loop was killed'));
          resolve(answered(response, bytes));
          request.destroy();
        });
      },
    );
    request.on('error', fail);
    request.end(body);
  });
}
