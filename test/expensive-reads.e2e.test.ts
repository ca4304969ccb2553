import { connect, type Socket } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildApp } from '../api/app';
import { createOpsService } from '../api/ops-service';
import { DEFAULT_READ_LIMITS, type ReadLimits } from '../api/rate-limit';
import type { Db } from '../db/connect';
import { startDevServer } from '../platform/temporal-env';
import { createOwnedTestDatabase, type TestDatabase } from './support/db';
import { placement, placementBody } from './support/fixtures';
import { TEST_API_TOKENS, TEST_TOKENS, authHeader, http } from './support/stack';
import { installQuietRuntime, runningWorker } from './support/temporal';
import { until } from './support/until';

/**
 * SPEC §8 Security, F4, O1 (issue 18) on the whole stack (dev Temporal server, PostgreSQL, the
 * worker, the API): clients that stop reading an export hold no database connection; exports
 * are bounded in number; the stuck list pages without a silent cut-off.
 */
jest.setTimeout(180_000);

/** Enough ledger that one export (~7 MB) is more than the sockets' buffers hold (about 4 MB on loopback). */
const BULK_TRANSACTIONS = 30_000;
const POOL_SIZE = 10; // createDb's default: the pool of the API and the worker here
const RANGE = 'from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z';

let env: TestWorkflowEnvironment;
let database: TestDatabase & { readonly owner: Db };
let worker: { stop: () => Promise<void> };
const apps: FastifyInstance[] = [];
const taskQueue = `reads-e2e-${process.pid}`;

