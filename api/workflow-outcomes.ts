import { isGrpcServiceError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { OrderKind, WorkflowOutcome, WorkflowOutcomes } from '../db/audit/audit-orders';
import { payloadConverter } from '../platform/payload-converter';
import { ORDER_KIND_DEFINITIONS } from '../domain/kinds';
import type { BoostOrderResult } from '../workflows/boost-order-api';
import type { TaskOrderResult } from '../workflows/task-order-api';

/** gRPC's NOT_FOUND (grpc-js is not a direct dependency). */
const GRPC_NOT_FOUND = 5;

const CLOSE_EVENT_ONLY = temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT;

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * L6 (F3): what each closed order's workflow returned, asked of Temporal — one call per order
 * (issue 11; it was a description, then the close event): the close event of the workflow's
 * current run, which says whether and how it closed and carries its result; none yet means it
 * runs. A run Temporal no longer has (past the namespace's retention) is `unavailable`, not a
 * discrepancy: the events and the ledger are then the record.
 *
 * The close event is read without waiting (not `handle.result()`): on the sandbox's time-skipping
 * server a client waiting for a result lets the server skip time, and an audit must not move the
 * sandbox's clock.
 */
export function temporalWorkflowOutcomes(client: Client): WorkflowOutcomes {
  return {
    async outcomeOf(kind: OrderKind, orderId: string): Promise<WorkflowOutcome> {
      const workflowId = ORDER_KIND_DEFINITIONS[kind].workflowId(orderId);
      let events;
      try {
        const { history } = await client.workflowService.getWorkflowExecutionHistory({
          namespace: client.options.namespace,
          execution: { workflowId },
          historyEventFilterType: CLOSE_EVENT_ONLY,
          waitNewEvent: false,
          skipArchival: true,
        });
        events = history?.events ?? [];
      } catch (error) {
        if (isGrpcServiceError(error) && error.code === GRPC_NOT_FOUND) return { status: 'unavailable', reason: 'Temporal has no such workflow (past retention?)' };
        throw error;
      }
      const close = events[0];
      return close ? outcomeOfCloseEvent(close) : { status: 'running' };
    },
  };
}

/** The outcome a close event records (the same words the run's status name gave before). */
function outcomeOfCloseEvent(event: HistoryEvent): WorkflowOutcome {
  const completed = event.workflowExecutionCompletedEventAttributes;
  if (!completed) return { status: 'not_completed', how: closeHow(event) };
  const payload = completed.result?.payloads?.[0];
  if (!payload) return { status: 'unavailable', reason: 'its close event carries no result' };
  const result = payloadConverter.fromPayload<TaskOrderResult | BoostOrderResult>(payload);
  return result.placed ? { status: 'completed', finalState: result.final } : { status: 'not_completed', how: 'without placing the order' };
}

function closeHow(event: HistoryEvent): string {
  if (event.workflowExecutionFailedEventAttributes) return 'failed';
  if (event.workflowExecutionTimedOutEventAttributes) return 'timed out';
  if (event.workflowExecutionTerminatedEventAttributes) return 'terminated';
  if (event.workflowExecutionCanceledEventAttributes) return 'canceled';
  if (event.workflowExecutionContinuedAsNewEventAttributes) return 'continued as new';
  return `closed (${String(event.eventType)})`;
}
