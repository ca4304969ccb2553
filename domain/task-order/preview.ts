import { previewCommand, type Preview } from '../ledger/preview';
import { TASK_ORDER_KIND } from './kind';
import type { TaskCommand, TaskEvent, TaskOrderState } from './types';

/** O4 preview (F6): what an ops command on a task order would post if decided at `nowMs` (domain/ledger/preview.ts). */
export function previewTaskCommand(state: TaskOrderState, command: TaskCommand, nowMs: number): Preview<TaskOrderState, TaskEvent> {
  return previewCommand(TASK_ORDER_KIND, state, command, nowMs);
}
