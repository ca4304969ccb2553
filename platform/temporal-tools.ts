import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import tools from '../scripts/temporal-tools.json';

type ToolName = keyof typeof tools;

function toolsDir(): string {
  if (process.env.XINGTU_TOOLS_DIR) return process.env.XINGTU_TOOLS_DIR;
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cacheHome, 'xingtu-order-workflows', 'tools');
}

/**
 * The server binary to run: the env var (set by .ci/run), else the copy `npm run provision`
 * cached, else undefined, and the SDK downloads its own (machines with internet access).
 */
export function temporalExecutable(name: ToolName): { type: 'existing-path'; path: string } | undefined {
  const fromEnv = process.env[name];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`${name}=${fromEnv} does not exist`);
    return { type: 'existing-path', path: fromEnv };
  }
  const tool = tools[name];
  const cached = join(toolsDir(), tool.dir, tool.binary);
  return existsSync(cached) ? { type: 'existing-path', path: cached } : undefined;
}
