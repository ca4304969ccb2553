import type { Db } from '../db/connect';
import { StreamStateCache } from './append-to-stream';
import { createBoostOrderActivities } from './boost-orders';
import { createCheckoutActivities } from './checkouts';
import { createTaskOrderActivities } from './task-orders';

/**
 * Activities are built by a factory that receives their dependencies. The worker's activities
 * share one cache of the streams' states (activities/append-to-stream.ts StreamStateCache).
 */
export function createActivities(deps: { db: Db; streams?: StreamStateCache }) {
  const withStreams = { streams: new StreamStateCache(), ...deps };
  return {
    ...createTaskOrderActivities(withStreams),
    ...createBoostOrderActivities(withStreams),
    ...createCheckoutActivities(withStreams),
  };
}

export type Activities = ReturnType<typeof createActivities>;
