import { allHandlersFinished, condition, patched } from '@temporalio/workflow';
import { reject, type Rejection } from '../domain/errors';
import type { OrderKindDefinition } from '../domain/order-kind';
import { stopForOpsOnConflict } from './workflow-support';

/**
 * The skeleton every order workflow shares (task orders, boost orders): the order's state, a FIFO
 * lock so that commands, signals and timers apply strictly one at a time (SPEC §1 Concurrency),
 * recording events through the kind's activity (E1, L3), placement, and the deadline loop. A kind
 * brings its definition (domain/<kind>/kind.ts: decide, evolve, closed statuses) and only what is
 * the workflow's: its recording activity, what follows a recording, how its deadlines' commands
 * are built.
 */

/** One event as recorded in the order's stream (E1): the one declaration is in domain/. */
export type { RecordedEvent } from '../domain/recorded-event';
import type { RecordedEvent } from '../domain/recorded-event';

export type DecisionOf<E> = { readonly ok: true; readonly events: readonly E[] } | { readonly ok: false; readonly rejection: Rejection };

/**
 * A FIFO ticket lock. Each caller takes a ticket and waits until its ticket is served; only one
 * ticket is served at a time, so exactly one caller holds the lock. (A `condition(() => !busy)`
 * lock lets every waiter whose predicate is true in one activation enter together: they decide on
 * the same state and write the same version, which L3 reports as a conflict and stops the order.)
 * Waiters wake through `condition`, at the same point of an activation as that earlier lock did,
 * so histories recorded with it replay unchanged.
 */
export class Mutex {
  private issued = 0;
  private serving = 0;
  /** Tickets whose waiter was cancelled before its turn: skipped, so nobody waits on them. */
  private readonly abandoned = new Set<number>();

  async runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    const ticket = this.issued++;
    try {
      await condition(() => this.serving === ticket);
    } catch (error) {
      this.abandoned.add(ticket);
      throw error;
    }
    try {
      return await fn();
    } finally {
      this.advance();
    }
  }

  /** No holder and no waiter: the state is the one the next command will be decided on. */
  get idle(): boolean {
    return this.serving === this.issued;
  }

  private advance(): void {
    this.serving += 1;
    while (this.abandoned.delete(this.serving)) this.serving += 1;
  }
}

/** What the runtime takes of a kind's definition: it decides and folds with it, and stops at a closed status. */
export type OrderRuntimeDefinition<S, C, E, Status extends string> = Pick<OrderKindDefinition<S, C, E, Status, never>, 'decide' | 'evolve' | 'closedStatuses'>;

/** A kind's wiring into the workflow: what is the workflow's, not the kind's rules. */
export interface OrderWorkflowWiring<S, E> {
  /** The kind's recording activity (events, ledger, read model and outbox in one transaction). */
  readonly persist: (events: Array<RecordedEvent<E>>, causation: string) => Promise<unknown>;
  /** What follows a recording: search attributes (O3), telling linked orders (B3). */
  readonly afterRecord?: (state: S, recorded: ReadonlyArray<RecordedEvent<E>>) => Promise<void> | void;
}

export type CommandBuilder<S, C> = (state: S) => C | undefined | Promise<C | undefined>;

/** A deadline of the order and how to build its command (possibly through an activity). */
export interface DueDeadline<S, C> {
  readonly kind: string;
  readonly atMs: number;
  readonly command: CommandBuilder<S, C>;
}

export type NextDeadline<S, C> = (state: S) => DueDeadline<S, C> | undefined;

/** At most this many overdue deadlines are caught up before one command (each changes the state). */
const MAX_CATCH_UP = 8;

