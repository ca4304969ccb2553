import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { OrderKind, WorkflowOutcome, WorkflowOutcomes } from '../db/audit-orders';
import { boostOrderWorkflowId, type BoostOrderResult } from '../workflows/boost-order-api';
import { taskOrderWorkflowId, type TaskOrderResult } from '../workflows/task-order-api';

/**
 * L6 (F3): what each closed order's workflow returned, asked of Temporal — its description, then
 * its result when it completed. A run Temporal no longer has (past the namespace's retention) is
 * `unavailable`, not a discrepancy: the events and the ledger are then the record.
 */
export function temporalWorkflowOutcomes(client: Client): WorkflowOutcomes {
  return {
    async outcomeOf(kind: OrderKind, orderId: string): Promise<WorkflowOutcome> {
      const handle = client.workflow.getHandle(kind === 'task' ? taskOrderWorkflowId(orderId) : boostOrderWorkflowId(orderId));
      let status: string;
      try {
        status = (await handle.describe()).status.name;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return { status: 'unavailable', reason: 'Temporal has no such workflow (past retention?)' };
        throw error;
      }
      if (status === 'RUNNING') return { status: 'running' };
      if (status !== 'COMPLETED') return { status: 'not_completed', how: status.toLowerCase().replace(/_/g, ' ') };
      const result = (await handle.result()) as TaskOrderResult | BoostOrderResult;
      return result.placed ? { status: 'completed', finalState: result.final } : { status: 'not_completed', how: 'without placing the order' };
    },
  };
}
