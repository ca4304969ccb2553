import { placement, placementBody } from './support/fixtures';
import { withStack } from './support/stack';

/**
 * E4 through the HTTP API: a reader paging GET /v1/events while commands for many orders commit
 * concurrently (and the same placement is sent twice) sees every notification exactly once, in
 * the order a fresh read from the start gives, and a page asked for twice is the same page.
 */
const stack = withStack('sandbox');

const { post, get } = stack;

interface Event { id: string; type: string; orderId: string; orderKind: string; orderVersion: number; recipient: { type: string; id: string } }

async function readAll(query: string, limit = 50): Promise<Event[]> {
  const events: Event[] = [];
  let after = '';
  for (let i = 0; i < 1000; i += 1) {
    const page = await get(`/v1/events?limit=${limit}${query}${after ? `&after=${after}` : ''}`);
    expect(page.status).toBe(200);
    events.push(...page.body.events);
    after = page.body.nextCursor;
    if (!page.body.hasMore) return events;
  }
  throw new Error('feed too long');
}

describe('E4 GET /v1/events', () => {
  test('paging while orders commit concurrently: every notification exactly once, in one stable order', async () => {
    const orders = Array.from({ length: 12 }, (_, i) => placement({ clientId: `c-feed-${i % 3}`, creatorId: `k-feed-${i}` }));
    let writing = true;
    const seen: Event[] = [];
    const reader = (async () => {
      let after = '';
      for (;;) {
        const done = !writing;
        const page = await stack.as('ops').get(`/v1/events?limit=3${after ? `&after=${after}` : ''}`);
        expect([page.status, page.status === 200 ? null : page.body]).toEqual([200, null]);
        seen.push(...page.body.events);
        after = page.body.nextCursor;
        if (done && !page.body.hasMore) return;
        if (!page.body.hasMore) await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await Promise.all(
        [0, 1, 2, 3].map(async (lane) => {
          for (const p of orders.filter((_, i) => i % 4 === lane)) {
            const [first, second] = await Promise.all([post('/v1/task-orders', placementBody(p)), post('/v1/task-orders', placementBody(p))]);
            expect([200, 201]).toEqual(expect.arrayContaining([first.status, second.status]));
            expect((await post(`/v1/task-orders/${p.orderId}/remind`, { actor: { type: 'client', id: p.clientId } })).status).toBe(200);
            expect((await post(`/v1/task-orders/${p.orderId}/accept`, { actor: { type: 'creator', id: p.creatorId } })).status).toBe(200);
          }
        }),
      );
    } finally {
      writing = false;
    }
    await reader;

    const ids = seen.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length); // never twice
    const { rows } = await stack.database.db.selectFrom('notifications').select(['id', 'kind', 'order_id']).execute().then((r) => ({ rows: r }));
    expect([...ids].sort()).toEqual(rows.map((r) => `evt_${r.id}`).sort()); // never skipped
    expect((await readAll('')).map((e) => e.id)).toEqual(ids); // one order: the same from the start
    for (const p of orders) {
      const mine = seen.filter((e) => e.orderId === p.orderId);
      expect(mine.map((e) => e.type)).toEqual(['new_task', 'reminder', 'accepted']); // once each, in the order's order
      expect(mine.map((e) => e.orderVersion)).toEqual([...mine.map((e) => e.orderVersion)].sort((a, b) => a - b));
      expect(mine[0]).toMatchObject({ orderKind: 'task', recipient: { type: 'creator', id: p.creatorId } });
    }
  }, 120_000);

  test('filters, limits and a stable page', async () => {
    const p = placement();
    await post('/v1/task-orders', placementBody(p));
    const mine = await readAll(`&orderId=${p.orderId}`);
    expect(mine.map((e) => e.type)).toEqual(['new_task']);
    const newTasks = await readAll('&type=new_task', 5);
    expect(newTasks.every((e) => e.type === 'new_task')).toBe(true);
    expect(newTasks.map((e) => e.id)).toContain(mine[0]!.id);
    const both = await readAll('&type=new_task&type=accepted');
    expect(new Set(both.map((e) => e.type))).toEqual(new Set(['new_task', 'accepted']));
    const first = await get('/v1/events?limit=2');
    const again = await get('/v1/events?limit=2');
    expect(again.body).toEqual(first.body);
    expect(first.body.events).toHaveLength(2);
    expect(first.body.hasMore).toBe(true);
    const empty = await get(`/v1/events?orderId=nobody-${Date.now()}`);
    expect(empty.body).toEqual({ events: [], nextCursor: expect.any(String), hasMore: false });
  });
});
