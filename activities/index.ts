import type { Db } from '../db/connect';
import { createBoostOrderActivities } from './boost-orders';
import { createTaskOrderActivities } from './task-orders';

/** Activities are built by a factory that receives their dependencies. */
export function createActivities(deps: { db: Db }) {
  return {
    ...createTaskOrderActivities(deps),
    ...createBoostOrderActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
