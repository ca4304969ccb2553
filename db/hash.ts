import { createHash } from 'node:crypto';

/** JSON with sorted keys (the one definition is pure, in domain/json.ts: workflows compare with it too). */
export { canonicalJson } from '../domain/json';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
