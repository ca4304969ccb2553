import { lookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { checkWebhookUrl, guardedLookup, type WebhookUrlPolicy } from '../platform/url-safety';
import type { AttemptOutcome } from '../db/webhooks';

/** What is kept of a response body: enough to see an error page's gist. */
export const RESPONSE_SNIPPET_BYTES = 512;

export interface HttpAttempt {
  readonly outcome: AttemptOutcome;
  readonly statusCode: number | null;
  readonly responseSnippet: string | null;
  readonly error: string | null;
}

/** The send was cut off by the loop being killed: nothing is recorded (the lease runs out instead). */
export class DeliveryKilled extends Error {}

/**
 * One POST of a signed webhook. Never follows a redirect (a 3xx is a failure like any non-2xx),
 * re-checks the URL against the policy and every resolved address (DNS rebinding), and gives up
 * after `timeoutMs` for the whole exchange.
 */
export function postWebhook(target: string, headers: Record<string, string>, body: string, options: { timeoutMs: number; policy: WebhookUrlPolicy; kill: AbortSignal }): Promise<HttpAttempt> {
  const checked = checkWebhookUrl(target, options.policy);
  if (!checked.ok) return Promise.resolve({ outcome: 'refused_target', statusCode: null, responseSnippet: null, error: checked.reason });
  const url = checked.url;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([timeout, options.kill]);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<HttpAttempt>((resolve, reject) => {
    const fail = (error: unknown) => {
      if (options.kill.aborted) return reject(new DeliveryKilled('the delivery loop was killed'));
      if (timeout.aborted) return resolve({ outcome: 'timeout', statusCode: null, responseSnippet: null, error: `no answer within ${options.timeoutMs} ms` });
      const code = (error as { code?: unknown }).code;
      const message = error instanceof Error ? error.message : String(error);
      resolve({ outcome: code === 'EWEBHOOKTARGET' ? 'refused_target' : 'network_error', statusCode: null, responseSnippet: null, error: message.slice(0, 500) });
    };
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'xingtu-webhooks/1' },
        lookup: guardedLookup(options.policy, lookup) as never,
        // A connection per attempt: no pooled socket outlives the attempt (or the loop, when it stops).
        agent: false,
        signal,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on('data', (chunk: Buffer) => {
          if (kept < RESPONSE_SNIPPET_BYTES) {
            chunks.push(chunk.subarray(0, RESPONSE_SNIPPET_BYTES - kept));
            kept += Math.min(chunk.length, RESPONSE_SNIPPET_BYTES - kept);
          }
        });
        response.on('error', fail);
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          const snippet = Buffer.concat(chunks).toString('utf8').replace(/\uFFFD+$/, '');
          resolve({ outcome: status >= 200 && status < 300 ? 'delivered' : 'http_error', statusCode: status, responseSnippet: snippet === '' ? null : snippet, error: null });
        });
      },
    );
    request.on('error', fail);
    request.end(body);
  });
}
