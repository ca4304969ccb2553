import type { Db } from '../db/connect';
import { loadStreamEventsFrom, loadTaskEvents } from '../db/events';
import { taskOrderRow } from '../db/task-orders';
import type { RecordedTaskEvent, TaskEvent, TaskOrderState } from '../domain/task-order';
import { TASK_ORDER_KIND } from '../domain/task-order/kind';
import { appendToStream, type AppendResult, type OrderStream, type StoredEvent, type StreamStateCache } from './append-to-stream';

export interface RecordTaskEventsInput {
  readonly orderId: string;
  readonly events: readonly RecordedTaskEvent[];
  /** What caused these events (an update id, a timer), kept with each event (E1). */
  readonly causation: string;
  /** L3: a version stored with another content is answered with the stored stream, not a conflict (see AppendResult.stored). */
  readonly returnStored?: boolean;
}

export type RecordTaskEventsResult = AppendResult<TaskEvent>;

/** A task order's stream: the kind's definition (domain/task-order/kind.ts) and its storage. */
export function taskOrderStream(orderId: string): OrderStream<TaskOrderState, TaskEvent> {
  return { definition: TASK_ORDER_KIND, orderId, load: (reader) => loadTaskEvents(reader, orderId), readModelRow: taskOrderRow };
}

export function createTaskOrderActivities({ db, streams }: { db: Db; streams?: StreamStateCache }) {
  return {
    /** E1, L3: see appendToStream. */
    /** L3 (order-runtime's takeStored): the stream's events after `version`, with their causations (a lost task's step). */
    async storedTaskEventsAfter(input: { readonly orderId: string; readonly version: number }): Promise<Array<StoredEvent<TaskEvent>>> {
      return loadStreamEventsFrom<TaskEvent>(db, 'task', input.orderId, input.version + 1);
    },

    async recordTaskEvents(input: RecordTaskEventsInput): Promise<RecordTaskEventsResult> {
      return appendToStream(db, taskOrderStream(input.orderId), input.events, input.causation, streams, input.returnStored);
    },
  };
}
