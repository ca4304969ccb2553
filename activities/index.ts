import type { Db } from '../db/connect';
import { createTaskOrderActivities } from './task-orders';

/** Activities are built by a factory that receives their dependencies. */
export function createActivities(deps: { db: Db }) {
  return {
    ...createTaskOrderActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
