/**
 * The simulation's runner (SPEC §10 "Proof"): starts the stack, drives N random lifecycles through
 * the API with bounded concurrency while faults are injected, waits for quiescence, then checks
 * the global invariants and prints one line per invariant. Reproducible from its seed: every
 * choice (the lifecycles', the faults') is drawn from it; only the timing is the machine's.
 */
import { appendFileSync, chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import { dataConverter } from '../platform/data-converter';
import { FAULT_KINDS, FaultInjector, timerWindows, type FaultKind } from './faults';
import { createSimHttp } from './http';
import {
  checkAudit,
  checkCheckouts,
  checkFeed,
  checkLedger,
  checkModel,
  checkNotifications,
  checkProcesses,
  checkStatuses,
  checkStuck,
  checkWebhooks,
  checksPool,
  statusWindows,
  short,
  type InvariantResult,
} from './invariants';
import { modelExpectations } from './lifecycles';
import { SIM_WEBHOOK_DELIVERY, longestDurationMs } from './policy';
import { waitForQuiescence } from './quiescence';
import { bugLinesInLogs, startStack, type Stack } from './stack';
import type { Exchange, FaultWindow, LifecycleContext, LifecycleRecord, Rng, SimHttp, SimPolicy, Violation } from './types';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver';
import { checkHostileWebhooks } from './hostile-webhooks';

/** The lifecycles and their reference model (sim/lifecycles.ts, sim/rng.ts, sim/policy.ts). */
export interface LifecycleModule {
  readonly runLifecycle: (ctx: LifecycleContext, index: number) => Promise<LifecycleRecord>;
  readonly checkLifecycle: (record: LifecycleRecord, http: SimHttp) => Promise<Violation[]>;
  readonly createRng: (seed: number) => Rng;
  readonly policy: SimPolicy;
}

export interface SimulationOptions {
  readonly seed: number;
  /** How many lifecycles (each places one or more orders). */
  readonly orders: number;
  readonly concurrency?: number;
  readonly faults?: readonly FaultKind[];
  readonly workers?: number;
  /** Keep the run's directory (data and logs): default only when the run failed. */
  readonly keep?: 'always' | 'on-failure' | 'never';
  /** How long after a fault's recovery a 503 still counts as caused by it. */
  readonly faultGraceMs?: number;
  /** A lifecycle that has not finished by then is a finding (default 10 min). */
  readonly lifecycleTimeoutMs?: number;
  /**
   * Stop waiting for the lifecycles after this long (default: no limit) and go on to the checks,
   * which then show what is wedged; the lifecycles still running are findings.
   */
  readonly lifecyclesBudgetMs?: number;
  readonly firstRoundPauseMs?: readonly [number, number];
  readonly faultPauseMs?: readonly [number, number];
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface SimulationSummary {
  readonly seed: number;
  readonly lifecycles: number;
  readonly taskOrders: number;
  readonly boostOrders: number;
  /** C1–C5: the checkouts the lifecycles placed or tried. */
  readonly checkouts: number;
  readonly commands: number;
  readonly exchanges: number;
  readonly faults: Readonly<Record<FaultKind, number>>;
  readonly violations: number;
  readonly runSeconds: number;
}

export interface SimulationResult {
  readonly ok: boolean;
  readonly summary: SimulationSummary;
  readonly invariants: readonly InvariantResult[];
  readonly violations: readonly Violation[];
  /** The run's directory, when kept. */
  readonly runDir?: string;
}

export async function runSimulation(options: SimulationOptions, lifecycles: LifecycleModule): Promise<SimulationResult> {
  const { seed, orders, concurrency = 30, faults = FAULT_KINDS, workers = 2, keep = 'on-failure', faultGraceMs = 15_000, lifecycleTimeoutMs = 10 * 60_000 } = options;
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'xingtu-sim-'));
  chmodSync(dir, 0o755); // PostgreSQL runs as its own user when we are root
  const out = options.log ?? ((line: string) => console.log(line));
  // Everything printed also goes to run.log in the run's directory (kept when the run fails).
  const print = (line: string) => {
    out(line);
    try {
      appendFileSync(join(dir, 'run.log'), `${line}\n`);
    } catch {
      // the directory is being removed at the end of a passing run
    }
  };
  const stamp = () => `+${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
  const log = (component: string, message: string) => print(`${stamp()} [${component}] ${message}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, got ${seed}`);
  if (!Number.isSafeInteger(orders) || orders < 1) throw new Error(`--orders must be a positive integer, got ${orders}`);

  print(`sim seed ${seed}: ${orders} lifecycles, concurrency ${concurrency}, ${workers} workers, faults ${faults.length ? faults.join(',') : 'none'}`);
  print(`  reproduce: npm run sim -- --seed ${seed} --orders ${orders} --concurrency ${concurrency} --faults ${faults.length ? faults.join(',') : 'none'}`);
  const policy = lifecycles.policy;
  const rng = lifecycles.createRng(seed);

  const exchanges: Exchange[] = [];
  const labels = new WeakMap<Exchange, string>(); // which lifecycle (or 'check') sent each attempt
  const violations: Violation[] = [];
  const invariants: InvariantResult[] = [];
  const records: LifecycleRecord[] = [];
  let stack: Stack | undefined;
  let injector: FaultInjector | undefined;
  let pool: pg.Pool | undefined;
  let connection: Connection | undefined;
  let receiver: WebhookReceiver | undefined;
  let hostile: WebhookReceiver | undefined;
  let ok = false;
  const faultCounts = () => Object.fromEntries(FAULT_KINDS.map((k) => [k, injector?.injected(k) ?? 0])) as Record<FaultKind, number>;
  const aborted = () => options.signal?.aborted === true;
  // Ctrl-C: stop waiting for lifecycles or quiescence at once, and go stop the stack.
  const abortion = new Promise<void>((resolve) => {
    if (aborted()) resolve();
    options.signal?.addEventListener('abort', () => resolve(), { once: true });
  });

  try {
    stack = await startStack({ dir, workers, policy, webhookDelivery: SIM_WEBHOOK_DELIVERY, log });
    const started = stack;
    options.signal?.addEventListener('abort', () => started.shuttingDown(), { once: true });
    const http = (label: string) =>
      createSimHttp({
        baseUrl: (stack as Stack).baseUrl,
        tokens: (stack as Stack).tokens,
        record: (exchange) => {
          exchanges.push(exchange);
          labels.set(exchange, label);
        },
        keyPrefix: label,
      });

    // ── The backend's webhook receiver, registered as the backend would (E5) ─────────────────
    receiver = await startWebhookReceiver({ rng: rng.fork('webhook-receiver'), deliveryTimeoutMs: SIM_WEBHOOK_DELIVERY.timeoutMs });
    const endpointId = await registerEndpoint(http('setup'), receiver);
    log('webhooks', `receiver on ${receiver.url}, endpoint ${endpointId}; bad spells (500s, stalls past the ${SIM_WEBHOOK_DELIVERY.timeoutMs} ms timeout) until the lifecycles end`);
    const hooks = receiver;
    // §10 hostile peers: a second endpoint whose receiver answers NUL bytes and slowly, in seeded spells.
    hostile = await startWebhookReceiver({ rng: rng.fork('hostile-receiver'), deliveryTimeoutMs: SIM_WEBHOOK_DELIVERY.timeoutMs, hostile: true });
    const hostileEndpointId = await registerEndpoint(http('setup-hostile'), hostile, 'the simulation\'s hostile receiver');
    log('webhooks', `hostile receiver on ${hostile.url}, endpoint ${hostileEndpointId}; spells of 200s with NUL bytes and slow answers until the lifecycles end`);

    // ── Lifecycles, with faults meanwhile ────────────────────────────────────────────────────
    injector = new FaultInjector({
      // A worker is killed with webhook sends in flight: the receiver holds them from just before.
      beforeInject: async (fault) => {
        if (fault.kind !== 'worker-kill') return;
        const held = await hooks.holdInFlight(KILL_HOLD);
        log('webhooks', `${held} deliveries held in flight for the kill of worker-${fault.target + 1}`);
      },
      stack,
      kinds: faults,
      rng: rng.fork('faults'),
      log: (message) => log('faults', message),
      ...(options.firstRoundPauseMs ? { firstRoundPauseMs: options.firstRoundPauseMs } : {}),
      ...(options.faultPauseMs ? { pauseMs: options.faultPauseMs } : {}),
    });
    injector.start();
    const lifecycleFailures: Violation[] = [];
    const finished = new Map<number, LifecycleRecord>();
    let phaseOver = false;
    let next = 0;
    let done = 0;
    const progress = setInterval(() => {
      log('sim', `${done}/${orders} lifecycles done, ${next - done} running, ${exchanges.length} exchanges, faults ${injector?.records.length ?? 0}`);
    }, 15_000);
    try {
      const runOne = async (index: number) => {
        const label = `l${index}`;
        const ctx: LifecycleContext = {
          http: http(label),
          rng: rng.fork(`lifecycle-${index}`),
          idPrefix: `${label}-`,
          policy,
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        };
        try {
          const record = await withTimeout(lifecycles.runLifecycle(ctx, index), lifecycleTimeoutMs, `lifecycle ${label} did not finish within ${lifecycleTimeoutMs / 1000} s`);
          if (!phaseOver) finished.set(index, record); // one that ends after the budget is not checked
        } catch (error) {
          lifecycleFailures.push({ invariant: 'lifecycles', step: label, message: `runLifecycle(${index}) failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}` });
        } finally {
          done += 1;
        }
      };
      let overBudget = false;
      let budgetTimer: NodeJS.Timeout | undefined;
      const budget = new Promise<void>((resolve) => {
        if (options.lifecyclesBudgetMs === undefined) return;
        budgetTimer = setTimeout(() => {
          overBudget = true;
          resolve();
        }, options.lifecyclesBudgetMs);
      });
      await Promise.race([
        Promise.all(
          Array.from({ length: Math.min(concurrency, orders) }, async () => {
            while (next < orders && !aborted() && !overBudget) await runOne(next++);
          }),
        ),
        abortion,
        budget,
      ]);
      clearTimeout(budgetTimer);
      if (overBudget) {
        log('sim', `the lifecycles' budget of ${(options.lifecyclesBudgetMs ?? 0) / 1000} s is spent: ${next - done} still running, ${orders - next} never started`);
        lifecycleFailures.push({ invariant: 'lifecycles', message: `after ${(options.lifecyclesBudgetMs ?? 0) / 1000} s, ${next - done} lifecycles were still running and ${orders - next} had not started (a wedged order or a hung request?)` });
      }
    } finally {
      clearInterval(progress);
    }
    if (aborted()) throw new Error('aborted');
    log('sim', `${done} lifecycles done in ${((Date.now() - t0) / 1000).toFixed(0)} s; stopping faults${injector.covered ? '' : ' once every kind has happened'}`);
    await injector.stop({ afterCoverage: true });
    receiver.heal();
    hostile.heal();
    log('webhooks', `receiver healed: ${JSON.stringify(receiver.stats())}`);
    phaseOver = true;
    records.push(...[...finished.entries()].sort(([a], [b]) => a - b).map(([, record]) => record));

    // ── Quiescence ───────────────────────────────────────────────────────────────────────────
    pool = checksPool(stack.ownerDatabaseUrl);
    connection = await Connection.connect({ address: stack.temporalAddress });
    const client = new Client({ connection, namespace: 'default', dataConverter });
    const longest = longestDurationMs(policy) + (policy.timerLagMs ?? 3000);
    const quiet = await Promise.race([abortion.then(() => {
      throw new Error('aborted');
    }), waitForQuiescence({
      pool,
      client,
      taskQueue: stack.taskQueue,
      horizonMs: Date.now() + longest,
      maxWaitMs: longest + 90_000,
      log: (message) => log('sim', message),
      ...(options.signal ? { signal: options.signal } : {}),
    })]);
    log('sim', quiet.counts);

    // ── Invariants ───────────────────────────────────────────────────────────────────────────
    const checkHttp = http('check');
    const windows = timerWindows(injector.records);
    // Re-deriving the expectations of 1,000 lifecycles took 68 s of CPU: done in one go, it blocked
    // the event loop past the API's 72 s keep-alive, so the first check reused a socket the API had
    // closed meanwhile (seed 18103: UND_ERR_SOCKET). One lifecycle per turn lets sockets close.
    const checked: LifecycleRecord[] = [];
    for (const record of records) {
      checked.push(withFaultWindows(record, windows, policy));
      await setImmediate();
    }
    const timed = async (name: string, check: () => Promise<InvariantResult>) => {
      const started = Date.now();
      log('check', `${name} …`);
      const result = await check();
      log('check', `${name}: ${result.violations.length ? 'FAIL' : 'PASS'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      invariants.push(result);
    };
    const checkPool = pool;
    await timed('model', () => checkModel(checked, checkHttp, lifecycles.checkLifecycle));
    await timed('stuck', () => checkStuck(checked, checkHttp));
    await timed('ledger exactly once', () => checkLedger(checkPool, checkHttp, exchanges));
    await timed('audit clean', () => checkAudit(checkHttp));
    await timed('checkouts all or nothing', () => checkCheckouts(checkPool));
    await timed('notifications once', () => checkNotifications(checkPool, checked));
    let feed: Awaited<ReturnType<typeof checkFeed>>['events'] = [];
    await timed('feed exactly once', async () => {
      const result = await checkFeed(checkPool, checkHttp);
      feed = result.events;
      return result;
    });
    const arrivals = receiver.arrivals;
    const stats = receiver.stats();
    await timed('webhooks at least once', async () => {
      const result = await checkWebhooks(checkPool, checkHttp, endpointId, feed, arrivals);
      return { ...result, counts: `${result.counts}; receiver: ${stats.errors} answered 500, ${stats.stalls} stalled, ${stats.cutOff} cut off by a killed worker, ${stats.spells} bad spells` };
    });
    const hostileArrivals = hostile.arrivals;
    await timed('hostile webhooks at least once', async () => ({ ...(await checkWebhooks(checkPool, checkHttp, hostileEndpointId, feed, hostileArrivals)), name: 'hostile webhooks at least once' }));
    const faultRecords = injector.records;
    await timed('hostile webhooks recorded', () => checkHostileWebhooks(checkPool, hostileEndpointId, hostileArrivals, faultRecords, { deliveryTimeoutMs: SIM_WEBHOOK_DELIVERY.timeoutMs, graceMs: HOSTILE_RECORDING_GRACE_MS }));
    invariants.push(quiet);
    invariants.push({ name: 'lifecycles', violations: lifecycleFailures, counts: `${records.length}/${orders} finished` });
    invariants.push(checkProcesses(stack.unexpectedExits, injector.records, bugLinesInLogs(stack.logDir)));
    const coverage: Violation[] = faults.filter((k) => injector?.injected(k) === 0).map((k) => ({ invariant: 'faults injected', message: `no ${k} fault happened` }));
    invariants.push({ name: 'faults injected', violations: coverage, counts: FAULT_KINDS.map((k) => `${k} ${injector?.injected(k) ?? 0}`).join(', ') });
    // Last: it also judges the checks' own requests.
    invariants.push(checkStatuses(exchanges, statusWindows(injector.records, faultGraceMs), (e) => labels.get(e)));

    for (const invariant of invariants) violations.push(...invariant.violations);
    ok = violations.length === 0;
    if (!ok) {
      // For the post-mortem: the faults, every violation, and the full record of each lifecycle involved.
      const involved = new Set(violations.map((v) => v.orderId).filter((id): id is string => id !== undefined));
      const steps = new Set(violations.map((v) => v.step).filter((step): step is string => step !== undefined));
      const ownLabel = (r: LifecycleRecord) => /^l\d+/.exec(r.label)?.[0] ?? r.label;
      const implicated = checked.filter(
        (r) =>
          [...r.taskOrderIds, ...r.boostOrderIds, ...(r.checkoutIds ?? []).map((id) => `checkout:${id}`)].some((id) => involved.has(id)) ||
          steps.has(r.label) ||
          steps.has(ownLabel(r)) ||
          violations.some((v) => v.message.startsWith(`${r.label}:`)),
      );
      writeFileSync(join(dir, 'violations.json'), JSON.stringify({ seed, faults: injector.records, violations, records: implicated }, null, 1));
    }
  } catch (error) {
    const message = aborted() ? 'interrupted' : `the run stopped: ${error instanceof Error ? error.stack ?? error.message : String(error)}`;
    violations.push({ invariant: 'run', message });
    ok = false;
  } finally {
    await injector?.stop().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await receiver?.close().catch(() => undefined);
    await hostile?.close().catch(() => undefined);
    const keepDir = keep === 'always' || (keep === 'on-failure' && !ok);
    await stack?.stop({ keep: keepDir }).catch((error: unknown) => log('stack', `stop failed: ${String(error)}`));
    if (!stack && !keepDir) rmSync(dir, { recursive: true, force: true });
  }

  // ── Report ─────────────────────────────────────────────────────────────────────────────────
  const summary: SimulationSummary = {
    seed,
    lifecycles: records.length,
    taskOrders: records.reduce((n, r) => n + r.taskOrderIds.length, 0),
    boostOrders: records.reduce((n, r) => n + r.boostOrderIds.length, 0),
    checkouts: records.reduce((n, r) => n + (r.checkoutIds?.length ?? 0), 0),
    commands: records.reduce((n, r) => n + r.commands, 0),
    exchanges: exchanges.length,
    faults: faultCounts(),
    violations: violations.length,
    runSeconds: Math.round((Date.now() - t0) / 100) / 10,
  };
  print('');
  for (const invariant of invariants) {
    const failed = invariant.violations.length > 0;
    print(`${failed ? 'FAIL' : 'PASS'}  ${invariant.name.padEnd(26)} ${invariant.counts}${failed ? ` — ${invariant.violations.length} violations` : ''}`);
    for (const v of invariant.violations.slice(0, 25)) print(`        ${v.orderId ? `[${v.orderId}] ` : ''}${v.step ? `(${v.step}) ` : ''}${short(v.message, 600)}`);
    if (invariant.violations.length > 25) print(`        … ${invariant.violations.length - 25} more`);
  }
  for (const v of violations.filter((x) => x.invariant === 'run')) print(`FAIL  run                        ${v.message}`);
  print('');
  print(
    `orders ${summary.taskOrders} task + ${summary.boostOrders} boost, ${summary.checkouts} checkouts (${summary.lifecycles} lifecycles), commands ${summary.commands}, exchanges ${summary.exchanges}, ` +
      `faults ${FAULT_KINDS.map((k) => `${k} ${summary.faults[k]}`).join(', ')}, violations ${summary.violations}, run time ${summary.runSeconds} s`,
  );
  const kept = keep === 'always' || (keep === 'on-failure' && !ok);
  if (kept) print(`run directory kept: ${dir} (logs/, violations.json, pg/, temporal.sqlite)`);
  print(ok ? `sim PASSED (seed ${seed})` : aborted() ? `sim INTERRUPTED (seed ${seed})` : `sim FAILED (seed ${seed})`);
  return { ok, summary, invariants, violations, ...(kept ? { runDir: dir } : {}) };
}

/**
 * Before a worker-kill the receiver holds deliveries until 9 are in flight — more than one loop
 * sends at once (concurrency 8), so the killed worker holds some; a loop whose slots are all held
 * claims nothing more, so new events go to the other loop — or 1.2 s after the first (under the 2 s delivery timeout, so
 * they are still in flight at the kill), at most 4 s.
 */
const KILL_HOLD = { minInFlight: 9, afterFirstMs: 1_200, maxMs: 4_000 } as const;

/** After a worker kill or a PostgreSQL fault, how long a hostile answer may go unrecorded (reconnecting; a lapsed 6 s lease is a new attempt). */
const HOSTILE_RECORDING_GRACE_MS = 3_000;

/**
 * POST /v1/webhook-endpoints for the receiver (every event type); the receiver gets the secret. A
 * retry that got the replayed answer (issue 18: a replay never holds the secret) rotates the secret
 * at once (graceSeconds 0) to learn one.
 */
async function registerEndpoint(http: SimHttp, receiver: WebhookReceiver, description = 'the simulation\'s receiver'): Promise<string> {
  const answer = await http.call('POST', '/v1/webhook-endpoints', { url: receiver.url, description }, { idempotent: true });
  const created = answer.response as WithSecret | undefined;
  const endpointId = created?.endpoint?.endpointId;
  if (answer.status !== 201 || !endpointId) throw new Error(`registering the webhook endpoint answered ${answer.status}: ${short(answer.response)}`);
  const secret = created.secret ?? (await rotatedSecret(http, endpointId));
  receiver.setSecret(secret);
  receiver.startSpells();
  return endpointId;
}

type WithSecret = { endpoint?: { endpointId?: string }; secret?: string | null };

async function rotatedSecret(http: SimHttp, endpointId: string): Promise<string> {
  const answer = await http.call('POST', `/v1/webhook-endpoints/${endpointId}/rotate-secret`, { graceSeconds: 0 }, { idempotent: true });
  const secret = (answer.response as WithSecret | undefined)?.secret;
  if (answer.status !== 200 || !secret) throw new Error(`rotating the webhook secret answered ${answer.status}: ${short(answer.response)}`);
  return secret;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The record as the model checks it: with the faults that overlapped the lifecycle (those whose
 * effect on timers reaches into its span) and its timer lag raised to the largest lateness among
 * them (sim/types.ts LifecycleRecord.faultWindows).
 */
export function withFaultWindows(record: LifecycleRecord, windows: readonly FaultWindow[], policy: SimPolicy): LifecycleRecord {
  const base = record.policy ?? policy;
  if (record.exchanges.length === 0) return { ...record, faultWindows: [] };
  const from = Math.min(...record.exchanges.map((e) => e.startedAtMs));
  const to = Math.max(...record.exchanges.map((e) => e.endedAtMs));
  const overlapping = windows.filter((w) => w.fromMs <= to && w.toMs + w.lateMs >= from);
  const lagMs = Math.max(base.timerLagMs ?? 3000, ...overlapping.map((w) => w.lateMs));
  const raised = { ...base, timerLagMs: lagMs };
  if (lagMs === (base.timerLagMs ?? 3000)) return { ...record, faultWindows: overlapping, policy: raised };
  return { ...record, faultWindows: overlapping, policy: raised, ...modelExpectations(record.exchanges, raised) };
}
