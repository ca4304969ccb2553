import { WithStartWorkflowOperation } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { taskOrderStream } from '../activities/task-orders';
import { appendToStream } from '../activities/append-to-stream';
import { createTaskOrderService } from '../api/task-order-service';
import { loadTaskEvents } from '../db/events';
import { DEFAULT_TASK_POLICY, decide, pendingDeadlines, placementEvent, type RecordedTaskEvent, type TaskEvent } from '../domain/task-order';
import { TASK_ORDER_KIND } from '../domain/task-order/kind';
import { TASK_COMMAND_UPDATES, TASK_ORDER_WORKFLOW, acceptUpdate, placementUpdate, stateQuery, taskOrderWorkflowId } from '../workflows/task-order-api';
import { writeCounts, type TestDatabase } from './support/db';
import { placement } from './support/fixtures';
import { runningWorker, taskOrderPlacer, withTimeSkippingWorker, workflowBundle } from './support/temporal';
import { createWorker } from '../worker/create-worker';
import { startStreamSyncer } from '../api/stream-sync';
import { ApiError } from '../api/errors';
import { unavailableDependency } from '../platform/faults';

/**
 * SPEC §10 Speed: a command is one workflow task. Its write runs as a local activity inside the
 * Update's workflow task, so the Update is accepted and completed by the same task and the API's
 * call that waits for acceptance already carries the outcome (no second round trip); a command
 * that changes neither the next deadline nor the search attributes adds no timer and no upsert.
 */
const taskQueue = 'one-task-commands-test';
let env: TestWorkflowEnvironment;
let database: TestDatabase;
withTimeSkippingWorker(taskQueue, (world) => ({ env, database } = world));
const place = taskOrderPlacer(() => env, taskQueue);

const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * The events from the Update `updateId`'s acceptance to the end of the workflow task that completed
 * it (what the workflow did after the handler, e.g. its deadline loop, comes after the completion).
 */
