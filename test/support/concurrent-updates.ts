import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { fromStoredJson } from '../../domain/json';
import { DEFAULT_TASK_POLICY, decide, evolve, type TaskCommand, type TaskEvent, type TaskOrderState } from '../../domain/task-order';
import type { Db } from '../../db/connect';
import {
  TASK_COMMAND_UPDATES,
  TASK_ORDER_WORKFLOW,
  placementUpdate,
  stateQuery,
  taskOrderWorkflowId,
  type TaskCommandType,
  type TaskOrderInput,
} from '../../workflows/task-order-api';
import { placement } from './fixtures';
import { resendingUnprocessed } from '../../api/update-calls';

/**
 * SPEC §1 Concurrency: many commands for one order at the same instant are applied strictly one at
 * a time, each deciding on the state the previous one left, and every one gets its answer. This
 * fires a burst of mixed Updates (valid, invalid, wrong parties) at one task-order workflow and
 * checks the outcome against the pure decider applied to the accepted commands in the order the
 * workflow recorded them.
 */

export interface BurstCommand {
  readonly type: TaskCommandType;
  readonly args: Record<string, unknown>;
}

export interface BurstAnswer {
  readonly command: BurstCommand;
  readonly updateId: string;
  /** closed: the order's workflow had closed (a command before it ended the order); the API answers 409. */
  readonly outcome: 'applied' | 'refused' | 'closed' | 'unanswered';
  readonly code?: string;
}

export interface BurstResult {
  readonly orderId: string;
  readonly answers: readonly BurstAnswer[];
  /** Problems found; empty when the burst behaved as SPEC §1 says. */
  readonly problems: readonly string[];
}

/** The 20 commands of the burst on a deposit-mode order awaiting acceptance. */
export function mixedBurst(clientId: string, creatorId: string, tag: string): BurstCommand[] {
  const client = { type: 'client', id: clientId };
  const creator = { type: 'creator', id: creatorId };
  const stranger = { type: 'creator', id: `${creatorId}-other` };
  const external = (n: number) => ({ source: 'external', paymentRef: `pay-${tag}-${n}` });
  return [
    { type: 'remind', args: { actor: client } },
    { type: 'accept', args: { actor: creator, newPriceFen: 110_000n } },
    { type: 'remind', args: { actor: client } },
    { type: 'accept', args: { actor: stranger } },
    { type: 'restore_price', args: { actor: client } },
    { type: 'pay_balance', args: { actor: client, funding: external(1) } },
    { type: 'accept', args: { actor: creator } },
    { type: 'remind', args: { actor: client } },
    { type: 'upload_video', args: { actor: creator, videoUrl: 'https://v.example/1' } },
    { type: 'accept', args: { actor: creator, newPriceFen: 10n } },
    { type: 'review', args: { actor: client, decision: 'approve' } },
    { type: 'pay_balance', args: { actor: client, funding: external(2) } },
    { type: 'upload_video', args: { actor: creator, draftId: 'draft-2' } },
    { type: 'remind', args: { actor: stranger } },
    { type: 'cancel', args: { actor: client, reason: 'changed plans' } },
    { type: 'restore_price', args: { actor: client } },
    { type: 'reject', args: { actor: creator, reason: 'busy' } },
    { type: 'cancel_response', args: { actor: creator, accept: false } },
    { type: 'remind', args: { actor: client } },
    { type: 'review', args: { actor: client, decision: 'request_changes', comment: 'shorter' } },
  ];
}

/** Places a deposit-mode order (external funding) and waits for its placement. */
export async function placeDepositOrder(client: Client, taskQueue: string): Promise<{ orderId: string; clientId: string; creatorId: string }> {
  const p = placement({ paymentMode: 'deposit' });
  const input: TaskOrderInput = { placement: p, policy: DEFAULT_TASK_POLICY };
  const handle = await client.workflow.start(TASK_ORDER_WORKFLOW, { workflowId: taskOrderWorkflowId(p.orderId), taskQueue, args: [input] });
  const outcome = await handle.executeUpdate(placementUpdate);
  if (!outcome.placed) throw new Error('placement refused');
  return { orderId: p.orderId, clientId: p.clientId, creatorId: p.creatorId };
}

