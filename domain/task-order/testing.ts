/**
 * Given/when/then helpers for the unit tests of the task-order core (test-only; nothing in the
 * application imports this module). A `Story` is an event history built by running commands
 * through `decide`, so every "given" is a history the real decider can produce.
 */
import type { Rejection, RejectionCode } from '../errors';
import { ledgerTransactionFor } from './ledger';
import { placementEvent, decide, type Decision } from './decide';
import { evolve, fold } from './evolve';
import { DEFAULT_TASK_POLICY, type TaskPolicy } from './policy';
import type { Actor, RecordedTaskEvent, TaskCommand, TaskEvent, TaskOrderState, TaskPlacement } from './types';

export const HOUR = 60 * 60 * 1000;
export const DAY = 24 * HOUR;
export const T0 = Date.parse('2025-09-01T00:00:00.000Z');

export const CLIENT: Actor = { type: 'client', id: 'client-1' };
export const CREATOR: Actor = { type: 'creator', id: 'creator-1' };
export const OTHER_CLIENT: Actor = { type: 'client', id: 'client-2' };
export const OTHER_CREATOR: Actor = { type: 'creator', id: 'creator-2' };

export const ORDER_ID = 'order-1';

export function placementOf(overrides: Partial<TaskPlacement> = {}): TaskPlacement {
  return {
    orderId: ORDER_ID,
    clientId: CLIENT.id,
    creatorId: CREATOR.id,
    taskType: 'douyin_video',
    priceFen: 99_999n,
    brief: { title: 'Autumn launch', industry: 'beauty', expectedPublishAt: new Date(T0 + 30 * DAY).toISOString() },
    paymentMode: 'full',
    funding: { source: 'account' },
    ...overrides,
  };
}

/** given(events): the state the recorded events fold to. */
export function given(events: readonly RecordedTaskEvent[]): TaskOrderState {
  const state = fold(events);
  if (!state) throw new Error('given: no events');
  return state;
}

export class Story {
  private constructor(readonly events: readonly RecordedTaskEvent[]) {}

  /** T1: a placed order (at T0 unless told). */
  static placed(overrides: Partial<TaskPlacement> = {}, atMs = T0, policy: TaskPolicy = DEFAULT_TASK_POLICY): Story {
    return new Story([{ version: 1, occurredAt: atMs, event: placementEvent(placementOf(overrides), policy) }]);
  }

  get state(): TaskOrderState {
    return given(this.events);
  }

  /** The newest time in the history. */
  get now(): number {
    return this.events[this.events.length - 1]?.occurredAt ?? T0;
  }

  /** when(command, nowMs): the decision, without recording it. */
  when(command: TaskCommand, atMs: number): Decision {
    return decide(this.state, command, atMs);
  }

  /** Runs a command that must succeed and records its events at `atMs`. */
  run(command: TaskCommand, atMs: number): Story {
    const decision = this.when(command, atMs);
    if (!decision.ok) throw new Error(`${command.type} was rejected: ${decision.rejection.code} ${decision.rejection.message}`);
    return this.record(decision.events, atMs);
  }

  /** Appends events as the workflow records them. */
  record(events: readonly TaskEvent[], atMs: number): Story {
    const base = this.events.length;
    return new Story([...this.events, ...events.map((event, i) => ({ version: base + i + 1, occurredAt: atMs, event }))]);
  }

  /** The events recorded after `other` (a prefix of this story). */
  since(other: Story): TaskEvent[] {
    return this.events.slice(other.events.length).map((r) => r.event);
  }
}

/** then: the decision is ok with exactly these events. */
export function eventsOf(decision: Decision): readonly TaskEvent[] {
  if (!decision.ok) throw new Error(`expected events, got ${decision.rejection.code}: ${decision.rejection.message}`);
  return decision.events;
}

/** then: the decision is a rejection; returns it for more checks. */
export function rejectionOf(decision: Decision): Rejection {
  if (decision.ok) throw new Error(`expected a rejection, got events ${decision.events.map((e) => e.type).join(', ') || '(none)'}`);
  return decision.rejection;
}

export function codeOf(decision: Decision): RejectionCode | 'ok' {
  return decision.ok ? 'ok' : decision.rejection.code;
}

/**
 * L1/L6: every account's balance (credits − debits) after posting the ledger transaction of each
 * event of the history, with zero balances left out.
 */
export function ledgerBalances(events: readonly RecordedTaskEvent[]): Record<string, bigint> {
  const balances = new Map<string, bigint>();
  let state: TaskOrderState | undefined;
  for (const recorded of events) {
    const tx = ledgerTransactionFor(state, recorded);
    state = evolve(state, recorded);
    for (const t of tx?.transfers ?? []) {
      if (t.amountFen <= 0n) throw new Error(`non-positive transfer in ${tx?.txId}`);
      balances.set(t.debitAccount, (balances.get(t.debitAccount) ?? 0n) - t.amountFen);
      balances.set(t.creditAccount, (balances.get(t.creditAccount) ?? 0n) + t.amountFen);
    }
  }
  return Object.fromEntries([...balances].filter(([, v]) => v !== 0n).sort(([a], [b]) => a.localeCompare(b)));
}
