/**
 * A development run of the lifecycles and their model without the simulation's stack or faults:
 * the e2e test stack (test/support/stack.ts: the Temporal dev server, an embedded PostgreSQL, one
 * worker and the API in this process) with the simulation's short policies; N lifecycles one after
 * the other, then M at once, then `checkLifecycle` on each and the stuck list against the records.
 *
 *   node --import tsx sim/dev-run.ts [--seed 1] [--sequential 20] [--concurrent 5] [--story checkout] [--out /tmp/sim-dev.json]
 *   node --import tsx sim/dev-run.ts --replay <violations.json>   (a run's records through the model again, offline)
 *
 * Needs the Temporal CLI (`eval "$(node scripts/provision-temporal.mjs --print-env)"; export TEMPORAL_CLI_PATH`).
 * Exits 1 when there is a violation; `--out` gets every violating lifecycle's record.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import globalSetup from '../test/support/global-setup';
import globalTeardown from '../test/support/global-teardown';
import { TEST_TOKENS, startStack } from '../test/support/stack';
import { createSimHttp } from './http';
import { checkLifecycle, runLifecycle } from './lifecycles';
import { replay } from './model';
import { SIM_POLICY, simBoostPolicy, simTaskPolicy } from './policy';
import { createRng } from './rng';
import type { Exchange, LifecycleRecord, Violation } from './types';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** `--replay file.json`: the records of a run (sim/run.ts violations.json, or this script's --out) through the model again, offline. */
function replayFile(file: string): void {
  const { records } = JSON.parse(readFileSync(file, 'utf8')) as { records: LifecycleRecord[] };
  let bad = 0;
  for (const record of records) {
    const result = replay(record.exchanges, record.policy ?? SIM_POLICY);
    if (result.violation) bad += 1;
    console.log(`${record.label}: ${result.violation ? `${result.violation.step}\n    ${result.violation.message}` : `consistent, ${result.worlds.length} possible state(s)`}`);
  }
  process.exitCode = bad > 0 ? 1 : 0;
}