/** Sends every command of `burst` as its own Update at once; each answer is awaited (bounded). */
export async function fireBurst(client: Client, orderId: string, burst: readonly BurstCommand[], timeoutMs = 60_000): Promise<BurstAnswer[]> {
  const handle = client.workflow.getHandle(taskOrderWorkflowId(orderId));
  return Promise.all(
    burst.map(async (command, i): Promise<BurstAnswer> => {
      const updateId = `burst-${orderId}-${i}`;
      const update = TASK_COMMAND_UPDATES[command.type];
      // Sent as the API sends a command: again while the server answers it was not processed.
      const sent = resendingUnprocessed(() => handle.executeUpdate(update as never, { args: [command.args] as never, updateId })).then(
        () => ({ command, updateId, outcome: 'applied' as const }),
        (error: unknown) => {
          const cause = error instanceof WorkflowUpdateFailedError ? error.cause : undefined;
          if (cause instanceof ApplicationFailure) return { command, updateId, outcome: 'refused' as const, code: cause.type ?? 'untyped' };
          if (error instanceof WorkflowNotFoundError) return { command, updateId, outcome: 'closed' as const, code: 'closed' };
          return { command, updateId, outcome: 'unanswered' as const, code: String(error) };
        },
      );
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<BurstAnswer>((resolve) => {
        timer = setTimeout(() => resolve({ command, updateId, outcome: 'unanswered', code: 'timeout' }), timeoutMs);
      });
      try {
        return await Promise.race([sent, late]);
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}

interface StoredEvent {
  readonly version: number;
  readonly occurredAt: number;
  readonly causation: string;
  readonly event: TaskEvent;
}

async function storedEvents(db: Db, orderId: string): Promise<StoredEvent[]> {
  const rows = await db
    .selectFrom('order_events')
    .select(['version', 'occurred_at', 'causation', 'payload'])
    .where('order_kind', '=', 'task')
    .where('order_id', '=', orderId)
    .orderBy('version')
    .execute();
  return rows.map((r) => ({ version: r.version, occurredAt: r.occurred_at.getTime(), causation: String(r.causation), event: fromStoredJson<TaskEvent>(r.payload) }));
}

/**
 * Checks a burst: every Update answered; a refused one wrote nothing; the applied ones, replayed
 * through the decider in the order their events were recorded, give exactly the recorded events
 * and the workflow's final state.
 */
export async function checkBurst(client: Client, db: Db, orderId: string, answers: readonly BurstAnswer[]): Promise<string[]> {
  const problems: string[] = [];
  for (const a of answers) if (a.outcome === 'unanswered') problems.push(`${a.updateId} (${a.command.type}) got no answer: ${a.code}`);
  const events = await storedEvents(db, orderId);
  const byUpdate = new Map<string, StoredEvent[]>();
  for (const e of events) {
    const id = e.causation.split(':').slice(2).join(':');
    if (e.causation.startsWith('update:')) byUpdate.set(id, [...(byUpdate.get(id) ?? []), e]);
  }
  for (const a of answers) {
    const written = byUpdate.get(a.updateId) ?? [];
    if (a.outcome !== 'applied' && written.length > 0) problems.push(`${a.updateId} was ${a.outcome} (${a.code}) but wrote ${written.length} events`);
    if (a.outcome === 'applied' && written.length === 0) problems.push(`${a.updateId} (${a.command.type}) was applied but wrote nothing`);
  }
  const versions = events.map((e) => e.version);
  if (versions.some((v, i) => v !== i + 1)) problems.push(`versions are not 1..n: ${versions.join(',')}`);

  // Replay: placement, then each applied command where its first event was recorded. Every state
  // of that sequence (with the instants it held) is a point a refused Update may have been decided at.
  let state: TaskOrderState | undefined;
  const applied = answers.filter((a) => a.outcome === 'applied');
  if (applied.length === 0) problems.push('no Update of the burst was applied (a correct order applies at least the first valid one)');
  const firstVersion = (a: BurstAnswer) => byUpdate.get(a.updateId)?.[0]?.version ?? Number.MAX_SAFE_INTEGER;
  const placed = events[0];
  if (!placed) return [...problems, 'no placement event'];
  state = evolve(undefined, placed);
  const points: { state: TaskOrderState; times: number[]; after: string }[] = [{ state, times: [placed.occurredAt], after: 'placement' }];
  for (const a of [...applied].sort((x, y) => firstVersion(x) - firstVersion(y))) {
    const written = byUpdate.get(a.updateId) ?? [];
    const at = written[0]?.occurredAt ?? state.updatedAt;
    points.at(-1)!.times.push(at); // the state before this command held until its instant
    const decision = decide(state, { ...a.command.args, type: a.command.type } as TaskCommand, at);
    if (!decision.ok) {
      problems.push(`${a.updateId} (${a.command.type}) was applied, but the decider refuses it in sequence: ${decision.rejection.code}`);
      continue;
    }
    const types = decision.events.map((e) => e.type).join(',');
    if (types !== written.map((w) => w.event.type).join(',')) problems.push(`${a.updateId}: decided [${types}] but recorded [${written.map((w) => w.event.type).join(',')}]`);
    for (const w of written) state = evolve(state, w);
    points.push({ state, times: [at], after: `${a.updateId} (${a.command.type})` });
  }

  // SPEC §1: a refused Update was decided on one of those states: there the decider must refuse it,
  // with the same code. (A refusal in the validator leaves no trace in the history, so its exact
  // point is one of the states of the applied sequence, not known which.)
  for (const a of answers.filter((x) => x.outcome === 'refused')) {
    const command = { ...a.command.args, type: a.command.type } as TaskCommand;
    const verdicts = points.flatMap((p) =>
      [...new Set(p.times)].map((t) => {
        const d = decide(p.state, command, t);
        return { after: p.after, code: d.ok ? 'applied' : d.rejection.code };
      }),
    );
    if (!verdicts.some((v) => v.code === a.code)) {
      const seen = [...new Set(verdicts.map((v) => `${v.code} after ${v.after}`))].join('; ');
      problems.push(`${a.updateId} (${a.command.type}) was refused with ${a.code}, but at no point of the applied sequence does the decider refuse it so (${seen})`);
    }
  }
  // A closed answer (the workflow had ended) only where the sequence ends the order.
  if (answers.some((a) => a.outcome === 'closed') && state.status !== 'cancelled' && state.status !== 'completed') {
    problems.push(`some Updates found the workflow closed, but the applied sequence leaves the order ${state.status}`);
  }
  const view = await client.workflow.getHandle(taskOrderWorkflowId(orderId)).query(stateQuery);
  if (view?.state.version !== state.version || view.state.status !== state.status) {
    problems.push(`workflow state v${view?.state.version}/${view?.state.status} ≠ replayed v${state.version}/${state.status}`);
  }
  return problems;
}

/** Places an order, fires the mixed burst and checks it. */
export async function runBurst(client: Client, db: Db, taskQueue: string): Promise<BurstResult> {
  const { orderId, clientId, creatorId } = await placeDepositOrder(client, taskQueue);
  const answers = await fireBurst(client, orderId, mixedBurst(clientId, creatorId, orderId));
  return { orderId, answers, problems: await checkBurst(client, db, orderId, answers) };
}
