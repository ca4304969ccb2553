import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { dataConverter } from '../platform/data-converter';
import { installQuietRuntime, workflowBundle } from './support/temporal';

/**
 * Recorded histories (test/histories, written by `npm run record-histories`) must replay against
 * the current workflow code: a non-deterministic change fails here instead of in production.
 */
const dir = join(__dirname, 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

test('every recorded history replays deterministically against the current workflow code', async () => {
  installQuietRuntime();
  expect(files.length).toBeGreaterThan(0);
  const histories = files.map((file) => ({ workflowId: file, history: historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8'))) }));
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle(), dataConverter }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
  }
  expect(failures).toEqual([]);
}, 120_000);
