import { previewCommand, type Preview } from '../ledger/preview';
import { decide } from './decide';
import { evolve } from './evolve';
import { ledgerTransactionFor } from './ledger';
import type { TaskCommand, TaskEvent, TaskOrderState } from './types';

/** O4 preview (F6): what an ops command on a task order would post if decided at `nowMs` (domain/ledger/preview.ts). */
export function previewTaskCommand(state: TaskOrderState, command: TaskCommand, nowMs: number): Preview<TaskOrderState, TaskEvent> {
  return previewCommand({ decide, evolve, ledgerTransactionFor }, state, command, nowMs);
}
