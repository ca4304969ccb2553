import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * E5: webhook signing secrets at rest. With WEBHOOK_SECRETS_KEY set, a secret is stored as
 * `enc1.<iv>.<ciphertext>.<tag>` (AES-256-GCM, the endpoint id as associated data, so a value
 * copied onto another endpoint does not open); a database dump alone then cannot forge webhooks.
 * Without the key, secrets are stored as they are (`whsec_…`), and such stored values stay readable
 * once a key is set (a rotation stores the new secret sealed). docs/decisions.md says why.
 */
export interface SecretBox {
  /** What to store for `secret` of `endpointId`. */
  seal(secret: string, endpointId: string): string;
  /** The secret a stored value holds; throws SecretUnreadableError if it cannot be opened. */
  open(stored: string, endpointId: string): string;
}

const PREFIX = 'enc1';

export class SecretUnreadableError extends Error {
  constructor(endpointId: string, why: string) {
    super(`the signing secret of webhook endpoint ${endpointId} cannot be read: ${why}`);
    this.name = 'SecretUnreadableError';
  }
}

export function createSecretBox(key: Buffer | undefined): SecretBox {
  if (key !== undefined && key.length !== 32) throw new RangeError('the webhook secrets key must be 32 bytes');
  return {
    seal(secret, endpointId) {
      if (key === undefined) return secret;
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(endpointId, 'utf8'));
      const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return [PREFIX, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    open(stored, endpointId) {
      if (!stored.startsWith(`${PREFIX}.`)) return stored; // stored before a key was set
      if (key === undefined) throw new SecretUnreadableError(endpointId, 'it is encrypted and WEBHOOK_SECRETS_KEY is not set');
      const [, iv, body, tag] = stored.split('.');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv ?? '', 'base64url'));
        decipher.setAAD(Buffer.from(endpointId, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body ?? '', 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretUnreadableError(endpointId, 'WEBHOOK_SECRETS_KEY is not the key it was stored with (or the value was altered)');
      }
    },
  };
}
