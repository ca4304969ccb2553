import { WorkflowUpdateStage } from '@temporalio/client';
import { TASK_COMMAND_UPDATES, taskOrderWorkflowId } from '../workflows/task-order-api';
import { runBurst } from './support/concurrent-updates';
import { placement, placementBody } from './support/fixtures';
import { withStack } from './support/stack';

/**
 * SPEC §1 Concurrency on the dev server: the same 20-Update burst as order-concurrency.int (on
 * the time-skipping server), and the trios the main backend sent through the API when orders
 * wedged (remind/accept/remind; accept/cancel/reject), many orders at once.
 */
const stack = withStack('dev');

const { post } = stack;

async function placeOrder(mode: 'full' | 'deposit') {
  const p = placement({ paymentMode: mode });
  const placed = await post('/v1/task-orders', placementBody(p));
  expect(placed.status).toBe(201);
  return { orderId: p.orderId, client: { type: 'client' as const, id: p.clientId }, creator: { type: 'creator' as const, id: p.creatorId } };
}

test('SPEC §1: 20 mixed Updates at once on the dev server, 4 orders in parallel: each answered, applied one at a time', async () => {
  const results = await Promise.all(Array.from({ length: 4 }, () => runBurst(stack.env.client, stack.database.db, stack.taskQueue)));
  expect(results.flatMap((r) => r.problems.map((p) => `${r.orderId}: ${p}`))).toEqual([]);
  // The burst starts on an order awaiting acceptance with the client's first reminder in it, so
  // some Update must apply whatever the order; and checkBurst checked each refusal's code against
  // the decider at the points of the applied sequence.
  for (const r of results) expect(r.answers.filter((a) => a.outcome === 'applied').length).toBeGreaterThanOrEqual(1);
}, 120_000);

test('SPEC §1: remind, accept, remind at the same instant on 15 orders → accept applied, one reminder at most, never 202 or 5xx', async () => {
  const outcomes = await Promise.all(
    Array.from({ length: 15 }, async () => {
      const { orderId, client, creator } = await placeOrder('full');
      const [r1, accept, r2] = await Promise.all([
        post(`/v1/task-orders/${orderId}/remind`, { actor: client }),
        post(`/v1/task-orders/${orderId}/accept`, { actor: creator }),
        post(`/v1/task-orders/${orderId}/remind`, { actor: client }),
      ]);
      const order = await stack.get(`/v1/task-orders/${orderId}`);
      return { statuses: [r1.status, accept.status, r2.status], reminders: [r1, r2].filter((r) => r.status === 200).length, status: order.body.status };
    }),
  );
  for (const o of outcomes) {
    expect(o.statuses[1]).toBe(200);
    expect(o.statuses.every((s) => s === 200 || s === 409 || s === 429)).toBe(true);
    expect(o.reminders).toBeLessThanOrEqual(1);
    expect(o.status).toBe('in_production');
  }
}, 120_000);

test('SPEC §1: accept, client cancel, creator reject at the same instant on 15 orders → answers and final state of one sequential order, never 202 or 5xx', async () => {
  // Deposit mode: the first of the three decides. Reject or cancel first closes the order (the
  // others 409); accept first leaves the cancel as a request for the creator to answer (T20).
  const sequential: Record<string, string> = {
    reject: 'cancelled/rejected_by_creator',
    cancel: 'cancelled/cancelled_by_client_before_acceptance',
    'accept,cancel': 'awaiting_balance/cancellation_requested',
  };
  const outcomes = await Promise.all(
    Array.from({ length: 15 }, async () => {
      const { orderId, client, creator } = await placeOrder('deposit');
      const commands = [
        ['accept', { actor: creator }],
        ['cancel', { actor: client, reason: 'changed plans' }],
        ['reject', { actor: creator, reason: 'busy' }],
      ] as const;
      const answers = await Promise.all(commands.map(([c, body]) => post(`/v1/task-orders/${orderId}/${c}`, body)));
      const order = (await stack.get(`/v1/task-orders/${orderId}`)).body;
      return {
        statuses: answers.map((a) => a.status),
        applied: commands.filter((_, i) => answers[i]!.status === 200).map(([c]) => c).join(','),
        final: `${order.status}/${order.cancelReason ?? (order.pendingCancellation ? 'cancellation_requested' : '-')}`,
      };
    }),
  );
  for (const o of outcomes) {
    expect(o.statuses.every((s) => s === 200 || s === 409)).toBe(true);
    expect({ applied: o.applied, final: o.final }).toEqual({ applied: o.applied, final: sequential[o.applied] });
  }
}, 120_000);

test('SPEC §1: a command sent right after another was accepted is decided on the state that one left (cancel, then the answer to it), on 10 orders', async () => {
  const outcomes = await Promise.all(
    Array.from({ length: 10 }, async () => {
      const { orderId, client, creator } = await placeOrder('full');
      expect((await post(`/v1/task-orders/${orderId}/accept`, { actor: creator })).status).toBe(200);
      const handle = stack.env.client.workflow.getHandle(taskOrderWorkflowId(orderId));
      // Accepted, but its recording may still be under way when the answer arrives.
      const request = await handle.startUpdate(TASK_COMMAND_UPDATES.cancel, { args: [{ actor: client, reason: 'r' }], waitForStage: WorkflowUpdateStage.ACCEPTED });
      const answer = await handle.executeUpdate(TASK_COMMAND_UPDATES.cancel_response, { args: [{ actor: creator, accept: true }] }).then(
        (view) => view.state.status,
        (error: unknown) => `refused: ${String(error instanceof Error ? (error.cause as Error | undefined)?.message ?? error.message : error)}`,
      );
      await request.result();
      return answer;
    }),
  );
  expect(outcomes).toEqual(Array(10).fill('cancelled'));
}, 120_000);
