/**
 * `npm run bench:metrics [-- --orders 100000]`: the cost of GET /metrics on a
 * database with many orders (docs/operations.md, "How the gauges are collected, and what a scrape costs"). It builds its own embedded
 * PostgreSQL with `--orders` task orders (90 % closed, the rest over the open statuses, 0.1 % with an
 * overdue deadline) and a tenth as many boost orders, inserted directly into the read models, plus a
 * Temporal dev server; then prints the plans of the gauges' queries (EXPLAIN ANALYZE, BUFFERS) and
 * the latency of a scrape that collects (interval 0) and of one served from the cache.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../platform/free-port';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { buildApp } from '../api/app';
import { createDb, type Db } from '../db/connect';
import { migrateToLatest } from '../db/migrate';
import { taskOrderWorkflowId } from '../domain/task-order/ids';
import { ensureDatabase, startEmbeddedPostgres } from '../platform/embedded-postgres';
import { OPEN_BOOST_STATUSES, OPEN_TASK_STATUSES } from '../api/metrics-orders';
import { mapLimit } from '../platform/map-limit';
import { startDevServer } from '../platform/temporal-env';

const TOKEN = 'bench-metrics-token-0123456789';
const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
};

async function main(): Promise<void> {
  const orders = arg('orders', 100_000);
  const dir = mkdtempSync(join(tmpdir(), 'xingtu-bench-metrics-'));
  chmodSync(dir, 0o755); // Postgres runs as its own user when we are root
  const server = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), port: await freePort() });
  const env = await startDevServer();
  try {
    await ensureDatabase(server.url('postgres'), 'bench');
    const owner = createDb({ connectionString: server.url('bench'), maxConnections: 1, role: null });
    await migrateToLatest(owner);
    await fill(owner, orders);
    await owner.destroy();
    const db = createDb({ connectionString: server.url('bench') });
    await explainQueries(db);
    // The stuck list also describes each open workflow (at most 500, 8 at a time): their cost here.
    const ids = Array.from({ length: 500 }, (_, i) => taskOrderWorkflowId(`o-${i}`));
    const describing = performance.now();
    await mapLimit(ids, 8, (id) => env.client.workflow.getHandle(id).describe().catch(() => undefined));
    console.log(`500 workflow describes, 8 at a time (the stuck list's maximum): ${(performance.now() - describing).toFixed(0)} ms\n`);
    for (const [label, collectIntervalMs] of [['every scrape collects (interval 0)', 0], ['served from the cache (interval 30 s)', 30_000]] as const) {
      const app = buildApp({ db, client: env.client, taskQueue: 'bench', tokens: [{ role: 'metrics', token: TOKEN }], metrics: { collectIntervalMs } });
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      await scrape(base); // warm up (and fill the cache)
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 20; i += 1) {
        const started = performance.now();
        bytes = (await scrape(base)).length;
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      console.log(`scrape, ${label}: p50 ${times[10]!.toFixed(1)} ms, p95 ${times[18]!.toFixed(1)} ms, max ${times[19]!.toFixed(1)} ms, ${bytes} bytes`);
      await app.close();
    }
    await db.destroy();
  } finally {
    await env.teardown();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function scrape(base: string): Promise<string> {
  const response = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (!response.ok) throw new Error(`scrape answered ${response.status}`);
  return response.text();
}

/** Read-model rows as the activities write them, with a details document of a realistic size (~1.5 kB). */
async function fill(db: Db, orders: number): Promise<void> {
  const open = [...OPEN_TASK_STATUSES];
  const started = performance.now();
  await sql`
    insert into task_orders (order_id, client_id, creator_id, task_type, title, industry, expected_publish_at, payment_mode, price_fen,
      service_fee_fen, paid_in_fen, status, cancel_reason, next_deadline_kind, next_deadline_at, version, placement_hash, placed_at, updated_at, details)
    select 'o-' || i, 'c-' || (i % 5000), 'k-' || (i % 20000), 'douyin_video', 'Spring launch ' || i, 'beauty', now() + interval '30 days', 'full',
      100000, 10000, 110000,
      case when i % 10 < 6 then 'completed' when i % 10 < 9 then 'cancelled' else (${open}::text[])[1 + (i / 10) % ${open.length}] end,
      case when i % 10 between 6 and 8 then 'rejected_by_creator' end,
      case when i % 10 = 9 then 'acceptance' end,
      case when i % 10 = 9 then (case when i % 1000 = 9 then now() - interval '10 minutes' else now() + interval '1 day' end) end,
      3, md5(i::text), now() - (i || ' seconds')::interval, now(),
      jsonb_build_object('state', jsonb_build_object('placement', jsonb_build_object('orderId', 'o-' || i, 'brief', jsonb_build_object('title', 'Spring launch', 'industry', 'beauty', 'expectedPublishAt', '2030-01-01T00:00:00.000Z')),
        'publishOverdue', false, 'pendingCancellation', null, 'uploads', jsonb_build_array(repeat('x', 1200))))
    from generate_series(1, ${orders}) as i`.execute(db);
  const boosts = Math.floor(orders / 10);
  const openBoost = [...OPEN_BOOST_STATUSES];
  await sql`
    insert into boost_orders (boost_order_id, task_order_id, client_id, creator_id, quote_id, video_id, status, end_reason, price_fen, boost_fee_fen,
      expected_views, escrow_fen, refund_fen, refund_due_at, refund_posted_at, calendar_missing, next_deadline_kind, next_deadline_at, request_hash, version, ordered_at, updated_at, details)
    select 'b-' || i, 'o-' || i, 'c-' || (i % 5000), 'k-' || (i % 20000), 'q-' || i, 'v-' || i,
      case when i % 10 < 9 then 'closed' else (${openBoost}::text[])[1 + (i / 10) % ${openBoost.length}] end, null, 100000, 20000, 10000, 0, null, null, null, false,
      case when i % 10 = 9 then 'evaluation' end, case when i % 10 = 9 then now() + interval '7 days' end, md5(i::text) || md5(i::text), 2, now(), now(),
      jsonb_build_object('state', jsonb_build_object('refund', null))
    from generate_series(1, ${boosts}) as i`.execute(db);
  await sql`vacuum analyze task_orders`.execute(db);
  await sql`vacuum analyze boost_orders`.execute(db);
  console.log(`inserted ${orders} task orders and ${boosts} boost orders in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** The plans of the gauges' read-model queries: open orders (ours) and the stuck list's (api/ops-service.ts). */
async function explainQueries(db: Db): Promise<void> {
  const plans: Array<[string, ReturnType<typeof sql>]> = [
    [
      'open orders (db/metrics-queries.ts)',
      sql`explain (analyze, buffers, costs off) select 'task' as kind, status, count(*) from task_orders where status = any(${[...OPEN_TASK_STATUSES]}::text[]) group by status
        union all select 'boost', status, count(*) from boost_orders where status = any(${[...OPEN_BOOST_STATUSES]}::text[]) group by status`,
    ],
    [
      'stuck list, task orders (api/ops-service.ts fromReadModel)',
      sql`explain (analyze, buffers, costs off) with open_task_orders as materialized (select order_id, next_deadline_at,
          coalesce((details -> 'state' -> 'pendingCancellation' ->> 'escalated')::boolean, false) as escalated,
          coalesce((details -> 'state' ->> 'publishOverdue')::boolean, false) as publish_overdue
        from task_orders where status = any(${[...OPEN_TASK_STATUSES]}::text[]))
        select order_id from open_task_orders where next_deadline_at < now() - interval '5 minutes' or escalated or publish_overdue
        order by order_id limit 1000`,
    ],
    [
      'stuck list, open task orders without visibility (api/ops-service.ts openWorkflowIds fallback)',
      sql`explain (analyze, buffers, costs off) select order_id from task_orders where status = any(${[...OPEN_TASK_STATUSES]}::text[]) order by order_id limit 500`,
    ],
  ];
  for (const [label, query] of plans) {
    const { rows } = await (query as ReturnType<typeof sql<{ 'QUERY PLAN': string }>>).execute(db);
    console.log(`\n-- ${label}\n${rows.map((r) => r['QUERY PLAN']).join('\n')}`);
  }
  console.log('');
}


main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
