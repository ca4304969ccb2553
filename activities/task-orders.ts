import type { Db } from '../db/connect';
import { insertTaskEvent, loadTaskEvents } from '../db/events';
import { upsertTaskOrderRow } from '../db/task-orders';
import { evolve, ledgerTransactionFor, notificationsFor, type RecordedTaskEvent, type TaskOrderState } from '../domain/task-order';
import { appendToStream, type AppendResult } from './append-to-stream';

export interface RecordTaskEventsInput {
  readonly orderId: string;
  readonly events: readonly RecordedTaskEvent[];
  /** What caused these events (an update id, a timer), kept with each event (E1). */
  readonly causation: string;
}

export type RecordTaskEventsResult = AppendResult;

export function createTaskOrderActivities({ db }: { db: Db }) {
  return {
    /** E1, L3: see appendToStream. */
    async recordTaskEvents(input: RecordTaskEventsInput): Promise<RecordTaskEventsResult> {
      const { orderId } = input;
      return appendToStream<TaskOrderState, RecordedTaskEvent>(
        db,
        {
          streamId: orderId,
          load: (trx) => loadTaskEvents(trx, orderId),
          evolve,
          insertEvent: (trx, recorded, causation) => insertTaskEvent(trx, orderId, recorded, causation),
          notificationsFor,
          ledgerTransactionFor,
          upsertReadModel: upsertTaskOrderRow,
        },
        input.events,
        input.causation,
      );
    },
  };
}
