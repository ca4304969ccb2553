import { parentPort } from 'node:worker_threads';
import { checkOrderBatch, type RawOrderBatch } from './audit-order-checks';

/**
 * A worker thread of the audit (db/audit/audit-workers.ts): checks the batches of orders the audit's
 * thread reads (checkOrderBatch: fold, projection, ledger and money), so that folding uses the
 * machine's other cores while the audit's thread reads the next batches.
 */
parentPort?.on('message', (message: { id: number; batch: RawOrderBatch; wantStates: boolean }) => {
  try {
    parentPort?.postMessage({ id: message.id, result: checkOrderBatch(message.batch, message.wantStates) });
  } catch (error) {
    parentPort?.postMessage({ id: message.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
