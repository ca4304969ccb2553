/**
 * The bench's two limits of `npm run bench:orders` (bench/orders.ts; SPEC §10 "Speed"), bench-only:
 * bundled for a bench-only worker on its own task queue (bench/orders-child.ts), never part of
 * workflows/index.ts.
 *
 * baselineOrderWorkflow — the engine doing nothing: an order without the product, a workflow
 * started, then driven by `steps` Updates (the first one stands for the placement), each running one
 * no-op activity — a local activity (`local: true`) or a regular one with the product's retry
 * policy — and answering with a small view. It ends when every step is done, like an order ends
 * with its publication. `bare`: no activity at all, the Update answered by its handler in its one
 * workflow task — the floor of any command on the machine.
 *
 * sameJobOrderWorkflow — the engine doing the order's job with nothing of ours: per command one
 * Update whose local activity inserts one row into PostgreSQL, then the search attributes upserted
 * (the product's five keys) and the deadline timer re-armed (cancelled and started again; the last
 * command only cancels it), all in the Update's one workflow task.
 */
import {
  CancellationScope,
  allHandlersFinished,
  condition,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES } from '../platform/search-attribute-keys';
import type { BaselineActivities, SameJobActivities } from './baseline-activities';
import { baselineStepUpdate, type BaselineInput, type BaselineView, type SameJobInput } from './baseline-api';

const local = proxyLocalActivities<BaselineActivities>({ startToCloseTimeout: '30 seconds' });
const regular = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' }, // as workflows/task-order.ts
});
const { insertRow } = proxyLocalActivities<SameJobActivities>({ startToCloseTimeout: '30 seconds' });

/** The deadline the same-job order re-arms per command (never reached within a bench). */
const DEADLINE_MS = 7 * 86_400_000;

export async function baselineOrderWorkflow({ steps, local: useLocal, bare = false }: BaselineInput): Promise<BaselineView> {
  const { noop } = useLocal ? local : regular;
  let done = 0;
  setHandler(
    baselineStepUpdate,
    async ({ step }) => {
      if (!bare) await noop(step);
      done += 1;
      return { step, status: done >= steps ? 'completed' : `step-${done}` };
    },
    { validator: ({ step }) => {
      if (step !== done + 1) throw new Error(`step ${step} out of order (next: ${done + 1})`);
    } },
  );
  await condition(() => done >= steps);
  await condition(allHandlersFinished);
  return { step: done, status: 'completed' };
}

export async function sameJobOrderWorkflow({ orderId, clientId, creatorId, steps }: SameJobInput): Promise<BaselineView> {
  let done = 0;
  let deadline: CancellationScope | undefined;
  const rearm = (last: boolean) => {
    deadline?.cancel();
    deadline = undefined;
    if (last) return;
    const scope = new CancellationScope();
    // A deadline that fires would be the next command; in the bench it never does.
    scope.run(() => sleep(DEADLINE_MS)).catch(() => undefined);
    deadline = scope;
  };
  setHandler(
    baselineStepUpdate,
    async ({ step }) => {
      await insertRow({ orderId, step, command: { type: `step-${step}`, orderId } });
      done += 1;
      const status = done >= steps ? 'completed' : `step-${done}`;
      upsertSearchAttributes([
        { key: SEARCH_ATTRIBUTES.orderKind, value: 'bench' },
        { key: SEARCH_ATTRIBUTES.orderStatus, value: status },
        { key: SEARCH_ATTRIBUTES.clientId, value: clientId },
        { key: SEARCH_ATTRIBUTES.creatorId, value: creatorId },
        { key: SEARCH_ATTRIBUTES.nextDeadlineAt, value: done >= steps ? null : new Date(Date.now() + DEADLINE_MS) },
      ]);
      rearm(done >= steps);
      return { step, status };
    },
    { validator: ({ step }) => {
      if (step !== done + 1) throw new Error(`step ${step} out of order (next: ${done + 1})`);
    } },
  );
  await condition(() => done >= steps);
  await condition(allHandlersFinished);
  return { step: done, status: 'completed' };
}
