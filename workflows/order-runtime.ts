import { CancellationScope, allHandlersFinished, condition, log, patched, sleep } from '@temporalio/workflow';
import { reject, type Rejection, type RejectionCode } from '../domain/errors';
import { canonicalJson, toStoredJson } from '../domain/json';
import type { OrderKindDefinition } from '../domain/order-kind';
import { ONE_TASK_PATCH, stopForOpsOnConflict } from './workflow-support';

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
    // A free lock is taken at once (SPEC §10 Speed: no condition, no promise of its own); runs
    // recorded before the patch waited for the activation's conditions even then.
    const free = this.serving === ticket && patched(ONE_TASK_PATCH);
    try {
      if (!free) await condition(() => this.serving === ticket);
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

/** What a recording activity answers; `stored`: the stream as a lost task's attempt stored it (L3, see `takeStored`). */
export interface PersistOutcome<E> {
  readonly stored?: ReadonlyArray<RecordedEvent<E> & { readonly causation: string | null }>;
}

/** A kind's wiring into the workflow: what is the workflow's, not the kind's rules. */
export interface OrderWorkflowWiring<S, E> {
  /** The kind's recording activity (events, ledger, read model and outbox in one transaction). */
  readonly persist: (events: Array<RecordedEvent<E>>, causation: string) => Promise<PersistOutcome<E> | undefined>;
  /**
   * L3: the stream's events after `version` as stored, with their causations (a local activity): a
   * refusal is answered only once nothing a lost task stored lies ahead (see `takeStored`).
   */
  readonly storedAfter?: (version: number) => Promise<ReadonlyArray<RecordedEvent<E> & { readonly causation: string | null }>>;
  /** A local write has succeeded in this run (workflow-support's writeLocallyFirst). */
  readonly wroteLocally?: () => boolean;
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

/** How long a closed order waits for the Updates whose steps it took from a lost task (takeStored) to come again. */
const UNCLAIMED_STEPS_WAIT = '1 minute';

/** Refusals no step of the order can change (who may act, what the command says): answered without looking ahead. */
const STATE_FREE_REFUSALS: ReadonlySet<RejectionCode> = new Set<RejectionCode>(['forbidden', 'validation_failed']);

/** Commands wait for the placement's outcome instead of being refused "not placed yet" (taken only by runs that meet it). */
const PLACEMENT_FIRST_PATCH = 'commands-wait-for-placement';

/** The causation `syncStored` takes steps for: it records nothing of its own. */
const SYNC_CAUSATION = 'signal:syncStream';

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

  /** A run that has written locally may meet a step a lost task left: its refusals are checked in the handler. */
  let localWrites = false;
  function refusalsChecked(): boolean {
    localWrites ||= wiring.wroteLocally?.() ?? false;
    return localWrites;
  }

  /** Commands waiting for the lock, by causation: a lost task's attempt may have recorded them already. */
  const waiting = new Map<string, CommandBuilder<S, C>>();
  /** Causations whose events `takeStored` took on another step's way: applied, nothing more to do. */
  const takenFor = new Set<string>();
  /** Of those, Updates not delivered again yet: checked when they come (the state before, the events). */
  const unchecked = new Map<string, { readonly before: S; readonly events: ReadonlyArray<RecordedEvent<E>> }>();

  /**
   * Records `events`, decided at `now`, as the next versions; false when the stream had moved on
   * (a lost task's steps, taken as they were stored) and the caller must decide on the new state.
   * `decideAt` decides the same step at another time (see `takeStored`).
   */
  async function record(events: readonly E[], causation: string, now: number, decideAt: (atMs: number) => readonly E[] | undefined): Promise<boolean> {
    if (events.length === 0) return true;
    const base = state?.version ?? 0;
    const decided = events.map((event, i) => ({ version: base + i + 1, occurredAt: now, event }));
    let outcome: PersistOutcome<E> | undefined;
    try {
      outcome = await wiring.persist(decided, causation);
    } catch (error) {
      throw stopForOpsOnConflict(error);
    }
    refusalsChecked();
    if (outcome?.stored) return takeStored(outcome.stored, causation, decideAt);
    await apply(decided);
    return true;
  }

  async function apply(recorded: ReadonlyArray<RecordedEvent<E>>): Promise<void> {
    for (const r of recorded) state = evolve(state, r);
    if (state && wiring.afterRecord) await wiring.afterRecord(state, recorded);
  }

  /**
   * L3 after a lost workflow task: its local writes are stored, and its steps run again at a later
   * time, maybe in another order, maybe in later tasks. Each stored step (the consecutive events of
   * one causation) is taken as stored when it is exactly what its step decides at its stored time on
   * the state before it: this step (`decideAt`), a command waiting for the lock, or the due deadline.
   * An Update's step whose Update has not come again yet is taken and checked when it comes
   * (`claimTaken`). Anything else stops the order for ops. True once this step's own events are
   * taken; false when only others' were (the caller decides again on the new state).
   */
  async function takeStored(
    stored: ReadonlyArray<RecordedEvent<E> & { readonly causation: string | null }>,
    causation: string,
    decideAt: (atMs: number) => readonly E[] | undefined,
    { onlyUpdates = false }: { readonly onlyUpdates?: boolean } = {},
  ): Promise<boolean> {
    for (let i = 0; i < stored.length; ) {
      const step = stored[i]?.causation ?? null;
      let end = i;
      while (end < stored.length && stored[end]?.causation === step) end += 1;
      const events = stored.slice(i, end).map(({ version, occurredAt, event }) => ({ version, occurredAt, event }));
      const atMs = events[0]?.occurredAt ?? Number.NaN;
      const before = state;
      const base = before?.version ?? 0;
      const stop = () => new Error(`stopped for ops: ${causation}: the events stored from v${base + 1} (${step ?? 'no causation'}) are not what that step decides at their time (L3)`);
      if (!events.every((r, k) => r.version === base + k + 1 && r.occurredAt === atMs)) throw stop();
      // The placement's own step has no state before it; any other step needs one.
      const other = step === causation ? { known: true, events: decideAt(atMs) } : before ? await decideOther(before, step, atMs) : { known: false };
      if (other.known && !sameEvents(events, other.events)) throw stop();
      // A sync (`syncStored`) leaves a step of the workflow's own flow (a timer, a signal, a step
      // of its main) for that flow, which runs again and takes it as its own.
      if (!other.known && onlyUpdates && !step?.startsWith('update:')) return false;
      if (!other.known && (!before || !step?.startsWith('update:'))) throw stop();
      if (!other.known && before && step) unchecked.set(step, { before, events });
      log.warn('took a step a lost workflow task had stored (L3)', { step, fromVersion: base + 1, for: causation, checked: other.known });
      await apply(events);
      if (step === causation) return true;
      if (step !== null) takenFor.add(step);
      i = end;
    }
    return false;
  }

  function sameEvents(stored: ReadonlyArray<RecordedEvent<E>>, decided: readonly E[] | undefined): boolean {
    return decided !== undefined && canonicalJson(toStoredJson(stored.map((r) => r.event))) === canonicalJson(toStoredJson(decided));
  }

  /** What step `step` (a waiting command, or the due deadline) decides on `current` at `atMs`; not known: no such step here. */
  async function decideOther(current: S, step: string | null, atMs: number): Promise<{ readonly known: boolean; readonly events?: readonly E[] | undefined }> {
    const deadline = nextDeadline(current);
    const build = step === null ? undefined : (waiting.get(step) ?? (deadline && `timer:${deadline.kind}` === step ? deadline.command : undefined));
    if (!build) return { known: false };
    return { known: true, events: await decideWith(build, current, atMs) };
  }

  async function decideWith(build: CommandBuilder<S, C>, current: S, atMs: number): Promise<readonly E[] | undefined> {
    const built = build(current);
    const command = built instanceof Promise ? await built : built;
    if (command === undefined) return undefined;
    const decision = decide(current, command, atMs);
    return decision.ok ? decision.events : undefined;
  }

  /** A command whose step `takeStored` took before it came: checked now if it was not then (L3). */
  async function claimTaken(build: CommandBuilder<S, C>, causation: string): Promise<void> {
    const taken = unchecked.get(causation);
    if (!taken) return;
    unchecked.delete(causation);
    if (!sameEvents(taken.events, await decideWith(build, taken.before, taken.events[0]?.occurredAt ?? Number.NaN))) {
      throw new Error(`stopped for ops: ${causation}: the events a lost task stored for it are not what it decides at their time (L3)`);
    }
  }

  /**
   * Builds `build`'s command on the current state, decides it at workflow time and records its
   * events, alone. A refusal is returned (nothing written); undefined means applied or nothing to do.
   * A deadline already due at that time fires first (SPEC §1: an action after its deadline is
   * refused), even when its timer has not been delivered yet (a worker was killed, the server
   * restarted): the outcome depends on workflow time, not on when a timer reached the worker.
   */
  async function run(build: CommandBuilder<S, C>, causation: string): Promise<Rejection | undefined> {
    // A command that comes while the placement is still being written waits for its outcome: the
    // read model may show the order already (a lost task stored the placement, and this run is
    // writing it again), so "not placed yet" would contradict it (found by the simulation).
    if (placement === undefined && patched(PLACEMENT_FIRST_PATCH)) await condition(() => placement !== undefined);
    waiting.set(causation, build);
    try {
      return await mutex.runExclusive(async () => {
        waiting.delete(causation);
        if (takenFor.delete(causation)) return claimTaken(build, causation).then(() => undefined); // a lost task's attempt recorded it (L3)
        if (!state) return reject('invalid_state', 'the order is not placed yet');
        const now = Date.now(); // the decision's time: before any activity the command needs
        if (overdue(now)) await fireOverdue(now);
        // The due deadline's write may have met this very command, stored by a lost task's attempt
        // before the deadline: taken there, it is applied, not decided again (found by the simulation).
        if (takenFor.delete(causation)) return claimTaken(build, causation).then(() => undefined);
        return decideAndRecord(build, causation, now);
      });
    } finally {
      waiting.delete(causation);
    }
  }

  /** The deadline of `timerCausation` (`timer:<kind>`) is the next one and due at `now`. */
  function dueNow(timerCausation: string, now: number): boolean {
    const deadline = state && !isTerminal(state) ? nextDeadline(state) : undefined;
    return deadline !== undefined && `timer:${deadline.kind}` === timerCausation && deadline.atMs <= now;
  }

  /** The next deadline is due at `now` (a cheap check before the catch-up below). */
  function overdue(now: number): boolean {
    const deadline = state && !isTerminal(state) ? nextDeadline(state) : undefined;
    return deadline !== undefined && deadline.atMs <= now;
  }

  /**
   * Builds and decides the command on the current state and records its events; when a lost task's
   * steps were there first (taken by `record`), decides again on the state they left.
   */
  async function decideAndRecord(build: CommandBuilder<S, C>, causation: string, now: number): Promise<Rejection | undefined> {
    for (let attempt = 0; attempt < MAX_CATCH_UP; attempt += 1) {
      const current = state;
      if (!current) return reject('invalid_state', 'the order is not placed yet');
      // A deadline whose steps a lost task took may no longer be the order's due one.
      if (attempt > 0 && causation.startsWith('timer:') && !dueNow(causation, now)) return undefined;
      const built = build(current);
      const command = built instanceof Promise ? await built : built;
      if (command === undefined) return undefined;
      const decision = decide(current, command, now);
      const decideAt = (atMs: number) => {
        const again = decide(current, command, atMs);
        return again.ok ? again.events : undefined;
      };
      if (!decision.ok) {
        // A refusal decided on a state a lost task's step has moved on from would contradict what
        // the read model already shows: take what lies ahead first, and decide again.
        const ahead = STATE_FREE_REFUSALS.has(decision.rejection.code) ? [] : await storedAhead(current.version);
        if (ahead.length === 0) return decision.rejection;
        if (await takeStored(ahead, causation, decideAt)) return undefined;
        continue;
      }
      if (await record(decision.events, causation, now, decideAt)) return undefined;
    }
    throw new Error(`stopped for ops: ${causation}: the stream kept moving under the command (L3)`);
  }

  /**
   * What a lost task stored after `version` (runs that write locally). When the stream cannot be
   * read (PostgreSQL away), nothing: the refusal is answered on the workflow's state, at once,
   * rather than failing the Update (the next write meets any such step and takes it).
   */
  async function storedAhead(version: number): Promise<ReadonlyArray<RecordedEvent<E> & { readonly causation: string | null }>> {
    if (!refusalsChecked() || !wiring.storedAfter) return [];
    try {
      return await wiring.storedAfter(version);
    } catch (error) {
      log.warn('the stream could not be read before a refusal; refusing on the workflow state', { version, error: String(error) });
      return [];
    }
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
      const rejection = await decideAndRecord(deadline.command, `timer:${deadline.kind}`, now);
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
  function check(command: C, causation?: string): Rejection | undefined {
    if (causation !== undefined && takenFor.has(causation)) return undefined; // applied already (takeStored)
    // A run that writes locally refuses what a stored step could change in the handler only, after
    // looking ahead in the stream (a validator cannot read); who may act and what the command
    // says no step changes, so those are still refused here, at once.
    if (localWrites) {
      const decision = state && decide(state, command, Date.now());
      return decision && !decision.ok && STATE_FREE_REFUSALS.has(decision.rejection.code) ? decision.rejection : undefined;
    }
    if (!mutex.idle || placement === undefined) return undefined; // the handler waits for the placement (run)
    if (!state) return reject('invalid_state', 'the order is not placed yet');
    const decision = decide(state, command, Date.now());
    return decision.ok ? undefined : decision.rejection;
  }

  /** T1–T5, B3: records the placement; a payment refusal (`refusal`) leaves nothing behind. */
  async function place(event: (now: number) => E, causation: string, refusal: (error: unknown) => Rejection | undefined): Promise<boolean> {
    try {
      await mutex.runExclusive(async () => {
        const now = Date.now();
        if (!(await record([event(now)], causation, now, (atMs) => [event(atMs)]))) throw new Error(`stopped for ops: ${causation}: the stream has events before the placement (L3)`);
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
      if (!(await deadlineReached(deadline)) || !deadline) continue;
      const rejection = await mutex.runExclusive(async () => {
        const current = state && nextDeadline(state);
        if (!state || !current || current.kind !== deadline.kind || current.atMs !== deadline.atMs) return undefined; // a command beat it
        return decideAndRecord(current.command, `timer:${deadline.kind}`, Date.now());
      });
      // A due deadline the decider refuses is a bug, not a race: fail the task for ops (O1).
      if (rejection) throw new Error(`the ${deadline.kind} deadline was refused: ${rejection.code} ${rejection.message}`);
    }
    await condition(allHandlersFinished);
    // Steps taken for Updates not delivered again yet (takeStored): give them time to be answered.
    if (unchecked.size > 0) await condition(() => unchecked.size === 0 && allHandlersFinished(), UNCLAIMED_STEPS_WAIT);
    if (!state) throw new Error('unreachable: no state after placement');
    return { state, continueAsNew: false };
  }

  /** The deadline timer of runs past ONE_TASK_PATCH: kept while the next deadline stays the same. */
  let armed: { readonly atMs: number; fired: boolean; readonly scope: CancellationScope } | undefined;

  /**
   * Waits until a command changes the state (false) or `deadline` is reached (true). Runs past the
   * patch keep one timer per deadline instead of cancelling and starting one per command (two
   * history events and a command each, SPEC §10 Speed); earlier runs replay their re-armed timers.
   */
  async function deadlineReached(deadline: DueDeadline<S, C> | undefined): Promise<boolean> {
    const seenVersion = state?.version;
    if (!patched(ONE_TASK_PATCH)) {
      const changed = await condition(() => state?.version !== seenVersion, deadline ? Math.max(deadline.atMs - Date.now(), 1) : undefined);
      return !changed;
    }
    const timer = deadline ? timerFor(deadline.atMs) : disarm();
    await condition(() => state?.version !== seenVersion || timer?.fired === true);
    if (state?.version !== seenVersion || !timer?.fired) return false;
    armed = undefined; // spent: a deadline that stays next after firing gets a timer of its own
    return true;
  }

  function timerFor(atMs: number): { readonly fired: boolean } {
    if (armed?.atMs === atMs) return armed;
    disarm();
    const timer = { atMs, fired: false, scope: new CancellationScope() };
    timer.scope.run(() => sleep(Math.max(atMs - Date.now(), 1))).then(
      () => void (timer.fired = true),
      () => undefined, // cancelled: the deadline moved
    );
    armed = timer;
    return timer;
  }

  function disarm(): undefined {
    if (armed && !armed.fired) armed.scope.cancel();
    armed = undefined;
    return undefined;
  }

  /**
   * L3: takes what a lost workflow task stored for Updates nobody sends again (the API could not
   * learn their outcome and answered 503; its caller may never retry). The API asks for this (the
   * stream-sync signal) whenever an Update's outcome stayed unknown; without it the order would wait
   * for its next write to learn of the step, and a deadline that step set would never fire.
   * `read` is a regular activity: it retries until PostgreSQL answers, visible to O1.
   */
  async function syncStored(read: (version: number) => Promise<ReadonlyArray<RecordedEvent<E> & { readonly causation: string | null }>>): Promise<void> {
    await mutex.runExclusive(async () => {
      if (!state || isTerminal(state)) return;
      const ahead = await read(state.version);
      if (ahead.length > 0) await takeStored(ahead, SYNC_CAUSATION, () => undefined, { onlyUpdates: true });
    });
  }

  /** A run continued from an earlier one (continue-as-new): the order is placed, with this state. */
  function resume(continued: S): void {
    state = continued;
    placement = null;
    refusalsChecked();
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
    /** Records a step of the kind's own (inside `exclusive`); a stream that moved on under it stops the order for ops. */
    async record(events: readonly E[], causation: string, now: number, decideAt: (atMs: number) => readonly E[] | undefined): Promise<void> {
      if (!(await record(events, causation, now, decideAt))) throw new Error(`stopped for ops: ${causation}: other steps were stored first (L3)`);
    },
    run,
    check,
    syncStored,
    place,
    placementOutcome,
    untilClosed,
    untilClosedOrLong,
    resume,
    finishUnplaced,
  };
}
