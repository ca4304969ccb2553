// Pinned versions (temporal-tools.json) and the cache location of the Temporal servers; the
// runtime twin of this file is platform/temporal-tools.ts.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const TOOLS = JSON.parse(readFileSync(new globalThis.URL('./temporal-tools.json', import.meta.url), 'utf8'));

export function toolsDir() {
  if (process.env.XINGTU_TOOLS_DIR) return process.env.XINGTU_TOOLS_DIR;
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cacheHome, 'xingtu-order-workflows', 'tools');
}
