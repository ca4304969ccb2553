import { createHmac, randomBytes } from 'node:crypto';

/**
 * E5: Standard Webhooks signing (https://www.standardwebhooks.com), written with node:crypto so the
 * product depends on no webhook library; the tests verify every signature with the independent
 * `standardwebhooks` package.
 *
 * A secret is `whsec_` + base64 of 32 random bytes; the HMAC key is the decoded bytes. The signed
 * content is `{webhook-id}.{webhook-timestamp}.{body}`; the header `webhook-signature` holds one
 * `v1,<base64 HMAC-SHA256>` per valid secret, separated by spaces (two during a rotation).
 */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;
const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;

export function generateWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

export function isWebhookSecret(value: string): boolean {
  return SECRET.test(value);
}

export interface SignedHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

/** The one `v1,…` signature of `body` with `secret`. */
export function webhookSignature(secret: string, id: string, timestampSeconds: number, body: string): string {
  if (!isWebhookSecret(secret)) throw new Error('not a whsec_ secret'); // never echo the value
  const key = Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers, signed with every secret given (current first). */
export function signWebhook(secrets: readonly string[], id: string, timestampSeconds: number, body: string): SignedHeaders {
  if (secrets.length === 0) throw new Error('no secret to sign with');
  if (!Number.isInteger(timestampSeconds) || timestampSeconds < 0) throw new Error('the timestamp is whole seconds since the epoch');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets.map((secret) => webhookSignature(secret, id, timestampSeconds, body)).join(' '),
  };
}