async function startApi(readLimits: ReadLimits): Promise<string> {
  const app = buildApp({ db: database.db, client: env.client, taskQueue, tokens: TEST_API_TOKENS, readLimits });
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

/** 30,000 transactions of two transfers each, in one statement (the chain trigger links them). */
async function bulkLedger(db: Db): Promise<void> {
  await db.transaction().execute((trx) =>
    sql`
      with tx as (
        insert into ledger_transactions (tx_id, kind, order_id, external_payment_ref, occurred_at, content_hash, chain_id)
        select 'bulk:' || g, 'bulk_adjustment', 'bulk-' || g, null, timestamptz '2025-01-01' + g * interval '1 second',
               encode(sha256(convert_to('bulk' || g, 'UTF8')), 'hex'), g % 16
        from generate_series(1, ${BULK_TRANSACTIONS}::int) g
        returning tx_id, seq)
      insert into ledger_transfers (tx_id, tx_seq, transfer_index, debit_account, credit_account, amount_fen)
      select tx_id, seq, i, 'external:payments', 'platform:service_fees', 100 from tx, generate_series(0, 1) i`.execute(trx),
  );
}

interface StalledDownload {
  readonly socket: Socket;
  /** The status line of the response, once its first bytes arrived. */
  readonly status: Promise<string>;
  closed: boolean;
}

/** A client that asks for the export, takes the first chunk, then reads nothing more. */
function stalledDownload(baseUrl: string): StalledDownload {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect({ host: hostname, port: Number(port) });
  const download: StalledDownload = {
    socket,
    closed: false,
    status: new Promise((resolve, reject) => {
      socket.once('data', (chunk: Buffer) => {
        socket.pause(); // and never resumed: the kernel's buffers fill, then the server's
        resolve(chunk.toString('latin1').split('\r\n')[0] as string);
      });
      socket.once('error', reject);
    }),
  };
  socket.on('close', () => (download.closed = true));
  socket.on('error', () => undefined);
  socket.write(`GET /v1/ledger/export.csv?${RANGE} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${TEST_TOKENS.finance}\r\n\r\n`);
  return download;
}

/** The application's connections that have sat idle inside a transaction for more than `seconds`. */
async function idleInTransaction(seconds: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid()
      and state like 'idle in transaction%' and state_change < now() - make_interval(secs => ${seconds})`.execute(database.owner);
  return rows[0]?.n ?? 0;
}

beforeAll(async () => {
  installQuietRuntime();
  [env, database] = await Promise.all([startDevServer(), createOwnedTestDatabase()]);
  worker = await runningWorker(env, database.db, taskQueue);
  await bulkLedger(database.db);
}, 180_000);

afterAll(async () => {
  for (const app of apps) await app.close();
  await worker?.stop();
  await env?.teardown();
  await database?.drop();
});

describe('F4 export and slow readers (SPEC §8 Security: a client that stops reading never holds a database connection)', () => {
  test(`§8/F4: ${2 * POOL_SIZE} stalled export downloads: orders are placed and read meanwhile without a 503, and no connection sits idle in a transaction`, async () => {
    // Every download allowed to stream at once, so the test is about what a stalled one holds.
    const baseUrl = await startApi({ ...DEFAULT_READ_LIMITS, concurrentExports: 2 * POOL_SIZE });
    const stalled = Array.from({ length: 2 * POOL_SIZE }, () => stalledDownload(baseUrl));
    try {
      expect(await Promise.all(stalled.map((d) => d.status))).toEqual(stalled.map(() => 'HTTP/1.1 200 OK'));
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the buffers fill; the server stops writing
      const statuses: number[] = [];
      for (let i = 0; i < 3; i += 1) {
        const p = placement();
        statuses.push((await http(baseUrl, 'POST', '/v1/task-orders', placementBody(p))).status);
        statuses.push((await http(baseUrl, 'GET', `/v1/task-orders/${p.orderId}`)).status);
        statuses.push((await http(baseUrl, 'GET', '/v1/ledger/trial-balance', undefined, authHeader('finance'))).status);
      }
      statuses.push((await http(baseUrl, 'GET', '/health')).status);
      expect(statuses).toEqual([201, 200, 200, 201, 200, 200, 201, 200, 200, 200]);
      expect(stalled.filter((d) => d.closed)).toEqual([]); // still stalled all along
      expect(await idleInTransaction(1)).toBe(0);
    } finally {
      for (const d of stalled) d.socket.destroy();
    }
  });

  test('§8/F4: exports beyond the instance limit get 429 rate_limited with Retry-After; a stalled reader is disconnected, its slot freed; a full export is complete', async () => {
    const baseUrl = await startApi({ ...DEFAULT_READ_LIMITS, concurrentExports: 2, exportStallTimeoutMs: 1500 });
    const stalled = [stalledDownload(baseUrl), stalledDownload(baseUrl)];
    expect(await Promise.all(stalled.map((d) => d.status))).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    const third = await fetch(`${baseUrl}/v1/ledger/export.csv?${RANGE}`, { headers: authHeader('finance') });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    // The server disconnects them (they cannot tell: its FIN waits behind the data they do not read).
    const full = await until(
      'the stalled readers are disconnected, their slots freed',
      async () => {
        const response = await fetch(`${baseUrl}/v1/ledger/export.csv?${RANGE}`, { headers: authHeader('finance') });
        return response.status === 200 ? response : undefined;
      },
      15_000,
    );
    const lines = (await full.text()).split('\r\n').filter((line) => line.startsWith('bulk:'));
    expect(lines.length).toBe(2 * BULK_TRANSACTIONS); // every transfer, once: pages neither skip nor repeat
    for (const d of stalled) d.socket.destroy();
  });
});

describe('O1 stuck list paging (no silent cut-off)', () => {
  test('O1: more stuck orders than a page are all listed across pages, each once; the last page has no cursor', async () => {
    const baseUrl = await startApi(DEFAULT_READ_LIMITS);
    const placed: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const p = placement();
      expect((await http(baseUrl, 'POST', '/v1/task-orders', placementBody(p))).status).toBe(201);
      placed.push(p.orderId);
    }
    // Ops look 30 days later: every open order's acceptance deadline is overdue.
    const ops = createOpsService({ db: database.db, client: env.client, nowMs: async () => Date.now() + 30 * 86_400_000 });
    const listed: string[] = [];
    let after: Parameters<typeof ops.stuckPage>[0]['after'];
    let pages = 0;
    for (; pages < 50; pages += 1) {
      const page = await ops.stuckPage({ after, limit: 2 });
      expect(page.truncated).toBe(false);
      listed.push(...page.entries.map((e) => e.orderId));
      if (!page.nextCursor) break;
      after = page.nextCursor;
    }
    expect(pages).toBeGreaterThanOrEqual(2);
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed).toEqual(expect.arrayContaining(placed));
    // Descriptions are reused: a second listing within the TTL describes nothing again.
    const before = ops.describeCache.stats.misses;
    await ops.stuck();
    expect(ops.describeCache.stats.misses).toBe(before);
  });

  test('O1/§8: GET /v1/ops/stuck pages by cursor (nextCursor, total, truncated); a cursor it did not make is 400', async () => {
    const baseUrl = await startApi(DEFAULT_READ_LIMITS);
    const first = await http(baseUrl, 'GET', '/v1/ops/stuck?limit=1', undefined, authHeader('ops'));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ total: expect.any(Number), truncated: false, entries: expect.any(Array) });
    expect(first.body.nextCursor === null || typeof first.body.nextCursor === 'string').toBe(true);
    expect((await http(baseUrl, 'GET', '/v1/ops/stuck?cursor=bogus', undefined, authHeader('ops'))).status).toBe(400);
  });
});
