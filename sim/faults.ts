/**
 * Faults injected while the simulation runs (SPEC §10 "Operating it"), one at a time, on a
 * schedule drawn from the run's seed: which fault comes next, the pause before it, how long the
 * component stays down, how it dies (SIGKILL or a fast stop) and, for workers, which one. The
 * draws happen in the injector's own order, so the sequence of faults is the same for a seed
 * whatever the timing; only the instants differ from run to run.
 *
 *   worker-kill       SIGKILL a worker, restart it after a pause (the others keep polling)
 *   api-kill          SIGKILL the API, restart it on the same port after a pause
 *   pg-restart        crash PostgreSQL — SIGQUIT (pg_ctl stop -m immediate) or SIGKILL of the
 *                     postmaster — and start it again after a pause (crash recovery, no checkpoint)
 *   pg-terminate      pg_terminate_backend of every connection of the API and the workers
 *   temporal-restart  stop the dev server (SIGTERM or SIGKILL), start it again with the same
 *                     SQLite file and port after a pause: its workflows and timers survive
 */
import type { Stack } from './stack';
import type { FaultWindow, Rng } from './types';

export const FAULT_KINDS = ['worker-kill', 'api-kill', 'pg-restart', 'pg-terminate', 'temporal-restart'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** `all`, `none`, or a comma-separated list of kinds. */
export function parseFaults(spec: string): FaultKind[] {
  const value = spec.trim();
  if (value === 'all') return [...FAULT_KINDS];
  if (value === 'none' || value === '') return [];
  const kinds = value.split(',').map((k) => k.trim()).filter((k) => k !== '');
  for (const kind of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new Error(`unknown fault "${kind}" (faults: all, none, or some of ${FAULT_KINDS.join(', ')})`);
  }
  return [...new Set(kinds)] as FaultKind[];
}

/** One fault as it happened: when it began, when the component was back, what exactly was done. */
export interface FaultRecord {
  readonly kind: FaultKind;
  readonly detail: string;
  readonly startedAtMs: number;
  /** When the component was up again (for pg-terminate: when the terminations were done). */
  readonly recoveredAtMs: number;
  readonly error?: string;
}

/** The next fault as the seed chose it. */
export interface PlannedFault {
  readonly kind: FaultKind;
  readonly pauseBeforeMs: number;
  readonly downMs: number;
  readonly variant: string;
  /** The worker's index, for worker-kill. */
  readonly target: number;
}

/**
 * The seeded schedule: first every kind once in a shuffled order (short pauses), then kinds drawn
 * at random; `missingFirst` (when the run is winding down) puts a kind not yet injected first.
 * Pure given its generator, so a seed always yields the same sequence.
 */
export class FaultSchedule {
  private readonly firstRound: FaultKind[];

  constructor(
    private readonly rng: Rng,
    private readonly kinds: readonly FaultKind[],
    private readonly workerCount: number,
    private readonly pauses: { readonly first: readonly [number, number]; readonly later: readonly [number, number] } = { first: [3000, 8000], later: [8000, 20000] },
  ) {
    this.firstRound = shuffle([...kinds], rng);
  }

  next(missing: readonly FaultKind[] = []): PlannedFault {
    const { rng } = this;
    const first = this.firstRound.shift();
    const kind = first ?? missing[0] ?? rng.pick(this.kinds);
    const [lo, hi] = first ? this.pauses.first : this.pauses.later;
    const pauseBeforeMs = rng.int(lo, hi);
    switch (kind) {
      case 'worker-kill':
        return { kind, pauseBeforeMs, downMs: rng.int(500, 5000), variant: 'SIGKILL', target: rng.int(0, this.workerCount - 1) };
      case 'api-kill':
        return { kind, pauseBeforeMs, downMs: rng.int(300, 4000), variant: 'SIGKILL', target: 0 };
      case 'pg-restart':
        return { kind, pauseBeforeMs, downMs: rng.int(500, 6000), variant: rng.pick(['immediate', 'kill']), target: 0 };
      case 'pg-terminate':
        return { kind, pauseBeforeMs, downMs: 0, variant: rng.pick(['once', 'burst']), target: 0 };
      case 'temporal-restart':
        return { kind, pauseBeforeMs, downMs: rng.int(500, 6000), variant: rng.pick(['SIGTERM', 'SIGKILL']), target: 0 };
      default: {
        const _exhaustive: never = kind;
        return _exhaustive;
      }
    }
  }
}

export interface FaultInjectorOptions {
  readonly stack: Stack;
  readonly kinds: readonly FaultKind[];
  readonly rng: Rng;
  readonly log: (message: string) => void;
  /** Pause before each fault of the first round (every kind once, in a seeded order). */
  readonly firstRoundPauseMs?: readonly [number, number];
  /** Pause before each later fault. */
  readonly pauseMs?: readonly [number, number];
  /**
   * Called just before each fault (it draws nothing from the schedule): the run uses it to have
   * webhook sends in flight when a worker is killed (sim/webhook-receiver.ts `stallFor`).
   */
  readonly beforeInject?: (fault: PlannedFault) => Promise<void>;
}

/**
 * Runs the faults until stopped: first one of each kind (shuffled), then kinds drawn at random.
 * `stop()` ends after the fault in progress (a component that is down is always brought back
 * first); `stop({ afterCoverage: true })` first lets every kind happen at least once.
 */
export class FaultInjector {
  readonly records: FaultRecord[] = [];
  private readonly counts = new Map<FaultKind, number>();
  private stopping = false;
  private stopAfterCoverage = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly schedule: FaultSchedule;

  constructor(private readonly options: FaultInjectorOptions) {
    this.schedule = new FaultSchedule(options.rng, options.kinds, options.stack.workerCount, {
      first: options.firstRoundPauseMs ?? [3000, 8000],
      later: options.pauseMs ?? [8000, 20000],
    });
  }

  start(): void {
    if (this.options.kinds.length === 0) return;
    this.loop ??= this.run();
  }

  injected(kind: FaultKind): number {
    return this.counts.get(kind) ?? 0;
  }

  get covered(): boolean {
    return this.options.kinds.every((kind) => this.injected(kind) > 0);
  }

  async stop({ afterCoverage = false } = {}): Promise<void> {
    this.stopAfterCoverage = afterCoverage;
    this.stopping = true;
    if (!afterCoverage || this.covered) this.wake?.();
    await this.loop;
  }

  private done(): boolean {
    return this.stopping && (!this.stopAfterCoverage || this.covered);
  }

  private async run(): Promise<void> {
    while (!this.done()) {
      const fault = this.next();
      await this.pause(this.stopping ? Math.min(fault.pauseBeforeMs, 2000) : fault.pauseBeforeMs);
      if (this.done()) break;
      await this.inject(fault);
    }
  }

  private next(): PlannedFault {
    // Once stopping for coverage, the kinds still missing come first.
    return this.schedule.next(this.stopping ? this.options.kinds.filter((k) => this.injected(k) === 0) : []);
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async inject(fault: PlannedFault): Promise<void> {
    const { stack, log } = this.options;
    await this.options.beforeInject?.(fault).catch(() => undefined);
    const startedAtMs = Date.now();
    const down = () => new Promise((resolve) => setTimeout(resolve, fault.downMs));
    let detail = '';
    let error: string | undefined;
    try {
      switch (fault.kind) {
        case 'worker-kill':
          detail = `SIGKILL worker-${fault.target + 1}, down ${fault.downMs} ms`;
          log(`fault ${fault.kind}: ${detail}`);
          await stack.killWorker(fault.target);
          await down();
          await stack.startWorker(fault.target);
          break;
        case 'api-kill':
          detail = `SIGKILL the API, down ${fault.downMs} ms`;
          log(`fault ${fault.kind}: ${detail}`);
          await stack.killApi();
          await down();
          await stack.startApi();
          break;
        case 'pg-restart':
          detail = `${fault.variant === 'kill' ? 'SIGKILL of the postmaster' : 'immediate shutdown (SIGQUIT)'}, down ${fault.downMs} ms`;
          log(`fault ${fault.kind}: ${detail}`);
          await stack.crashPostgres(fault.variant as 'immediate' | 'kill');
          await down();
          await stack.startPostgres();
          break;
        case 'pg-terminate': {
          const rounds = fault.variant === 'burst' ? 3 : 1;
          const terminated: number[] = [];
          for (let i = 0; i < rounds; i++) {
            if (i > 0) await new Promise((resolve) => setTimeout(resolve, 400));
            terminated.push(await stack.terminateAppConnections());
          }
          detail = `pg_terminate_backend of the app's connections ×${rounds}: ${terminated.join(' + ')} terminated`;
          log(`fault ${fault.kind}: ${detail}`);
          break;
        }
        case 'temporal-restart':
          detail = `${fault.variant} the dev server, down ${fault.downMs} ms, same SQLite file and port`;
          log(`fault ${fault.kind}: ${detail}`);
          await stack.stopTemporal(fault.variant as 'SIGTERM' | 'SIGKILL');
          await down();
          await stack.startTemporal();
          break;
        default: {
          const _exhaustive: never = fault.kind;
          return _exhaustive;
        }
      }
    } catch (caught) {
      error = caught instanceof Error ? caught.message : String(caught);
      log(`fault ${fault.kind} FAILED to inject or recover: ${error}`);
    }
    const recoveredAtMs = Date.now();
    this.counts.set(fault.kind, this.injected(fault.kind) + 1);
    this.records.push({ kind: fault.kind, detail, startedAtMs, recoveredAtMs, ...(error ? { error } : {}) });
    log(`fault ${fault.kind}: recovered after ${((recoveredAtMs - startedAtMs) / 1000).toFixed(1)} s`);
  }
}

function shuffle<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/**
 * How late a timer may fire because of a fault (sim/types.ts FaultWindow), from what each fault
 * holds up: a killed worker's sticky queue is abandoned only after its 10 s schedule-to-start
 * timeout; a workflow task that spans a Temporal restart completes (and starts its timers) only
 * after it; an activity failing while PostgreSQL is down retries with a doubling backoff.
 */
export function timerWindows(records: readonly FaultRecord[]): FaultWindow[] {
  return records.map((r) => {
    const down = r.recoveredAtMs - r.startedAtMs;
    const lateMs = {
      'worker-kill': down + 15_000,
      'api-kill': 0,
      'pg-restart': 2 * down + 5_000,
      'pg-terminate': 5_000,
      'temporal-restart': down + 10_000,
    }[r.kind];
    return { kind: r.kind, fromMs: r.startedAtMs, toMs: r.recoveredAtMs, lateMs };
  });
}
