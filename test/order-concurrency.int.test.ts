import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { taskOrderWorkflowId } from '../workflows/task-order-api';
import type { TestDatabase } from './support/db';
import { runBurst } from './support/concurrent-updates';
import { withTimeSkippingWorker } from './support/temporal';

/** SPEC §1 Concurrency on the time-skipping server (the same burst runs on the dev server in order-concurrency.e2e). */
let env: TestWorkflowEnvironment;
let database: TestDatabase;
withTimeSkippingWorker('order-concurrency-test', (world) => ({ env, database } = world));

describe('SPEC §1 Concurrency: many Updates to one order at once (time-skipping server)', () => {
  test('20 mixed Updates at once: each answered, applied strictly one at a time, none wedges the order', async () => {
    // SPEC §10 Speed: commands write through local activities inside their workflow task. This
    // server refuses a task's completion when Updates arrived meanwhile (UNHANDLED_COMMAND), after
    // its local writes: the retried task meets them, in another order (order-runtime's takeStored).
    // 40 rounds meet that a few times (2 of 40 in one run); checkBurst holds every burst.
    const rounds = 40;
    const results = [];
    for (let i = 0; i < rounds; i += 1) results.push(await runBurst(env.client, database.db, 'order-concurrency-test'));
    const problems = results.flatMap((r) => r.problems.map((p) => `${r.orderId}: ${p}`));
    expect(problems).toEqual([]);
    if (process.env.RECORD_HISTORIES === '1') {
      // A burst's history, replayed by replay.int: later changes to the runtime's lock must keep it.
      const history = await env.client.workflow.getHandle(taskOrderWorkflowId(results[0]!.orderId)).fetchHistory();
      writeFileSync(join(__dirname, 'histories', 'task-order-concurrent-burst.json'), historyToJSON(history));
    }
    const lost = await Promise.all(
      results.map(async (r) => ((await env.client.workflow.getHandle(taskOrderWorkflowId(r.orderId)).fetchHistory()).events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).length),
    );
    console.log(`bursts whose workflow task was refused after its local writes: ${lost.filter((n) => n > 0).length} of ${rounds}`);
    for (const r of results) {
      expect(r.answers.filter((a) => a.outcome === 'applied').length).toBeGreaterThan(0);
      expect(r.answers.filter((a) => a.outcome === 'refused').length).toBeGreaterThan(0);
    }
  }, 180_000);
});
