/**
 * The engine baseline of `npm run bench:orders` (bench/orders.ts), bench-only: bundled for a
 * bench-only worker on its own task queue (bench/orders-child.ts), never part of workflows/index.ts.
 *
 * The shape of an order without the product: a workflow started, then driven by `steps` Updates
 * (the first one stands for the placement), each running one no-op activity — a local activity
 * (`local: true`) or a regular one with the product's retry policy — and answering with a small
 * view. It ends when every step is done, like an order ends with its publication.
 */
import { allHandlersFinished, condition, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { BaselineActivities } from './baseline-activities';
import { baselineStepUpdate, type BaselineInput, type BaselineView } from './baseline-api';

const local = proxyLocalActivities<BaselineActivities>({ startToCloseTimeout: '30 seconds' });
const regular = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' }, // as workflows/task-order.ts
});

export async function baselineOrderWorkflow({ steps, local: useLocal }: BaselineInput): Promise<BaselineView> {
  const { noop } = useLocal ? local : regular;
  let done = 0;
  setHandler(
    baselineStepUpdate,
    async ({ step }) => {
      await noop(step);
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