function eventsOfUpdate(events: readonly HistoryEvent[], updateId: string): HistoryEvent[] {
  const start = events.findIndex((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.protocolInstanceId === updateId);
  const completed = events.findIndex((e) => e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId === updateId);
  expect([start >= 0, completed > start]).toEqual([true, true]);
  const next = events.findIndex((e, i) => i > completed && e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  return events.slice(start, next < 0 ? events.length : next);
}

const typesOf = (events: readonly HistoryEvent[]): string[] => events.map((e) => EventType[e.eventType ?? 0] ?? 'unknown');

describe('§10 Speed: one command, one workflow task', () => {
  test('§10 E1: a command is accepted, written (a local activity) and completed in one workflow task, answered in one round trip', async () => {
    const p = placement();
    await place(p);
    const orders = createTaskOrderService({ db: database.db, client: env.client, taskQueue });
    const polls = jest.spyOn(env.client.workflowService, 'pollWorkflowExecutionUpdate');
    const calls = jest.spyOn(env.client.workflowService, 'updateWorkflowExecution');
    const outcome = await orders.commandWithin(p.orderId, 'accept', { actor: { type: 'creator', id: p.creatorId } }, 'one-task-accept');
    expect([outcome.pending, outcome.order.status]).toEqual([false, 'in_production']);
    // One call, answered with the outcome: no second call, no poll for it afterwards.
    expect([calls.mock.calls.length, polls.mock.calls.length]).toEqual([1, 0]);
    calls.mockRestore();
    polls.mockRestore();

    const { events } = await env.client.workflow.getHandle(taskOrderWorkflowId(p.orderId)).fetchHistory();
    const accept = typesOf(eventsOfUpdate(events ?? [], 'one-task-accept'));
    // No workflow task and no activity in it: the write is the marker, the Update completed in the task that accepted it.
    expect(accept.filter((t) => t.startsWith('EVENT_TYPE_WORKFLOW_TASK') || t.startsWith('EVENT_TYPE_ACTIVITY_TASK'))).toEqual([]);
    expect(accept).toContain('EVENT_TYPE_MARKER_RECORDED');
    // The accept moved the next deadline (T7 → production) and the status: one re-arm, one upsert.
    expect(accept.filter((t) => t.startsWith('EVENT_TYPE_TIMER')).sort()).toEqual(['EVENT_TYPE_TIMER_CANCELED', 'EVENT_TYPE_TIMER_STARTED']);
    expect(accept.filter((t) => t === 'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES')).toHaveLength(1);
    expect(typesOf(events ?? []).filter((t) => t === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')).toEqual([]);
    expect((await loadTaskEvents(database.db, p.orderId)).map((e) => e.event.type)).toEqual(['TaskOrderPlaced', 'TaskOrderAccepted']);
  }, 60_000);

  test('§10 T8: a command that changes neither the next deadline nor the search attributes re-arms no timer and upserts nothing', async () => {
    const p = placement();
    await place(p);
    const orders = createTaskOrderService({ db: database.db, client: env.client, taskQueue });
    await orders.commandWithin(p.orderId, 'remind', { actor: { type: 'client', id: p.clientId } }, 'one-task-remind');
    const { events } = await env.client.workflow.getHandle(taskOrderWorkflowId(p.orderId)).fetchHistory();
    const remind = typesOf(eventsOfUpdate(events ?? [], 'one-task-remind'));
    expect(remind).toEqual(['EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED', 'EVENT_TYPE_MARKER_RECORDED', 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED']);
    expect((await loadTaskEvents(database.db, p.orderId)).map((e) => e.event.type)).toEqual(['TaskOrderPlaced', 'CreatorReminded']);
  }, 60_000);
});

// Before the tests that stop workers of their own: this one skips time (7 days), which the
// time-skipping server does only while every workflow due meanwhile has a worker polling.
describe('L3: a lost task\'s step that no command meets again (the API told its caller 503)', () => {
  /** A lost task's accept of `p`: stored (events, postings, read model) but never in the history. */
  async function lostAccept(p: ReturnType<typeof placement>, updateId: string): Promise<void> {
    const placed = await loadTaskEvents(database.db, p.orderId);
    const before = placed.reduce(TASK_ORDER_KIND.evolve, undefined)!;
    const at = Date.now();
    const decided = decide(before, { type: 'accept', actor: { type: 'creator', id: p.creatorId } }, at);
    if (!decided.ok) throw new Error('accept refused');
    await appendToStream(database.db, taskOrderStream(p.orderId), decided.events.map((event, i) => ({ version: 2 + i, occurredAt: at, event })), `update:accept:${updateId}`);
  }

  // First of the describe: the test after it skips time (7 days), after which the time-skipping
  // server may skip this one's real-time 3 s too.
  test('L3 T6: a lost task\'s accept, stored before the acceptance deadline, whose Update comes again with the deadline\'s timer (a worker down meanwhile): the deadline\'s write takes the accept, which is answered applied, not refused (found by the simulation)', async () => {
    const queue = `${taskQueue}-late-retry`;
    // No workflow cache, so no sticky queue: the next worker takes the order's next task at once.
    const uncached = await createWorker({ connection: env.nativeConnection, namespace: env.namespace ?? 'default', taskQueue: queue, db: database.db, workflowBundle: await workflowBundle(), localWrites: true, maxCachedWorkflows: 0 });
    const first = uncached.run();
    const p = placement({ paymentMode: 'deposit' });
    const acceptanceTimeoutMs = 3_000; // real time: the time-skipping server skips none while a task waits for a worker
    const handle = await env.client.workflow.start(TASK_ORDER_WORKFLOW, { workflowId: taskOrderWorkflowId(p.orderId), taskQueue: queue, args: [{ placement: p, policy: { ...DEFAULT_TASK_POLICY, acceptanceTimeoutMs } }] });
    expect((await handle.executeUpdate(placementUpdate)).placed).toBe(true);
    await lostAccept(p, 'late-retry');
    uncached.shutdown();
    await first;
    // The acceptance deadline's timer fires while no worker runs: its task waits for the next worker.
    await new Promise((resolve) => setTimeout(resolve, acceptanceTimeoutMs + 500));
    const again = handle.executeUpdate(acceptUpdate, { args: [{ actor: { type: 'creator', id: p.creatorId } }], updateId: 'late-retry' });
    const worker = await runningWorker(env, database.db, queue);
    try {
      const view = await again;
      expect([view.state.status, view.state.version]).toEqual(['awaiting_balance', 2]);
      expect((await loadTaskEvents(database.db, p.orderId)).map((e) => e.event.type)).toEqual(['TaskOrderPlaced', 'TaskOrderAccepted']);
    } finally {
      await handle.terminate('test over').catch(() => undefined); // closed already if the test failed
      await worker.stop();
    }
  }, 60_000);

  test('L3 T8: a command in the run\'s first workflow task (dispatched when its handler is set, before the placement is written) waits for the placement and applies, instead of "not placed yet" (after a lost first task the read model shows the order already: found by the simulation)', async () => {
    const p = placement();
    const startWorkflowOperation = new WithStartWorkflowOperation(TASK_ORDER_WORKFLOW, { workflowId: taskOrderWorkflowId(p.orderId), taskQueue, args: [{ placement: p, policy: DEFAULT_TASK_POLICY }], workflowIdConflictPolicy: 'FAIL' });
    const view = await env.client.workflow.executeUpdateWithStart(TASK_COMMAND_UPDATES.remind, { args: [{ actor: { type: 'client', id: p.clientId } }], startWorkflowOperation });
    expect([view.state.status, view.state.version]).toEqual(['awaiting_acceptance', 2]);
    expect((await loadTaskEvents(database.db, p.orderId)).map((e) => e.event.type)).toEqual(['TaskOrderPlaced', 'CreatorReminded']);
  }, 60_000);

  test('L3 T12/T13: the API\'s stream sync tells the workflow, which takes the stored step: its state and deadlines are the stream\'s, and the deadline that step set fires', async () => {
    const p = placement({ paymentMode: 'deposit' });
    const handle = await place(p);
    await lostAccept(p, 'never-again');
    expect((await handle.query(stateQuery))?.state.version).toBe(1); // nothing tells the workflow

    const syncs = startStreamSyncer({ db: database.db, client: env.client, intervalMs: 50, delayMs: 0 });
    try {
      syncs.request(taskOrderWorkflowId(p.orderId));
      let view = await handle.query(stateQuery);
      for (let i = 0; i < 100 && view?.state.version !== 2; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        view = await handle.query(stateQuery);
      }
      const stored = await loadTaskEvents(database.db, p.orderId);
      expect(view?.state.status).toBe('awaiting_balance');
      expect(view?.deadlines).toEqual(pendingDeadlines(stored.reduce(TASK_ORDER_KIND.evolve, undefined)!));
      // Sent once: the request is gone.
      for (let i = 0; i < 50 && (await database.db.selectFrom('stream_syncs').select('workflow_id').execute()).length > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await database.db.selectFrom('stream_syncs').select('workflow_id').execute()).toEqual([]);
    } finally {
      await syncs.stop();
    }
    // T13: the balance deadline the stored accept set fires (7 days later), without another command.
    await env.sleep(7 * 24 * 3_600_000 + 60_000);
    let events = await loadTaskEvents(database.db, p.orderId);
    for (let i = 0; i < 100 && events.at(-1)?.event.type !== 'TaskOrderCancelled'; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      events = await loadTaskEvents(database.db, p.orderId);
    }
    expect(events.map((e) => e.event.type)).toEqual(['TaskOrderPlaced', 'TaskOrderAccepted', 'TaskOrderCancelled']);
  }, 60_000);

  test('L3 §8: a command whose Update call ends without an answer while its step is stored (a task lost after the write) is answered applied, not refused on the stored state, and its order is named for a stream sync (found by the simulation)', async () => {
    const p = placement({ paymentMode: 'deposit' });
    await place(p);
    await lostAccept(p, 'no-answer');
    const unknown: string[] = [];
    const orders = createTaskOrderService({ db: database.db, client: env.client, taskQueue, onUnknownOutcome: (id) => unknown.push(id) });
    const lost = Object.assign(new Error('13 INTERNAL: update was aborted'), { code: 13, details: 'update was aborted', metadata: { get: () => [] } });
    const calls = jest.spyOn(env.client.workflowService, 'updateWorkflowExecution').mockRejectedValue(lost);
    let outcome;
    try {
      outcome = await orders.commandWithin(p.orderId, 'accept', { actor: { type: 'creator', id: p.creatorId } }, 'no-answer');
    } finally {
      calls.mockRestore();
    }
    expect([outcome.pending, outcome.order.status, outcome.order.version]).toEqual([false, 'awaiting_balance', 2]);
    expect(unknown).toEqual([taskOrderWorkflowId(p.orderId)]);
  }, 60_000);

  test('L3 §8: a command whose Update\'s outcome stays unknown (Temporal unreachable) is answered 503 and its order is named for a stream sync; a refusal names none', async () => {
    const p = placement();
    await place(p);
    const unknown: string[] = [];
    const orders = createTaskOrderService({ db: database.db, client: env.client, taskQueue, onUnknownOutcome: (id) => unknown.push(id) });
    // A refusal is an outcome: nothing to look for.
    await expect(orders.commandWithin(p.orderId, 'upload_video', { actor: { type: 'creator', id: p.creatorId }, videoUrl: 'https://v.example/early' })).rejects.toBeInstanceOf(ApiError);
    expect(unknown).toEqual([]);
    const unreachable = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14, details: 'No connection established', metadata: { get: () => [] } }); // a gRPC ServiceError's shape
    const calls = jest.spyOn(env.client.workflowService, 'updateWorkflowExecution').mockRejectedValue(unreachable);
    try {
      const error = await orders.commandWithin(p.orderId, 'accept', { actor: { type: 'creator', id: p.creatorId } }).then(() => undefined, (e: unknown) => e);
      expect(unavailableDependency(error)).toBe('temporal'); // the route answers 503
    } finally {
      calls.mockRestore();
    }
    expect(unknown).toEqual([taskOrderWorkflowId(p.orderId)]);
  }, 60_000);
});

describe('§10: local writes off (LOCAL_WRITES=off)', () => {
  test('§10 E1: a worker with local writes off writes through the regular activity, as before, and a refusal is the validator\'s', async () => {
    const queue = `${taskQueue}-off`;
    const worker = await createWorker({ connection: env.nativeConnection, namespace: env.namespace ?? 'default', taskQueue: queue, db: database.db, workflowBundle: await workflowBundle(), localWrites: false });
    const running = worker.run();
    try {
      const p = placement();
      const handle = await taskOrderPlacer(() => env, queue)(p);
      const orders = createTaskOrderService({ db: database.db, client: env.client, taskQueue: queue });
      expect((await orders.commandWithin(p.orderId, 'accept', { actor: { type: 'creator', id: p.creatorId } })).order.status).toBe('in_production');
      await expect(orders.commandWithin(p.orderId, 'accept', { actor: { type: 'creator', id: p.creatorId } }, 'off-refused')).rejects.toMatchObject({ code: 'invalid_state' });
      const types = typesOf((await handle.fetchHistory()).events ?? []);
      expect(types.filter((t) => t === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')).toHaveLength(2); // the placement and the accept
      // The refusal left no trace: the validator refused it, as before local writes.
      expect(((await handle.fetchHistory()).events ?? []).some((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.protocolInstanceId === 'off-refused')).toBe(false);
      expect((await loadTaskEvents(database.db, p.orderId)).map((e) => e.event.type)).toEqual(['TaskOrderPlaced', 'TaskOrderAccepted']);
    } finally {
      worker.shutdown();
      await running;
    }
  }, 60_000);
});

describe('L3: the append meets a version stored with another content', () => {
  const first = (p: ReturnType<typeof placement>) => ({ version: 1, occurredAt: Date.parse('2026-12-01T00:00:00Z'), event: placementEvent(p, DEFAULT_TASK_POLICY) });

  test('L3 E1: asked with returnStored (a workflow that checks it), the stream as stored comes back with its causations, and nothing is written', async () => {
    const p = placement();
    const stream = taskOrderStream(p.orderId);
    await appendToStream(database.db, stream, [first(p)], 'workflow:lost-task');
    const before = await writeCounts(database.db);
    const again = { ...first(p), occurredAt: first(p).occurredAt + 1_234 };
    const result = await appendToStream(database.db, stream, [again], 'workflow:lost-task', undefined, true);
    expect(result).toEqual({ appended: 0, alreadyRecorded: 0, stored: [{ ...first(p), causation: 'workflow:lost-task' }] });
    expect(await writeCounts(database.db)).toEqual(before);
  });

  test('L3: without returnStored it is a conflict for ops, and nothing is written', async () => {
    const p = placement();
    const stream = taskOrderStream(p.orderId);
    await appendToStream(database.db, stream, [first(p)], 'workflow:one');
    const before = await writeCounts(database.db);
    await expect(appendToStream(database.db, stream, [{ ...first(p), occurredAt: first(p).occurredAt + 1 }], 'workflow:one')).rejects.toMatchObject({ type: 'idempotency_conflict' });
    expect(await writeCounts(database.db)).toEqual(before);
  });
});

/** A worker on its own queue whose write of `type` first stores `earlier(events)` under the same step, as a lost attempt would have. */
async function workerWithEarlier(queue: string, earlier: (events: RecordedTaskEvent[]) => RecordedTaskEvent[], type: TaskEvent['type'] = 'TaskOrderAccepted') {
  return runningWorker(env, database.db, queue, (activities) => ({
    ...activities,
    async recordTaskEvents(input) {
      if (input.events.some((e) => e.event.type === type)) await activities.recordTaskEvents({ ...input, events: earlier([...input.events]) });
      return activities.recordTaskEvents(input);
    },
  }));
}

describe('L3: a workflow whose step an earlier, lost attempt stored', () => {
  test('L3 E1: the workflow takes the stored events (their time), so its state and deadlines are the stream\'s', async () => {
    const queue = `${taskQueue}-earlier`;
    const earlierMs = 3_000;
    // The accept's write finds its step stored by an attempt decided 3 s earlier (a lost task's).
    const worker = await workerWithEarlier(queue, (events) => events.map((e) => ({ ...e, occurredAt: e.occurredAt - earlierMs })));
    try {
      const p = placement();
      const handle = await taskOrderPlacer(() => env, queue)(p);
      const orders = createTaskOrderService({ db: database.db, client: env.client, taskQueue: queue });
      await orders.commandWithin(p.orderId, 'accept', { actor: { type: 'creator', id: p.creatorId } });
      const stored = await loadTaskEvents(database.db, p.orderId);
      expect(stored.map((e) => e.event.type)).toEqual(['TaskOrderPlaced', 'TaskOrderAccepted']);
      const folded = stored.reduce(TASK_ORDER_KIND.evolve, undefined);
      const view = await handle.query(stateQuery);
      expect(view?.deadlines).toEqual(pendingDeadlines(folded!));
      expect(view?.state.version).toBe(2);
    } finally {
      await worker.stop();
    }
  }, 60_000);

  test('L3 E1: a placement an earlier attempt stored (at another time) is taken: the order is placed once, at the stored time', async () => {
    const queue = `${taskQueue}-earlier-placement`;
    const worker = await workerWithEarlier(queue, (events) => events.map((e) => ({ ...e, occurredAt: e.occurredAt - 2_000 })), 'TaskOrderPlaced');
    try {
      const p = placement();
      const handle = await taskOrderPlacer(() => env, queue)(p);
      const stored = await loadTaskEvents(database.db, p.orderId);
      expect(stored.map((e) => e.event.type)).toEqual(['TaskOrderPlaced']);
      const view = await handle.query(stateQuery);
      expect(view?.deadlines).toEqual(pendingDeadlines(stored.reduce(TASK_ORDER_KIND.evolve, undefined)!));
    } finally {
      await worker.stop();
    }
  }, 60_000);

  test('L3 O1: events stored under the step that it would not decide (another price) stop the order for ops; nothing more is written', async () => {
    const queue = `${taskQueue}-conflict`;
    const worker = await workerWithEarlier(queue, (events) =>
      events.map((e) => (e.event.type === 'TaskOrderAccepted' ? { ...e, occurredAt: e.occurredAt - 1, event: { ...e.event, priceFen: e.event.priceFen + 1n } } : e)),
    );
    try {
      const p = placement();
      const handle = await taskOrderPlacer(() => env, queue)(p);
      // The Update itself (not the API's bounded wait): the test ends only once its call has settled.
      const answer = handle.executeUpdate(acceptUpdate, { args: [{ actor: { type: 'creator', id: p.creatorId } }] }).catch((error: unknown) => error);
      // The workflow task fails (and is retried: O1's workflow_task_failing) instead of taking the other content.
      let failed: string | undefined;
      for (let i = 0; i < 100 && failed === undefined; i += 1) {
        const { events } = await handle.fetchHistory();
        failed = events?.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure?.message ?? undefined;
        if (failed === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(failed).toMatch(/^stopped for ops: update:accept:.*are not what that step decides at their time \(L3\)$/);
      const before = await writeCounts(database.db);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await writeCounts(database.db)).toEqual(before);
      expect((await loadTaskEvents(database.db, p.orderId)).map((e) => e.event.type)).toEqual(['TaskOrderPlaced', 'TaskOrderAccepted']);
      await handle.terminate('test over');
      await answer;
    } finally {
      await worker.stop();
    }
  }, 60_000);

  test('L3 §1: a command refused on the workflow\'s state is first checked against the stream: a lost task\'s stored step ahead is taken, the command applies, and the lost Update is answered applied', async () => {
    const p = placement();
    const handle = await place(p);
    // A lost task's accept: stored (its events, postings, read model) but never in the history.
    const placed = await loadTaskEvents(database.db, p.orderId);
    const before = placed.reduce(TASK_ORDER_KIND.evolve, undefined)!;
    const accept = { type: 'accept' as const, actor: { type: 'creator' as const, id: p.creatorId } };
    const at = Date.now();
    const decided = decide(before, accept, at);
    if (!decided.ok) throw new Error('accept refused');
    await appendToStream(database.db, taskOrderStream(p.orderId), decided.events.map((event, i) => ({ version: 2 + i, occurredAt: at, event })), 'update:accept:lost-task-accept');

    // upload_video is refused on the workflow's state (awaiting acceptance), but not on the stream's.
    const orders = createTaskOrderService({ db: database.db, client: env.client, taskQueue });
    const upload = await orders.commandWithin(p.orderId, 'upload_video', { actor: { type: 'creator', id: p.creatorId }, videoUrl: 'https://v.example/lost' });
    expect(upload.order.status).toBe('in_review');
    expect((await loadTaskEvents(database.db, p.orderId)).map((e) => e.event.type)).toEqual(['TaskOrderPlaced', 'TaskOrderAccepted', 'VideoUploaded']);
    // The lost Update comes again (its client retries the same id): applied, nothing written again.
    const again = await handle.executeUpdate(acceptUpdate, { args: [accept], updateId: 'lost-task-accept' });
    expect([again.state.status, again.state.version]).toEqual(['in_review', 3]);
    expect(await loadTaskEvents(database.db, p.orderId)).toHaveLength(3);
  }, 60_000);
});
