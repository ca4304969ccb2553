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
