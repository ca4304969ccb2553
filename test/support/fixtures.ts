import type { TaskPlacement } from '../../domain/task-order';

let counter = 0;

/** A unique, valid placement; override what the test is about. */
export function placement(overrides: Partial<TaskPlacement> = {}): TaskPlacement {
  counter += 1;
  const id = `${Date.now().toString(36)}-${counter}`;
  return {
    orderId: `o-${id}`,
    clientId: 'client-1',
    creatorId: 'creator-1',
    taskType: 'douyin_video',
    priceFen: 100_000n,
    brief: { title: 'Spring launch', industry: 'beauty', expectedPublishAt: '2030-01-01T00:00:00.000Z' },
    paymentMode: 'full',
    funding: { source: 'external', paymentRef: `pay-${id}` },
    ...overrides,
  };
}

/** The same placement as the API's JSON body (amounts as JSON integers). */
export function placementBody(p: TaskPlacement): Record<string, unknown> {
  return { ...p, priceFen: Number(p.priceFen) };
}

/**
 * T1 → T17 through the API: places `p`, the creator accepts and uploads, the client approves
 * (the state a boost needs, B3). `send` posts and throws on anything but 2xx.
 */
export async function approvedTaskOrder(send: (path: string, body: unknown) => Promise<unknown>, p: TaskPlacement): Promise<void> {
  const o = `/v1/task-orders/${p.orderId}`;
  const creator = { type: 'creator', id: p.creatorId };
  await send('/v1/task-orders', placementBody(p));
  await send(`${o}/accept`, { actor: creator });
  await send(`${o}/videos`, { actor: creator, draftId: 'd1' });
  await send(`${o}/reviews`, { actor: { type: 'client', id: p.clientId }, decision: 'approve' });
}
