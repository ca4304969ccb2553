import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const pg = globalThis.__xingtuTestPg;
  if (!pg) return;
  globalThis.__xingtuTestPg = undefined;
  await pg.server?.stop();
  rmSync(pg.dataDir, { recursive: true, force: true });
}
