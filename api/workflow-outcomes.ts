import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { OrderKind, WorkflowOutcome, WorkflowOutcomes } from '../db/audit-orders';
import { payloadConverter } from '../platform/payload-converter';
import { boostOrderWorkflowId, type BoostOrderResult } from '../workflows/boost-order-api';
import { taskOrderWorkflowId, type TaskOrderResult } from '../workflows/task-order-api';

const CLOSE_EVENT_ONLY = temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT;

/**
 * L6 (F3): what each closed order's workflow returned, asked of Temporal — its description, then
 * the result in its close event. A run Temporal no longer has (past the namespace's retention) is
 * `unavailable`, not a discrepancy: the events and the ledger are then the record.
 *
 * The close event is read without waiting (not `handle.result()`): on the sandbox's time-skipping
 * server a client waiting for a result lets the server skip time, and an audit must not move the
 * sandbox's clock.
 */
export function temporalWorkflowOutcomes(client: Client): WorkflowOutcomes {
  return {
    async outcomeOf(kind: OrderKind, orderId: string): Promise<WorkflowOutcome> {
      const workflowId = kind === 'task' ? taskOrderWorkflowId(orderId) : boostOrderWorkflowId(orderId);
      let description;
      try {
        description = await client.workflow.getHandle(workflowId).describe();
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return { status: 'unavailable', reason: 'Temporal has no such workflow (past retention?)' };
        throw error;
      }
      const status = description.status.name;
      if (status === 'RUNNING') return { status: 'running' };
      if (status !== 'COMPLETED') return { status: 'not_completed', how: status.toLowerCase().replace(/_/g, ' ') };
      const { history } = await client.workflowService.getWorkflowExecutionHistory({
        namespace: client.options.namespace,
        execution: { workflowId, runId: description.runId },
        historyEventFilterType: CLOSE_EVENT_ONLY,
        waitNewEvent: false,
        skipArchival: true,
      });
      const payload = history?.events?.[0]?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
      if (!payload) return { status: 'unavailable', reason: 'its close event carries no result' };
      const result = payloadConverter.fromPayload<TaskOrderResult | BoostOrderResult>(payload);
      return result.placed ? { status: 'completed', finalState: result.final } : { status: 'not_completed', how: 'without placing the order' };
    },
  };
}
