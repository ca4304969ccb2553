import type { Db } from '../db/connect';
import { loadTaskEvents } from '../db/events';
import { taskOrderRow } from '../db/task-orders';
import { evolve, ledgerTransactionFor, notificationsFor, type RecordedTaskEvent, type TaskOrderState } from '../domain/task-order';
import { appendToStream, type AppendResult, type StreamStateCache } from './append-to-stream';

export interface RecordTaskEventsInput {
  readonly orderId: string;
  readonly events: readonly RecordedTaskEvent[];
  /** What caused these events (an update id, a timer), kept with each event (E1). */
  readonly causation: string;
}

export type RecordTaskEventsResult = AppendResult;

export function createTaskOrderActivities({ db, streams }: { db: Db; streams?: StreamStateCache }) {
  return {
    /** E1, L3: see appendToStream. */
    async recordTaskEvents(input: RecordTaskEventsInput): Promise<RecordTaskEventsResult> {
      const { orderId } = input;
      return appendToStream<TaskOrderState, RecordedTaskEvent>(
        db,
        {
          kind: 'task',
          streamId: orderId,
          load: (reader) => loadTaskEvents(reader, orderId),
          evolve,
          notificationsFor,
          ledgerTransactionFor,
          readModelRow: taskOrderRow,
        },
        input.events,
        input.causation,
        streams,
      );
    },
  };
}
