import pg from 'pg';
import { FEED_START, positionOf, readFeed, type FeedPosition } from '../db/event-feed';
import { createTestDatabase, type TestDatabase } from './support/db';

/**
 * E4: the feed's one total order never lets a cursor skip an event that commits later with a
 * smaller id (bigserial ids are handed out at insert and commit in any order). Real PostgreSQL,
 * real concurrent transactions.
 */
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);
afterAll(async () => {
  await database?.drop();
});

let orderNo = 0;
async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: database.url, options: '-c role=xingtu_app' });
  await client.connect();
  return client;
}

/** One order event and its notification (the rows an append writes), in the client's current transaction. */
async function insertEvent(client: pg.Client): Promise<bigint> {
  orderNo += 1;
  const orderId = `feed-${process.pid}-${orderNo}`;
  await client.query(`insert into order_events (order_id, order_kind, version, type, payload, occurred_at) values ($1, 'task', 1, 'CreatorReminded', '{"type":"CreatorReminded"}', now())`, [orderId]);
  const { rows } = await client.query<{ id: string }>(
    `insert into notifications (order_id, event_version, seq, recipient_type, recipient_id, kind, data) values ($1, 1, 0, 'creator', 'k-1', 'reminder', $2) returning id::text`,
    [orderId, JSON.stringify({ orderId })],
  );
  return BigInt(rows[0]!.id);
}

async function page(after: FeedPosition, limit = 100) {
  const rows = await readFeed(database.db, { after, limit });
  const last = rows[rows.length - 1];
  return { ids: rows.map((r) => r.id), next: last ? positionOf(last) : after };
}

describe('E4 feed order under concurrent commits', () => {
  test('a transaction holding a smaller id open: the larger one that committed is withheld until it commits, then both come after the cursor', async () => {
    const [a, b, c] = await Promise.all([connect(), connect(), connect()]);
    try {
      const first = await insertEvent(c); // autocommit
      const start = await page(FEED_START);
      expect(start.ids).toContain(first);

      await a.query('begin');
      const smaller = await insertEvent(a); // id taken, not committed
      const larger = await insertEvent(b); // committed
      expect(smaller < larger).toBe(true);

      // The hazard: ordered by id alone, a reader would now hand out a cursor past `larger` and never see `smaller`.
      const naive = await database.db.selectFrom('notifications').select('id').where('id', '>', start.ids[start.ids.length - 1]!).execute();
      expect(naive.map((r) => r.id)).toEqual([larger]);
      // The feed withholds `larger`: its writer is not below the oldest open transaction.
      expect((await page(start.next)).ids).toEqual([]);

      await a.query('commit');
      const after = await page(start.next);
      expect(after.ids).toEqual([smaller, larger]);
      expect((await page(after.next)).ids).toEqual([]);
    } finally {
      await Promise.all([a, b, c].map((client) => client.end()));
    }
  });

  test('when transaction order and id order differ, the feed follows the transactions, and a cursor paging one at a time sees each event once', async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    try {
      const before = await page(FEED_START, 1000);
      await a.query('begin');
      await a.query('select pg_current_xact_id()'); // a's transaction id is assigned first …
      const later = await insertEvent(b); // … b commits a smaller row id …
      const earlier = await insertEvent(a); // … and a writes a larger one
      expect(later < earlier).toBe(true);
      const firstPage = await page(before.next, 1);
      expect(firstPage.ids).toEqual([]);
      await a.query('commit');
      const one = await page(before.next, 1);
      const two = await page(one.next, 1);
      expect([...one.ids, ...two.ids]).toEqual([earlier, later]); // (xid, id): a's transaction first
      expect((await page(two.next, 1)).ids).toEqual([]);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  test('many writers committing in random order while a reader pages: every event exactly once, in one order', async () => {
    const start = (await page(FEED_START, 10_000)).next;
    const writers = await Promise.all(Array.from({ length: 6 }, connect));
    const written: bigint[] = [];
    let writing = true;
    const writerRuns = writers.map(async (client) => {
      for (let t = 0; t < 25; t += 1) {
        await client.query('begin');
        for (let n = 1 + (t % 3); n > 0; n -= 1) written.push(await insertEvent(client));
        await client.query(`select pg_sleep(${(Math.random() * 0.02).toFixed(3)})`);
        await client.query('commit');
      }
    });
    const seen: bigint[] = [];
    const reader = (async () => {
      let cursor = start;
      for (;;) {
        const done = !writing; // read once more after the writers finished
        const next = await page(cursor, 7);
        seen.push(...next.ids);
        cursor = next.next;
        if (done && next.ids.length === 0) return;
        if (next.ids.length === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      await Promise.all(writerRuns);
    } finally {
      writing = false;
      await Promise.all(writers.map((client) => client.end()));
    }
    await reader;
    expect(written).toHaveLength(6 * (9 * 1 + 8 * 2 + 8 * 3)); // 25 transactions of 1, 2, 3, 1, … events per writer
    expect(new Set(seen).size).toBe(seen.length); // never twice
    expect([...seen].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual([...written].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))); // never skipped
    // The reader's order is the feed's order: reading it again from the start gives the same sequence.
    const again = await readFeed(database.db, { after: start, limit: 10_000 });
    expect(again.map((r) => r.id)).toEqual(seen);
  }, 60_000);
});