export function createOrderRuntime<S extends { readonly version: number; readonly status: Status }, C, E, Status extends string>(
  definition: OrderRuntimeDefinition<S, C, E, Status>,
  wiring: OrderWorkflowWiring<NoInfer<S>, NoInfer<E>>,
  nextDeadline: NextDeadline<NoInfer<S>, NoInfer<C>>,
) {
  const { decide, evolve, closedStatuses } = definition;
  /** Closed: nothing more happens to the order (its kind's closed statuses). */
  const isTerminal = (s: S): boolean => closedStatuses.includes(s.status);
  let state: S | undefined;
  /** undefined: placement not decided yet; null: placed; a rejection: not placed (nothing written). */
  let placement: Rejection | null | undefined;
  const mutex = new Mutex();

  async function record(events: readonly E[], causation: string, now: number): Promise<void> {
    if (events.length === 0) return;
    const base = state?.version ?? 0;
    const recorded = events.map((event, i) => ({ version: base + i + 1, occurredAt: now, event }));
    try {
      await wiring.persist(recorded, causation);
    } catch (error) {
      throw stopForOpsOnConflict(error);
    }
    for (const r of recorded) state = evolve(state, r);
    if (state) await wiring.afterRecord?.(state, recorded);
  }

  /**
   * Builds `build`'s command on the current state, decides it at workflow time and records its
   * events, alone. A refusal is returned (nothing written); undefined means applied or nothing to do.
   * A deadline already due at that time fires first (SPEC §1: an action after its deadline is
   * refused), even when its timer has not been delivered yet (a worker was killed, the server
   * restarted): the outcome depends on workflow time, not on when a timer reached the worker.
   */
  function run(build: CommandBuilder<S, C>, causation: string): Promise<Rejection | undefined> {
    return mutex.runExclusive(async () => {
      if (!state) return reject('invalid_state', 'the order is not placed yet');
      const now = Date.now(); // the decision's time: before any activity the command needs
      await fireOverdue(now);
      return decideAndRecord(state, build, causation, now);
    });
  }

  async function decideAndRecord(current: S, build: CommandBuilder<S, C>, causation: string, now: number): Promise<Rejection | undefined> {
    const command = await build(current);
    if (command === undefined) return undefined;
    const decision = decide(current, command, now);
    if (!decision.ok) return decision.rejection;
    await record(decision.events, causation, now);
    return undefined;
  }

  /**
   * Fires the deadlines due at `now` (in the lock). Only runs that reach this with a deadline due
   * take the patch, so histories recorded before it replay as they were (the command first).
   */
  async function fireOverdue(now: number): Promise<void> {
    for (let i = 0; i < MAX_CATCH_UP && state && !isTerminal(state); i += 1) {
      const deadline = nextDeadline(state);
      if (!deadline || deadline.atMs > now || !patched('deadlines-before-commands')) return;
      const version = state.version;
      const rejection = await decideAndRecord(state, deadline.command, `timer:${deadline.kind}`, now);
      if (rejection) throw new Error(`the ${deadline.kind} deadline was refused: ${rejection.code} ${rejection.message}`);
      if (state.version === version) return; // the deadline had nothing to do
    }
  }

  /**
   * The decider's verdict on `command` now, for an Update's validator (nothing is recorded). Only
   * while nothing holds or waits for the lock: otherwise the state here is older than the one the
   * command will be decided on (a command before it is being recorded, its activity's completion
   * maybe not delivered yet), so the handler decides it in turn, and refuses it there if it must.
   */
  function check(command: C): Rejection | undefined {
    if (!mutex.idle) return undefined;
    if (!state) return reject('invalid_state', 'the order is not placed yet');
    const decision = decide(state, command, Date.now());
    return decision.ok ? undefined : decision.rejection;
  }

  /** T1–T5, B3: records the placement; a payment refusal (`refusal`) leaves nothing behind. */
  async function place(event: (now: number) => E, causation: string, refusal: (error: unknown) => Rejection | undefined): Promise<boolean> {
    try {
      await mutex.runExclusive(async () => {
        const now = Date.now();
        await record([event(now)], causation, now);
      });
      placement = null;
      return true;
    } catch (error) {
      const rejection = refusal(error);
      if (!rejection) throw error;
      placement = rejection;
      return false;
    }
  }

  /** For the placement Update: waits for the placement's outcome (null: placed). */
  async function placementOutcome(): Promise<Rejection | null> {
    await condition(() => placement !== undefined);
    if (placement === undefined) throw new Error('unreachable: placement outcome missing');
    return placement;
  }

  /**
   * Sleeps until the next deadline or until a command changes the state, then fires the deadline
   * if it is still the order's next one (a command may have got there first: it won the race).
   * `step` lets a kind take over a state with work of its own (B6 evaluation); it returns true
   * when it did. Returns the final state once the order is closed and every handler has finished.
   */
  async function untilClosed(step?: (s: S) => Promise<boolean>): Promise<S> {
    const outcome = await untilClosedOrLong(step);
    return outcome.state;
  }

  /**
   * Like `untilClosed`, but returns `continueAsNew: true` with the open state once `long()` says
   * the run's history is long, between commands: nothing holds or waits for the lock and every
   * handler has finished, so the state is whole and no Update is left to answer (issue 11).
   */
  async function untilClosedOrLong(step?: (s: S) => Promise<boolean>, long?: () => boolean): Promise<{ readonly state: S; readonly continueAsNew: boolean }> {
    while (state && !isTerminal(state)) {
      if (long?.()) {
        await condition(() => mutex.idle && allHandlersFinished());
        if (state && !isTerminal(state)) return { state, continueAsNew: true };
        break;
      }
      if (step && (await step(state))) continue;
      const deadline = nextDeadline(state);
      const seenVersion = state.version;
      const changed = await condition(() => state?.version !== seenVersion, deadline ? Math.max(deadline.atMs - Date.now(), 1) : undefined);
      if (changed || !deadline) continue;
      const rejection = await mutex.runExclusive(async () => {
        const current = state && nextDeadline(state);
        if (!state || !current || current.kind !== deadline.kind || current.atMs !== deadline.atMs) return undefined; // a command beat it
        return decideAndRecord(state, current.command, `timer:${deadline.kind}`, Date.now());
      });
      // A due deadline the decider refuses is a bug, not a race: fail the task for ops (O1).
      if (rejection) throw new Error(`the ${deadline.kind} deadline was refused: ${rejection.code} ${rejection.message}`);
    }
    await condition(allHandlersFinished);
    if (!state) throw new Error('unreachable: no state after placement');
    return { state, continueAsNew: false };
  }

  /** A run continued from an earlier one (continue-as-new): the order is placed, with this state. */
  function resume(continued: S): void {
    state = continued;
    placement = null;
  }

  /** After a refused placement: answer the waiting Updates, then end. */
  async function finishUnplaced(): Promise<void> {
    await condition(allHandlersFinished);
  }

  return {
    get state(): S | undefined {
      return state;
    },
    exclusive: <T>(fn: () => Promise<T>) => mutex.runExclusive(fn),
    record,
    run,
    check,
    place,
    placementOutcome,
    untilClosed,
    untilClosedOrLong,
    resume,
    finishUnplaced,
  };
}