async function main(): Promise<void> {
  if (process.argv.includes('--replay')) return replayFile(arg('replay', ''));
  const seed = Number(arg('seed', '1'));
  const sequential = Number(arg('sequential', '20'));
  const concurrent = Number(arg('concurrent', '5'));
  const out = arg('out', `/tmp/sim-dev-${seed}.json`);
  const story = arg('story', ''); // one story only (sim/lifecycles.ts STORIES), e.g. checkout
  const t0 = Date.now();
  const log = (line: string) => console.log(`+${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s ${line}`);

  await globalSetup();
  const stack = await startStack('dev', { policies: { task: simTaskPolicy(), boost: simBoostPolicy() } });
  const all: Exchange[] = [];
  const http = (label: string) => createSimHttp({ baseUrl: stack.baseUrl, tokens: TEST_TOKENS, record: (ex) => all.push(ex), keyPrefix: label });
  const rng = createRng(seed);
  const records: LifecycleRecord[] = [];
  const failures: string[] = [];
  const runOne = async (index: number) => {
    const label = `s${seed}l${index}`;
    try {
      const record = await runLifecycle(
        { http: http(label), rng: rng.fork(`lifecycle-${index}`), idPrefix: `${label}-`, policy: SIM_POLICY, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
        index,
        story || undefined,
      );
      records[index] = record;
      log(`${record.label}: ${record.commands} commands, ${record.exchanges.length} exchanges, ${record.taskOrderIds.length} task / ${record.boostOrderIds.length} boost orders`);
    } catch (error) {
      failures.push(`lifecycle ${index}: ${error instanceof Error ? error.stack : String(error)}`);
    }
  };
  try {
    log(`seed ${seed}: ${sequential} lifecycles one after the other, then ${concurrent} at once (API ${stack.baseUrl})`);
    for (let i = 0; i < sequential; i += 1) await runOne(i);
    await Promise.all(Array.from({ length: concurrent }, (_, j) => runOne(sequential + j)));

    const checkHttp = http('check');
    const violations: Array<Violation & { record: string }> = [];
    for (const record of records.filter(Boolean)) {
      for (const v of await checkLifecycle(record, checkHttp)) violations.push({ ...v, record: record.label });
    }
    // O1: every stuck entry of the lifecycles' orders must be one their model allows.
    // O1 is paged (issue 18): every page, following nextCursor (at most 100 pages).
    const entries: Array<{ orderId: string; reason: string; detail?: string }> = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page += 1) {
      const stuck = await checkHttp.call('GET', `/v1/ops/stuck?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, { role: 'ops' });
      const body = stuck.response as { entries?: typeof entries; nextCursor?: string | null } | undefined;
      entries.push(...(body?.entries ?? []));
      cursor = body?.nextCursor ?? null;
      if (!cursor) break;
    }
    for (const entry of entries) {
      const record = records.find((r) => r && [...r.taskOrderIds, ...r.boostOrderIds].includes(entry.orderId));
      const allowed = record?.expectedStuck?.filter((e) => e.orderId === entry.orderId).flatMap((e) => e.reasons) ?? [];
      if (!allowed.includes(entry.reason)) violations.push({ invariant: 'stuck', orderId: entry.orderId, message: `${entry.reason}: ${entry.detail ?? ''} (allowed: ${allowed.join(', ') || 'none'})`, record: record?.label ?? '?' });
    }

    // What the run reached: the orders' final states.
    const reached = new Map<string, number>();
    const count = (what: string) => reached.set(what, (reached.get(what) ?? 0) + 1);
    for (const record of records.filter(Boolean)) {
      for (const id of record.taskOrderIds) {
        const order = await checkHttp.call('GET', `/v1/task-orders/${id}`);
        const view = (order.response ?? {}) as { status?: string; cancelReason?: string; pendingCancellation?: { escalated?: boolean } | null; uploads?: number };
        count(order.status === 404 ? 'task: not placed' : `task: ${view.status}${view.cancelReason ? ` ${view.cancelReason}` : ''}${view.pendingCancellation ? (view.pendingCancellation.escalated ? ' (escalated request)' : ' (pending request)') : ''}`);
      }
      for (const id of record.boostOrderIds) {
        const boost = await checkHttp.call('GET', `/v1/boost-orders/${id}`);
        const view = (boost.response ?? {}) as { status?: string; endReason?: string; evaluation?: { succeeded?: boolean } | null; refund?: { postedAt?: string | null } | null };
        count(boost.status === 404 ? 'boost: not placed' : `boost: ${view.status} ${view.endReason ?? ''}${view.evaluation ? (view.evaluation.succeeded ? ' succeeded' : ' shortfall') : ''}${view.refund?.postedAt ? ' refund posted' : ''}`);
      }
    }
    for (const [what, n] of [...reached].sort()) log(`  ${String(n).padStart(3)} × ${what}`);

    const commands = records.reduce((sum, r) => sum + (r?.commands ?? 0), 0);
    const tasks = records.reduce((sum, r) => sum + (r?.taskOrderIds.length ?? 0), 0);
    const boosts = records.reduce((sum, r) => sum + (r?.boostOrderIds.length ?? 0), 0);
    const statuses = new Map<number, number>();
    for (const ex of all) statuses.set(ex.status, (statuses.get(ex.status) ?? 0) + 1);
    log(`${records.filter(Boolean).length} lifecycles, ${tasks} task orders, ${boosts} boost orders, ${commands} commands, ${all.length} HTTP attempts`);
    log(`statuses: ${[...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`);
    log(`stuck list: ${entries.length} entries`);
    log(`${violations.length} violations${failures.length ? `, ${failures.length} lifecycle failures` : ''}`);
    for (const v of violations) console.log(`  [${v.invariant}] ${v.orderId ?? ''} ${v.step ?? ''}\n      ${v.message}`);
    for (const f of failures) console.log(`  [lifecycle] ${f}`);
    writeFileSync(out, JSON.stringify({ seed, violations, records: records.filter(Boolean) }, null, 1));
    log(`details: ${out}`);
    process.exitCode = violations.length > 0 || failures.length > 0 ? 1 : 0;
  } finally {
    await stack.stop();
    await globalTeardown();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
