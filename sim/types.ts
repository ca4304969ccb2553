/**
 * The simulation's seams (SPEC §10 "Proof"): the stack and its faults on one side, the random
 * lifecycles and their reference model on the other. Nothing here imports `domain/`: the model
 * must be written apart from the decider so that a bug there cannot hide itself.
 */

/** A seeded pseudo-random generator: the whole run is reproducible from its seed. */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max] (both included). */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
  /** A child generator with its own stream (one per order), so orders do not disturb each other. */
  fork(label: string): Rng;
}

/** One HTTP exchange as the simulation saw it (kept for the report and for the checks). */
export interface Exchange {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: unknown;
  readonly idempotencyKey?: string;
  readonly status: number; // 0: no answer (connection refused or reset, timeout)
  readonly response?: unknown;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  /** The token's role (default: backend); the model needs it for the routes only some roles may call. */
  readonly role?: 'backend' | 'ops' | 'finance';
  /**
   * `call` only, when it retried: the attempts before the one whose answer this is (status 0: no
   * answer, 503, or 409 "Idempotency-Key still in progress"). An earlier attempt without an answer
   * may have been applied, e.g. a placement then answers 200 "already placed" instead of 201.
   */
  readonly earlierAttempts?: ReadonlyArray<{ readonly status: number; readonly startedAtMs: number; readonly endedAtMs: number }>;
}

export interface SimHttpOptions {
  readonly idempotencyKey?: string;
  /** Defaults to the backend token. */
  readonly role?: 'backend' | 'ops' | 'finance';
  /**
   * `call` only, a POST without `idempotencyKey`: send it with a key `call` makes up, so that an
   * attempt without an answer can be retried safely (sim/http.ts). Without a key and without this,
   * `call` retries a POST on 503 only (the API ran nothing) and returns "no answer" as it is.
   */
  readonly idempotent?: boolean;
}

/**
 * The API as the simulated main backend uses it. `send` sends once and records the exchange;
 * `call` behaves like a careful client: on 503 or no answer it retries (same Idempotency-Key, or a
 * fresh one it generates when the caller gave none, if `idempotent` is set) with a bounded backoff
 * until it gets a definitive answer (2xx or 4xx, or 202 for a command still being applied) or its
 * time budget runs out (then status 0).
 */
export interface SimHttp {
  send(method: 'GET' | 'POST', path: string, body?: unknown, options?: SimHttpOptions): Promise<Exchange>;
  call(method: 'GET' | 'POST', path: string, body?: unknown, options?: SimHttpOptions): Promise<Exchange>;
}

/** What a lifecycle needs from the run: the API, its own random stream, and how durations are scaled. */
export interface LifecycleContext {
  readonly http: SimHttp;
  readonly rng: Rng;
  /** Unique within the run: prefix every id (orders, clients, creators, payment refs) with it. */
  readonly idPrefix: string;
  /** The policy the simulation's API places orders with (short durations, sim only). */
  readonly policy: SimPolicy;
  /** Resolves after `ms` of real time. */
  readonly sleep: (ms: number) => Promise<void>;
}

/** The durations the simulation's API copies into every order (SPEC §1 policy snapshot). */
export interface SimPolicy {
  readonly acceptanceMs: number;
  readonly balanceMs: number;
  readonly reviewMs: number;
  readonly cancellationAnswerMs: number;
  readonly remindIntervalMs: number;
  readonly boostPeriodMs?: number;
  /**
   * How late a timer may fire after its due time (a Temporal timer, a workflow task, an activity;
   * longer while workers restart). The reference model treats a deadline as possibly not yet fired
   * until due + timerLagMs (default 3 s). Not a product policy: the API ignores it.
   */
  readonly timerLagMs?: number;
}

/** A disagreement between the reference model and the product: which order, which step, what. */
export interface Violation {
  readonly invariant: string;
  readonly orderId?: string;
  readonly step?: string;
  readonly message: string;
}

/** What one lifecycle did: every exchange in order, and the orders it created. */
export interface LifecycleRecord {
  readonly label: string;
  readonly taskOrderIds: readonly string[];
  readonly boostOrderIds: readonly string[];
  /** C1–C5: the checkouts it placed (or tried to). */
  readonly checkoutIds?: readonly string[];
  readonly exchanges: readonly Exchange[];
  readonly commands: number;
  /**
   * Orders that may rightly be on the ops stuck list at the end (O1), with the reasons they may
   * show, e.g. `awaiting_arbitration` (T22: a cancellation request nobody answered) or
   * `awaiting_stats` (B8: a boost evaluation with no view count). Any other stuck entry of the
   * lifecycle's orders is a finding.
   */
  readonly expectedStuck?: ReadonlyArray<{ readonly orderId: string; readonly reasons: readonly string[]; readonly required?: readonly string[] }>;
  /**
   * E3: the notifications the model implies for the lifecycle's orders, one candidate per possible
   * state (`order|kind|recipient` → count; `order` is `boost:{id}` for a boost). The product's must
   * equal one candidate. Absent when the model diverged (the model check reports that).
   */
  readonly expectedNotifications?: ReadonlyArray<Readonly<Record<string, number>>>;
  /** The policy the lifecycle's orders were placed with (the model's deadlines come from it). */
  readonly policy?: SimPolicy;
  /**
   * Set by the runner (sim/run.ts) before `checkLifecycle`: the faults of the run that overlapped
   * this lifecycle. The runner also raises `policy.timerLagMs` of the record it checks to the
   * largest `lateMs` among them (SimPolicy.timerLagMs: "a run with faults should raise it"); a
   * model that uses the windows themselves can be stricter outside them.
   */
  readonly faultWindows?: readonly FaultWindow[];
}

/**
 * A fault as the checks see it: from its start to its recovery (real time), and how late a timer
 * due in or just before it may fire because of it (a workflow task waiting for a killed worker's
 * sticky queue to time out, for Temporal to come back, an activity retrying after PostgreSQL).
 */
export interface FaultWindow {
  readonly kind: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly lateMs: number;
}
